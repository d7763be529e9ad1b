package bridge

import (
	"net"
	"net/url"
	"strings"
	"testing"
)

func TestSelfPullURL(t *testing.T) {
	s := NewSelf()
	s.listening(&net.TCPAddr{IP: net.IPv6unspecified, Port: 8554}, false) // ":8554"
	s.listening(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8322}, true)
	for _, c := range []struct {
		raw  string
		self bool
	}{
		{"rtsp://127.0.0.1:8554/cam1", true},
		{"rtsp://localhost:8554/site/cam1", true},
		{"rtsp://[::1]:8554/cam1", true},
		{"rtsp://user:pw@127.0.0.1:8554/cam1?x=1", true},
		{"rtsps://127.0.0.1:8322/cam1", true},
		{"rtsp://127.0.0.1:8322/cam1", false},  // the RTSPS port spoken to in plain RTSP
		{"rtsp://127.0.0.1/cam1", false},       // 554: not a listener
		{"rtsp://192.0.2.10:8554/cam1", false}, // another machine
		{"rtsp://cam.example:8554/cam1", false},
		{"rtsp://127.0.0.2:8554/cam1", true},   // every address: all of 127/8 reaches it
		{"rtsps://127.0.0.2:8322/cam1", false}, // bound to 127.0.0.1 only: 127.0.0.2 may be another program
		{"rtsps://localhost:8322/cam1", true},
	} {
		got, self := s.pullURL(c.raw)
		if self != c.self {
			t.Errorf("%s: self=%v, want %v", c.raw, self, c.self)
			continue
		}
		u, _ := url.Parse(got)
		if has := u.Query().Get("token") == s.token; has != c.self {
			t.Errorf("%s -> %s: credential added %v, want %v", c.raw, got, has, c.self)
		}
		if !c.self && got != c.raw {
			t.Errorf("%s changed to %s", c.raw, got)
		}
		if c.self && !strings.Contains(got, "/cam1") {
			t.Errorf("%s -> %s lost its path", c.raw, got)
		}
	}
	if !s.authorizes(s.token) || s.authorizes("") || s.authorizes("guess") || (*Self)(nil).authorizes(s.token) {
		t.Error("authorizes accepts something other than the gateway's own credential")
	}
}
