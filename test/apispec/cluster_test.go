package apispec

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

const clusterSecret = "apispec-cluster-secret-0123456789abcdef"

func clusterNode(t *testing.T, r *testutil.Redis, id string, maxViewers int) *app.App {
	return testutil.StartGateway(t, func(c *config.Config) {
		c.ClusterRedisURL, c.ClusterNodeID, c.ClusterSecret = r.URL(), id, clusterSecret
		c.ClusterLeaseTTL, c.ClusterRelayLinger = time.Second, 200*time.Millisecond
		c.MaxViewers = maxViewers
	})
}

// TestClusterSpec checks a clustered gateway's routes (the relay endpoint
// included) against openapi.yaml and validates the cluster's answers:
// /api/v1/cluster, a relay's listing, the relay endpoint's refusals and a
// full node's 307.
func TestClusterSpec(t *testing.T) {
	doc := loadSpec(t)
	r := testutil.StartRedis(t)
	a := clusterNode(t, r, "a", 1)
	b := clusterNode(t, r, "b", 0)
	ops := operationsOf(doc)
	routes := routesOf(a, ops)
	for _, o := range ops {
		if !slices.Contains(routes, o) {
			t.Errorf("openapi.yaml describes %s, which a clustered gateway does not serve", o)
		}
	}
	for _, rt := range routes {
		if !slices.Contains(ops, rt) {
			t.Errorf("route %s is served but not in openapi.yaml", rt)
		}
	}
	v := newValidator(t, doc, a.URL())
	c := caller{t: t, base: a.URL(), hc: v.client()}
	hc := &client.Options{HTTPClient: v.client()}
	publish(t, a, "spec", hc)
	play(t, a, "spec", hc) // a is full now (max_viewers 1)

	// A full node redirects to b, and the viewer plays there as a relay.
	noFollow := &http.Client{Transport: v, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodPost, a.URL()+"/whep/spec", strings.NewReader(string(golden(t, "chromium-156-whep.sdp"))))
	req.Header.Set("Content-Type", sdpType)
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(resp.Header.Get("Location"), b.URL()+"/whep/spec?cluster_pass=") {
		t.Fatalf("full node: %d Location %q, want 307 to %s", resp.StatusCode, resp.Header.Get("Location"), b.URL())
	}
	vb := newValidator(t, loadSpec(t), b.URL())
	play(t, b, "spec", &client.Options{HTTPClient: vb.client()})
	cb := caller{t: t, base: b.URL(), hc: vb.client()}
	cb.do(http.MethodGet, "/api/v1/streams", nil, http.StatusOK)
	cb.do(http.MethodGet, "/api/v1/cluster", nil, http.StatusOK)
	c.do(http.MethodGet, "/api/v1/streams/spec", nil, http.StatusOK)

	offer := golden(t, "chromium-156-whep.sdp")
	c.do(http.MethodPost, "/cluster/whep/spec", offer, http.StatusUnauthorized, "Content-Type", sdpType)
	c.do(http.MethodPost, "/cluster/whep/nothing", offer, http.StatusConflict, "Content-Type", sdpType,
		"Authorization", "Bearer "+clusterSecret)
	for _, m := range []string{http.MethodOptions, http.MethodGet} {
		c.do(m, "/cluster/whep/spec", nil, http.StatusNoContent)
	}
	c.do(http.MethodHead, "/cluster/whep/spec", nil, http.StatusOK)
	for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete} {
		c.do(m, "/cluster/whep/spec", nil, http.StatusMethodNotAllowed)
	}
	// A relay session of its own, as another node would pull it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	relay, err := client.Play(ctx, a.URL()+"/cluster/whep/spec", client.PlayOptions{Options: client.Options{
		Token: clusterSecret, HTTPClient: v.client(), Header: http.Header{"Wishgate-Node": {"spec-edge"}}}})
	if err != nil {
		t.Fatal(err)
	}
	loc := strings.TrimPrefix(relay.Location(), a.URL())
	m := iceCreds.FindStringSubmatch(relay.PeerConnection().LocalDescription().SDP)
	if m == nil {
		t.Fatal("no ICE credentials in the relay's offer")
	}
	frag := "a=ice-ufrag:" + m[1] + "\r\na=ice-pwd:" + m[2] + "\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=end-of-candidates\r\n"
	c.do(http.MethodPatch, loc, []byte(frag), http.StatusNoContent, "Content-Type", fragType, "If-Match", relay.ETag())
	c.do(http.MethodOptions, loc, nil, http.StatusNoContent)
	c.do(http.MethodGet, loc, nil, http.StatusNoContent)
	c.do(http.MethodHead, loc, nil, http.StatusNoContent)
	c.do(http.MethodPut, loc, nil, http.StatusMethodNotAllowed)
	c.do(http.MethodPost, loc, nil, http.StatusMethodNotAllowed)
	if err := relay.Close(); err != nil { // the DELETE
		t.Fatal(err)
	}

	r.Stop()
	waitUnreachable(t, a)
	c.do(http.MethodGet, "/api/v1/cluster", nil, http.StatusServiceUnavailable)
	v.report()
	vb.report()

	var missing []string
	for _, op := range ops {
		if clusterOnly(op) && len(v.covered[op]) == 0 && len(vb.covered[op]) == 0 {
			missing = append(missing, op)
		}
	}
	if len(missing) > 0 {
		t.Errorf("cluster operations never exercised: %s", strings.Join(missing, ", "))
	}
}

// clusterOnly: an operation a single gateway does not serve or cannot show.
func clusterOnly(op string) bool {
	return strings.Contains(op, " /cluster/") || strings.HasSuffix(op, " /api/v1/cluster")
}

func waitUnreachable(t *testing.T, a *app.App) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for a.Cluster().Reachable() {
		if ctx.Err() != nil {
			t.Fatal("the node still thinks Redis answers")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
