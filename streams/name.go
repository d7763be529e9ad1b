package streams

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadName: a stream name breaks NameRule (the HTTP edges answer 400).
var ErrBadName = errors.New("invalid stream name")

// MaxNameLen bounds a stream name.
const MaxNameLen = 128

// NameRule says in words what ValidName accepts; every error of ValidName
// carries it, so a client told "no" also learns what "yes" looks like.
const NameRule = "a valid name has 1-128 characters: letters, digits, '.', '_', '~', '-', " +
	"and '/' between parts (as in site/cam1), each part starting with a letter or digit"

// NameError is the error of ValidName.
type NameError struct {
	Name   string
	Reason string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("stream name %q %s; %s", e.Name, e.Reason, NameRule)
}

// Unwrap makes errors.Is(err, ErrBadName) hold.
func (e *NameError) Unwrap() error { return ErrBadName }

// ValidName is the one rule for stream names on every surface: WHIP, WHEP,
// RTSP, the control API, the pages and camera sources. Names are path-like
// (site/cam1), as camera users know them from RTSP servers, and appear
// unescaped in URLs (/whep/site/cam1, rtsp://host/site/cam1): hence the
// unreserved characters of RFC 3986 §2.3 only, and no empty, "." or ".."
// part. A part never starts with a punctuation mark, which leaves "-" free
// to mark session resources (/whep/site/cam1/-/SECRET) unambiguously.
func ValidName(name string) error {
	if name == "" {
		return &NameError{Name: name, Reason: "is empty"}
	}
	if len(name) > MaxNameLen {
		return &NameError{Name: name[:MaxNameLen] + "...", Reason: fmt.Sprintf("is %d bytes long", len(name))}
	}
	for i, part := range strings.Split(name, "/") {
		if part == "" {
			return &NameError{Name: name, Reason: fmt.Sprintf("has an empty part (part %d)", i+1)}
		}
		for j, c := range part {
			if !alnum(c) && (j == 0 || !strings.ContainsRune("._~-", c)) {
				if j == 0 && strings.ContainsRune("._~-", c) {
					return &NameError{Name: name, Reason: fmt.Sprintf("has a part starting with %q", c)}
				}
				return &NameError{Name: name, Reason: fmt.Sprintf("contains %q", c)}
			}
		}
	}
	return nil
}

func alnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
