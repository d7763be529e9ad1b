package cluster

import (
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/testutil"
)

// A cluster over rediss://: redis-server serves TLS only, the gateways
// (processes, trusting the test's CA through SSL_CERT_FILE) verify its
// certificate, register and relay; a gateway that does not trust the CA
// refuses the connection and logs Redis as unreachable from the start.
func TestRedisOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testutil.NewCA(t)
	cert, key, caFile := filepath.Join(dir, "redis.crt"), filepath.Join(dir, "redis.key"), filepath.Join(dir, "ca.crt")
	ca.Issue(t, cert, key, "redis", time.Now().Add(time.Hour))
	ca.WriteCert(t, caFile)
	r := testutil.StartRedisTLS(t, cert, key)
	bin := testutil.BuildGateway(t)
	node := func(i int) *testutil.GatewayProcess {
		ip := fmt.Sprintf("127.0.0.%d", i)
		return testutil.StartGatewayProcess(t, bin, "--http-addr", ip+":0", "--udp-addr", ip+":0",
			"--tcp-addr", "", "--rtsp-addr", "", "--cluster-redis-url", r.URL(), "--cluster-node-id", fmt.Sprintf("n%d", i),
			"--cluster-secret", secret, "--cluster-lease-ttl", leaseTTL.String(), "--log-level", "info")
	}
	t.Setenv("SSL_CERT_FILE", caFile) // inherited by the gateways started now
	n1, n2 := node(1), node(2)
	for _, n := range []*testutil.GatewayProcess{n1, n2} {
		n.WaitLog(t, 10*time.Second, regexp.MustCompile(`joined the cluster.*redis_reachable=true`))
	}
	publishAt(t, n1.URL, "secure", 25, 0)
	v, err := tryPlay(n2.URL+"/whep/secure", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	v.waitFrames(t, 20)
	if _, bad := v.seen(); bad != 0 {
		t.Fatalf("%d payloads differ from what was sent", bad)
	}

	t.Setenv("SSL_CERT_FILE", filepath.Join(dir, "none.crt")) // trusts nothing
	n3 := node(3)
	n3.WaitLog(t, 10*time.Second, regexp.MustCompile(`cluster directory \(Redis\) unreachable.* node=n3`))
	n3.WaitLog(t, 10*time.Second, regexp.MustCompile(`joined the cluster.*redis_reachable=false`))
}
