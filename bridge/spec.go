package bridge

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/wishgate/wishgate/streams"
)

// Transport selects how a source receives media from its camera.
type Transport string

const (
	// TransportAuto tries UDP and falls back to TCP-interleaved when the
	// camera refuses UDP or no UDP packet arrives (NAT, firewalls).
	TransportAuto      Transport = "auto"
	TransportUDP       Transport = "udp"
	TransportTCP       Transport = "tcp"
	TransportMulticast Transport = "multicast"
)

func (t Transport) valid() bool {
	switch t {
	case TransportAuto, TransportUDP, TransportTCP, TransportMulticast, "":
		return true
	}
	return false
}

// SourceConfig declares a stream pulled from an RTSP URL.
type SourceConfig struct {
	Name string
	// URL is rtsp:// or rtsps://, with credentials if the camera needs them.
	// It is never logged or reported unmasked.
	URL string
	// OnDemand pulls the camera only while the stream has readers.
	OnDemand bool
	// Transport defaults to TransportAuto.
	Transport Transport
	// Fingerprint, for rtsps:// cameras with self-signed certificates (most
	// of them), is the SHA-256 of the camera's certificate in hex (colons
	// allowed): it is trusted instead of a CA. Empty: normal verification.
	Fingerprint string
}

// ErrInvalidSource reports a malformed source declaration.
var ErrInvalidSource = errors.New("invalid source")

// Validate checks the name, URL and transport.
func (c SourceConfig) Validate() error {
	if err := streams.ValidName(c.Name); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidSource, err)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		// url.Parse quotes the raw URL, credentials included.
		return fmt.Errorf("%w %q: URL does not parse", ErrInvalidSource, c.Name)
	}
	if u.Scheme != "rtsp" && u.Scheme != "rtsps" {
		return fmt.Errorf("%w %q: URL scheme must be rtsp or rtsps, not %q", ErrInvalidSource, c.Name, u.Scheme)
	}
	if u.Fragment != "" || strings.Contains(c.URL, "#") {
		return fmt.Errorf("%w %q: URL has a #fragment: set the transport as an option, not in the URL", ErrInvalidSource, c.Name)
	}
	if u.Host == "" {
		return fmt.Errorf("%w %q: URL %s has no host", ErrInvalidSource, c.Name, MaskURL(c.URL))
	}
	if c.Fingerprint != "" {
		if u.Scheme != "rtsps" {
			return fmt.Errorf("%w %q: a fingerprint only applies to rtsps:// URLs", ErrInvalidSource, c.Name)
		}
		if b, err := hex.DecodeString(normFingerprint(c.Fingerprint)); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("%w %q: fingerprint must be the certificate's SHA-256 in hex (64 digits, colons allowed)", ErrInvalidSource, c.Name)
		}
	}
	if !c.Transport.valid() {
		return fmt.Errorf("%w %q: transport %q is not one of auto, udp, tcp, multicast", ErrInvalidSource, c.Name, c.Transport)
	}
	return nil
}

// String describes the source with its credentials masked.
func (c SourceConfig) String() string {
	mode := "always-on"
	if c.OnDemand {
		mode = "on-demand"
	}
	return fmt.Sprintf("%s=%s (%s, transport %s)", c.Name, MaskURL(c.URL), mode, c.transport())
}

func (c SourceConfig) transport() Transport {
	if c.Transport == "" {
		return TransportAuto
	}
	return c.Transport
}

// ParseSourceSpec parses "NAME=URL", the form of --source and
// --source-on-demand. Options go in a URL fragment, which RTSP never sends
// to the camera: "cam1=rtsp://user:pass@10.0.0.5/stream1#transport=tcp",
// "cam2=rtsps://cam/live#fingerprint=ab12...&transport=tcp".
func ParseSourceSpec(spec string) (SourceConfig, error) {
	name, raw, ok := strings.Cut(strings.TrimSpace(spec), "=")
	if !ok {
		return SourceConfig{}, fmt.Errorf("%w %q: want NAME=URL", ErrInvalidSource, maskSpec(spec))
	}
	c := SourceConfig{Name: strings.TrimSpace(name), URL: strings.TrimSpace(raw)}
	if base, frag, ok := strings.Cut(c.URL, "#"); ok {
		c.URL = base
		for opt := range strings.SplitSeq(frag, "&") {
			k, v, _ := strings.Cut(opt, "=")
			switch k {
			case "transport":
				c.Transport = Transport(strings.ToLower(v))
			case "fingerprint":
				c.Fingerprint = v
			default:
				if !optionName(k) {
					// Most likely a '#' inside the credentials: quoting the
					// "option" would quote the password (found by FuzzSourceURL).
					return SourceConfig{}, fmt.Errorf("%w %q: the text after '#' is not an option; write a '#' in a user name or password as %%23",
						ErrInvalidSource, c.Name)
				}
				return SourceConfig{}, fmt.Errorf("%w %q: unknown option %q (known: transport, fingerprint)", ErrInvalidSource, c.Name, k)
			}
		}
	}
	if err := c.Validate(); err != nil {
		return SourceConfig{}, err
	}
	return c, nil
}

