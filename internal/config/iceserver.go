package config

import (
	"errors"
	"strings"
)

// ICEServer is a parsed --ice-server value.
type ICEServer struct {
	URL, Username, Credential string
}

// ParseICEServer reads "stun:host:port" or "turn:user:pass@host:port?transport=udp"
// (also turns:). Credentials must not hold , ; or " — OBS splits Link
// headers on every comma (RFC 9725 §4.6 gives one field per server).
func ParseICEServer(s string) (ICEServer, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" {
		return ICEServer{}, errors.New("want stun:HOST:PORT or turn:USER:PASS@HOST:PORT")
	}
	switch scheme {
	case "stun", "stuns":
		if strings.Contains(rest, "@") {
			return ICEServer{}, errors.New("a STUN server takes no credentials")
		}
		return ICEServer{URL: s}, nil
	case "turn", "turns":
	default:
		return ICEServer{}, errors.New("scheme must be stun, stuns, turn or turns")
	}
	creds, host, ok := strings.Cut(rest, "@")
	if !ok {
		return ICEServer{}, errors.New("a TURN server needs USER:PASS@")
	}
	user, pass, ok := strings.Cut(creds, ":")
	if !ok || user == "" || pass == "" {
		return ICEServer{}, errors.New("a TURN server needs USER:PASS@")
	}
	if strings.ContainsAny(creds, `,;"`) {
		return ICEServer{}, errors.New(`TURN credentials must not contain , ; or "`)
	}
	return ICEServer{URL: scheme + ":" + host, Username: user, Credential: pass}, nil
}

// redact hides TURN credentials in messages.
func redact(s string) string {
	if i := strings.LastIndex(s, "@"); i >= 0 {
		if j := strings.Index(s, ":"); j >= 0 && j < i {
			return s[:j+1] + "***" + s[i:]
		}
	}
	return s
}
