package reliability

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdp", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestShutdownUnderLoad: while POSTs keep arriving and media flows, Close
// lets every request the server accepted finish with 201 or 503 (never a
// dropped connection), and every connected peer sees its connection closed
// by the gateway (DTLS close), long before an ICE timeout would tell it.
func TestShutdownUnderLoad(t *testing.T) {
	testutil.Exclusive(t) // it measures delivery or timing under its own load
	gw := startGateway(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := publish(t, ctx, gw, "live", client.SynthConfig{Bitrate: 1_000_000}, client.PublishOptions{})
	url := gw.URL() + "/whep/live"
	var peers []interface {
		WaitState(context.Context, ...webrtc.PeerConnectionState) (webrtc.PeerConnectionState, error)
	}
	peers = append(peers, src.pub)
	for range 4 {
		w := watch(t, ctx, url, client.PlayOptions{})
		if err := w.WaitPackets(ctx, webrtc.RTPCodecTypeVideo, 20); err != nil {
			t.Fatal(err)
		}
		peers = append(peers, w)
	}

	// Eight clients POST offers back to back, one connection per request
	// (no keep-alive race to blur what "accepted" means).
	offer := golden(t, "chromium-156-whep.sdp")
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	var mu sync.Mutex
	statuses := map[int]int{}
	var bad []error
	created := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				resp, err := hc.Post(url, "application/sdp", bytes.NewReader(offer))
				if err != nil {
					// Refused (listener closed) or reset: connections the
					// kernel had queued but the server never accepted are
					// reset when the listener closes; nothing read them.
					// Anything else means an accepted request was dropped.
					var op *net.OpError
					mu.Lock()
					if !(errors.As(err, &op) && op.Op == "dial") && !errors.Is(err, syscall.ECONNRESET) {
						bad = append(bad, err)
					}
					mu.Unlock()
					return // the listener is gone
				}
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
				if resp.StatusCode == http.StatusCreated {
					select {
					case created <- struct{}{}:
					default:
					}
				}
				if resp.StatusCode == http.StatusServiceUnavailable {
					return
				}
			}
		}()
	}
	select {
	case <-created:
	case <-ctx.Done():
		t.Fatal("no POST succeeded before the shutdown")
	}

	closed := time.Now()
	if err := gw.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	t.Logf("Close took %v", time.Since(closed).Round(time.Millisecond))
	wg.Wait()

	mu.Lock()
	t.Logf("POST statuses during the shutdown: %v", statuses)
	for code := range statuses {
		if code != http.StatusCreated && code != http.StatusServiceUnavailable {
			t.Errorf("a POST got %d", code)
		}
	}
	for _, err := range bad {
		t.Errorf("an accepted POST lost its connection: %v", err)
	}
	mu.Unlock()

	// Every peer was told: closed (DTLS close_notify) within a second or
	// two, not disconnected by silence after the 5 s ICE timeout.
	closeCtx, stop := context.WithTimeout(ctx, 4*time.Second)
	defer stop()
	for i, p := range peers {
		st, err := p.WaitState(closeCtx, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateFailed)
		if err != nil {
			t.Errorf("peer %d not closed by the gateway: %v", i, err)
			continue
		}
		t.Logf("peer %d: %s after %v", i, st, time.Since(closed).Round(time.Millisecond))
	}
}
