package config

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// paramName names a setting in messages: its file key, and its flag when
// that is not simply the key with dashes (nat_1to1 is --public-ip).
func paramName(key string) string {
	var c Config
	layer := 0
	for _, f := range fields(&c, &layer) {
		if f.Key == key && f.Flag != strings.ReplaceAll(key, "_", "-") {
			return key + " (--" + f.Flag + ")"
		}
	}
	return key
}

// validHostname accepts DNS names (RFC 1123 labels).
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// STUNHostPort reads a gateway STUN server: "host:port", "stun:host:port"
// or "stun:host" (port 3478, RFC 8489 §18.6).
func STUNHostPort(s string) (string, error) {
	rest := strings.TrimPrefix(s, "stun:")
	if strings.Contains(rest, "://") || strings.Contains(rest, "?") {
		return "", errors.New("want HOST:PORT or stun:HOST:PORT")
	}
	host, _, err := net.SplitHostPort(rest)
	if err != nil {
		host = rest
		rest = net.JoinHostPort(rest, "3478")
	}
	if !validHostname(host) && net.ParseIP(host) == nil {
		return "", errors.New("want HOST:PORT or stun:HOST:PORT")
	}
	return rest, nil
}

// checkTURNURL accepts turn:HOST[:PORT][?transport=udp|tcp] and turns:,
// without credentials (those come from turn_secret).
func checkTURNURL(s string) error {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || (scheme != "turn" && scheme != "turns") || rest == "" {
		return errors.New("want turn:HOST:PORT or turns:HOST:PORT")
	}
	if strings.Contains(rest, "@") {
		return errors.New("no credentials here: they are derived from turn_secret")
	}
	if strings.ContainsAny(rest, `,;"<> `) {
		return errors.New(`must not contain , ; " < > or spaces`)
	}
	return nil
}

// checkHTTPURL accepts absolute http and https URLs.
func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an http:// or https:// URL")
	}
	return nil
}
