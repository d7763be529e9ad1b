package cluster

import (
	"net/http"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/config"
)

// openFDs counts this process's open file descriptors (sockets included).
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// 100 times: a viewer on node 2 makes it pull the stream from node 1, and
// leaves, and the relay stops. Afterwards the origin has no relay reader,
// and goroutines and sockets are back where they were.
func TestRelayChurn(t *testing.T) {
	_, nodes := startCluster(t, 2, func(i int, c *config.Config) { c.ClusterRelayLinger = 0 })
	n1, n2 := nodes[0], nodes[1]
	publish(t, n1, "churn", 25, 0)
	cycle := func() {
		v, err := tryPlay(n2.URL()+"/whep/churn", nil)
		if err != nil {
			t.Fatal(err)
		}
		v.waitFrames(t, 2)
		_ = v.Close()
		waitFor(t, 5*time.Second, "the relay to stop", func() bool {
			_, live := n2.Registry.Info("churn")
			return !live && relayReaders(t, n1, "churn") == 0 && n2.Cluster().Stats().Relays == 0
		})
	}
	cycle() // warm-up: pools, caches, the first connections
	settle := func() (int, int) {
		time.Sleep(200 * time.Millisecond)
		return runtime.NumGoroutine(), openFDs(t)
	}
	g0, fd0 := settle()
	starts := n2.Cluster().Stats().RelayStarts
	for range 100 {
		cycle()
	}
	if got := n2.Cluster().Stats().RelayStarts - starts; got != 100 {
		t.Fatalf("%d relay starts for 100 cycles", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, fd := settle()
		if g <= g0+5 && fd <= fd0+2 {
			t.Logf("after 100 relay cycles: %d goroutines (was %d), %d fds (was %d)", g, g0, fd, fd0)
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("leak after 100 relay cycles: %d goroutines (was %d), %d fds (was %d)\n%s",
				g, g0, fd, fd0, buf[:runtime.Stack(buf, true)])
		}
	}
}

// A viewer arriving on the edge just as its relay stops (the linger over,
// the pull still closing) gets the stream: from the relay being set up
// anew, never a 409 from the one going away.
func TestJoinAsRelayStops(t *testing.T) {
	_, nodes := startCluster(t, 2, func(i int, c *config.Config) { c.ClusterRelayLinger = 0 })
	n1, n2 := nodes[0], nodes[1]
	publish(t, n1, "rejoin", 25, 0)
	offer := offerSDP(t)
	for i := range 10 {
		v, err := tryPlay(n2.URL()+"/whep/rejoin", nil)
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		v.waitFrames(t, 2)
		_ = v.Close()
		// The moment the relayed publication is gone, before the relay
		// has finished (1 ms polls, bounded).
		for range 5000 {
			if info, ok := n2.Registry.Info("rejoin"); !ok || info.Publisher == nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		// An offer at hand (no gathering first) reaches the edge within
		// the moment the pull is closing.
		got := post(t, n2.URL()+"/whep/rejoin", offer)
		if got.StatusCode != http.StatusCreated {
			t.Fatalf("cycle %d: a viewer arriving as the relay stopped got %d, want 201", i, got.StatusCode)
		}
		req, _ := http.NewRequest(http.MethodDelete, n2.URL()+got.Header.Get("Location"), nil)
		req.Close = true
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("DELETE the session: %d", resp.StatusCode)
		}
		waitFor(t, 5*time.Second, "the relay to stop", func() bool { return n2.Cluster().Stats().Relays == 0 })
	}
}
