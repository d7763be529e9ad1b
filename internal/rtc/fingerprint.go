package rtc

import (
	"strings"

	"github.com/pion/sdp/v3"
)

// fingerprintBytes are the DTLS certificate hash functions the gateway
// accepts and their digest sizes (RFC 8122 §5; RFC 8827 §6.5 requires
// SHA-256). MD5 and MD2 are left out: no WebRTC stack offers them.
func fingerprintBytes(hash string) int {
	switch strings.ToLower(hash) {
	case "sha-1":
		return 20
	case "sha-224":
		return 28
	case "sha-256":
		return 32
	case "sha-384":
		return 48
	case "sha-512":
		return 64
	}
	return 0
}

// checkFingerprints validates every a=fingerprint of a section (index -1:
// the session level): a known hash function and a digest of its size, as
// uppercase or lowercase hex pairs joined by colons (RFC 8122 §5). pion
// would otherwise accept the offer and fail the DTLS handshake later.
func checkFingerprints(attrs []sdp.Attribute, index int) error {
	for _, a := range attrs {
		if a.Key != "fingerprint" {
			continue
		}
		hash, fp, _ := strings.Cut(strings.TrimSpace(a.Value), " ")
		n := fingerprintBytes(hash)
		if n == 0 {
			return malformed("%s: a=fingerprint hash function %q is not sha-1, sha-224, sha-256, sha-384 or sha-512",
				sectionName(index), truncate(hash, 16))
		}
		if !hexPairs(strings.TrimSpace(fp), n) {
			return malformed("%s: a=fingerprint is not %d hex pairs joined by colons (%s)", sectionName(index), n, hash)
		}
	}
	return nil
}

func hexPairs(s string, n int) bool {
	if len(s) != 3*n-1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i%3 == 2 {
			if c != ':' {
				return false
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