// ParseSourceList parses a comma-separated list of NAME=URL specs, the form
// of WISHGATE_SOURCES and WISHGATE_SOURCES_ON_DEMAND. A comma inside a URL
// (some cameras use them in query strings) stays in the URL: a new entry
// starts only where a comma is followed by NAME=rtsp:// or NAME=rtsps://.
func ParseSourceList(list string, onDemand bool) ([]SourceConfig, error) {
	var entries []string
	for part := range strings.SplitSeq(list, ",") {
		if len(entries) > 0 && !startsSpec(part) {
			entries[len(entries)-1] += "," + part
			continue
		}
		entries = append(entries, part)
	}
	var out []SourceConfig
	seen := map[string]bool{}
	for _, e := range entries {
		if strings.TrimSpace(e) == "" {
			continue
		}
		c, err := ParseSourceSpec(e)
		if err != nil {
			return nil, err
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("%w %q: declared twice", ErrInvalidSource, c.Name)
		}
		seen[c.Name] = true
		c.OnDemand = onDemand
		out = append(out, c)
	}
	return out, nil
}

func startsSpec(s string) bool {
	_, rest, ok := strings.Cut(strings.TrimSpace(s), "=")
	rest = strings.TrimSpace(rest)
	return ok && (strings.HasPrefix(rest, "rtsp://") || strings.HasPrefix(rest, "rtsps://"))
}

// MaskURL hides the password of a URL: rtsp://user:pass@cam/x becomes
// rtsp://user:***@cam/x. Unparsable input is masked from the last '@' of
// its authority, so a secret never leaks through a typo.
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	// The parsed form is trusted only when the text is unambiguous: one
	// '@', after "://". Otherwise (a scheme-less "//user:pass@host", found
	// by FuzzMaskURL; a '#', '?' or '@' inside the credentials, which moves
	// the parsed authority, found by FuzzSourceURL) mask as text up to the
	// last '@'.
	if err == nil && u.User != nil && strings.Contains(raw, "://") && strings.Count(raw, "@") == 1 {
		if _, pw := u.User.Password(); !pw {
			return raw // a user name alone
		}
		return u.Scheme + "://" + u.User.Username() + ":***@" + raw[strings.LastIndex(raw[:authorityEnd(raw)], "@")+1:]
	}
	return maskSpec(raw)
}

// authorityEnd is the index where the path, query or fragment of raw starts.
func authorityEnd(raw string) int {
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + 3
	}
	if j := strings.IndexAny(raw[start:], "/?#"); j >= 0 {
		return start + j
	}
	return len(raw)
}

// maskSpec masks everything between the first "//" and the last '@' of
// the text. It gets text whose authority cannot be trusted: a password with
// an unescaped '/', '?', '#' or '@' (found by FuzzSourceURL) ends or moves
// a parsed authority. Masking up to the last '@' may hide a path too, but
// never shows a secret.
func maskSpec(s string) string {
	// The authority starts after the first "//" (a scheme holds no '/').
	i := strings.Index(s, "//")
	if i < 0 {
		return s
	}
	start := i + 2
	at := strings.LastIndex(s[start:], "@")
	if at < 0 {
		return s
	}
	at += start
	user := s[start:at]
	if c := strings.IndexByte(user, ':'); c >= 0 {
		user = user[:c]
	}
	return s[:start] + user + ":***" + s[at:]
}

// redact removes secret from s; errors from RTSP libraries may quote URLs.
func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}

func normFingerprint(f string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(f), ":", ""))
}

// optionName reports whether k looks like an option key (letters, digits,
// '-' and '_'), as opposed to a piece of a URL cut at a stray '#'.
func optionName(k string) bool {
	if k == "" || len(k) > 32 {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
