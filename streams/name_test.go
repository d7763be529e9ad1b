package streams

import (
	"errors"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
		why  string // in the error
	}{
		{"cam1", true, ""},
		{"site/cam1", true, ""},
		{"a/b/c.d_e~f-g", true, ""},
		{"9", true, ""},
		{strings.Repeat("a", 128), true, ""},
		{strings.Repeat("a", 129), false, "129 bytes"},
		{"", false, "empty"},
		{"/cam1", false, "empty part"},
		{"cam1/", false, "empty part"},
		{"a//b", false, "empty part"},
		{"a/./b", false, "starting with '.'"},
		{"a/../b", false, "starting with '.'"},
		{"a/-/b", false, "starting with '-'"},
		{"_x", false, "starting with '_'"},
		{"cam 1", false, "contains ' '"},
		{"cam%2F1", false, "contains '%'"},
		{"cam?x", false, "contains '?'"},
		{"caméra", false, "contains 'é'"},
	} {
		err := ValidName(c.name)
		if (err == nil) != c.ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", c.name, err, c.ok)
			continue
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrBadName) {
			t.Errorf("ValidName(%q): %v does not wrap ErrBadName", c.name, err)
		}
		if msg := err.Error(); !strings.Contains(msg, c.why) || !strings.Contains(msg, NameRule) {
			t.Errorf("ValidName(%q) = %q: want %q and the rule in it", c.name, msg, c.why)
		}
	}
}
