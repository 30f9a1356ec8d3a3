package ntlmssp

import "crypto/md5"

// Magic constants of SIGNKEY and SEALKEY (MS-NLMP 3.4.5.2, 3.4.5.3). The
// specification's strings include the terminating NUL, and so do these.
const (
	clientSignMagic = "session key to client-to-server signing key magic constant\x00"
	serverSignMagic = "session key to server-to-client signing key magic constant\x00"
	clientSealMagic = "session key to client-to-server sealing key magic constant\x00"
	serverSealMagic = "session key to server-to-client sealing key magic constant\x00"
)

// md5Concat returns MD5(key || magic) without allocating.
func md5Concat(key []byte, magic string) [16]byte {
	var buf [16 + 64]byte
	n := copy(buf[:], key)
	n += copy(buf[n:], magic)
	out := md5.Sum(buf[:n])
	clear(buf[:])
	return out
}

// signKey is SIGNKEY (MS-NLMP 3.4.5.2) for the direction whose sender is
// the client (fromClient) or the server. It exists only with extended
// session security; without it messages are "signed" with CRC32 and the
// sealing key.
func signKey(exportedSessionKey *[16]byte, fromClient bool) [16]byte {
	if fromClient {
		return md5Concat(exportedSessionKey[:], clientSignMagic)
	}
	return md5Concat(exportedSessionKey[:], serverSignMagic)
}

// sealKey is SEALKEY (MS-NLMP 3.4.5.3) for one direction. It returns the key
// and its length: with extended session security the exported key is cut to
// 16, 7 or 5 bytes by Flag128 / Flag56 / neither and hashed with the
// direction's magic; without it there is one key for both directions,
// weakened to 8 bytes (56 or 40 bits of entropy) when FlagLMKey or
// FlagDatagram is set and otherwise the exported key itself. The
// specification restricts the datagram case to NTLMRevisionCurrent >=
// NTLMSSP_REVISION_W2K3, the only revision in use, so it is not checked.
func sealKey(flags NegotiateFlags, exportedSessionKey *[16]byte, fromClient bool) (key [16]byte, n int) {
	if flags&FlagExtendedSessionSecurity != 0 {
		k := exportedSessionKey[:]
		switch {
		case flags&Flag128 != 0:
		case flags&Flag56 != 0:
			k = k[:7]
		default:
			k = k[:5]
		}
		if fromClient {
			return md5Concat(k, clientSealMagic), 16
		}
		return md5Concat(k, serverSealMagic), 16
	}
	if flags&(FlagLMKey|FlagDatagram) != 0 {
		if flags&Flag56 != 0 {
			copy(key[:7], exportedSessionKey[:7])
			key[7] = 0xa0
		} else {
			copy(key[:5], exportedSessionKey[:5])
			key[5], key[6], key[7] = 0xe5, 0x38, 0xb0
		}
		return key, 8
	}
	return *exportedSessionKey, 16
}
