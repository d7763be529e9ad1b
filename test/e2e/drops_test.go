package e2e

import (
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

// TestNeverConnectedViewerDropsNothing: a WHEP session that was answered
// but whose ICE never connects (a browser tab closed mid-negotiation) is
// not a reader that fell behind: it counts no queue_full drops, in the API
// or the metrics, however much media flows meanwhile.
func TestNeverConnectedViewerDropsNothing(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	pub := publish(t, a, "nc", client.CodecH264, client.CodecOpus)
	startFeeder(t, pub, webrtc.MimeTypeH264, webrtc.MimeTypeOpus, 0)

	type stream struct {
		Tracks []struct {
			Packets uint64 `json:"packets"`
		} `json:"tracks"`
		Readers []struct {
			Kind           string `json:"kind"`
			PacketsDropped uint64 `json:"packets_dropped"`
		} `json:"readers"`
	}
	get := func() stream {
		t.Helper()
		r := do(t, "GET", a.URL()+"/api/v1/streams/nc", "", nil)
		var s stream
		if err := json.Unmarshal([]byte(r.Body), &s); err != nil || r.Status != 200 {
			t.Fatalf("GET stream: %d %s (%v)", r.Status, r.Body, err)
		}
		return s
	}
	total := func(s stream) (n uint64) {
		for _, tr := range s.Tracks {
			n += tr.Packets
		}
		return n
	}

	// The offer is answered; nothing ever answers the gateway's ICE checks.
	r := do(t, "POST", a.URL()+"/whep/nc", sdpType, golden(t, "chromium-156-whep.sdp"))
	if r.Status != 201 {
		t.Fatalf("POST: %d %s", r.Status, r.Body)
	}
	defer do(t, "DELETE", a.URL()+r.Header.Get("Location"), "", nil)
	start := total(get())
	deadline := time.Now().Add(15 * time.Second)
	for total(get()) < start+800 { // well past a reader queue's 320 packets
		if time.Now().After(deadline) {
			t.Fatal("media did not flow")
		}
		time.Sleep(100 * time.Millisecond)
	}
	s := get()
	if len(s.Readers) != 1 || s.Readers[0].Kind != "whep" || s.Readers[0].PacketsDropped != 0 {
		t.Errorf("readers %+v: want the unconnected viewer with no drops", s.Readers)
	}
	m := do(t, "GET", a.URL()+"/metrics", "", nil)
	line := regexp.MustCompile(`(?m)^wishgate_dropped_packets_total\{reason="queue_full"\} (\S+)$`).FindStringSubmatch(m.Body)
	if line == nil {
		t.Fatalf("no queue_full drop counter in /metrics")
	}
	if v, err := strconv.ParseFloat(line[1], 64); err != nil || v != 0 {
		t.Errorf("queue_full drops = %s, want 0", line[1])
	}
}
