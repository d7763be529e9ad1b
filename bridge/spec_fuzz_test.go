package bridge

import (
	"net/url"
	"strings"
	"testing"

	"github.com/wishgate/wishgate/streams"
)

// leaks reports whether out reveals pass: out contains it, and the same
// call with another password of the same length (alt) does not, so the text
// came from the input, not from a message that happens to contain it.
// Only meaningful when pass occurs in the input exactly once.
func leaks(out, pass, alt string) bool {
	return strings.Contains(out, pass) && !strings.Contains(alt, pass)
}

func otherPassword(pass string) string {
	if strings.HasPrefix(pass, "Z") {
		return strings.Repeat("Y", len(pass))
	}
	return strings.Repeat("Z", len(pass))
}

// FuzzSourceURL: whatever the operator (or an API caller) declares as a
// camera source, the camera password never appears in MaskURL, in the
// source's String, nor in a parse or validation error, and a source that
// parses is an rtsp(s) URL with a host and a valid name.
func FuzzSourceURL(f *testing.F) {
	for _, s := range [][4]string{
		{"rtsp", "admin", "hunter2-is-long", "10.0.0.5:554/stream1"},
		{"rtsp", "admin", "pa#ss-word", "cam/x"},
		{"rtsp", "ad#min", "password1", "cam/x"},
		{"rtsps", "u", "p@ss", "cam.local/h264?x=1#transport=tcp"},
		{"rtsp", "", "pw", "h/x"},
		{"http", "u", "secret", "h"},
		{"rtsp", "u:v", "w", "[::1]:8554/a,b"},
		{"", "u", "pass", "//h"},
		{"rtsp", "u", "pa/ss", "h"},
		{"rtsp", "u", "pass", "h@i/j"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, scheme, user, pass, rest string) {
		raw := scheme + "://" + user + ":" + pass + "@" + rest
		if len(pass) < 3 || strings.Count(raw, pass) != 1 {
			return
		}
		alt := scheme + "://" + user + ":" + otherPassword(pass) + "@" + rest
		if out := MaskURL(raw); leaks(out, pass, MaskURL(alt)) {
			t.Fatalf("MaskURL(%q) = %q", raw, out)
		}
		c, err := ParseSourceSpec("cam=" + raw)
		_, altErr := ParseSourceSpec("cam=" + alt)
		if err != nil {
			if altErr == nil {
				altErr = err
			}
			// Short passwords match message text by chance ("#' " is in
			// the '#' hint); eight characters do not.
			if len(pass) >= 8 && leaks(err.Error(), pass, altErr.Error()) {
				t.Fatalf("ParseSourceSpec error leaks the password: %v", err)
			}
			return
		}
		if strings.Contains(c.String(), pass) {
			t.Fatalf("String() = %q", c.String())
		}
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" || streams.ValidName(c.Name) != nil {
			t.Fatalf("accepted %+v", c)
		}
	})
}

// FuzzMaskURL: any string at all; if it parses as a URL with a password,
// the masked form does not contain that password.
func FuzzMaskURL(f *testing.F) {
	for _, s := range []string{"rtsp://u:p4ss@h/x", "//u:p4ss@h", "rtsp://u:p4ss@h@i/x", "u:p4ss@h", "rtsp://u:p%34ss@h/", "rtsp://:p4ss@h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil || u.User == nil {
			return
		}
		pass, ok := u.User.Password()
		if !ok || len(pass) < 3 || strings.Count(raw, pass) != 1 {
			return
		}
		if out := MaskURL(raw); leaks(out, pass, MaskURL(strings.Replace(raw, pass, otherPassword(pass), 1))) {
			t.Fatalf("MaskURL(%q) = %q", raw, out)
		}
	})
}

// TestMaskURLAmbiguousCredentials: the leaks the fuzzers found, as an
// operator would write them. Masking may hide more than the password; it
// must never show it.
func TestMaskURLAmbiguousCredentials(t *testing.T) {
	const pw = "s3cr3t-pw"
	for _, raw := range []string{
		"rtsp://admin:" + pw + "/x@cam/stream", // '/' in the password
		"rtsp://admin:" + pw + "#x@cam/stream", // '#'
		"rtsp://admin:" + pw + "?x@cam/stream", // '?'
		"rtsp://ad#min:" + pw + "@cam/stream",  // '#' in the user name
		"rtsp://admin:" + pw + "@x@cam/stream", // '@'
		"//admin:" + pw + "@cam/stream",        // no scheme
	} {
		if out := MaskURL(raw); strings.Contains(out, pw) {
			t.Errorf("MaskURL(%q) = %q", raw, out)
		}
		c := SourceConfig{Name: "cam", URL: raw}
		if strings.Contains(c.String(), pw) {
			t.Errorf("String() = %q", c.String())
		}
		if _, err := ParseSourceSpec("cam=" + raw); err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("ParseSourceSpec(%q): %v", raw, err)
		}
	}
	// The ordinary case keeps its host for the logs.
	if got := MaskURL("rtsp://admin:" + pw + "@10.0.0.5:554/stream1"); got != "rtsp://admin:***@10.0.0.5:554/stream1" {
		t.Errorf("MaskURL = %q", got)
	}
}
