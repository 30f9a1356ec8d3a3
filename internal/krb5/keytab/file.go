package keytab

import (
	"github.com/gosspi/sspi/internal/krb5/atomicfile"
	"github.com/gosspi/sspi/internal/krb5/krbfile"
)

// Load reads and parses the keytab at path (without a "FILE:" prefix).
func Load(path string) (*Keytab, error) {
	b, err := krbfile.Load(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// WriteFile writes kt to path atomically with mode 0600.
func (kt *Keytab) WriteFile(path string) error {
	b, err := kt.Marshal()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b)
}
