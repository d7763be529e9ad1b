package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

// TestDeleteOnce: a session resource answers one DELETE with 200. After an
// explicit DELETE it is gone (404, RFC 9725 §4.3.1); a session whose peer
// closed first, as OBS closes DTLS before its DELETE, still answers that
// first DELETE with 200, and only that one.
func TestDeleteOnce(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	frag := []byte("a=end-of-candidates\r\n")

	t.Run("explicit DELETE", func(t *testing.T) {
		pub := publish(t, a, "once", client.CodecH264, client.CodecOpus)
		v := play(t, a, "once", client.PlayOptions{})
		for _, s := range []interface {
			Location() string
			Delete(context.Context) (int, error)
		}{pub, v.Viewer} {
			if st, err := s.Delete(ctx); st != http.StatusOK {
				t.Fatalf("DELETE %s: %d %v", s.Location(), st, err)
			}
			if r := do(t, "DELETE", s.Location(), "", nil); r.Status != http.StatusNotFound {
				t.Errorf("second DELETE %s: %d %s, want 404", s.Location(), r.Status, r.Body)
			}
			if r := do(t, "PATCH", s.Location(), "application/trickle-ice-sdpfrag", frag); r.Status != http.StatusNotFound {
				t.Errorf("PATCH after DELETE: %d", r.Status)
			}
		}
	})

	t.Run("peer closed first", func(t *testing.T) {
		pub := publish(t, a, "obs-like", client.CodecH264, client.CodecOpus)
		if err := pub.PeerConnection().Close(); err != nil { // DTLS close_notify, no DELETE
			t.Fatal(err)
		}
		deadline := time.Now().Add(15 * time.Second)
		for do(t, "PATCH", pub.Location(), "application/trickle-ice-sdpfrag", frag).Status != http.StatusNotFound {
			if time.Now().After(deadline) {
				t.Fatal("the gateway did not end the session whose peer closed")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if st, err := pub.Delete(ctx); st != http.StatusOK {
			t.Fatalf("DELETE after the peer closed: %d %v, want 200", st, err)
		}
		if r := do(t, "DELETE", pub.Location(), "", nil); r.Status != http.StatusNotFound {
			t.Errorf("second DELETE: %d, want 404", r.Status)
		}
	})
}
