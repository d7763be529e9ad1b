package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/testutil"
)

type session struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Stream     string    `json:"stream"`
	RemoteAddr string    `json:"remote_addr"`
	Since      time.Time `json:"since"`
}

func listSessions(t *testing.T, url string) map[string]session {
	t.Helper()
	r := call(t, "GET", url+"/api/v1/sessions", nil)
	if r.Status != 200 {
		t.Fatalf("sessions: %d %s", r.Status, r.Body)
	}
	out := map[string]session{}
	for _, s := range decode[struct{ Items []session }](t, r).Items {
		out[s.Kind] = s
	}
	return out
}

// waitEnded waits until the pion peer itself reports its connection ended.
func waitEnded(t *testing.T, who string, s interface {
	WaitState(context.Context, ...webrtc.PeerConnectionState) (webrtc.PeerConnectionState, error)
}) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Closed: the gateway ended it with a DTLS close (a silent gateway
	// would leave the peer disconnected, then failed).
	st, err := s.WaitState(ctx, webrtc.PeerConnectionStateClosed)
	if err != nil {
		t.Fatalf("%s still %s after the kick: %v", who, st, err)
	}
	t.Logf("%s: %s", who, st)
}

// TestKickSessions lists a publisher and a viewer, kicks the viewer (only
// it ends, media keeps flowing to a second viewer), then the publisher.
func TestKickSessions(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	pub := publish(t, a, "cam")
	v1 := play(t, a, "cam")

	sess := listSessions(t, a.URL())
	whip, whep := sess["whip"], sess["whep"]
	if len(sess) != 2 || whip.Stream != "cam" || whep.Stream != "cam" || whip.ID == "" || whep.ID == "" ||
		whip.RemoteAddr == "" || time.Since(whip.Since) > time.Minute {
		t.Fatalf("sessions: %+v", sess)
	}
	// The stream view names the same sessions.
	s := decode[stream](t, call(t, "GET", a.URL()+"/api/v1/streams/cam", nil))
	if s.Source == nil || s.Source.SessionID != whip.ID || len(s.Readers) != 1 || s.Readers[0].ID != whep.ID {
		t.Fatalf("stream view ids differ from the session list: %+v", s)
	}

	if r := call(t, "DELETE", a.URL()+"/api/v1/sessions/"+whep.ID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("kick viewer: %d %s", r.Status, r.Body)
	}
	waitEnded(t, "kicked viewer", v1)
	wantProblem(t, call(t, "DELETE", a.URL()+"/api/v1/sessions/"+whep.ID, nil), 404, "no such live session")
	if _, ok := listSessions(t, a.URL())["whep"]; ok {
		t.Error("kicked viewer still listed")
	}

	// The publisher was not disturbed: a new viewer gets media.
	v2 := play(t, a, "cam")
	if pub.ConnectionState() != webrtc.PeerConnectionStateConnected {
		t.Errorf("publisher %s after the viewer's kick", pub.ConnectionState())
	}

	if r := call(t, "DELETE", a.URL()+"/api/v1/sessions/"+whip.ID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("kick publisher: %d %s", r.Status, r.Body)
	}
	waitEnded(t, "kicked publisher", pub)
	// The viewer stays for the grace period, its stream waiting.
	eventually(t, 5*time.Second, "stream waiting", func() bool {
		r := call(t, "GET", a.URL()+"/api/v1/streams/cam", nil)
		return r.Status == 200 && decode[stream](t, r).State == "waiting"
	})
	if v2.ConnectionState() != webrtc.PeerConnectionStateConnected {
		t.Errorf("viewer %s during the grace period", v2.ConnectionState())
	}
	wantProblem(t, call(t, "DELETE", a.URL()+"/api/v1/sessions/nope", nil), 404, "no such live session")
}

// TestKickedViewerCanRejoin: a kick is not a ban.
func TestKickedViewerCanRejoin(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	publish(t, a, "cam")
	v := play(t, a, "cam")
	id := listSessions(t, a.URL())["whep"].ID
	if r := call(t, "DELETE", a.URL()+"/api/v1/sessions/"+id, nil); r.Status != 204 {
		t.Fatalf("kick: %d", r.Status)
	}
	waitEnded(t, "viewer", v)
	play(t, a, "cam")
}
