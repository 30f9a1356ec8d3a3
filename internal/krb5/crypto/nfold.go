package krbcrypto

import "sync"

// nfold is the n-fold of RFC 3961 5.1: in, replicated with successive 13-bit right
// rotations to the least common multiple of both lengths, summed in chunks of outLen
// bytes with ones'-complement addition. It is bitwise and slow on purpose (clear is
// better than quick here): every constant it is used for is folded once per process.
func nfold(in []byte, outLen int) []byte {
	inLen := len(in)
	l := lcm(inLen, outLen)
	nbits := inLen * 8
	bit := func(i int) byte { return in[i/8] >> (7 - uint(i%8)) & 1 }
	out := make([]byte, outLen)
	acc := make([]int, outLen)
	for c := 0; c < l/inLen; c++ {
		rot := 13 * c
		for j := 0; j < inLen; j++ {
			var b byte
			for k := 0; k < 8; k++ {
				src := ((j*8+k-rot)%nbits + nbits) % nbits
				b = b<<1 | bit(src)
			}
			pos := (c*inLen + j) % outLen
			acc[pos] += int(b)
		}
	}
	// Ones'-complement addition: carries leave the most significant byte and come back
	// in at the least significant one until none remain.
	for {
		carry := 0
		for i := outLen - 1; i >= 0; i-- {
			v := acc[i] + carry
			acc[i] = v & 0xff
			carry = v >> 8
		}
		if carry == 0 {
			break
		}
		acc[outLen-1] += carry
	}
	for i := range out {
		out[i] = byte(acc[i])
	}
	return out
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// Derivation constants (RFC 3961 5.3): usage number big-endian, then 0x99 for Kc,
// 0xAA for Ke, 0x55 for Ki.
const (
	constKc = 0x99
	constKe = 0xaa
	constKi = 0x55
)

// foldedUsages holds the 128-bit n-folds of the derivation constants of the usage
// numbers below it, computed together the first time any is needed.
const foldedUsages = 64

var (
	foldOnce   sync.Once
	foldTable  [foldedUsages][3][16]byte
	foldedKerb [16]byte // n-fold("kerberos", 128), the string-to-key constant
)

func foldInit() {
	for u := range foldedUsages {
		for i, c := range [3]byte{constKc, constKe, constKi} {
			copy(foldTable[u][i][:], nfold(usageConstant(uint32(u), c), 16))
		}
	}
	copy(foldedKerb[:], nfold([]byte("kerberos"), 16))
}

func putUsageConstant(b *[5]byte, u uint32, c byte) []byte {
	b[0], b[1], b[2], b[3], b[4] = byte(u>>24), byte(u>>16), byte(u>>8), byte(u), c
	return b[:]
}

func usageConstant(u uint32, c byte) []byte {
	return []byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u), c}
}

// foldedConstant returns n-fold(usage | c, 128).
func foldedConstant(u uint32, c byte) [16]byte {
	foldOnce.Do(foldInit)
	if u < foldedUsages {
		i := 0
		switch c {
		case constKe:
			i = 1
		case constKi:
			i = 2
		}
		return foldTable[u][i]
	}
	var r [16]byte
	copy(r[:], nfold(usageConstant(u, c), 16))
	return r
}
