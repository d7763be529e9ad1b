package hostile

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wishgate/wishgate/internal/config"
)

// TestDNSRebindingRefused: with no admin token the control API answers
// loopback clients only; a web page of another site that reaches it through
// DNS rebinding comes from loopback too, but names its own site as Host:
// 403. Loopback Host values and the configured names pass.
func TestDNSRebindingRefused(t *testing.T) {
	gw := startGateway(t, func(c *config.Config) {
		c.RTSPAddr = ""
		c.APIAllowedHosts = []string{"gateway.lan"}
	})
	a := newAttacker(t, gw)
	for host, want := range map[string]int{
		"":                    http.StatusOK, // the URL's own 127.0.0.1:port
		"localhost":           http.StatusOK,
		"gateway.lan:8080":    http.StatusOK,
		"evil.example":        http.StatusForbidden,
		"evil.example:8080":   http.StatusForbidden,
		"127.0.0.1.nip.io":    http.StatusForbidden,
		"gateway.lan.example": http.StatusForbidden,
	} {
		var r response
		if host == "" {
			r = a.do("GET", "/api/v1/streams", "", nil)
		} else {
			r = a.do("GET", "/api/v1/streams", "", nil, "Host", host)
		}
		if r.status != want {
			t.Errorf("Host %q: %d %s, want %d", host, r.status, r.body, want)
		}
		if want == http.StatusForbidden && !strings.Contains(r.body, "DNS rebinding") {
			t.Errorf("Host %q: the refusal does not say why: %s", host, r.body)
		}
	}
}
