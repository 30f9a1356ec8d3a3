package keytab

import (
	"io"
	"os"

	"github.com/gosspi/sspi/internal/krb5/atomicfile"
)

// Load reads and parses the keytab at path (without a "FILE:" prefix).
func Load(path string) (*Keytab, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
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
