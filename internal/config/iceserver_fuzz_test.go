package config

import (
	"strings"
	"testing"
)

// FuzzParseICEServer: an --ice-server value either parses into something
// safe to put in a Link header (credentials free of , ; " which OBS splits
// on; a URL with a scheme), or is refused; redact always removes at least
// one occurrence of the credential, so error messages never carry it whole.
func FuzzParseICEServer(f *testing.F) {
	for _, s := range []string{"stun:stun.example.net:3478", "turn:user:pass@turn.example.net:3478?transport=udp",
		"turns:u:p@h:5349", "turn:u:p,q@h", "turn:@h", "turn:u@h", "stun:u:p@h", "http://x", "turn:u:p@h@i", ":", "turn:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		is, err := ParseICEServer(s)
		if err != nil {
			return
		}
		scheme, _, _ := strings.Cut(is.URL, ":")
		switch scheme {
		case "stun", "stuns":
			if is.Username != "" || is.Credential != "" {
				t.Fatalf("%q: STUN with credentials", s)
			}
		case "turn", "turns":
			if is.Username == "" || is.Credential == "" {
				t.Fatalf("%q: TURN without credentials", s)
			}
			if strings.ContainsAny(is.Username+is.Credential, `,;"`) {
				t.Fatalf("%q: credentials break a Link header", s)
			}
			// The "***" placeholder itself is not a leak (credential "*").
			masked := strings.Replace(redact(s), "***", "", 1)
			if strings.Count(masked, is.Credential) >= strings.Count(s, is.Credential) {
				t.Fatalf("redact(%q) = %q keeps the credential", s, redact(s))
			}
		default:
			t.Fatalf("%q parsed with scheme %q", s, scheme)
		}
	})
}
