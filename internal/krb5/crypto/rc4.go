package krbcrypto

// rc4State is RC4 kept on the caller's stack: RFC 4757 keys it afresh for every message,
// and crypto/rc4 would allocate each time.
type rc4State struct {
	s    [256]byte
	i, j uint8
}

func (c *rc4State) init(key []byte) {
	for i := range c.s {
		c.s[i] = byte(i)
	}
	var j uint8
	for i := range 256 {
		j += c.s[i] + key[i%len(key)]
		c.s[i], c.s[j] = c.s[j], c.s[i]
	}
	c.i, c.j = 0, 0
}

func (c *rc4State) xor(b []byte) {
	i, j := c.i, c.j
	for k := range b {
		i++
		j += c.s[i]
		c.s[i], c.s[j] = c.s[j], c.s[i]
		b[k] ^= c.s[c.s[i]+c.s[j]]
	}
	c.i, c.j = i, j
}

// RC4XOR encrypts or decrypts buf in place with RC4 under key, as RFC 4757's GSS tokens
// need for their sequence numbers and confounders.
func RC4XOR(key []byte, bufs ...[]byte) {
	var c rc4State
	c.init(key)
	for _, b := range bufs {
		c.xor(b)
	}
	clear(c.s[:])
}
