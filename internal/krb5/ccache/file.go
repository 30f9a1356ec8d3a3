package ccache

import (
	"github.com/gosspi/sspi/internal/krb5/atomicfile"
	"github.com/gosspi/sspi/internal/krb5/krbfile"
)

// Load reads and parses the credential cache at path (without a "FILE:" prefix).
func Load(path string) (*CCache, error) {
	b, err := krbfile.Load(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// WriteFile writes c to path atomically with mode 0600.
func (c *CCache) WriteFile(path string) error {
	b, err := c.Marshal()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b)
}
