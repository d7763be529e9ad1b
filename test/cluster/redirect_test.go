package cluster

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/signaling"
)

// A full node answers 307 to a node with room, and the load tool's
// client (internal/client, whose redirect policy wishbench shares) follows
// it and plays there; with every node full the answer is 503.
func TestFullNodeRedirects(t *testing.T) {
	_, nodes := startCluster(t, 3, func(i int, c *config.Config) {
		c.MaxViewers = map[int]int{1: 2, 2: 1, 3: 1}[i]
	})
	n1 := nodes[0]
	publish(t, n1, "full", 25, 0)
	play(t, n1, "full").waitFrames(t, 3)
	play(t, n1, "full").waitFrames(t, 3)

	onOther := func() *viewer {
		t.Helper()
		v, err := tryPlay(n1.URL()+"/whep/full", nil) // the client's own HTTP client follows 307
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = v.Close() })
		if strings.HasPrefix(v.Location(), n1.URL()) {
			t.Fatalf("played on the full node: %s", v.Location())
		}
		v.waitFrames(t, 3)
		return v
	}
	onOther()
	onOther()
	waitFor(t, 5*time.Second, "every node's heartbeat to say full", func() bool {
		snap, err := n1.Cluster().Snapshot(t.Context())
		if err != nil {
			return false
		}
		for _, n := range snap.Nodes {
			if !n.Full {
				return false
			}
		}
		return len(snap.Nodes) == 3
	})
	resp := postNoFollow(t, n1, offerSDP(t))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("every node full: %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func postNoFollow(t *testing.T, a *app.App, offer string) reply {
	t.Helper()
	return postWith(t, a.URL()+"/whep/full", offer, "")
}

// A node over its CPU threshold takes no new viewer: it redirects them to
// a node under it.
func TestBusyNodeRedirects(t *testing.T) {
	_, nodes := startCluster(t, 2, func(i int, c *config.Config) {
		if i == 1 {
			c.ClusterCPUThreshold = 0.0001 // any work at all is over it
		}
	})
	n1, n2 := nodes[0], nodes[1]
	publish(t, n1, "full", 25, 0)
	waitFor(t, 5*time.Second, "node 1's heartbeat to say full", func() bool {
		snap, err := n1.Cluster().Snapshot(t.Context())
		if err != nil {
			return false
		}
		for _, n := range snap.Nodes {
			if n.ID == "n1" {
				return n.Full && n.CPUPercent > 0
			}
		}
		return false
	})
	resp := postNoFollow(t, n1, offerSDP(t))
	if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(resp.Header.Get("Location"), n2.URL()+"/whep/full?"+signaling.PassParam+"=") {
		t.Fatalf("busy node: %d Location %q, want 307 to %s", resp.StatusCode, resp.Header.Get("Location"), n2.URL())
	}
}

// A viewer whose token travels in the Authorization header is redirected
// by a full node to another host: its HTTP client drops the header there
// (net/http does, as fetch does for another origin), and the signed pass
// in the Location lets it in. The full node checked the token first; a
// pass admits only a viewer of its own stream, unaltered, never a
// publisher.
func TestRedirectCarriesPass(t *testing.T) {
	const pubToken, viewToken = "publish-token-0123", "view-token-0123"
	_, nodes := startCluster(t, 2, func(i int, c *config.Config) {
		c.PublishTokens, c.ReadTokens = []string{pubToken}, []string{viewToken}
		if i == 1 {
			c.MaxViewers = 1
		}
	})
	n1, n2 := nodes[0], nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := client.Publish(ctx, n1.URL()+"/whip/private", client.PublishOptions{Options: client.Options{Token: pubToken}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	feedOn(t, pub, 25, 0)
	playAs := func(hc *http.Client) (*client.Viewer, error) {
		v, err := client.Play(ctx, n1.URL()+"/whep/private", client.PlayOptions{Options: client.Options{Token: viewToken, HTTPClient: hc}})
		if err == nil {
			t.Cleanup(func() { _ = v.Close() })
		}
		return v, err
	}
	if _, err := playAs(nil); err != nil { // n1 is full now
		t.Fatal(err)
	}
	offer := offerSDP(t)
	if got := postWith(t, n1.URL()+"/whep/private", offer, ""); got.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token at the full node: %d, want 401 (no redirect around the token check)", got.StatusCode)
	}
	redirect := postWith(t, n1.URL()+"/whep/private", offer, viewToken)
	loc, err := url.Parse(redirect.Header.Get("Location"))
	if redirect.StatusCode != http.StatusTemporaryRedirect || err != nil || "http://"+loc.Host != n2.URL() ||
		loc.Query().Get(signaling.PassParam) == "" {
		t.Fatalf("full node: %d Location %q, want 307 to %s with a pass", redirect.StatusCode, loc, n2.URL())
	}

	// A plain net/http client: Authorization is not sent to 127.0.0.2.
	v, err := playAs(&http.Client{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("redirected viewer without its header: %v", err)
	}
	if !strings.HasPrefix(v.Location(), n2.URL()) {
		t.Fatalf("played at %s, want node 2", v.Location())
	}
	if err := v.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "video on node 2", func() bool { return v.Received(webrtc.RTPCodecTypeVideo).Packets > 0 })

	pass := loc.Query().Get(signaling.PassParam)
	altered := []byte(pass)
	if i := len(altered) - 5; altered[i] == 'A' {
		altered[i] = 'B'
	} else {
		altered[i] = 'A'
	}
	other := n1.Cluster().Pass("elsewhere")
	for _, tc := range []struct{ what, url string }{
		{"a pass for another stream", n2.URL() + "/whep/private?" + signaling.PassParam + "=" + other},
		{"an altered pass", n2.URL() + "/whep/private?" + signaling.PassParam + "=" + string(altered)},
		{"a pass used to publish", n2.URL() + "/whip/private?" + signaling.PassParam + "=" + pass},
		{"no pass", n2.URL() + "/whep/private"},
	} {
		if got := postWith(t, tc.url, offer, ""); got.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", tc.what, got.StatusCode)
		}
	}
}

// postWith POSTs an offer without following redirects, with a bearer
// token if one is given.
func postWith(t *testing.T, target, offer, token string) reply {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Close = true
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return reply{resp.StatusCode, resp.Header}
}
