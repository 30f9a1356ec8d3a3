package wire

import "golang.org/x/crypto/cryptobyte"

func cryptobyteString(b []byte) cryptobyte.String { return cryptobyte.String(b) }
