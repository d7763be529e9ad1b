package cluster

import (
	"strconv"
	"testing"
	"time"
)

// A pass admits its stream until it expires, on any node with the same
// secret, and nothing else.
func TestPass(t *testing.T) {
	a := &Node{cfg: Config{Secret: "0123456789abcdef0123456789abcdef-a"}}
	b := &Node{cfg: Config{Secret: a.cfg.Secret}}
	stranger := &Node{cfg: Config{Secret: "0123456789abcdef0123456789abcdef-x"}}
	p := a.Pass("live/show")
	if !b.Admits("live/show", p) {
		t.Fatalf("a fresh pass %q is refused", p)
	}
	at := func(d time.Duration) string {
		exp := strconv.FormatInt(time.Now().Add(d).Unix(), 10)
		return exp + "." + a.passMAC("live/show", exp)
	}
	for what, ok := range map[string]bool{
		"another stream":        b.Admits("live/other", p),
		"another cluster":       stranger.Admits("live/show", p),
		"expired":               b.Admits("live/show", at(-time.Second)),
		"expiring far too late": b.Admits("live/show", at(10*passTTL)),
		"no signature":          b.Admits("live/show", p[:len(p)-43]),
		"garbage":               b.Admits("live/show", "x.y"),
		"empty":                 b.Admits("live/show", ""),
	} {
		if ok {
			t.Errorf("%s: admitted", what)
		}
	}
}
