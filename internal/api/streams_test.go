package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/testutil"
)

type stream struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	Source *struct {
		Kind       string `json:"kind"`
		RemoteAddr string `json:"remote_addr"`
		SessionID  string `json:"session_id"`
	} `json:"source"`
	Since            time.Time `json:"since"`
	UptimeSeconds    float64   `json:"uptime_seconds"`
	IngestBitrateBps int64     `json:"ingest_bitrate_bps"`
	Tracks           []struct {
		Index          int    `json:"index"`
		Kind           string `json:"kind"`
		Codec          string `json:"codec"`
		ClockRate      uint32 `json:"clock_rate"`
		Fmtp           string `json:"fmtp"`
		Width          *int   `json:"width"`
		Height         *int   `json:"height"`
		BitrateBps     int64  `json:"bitrate_bps"`
		Packets        uint64 `json:"packets"`
		Bytes          uint64 `json:"bytes"`
		Keyframes      uint64 `json:"keyframes"`
		Lost           uint64 `json:"lost"`
		WebRTCPlayable bool   `json:"webrtc_playable"`
	} `json:"tracks"`
	Readers []struct {
		ID             string    `json:"id"`
		Kind           string    `json:"kind"`
		RemoteAddr     string    `json:"remote_addr"`
		Since          time.Time `json:"since"`
		BytesSent      uint64    `json:"bytes_sent"`
		PacketsSent    uint64    `json:"packets_sent"`
		PacketsDropped uint64    `json:"packets_dropped"`
		RTTMs          *float64  `json:"rtt_ms"`
		JitterMs       *float64  `json:"jitter_ms"`
		FractionLost   *float64  `json:"fraction_lost"`
	} `json:"readers"`
	Viewers struct {
		WHEP int `json:"whep"`
		RTSP int `json:"rtsp"`
	} `json:"viewers"`
}

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func wantProblem(t *testing.T, r response, status int, detail string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q", ct)
	}
	p := decode[problem](t, r)
	if p.Status != status || !strings.Contains(p.Detail, detail) {
		t.Errorf("problem %+v, want status %d and detail containing %q", p, status, detail)
	}
}

func TestStreamsEmptyAndUnknown(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	r := call(t, "GET", a.URL()+"/api/v1/streams", nil)
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"items":[]}` {
		t.Fatalf("empty list: %d %s", r.Status, r.Body)
	}
	wantProblem(t, call(t, "GET", a.URL()+"/api/v1/streams/nope", nil), 404, "no such stream")
	wantProblem(t, call(t, "DELETE", a.URL()+"/api/v1/streams/nope", nil), 404, "no such stream")
}

// TestStreamsLive checks the stream view against a real publisher and viewer.
func TestStreamsLive(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	publish(t, a, "cam1")
	play(t, a, "cam1")

	var s stream
	eventually(t, 15*time.Second, "bitrate, resolution and RTCP in the stream view", func() bool {
		r := call(t, "GET", a.URL()+"/api/v1/streams/cam1", nil)
		if r.Status != 200 {
			t.Fatalf("get: %d %s", r.Status, r.Body)
		}
		s = decode[stream](t, r)
		// The bitrate window starts before media flows: wait until it
		// covers media only.
		return len(s.Tracks) == 2 && s.Tracks[0].BitrateBps > 120_000 && s.Tracks[0].Width != nil &&
			len(s.Readers) == 1 && s.Readers[0].RTTMs != nil && s.Readers[0].BytesSent > 0
	})
	if s.Name != "cam1" || s.State != "live" || s.Source == nil || s.Source.Kind != "whip" ||
		s.Source.SessionID == "" || !strings.HasPrefix(s.Source.RemoteAddr, "127.0.0.1") {
		t.Errorf("stream header: %+v source %+v", s, s.Source)
	}
	if s.UptimeSeconds <= 0 || time.Since(s.Since) > time.Minute {
		t.Errorf("since %s uptime %f", s.Since, s.UptimeSeconds)
	}
	v := s.Tracks[0]
	if v.Kind != "video" || v.Codec != "H264" || v.ClockRate != 90000 || !strings.Contains(v.Fmtp, "packetization-mode=1") ||
		*v.Width != 1280 || *v.Height != 720 || v.Lost != 0 || v.Packets == 0 || v.Bytes == 0 || v.Keyframes == 0 || !v.WebRTCPlayable {
		t.Errorf("video track: %+v", v)
	}
	// The feeder sends about 50*(~430 bytes) video: 150-250 kbit/s.
	if v.BitrateBps < 100_000 || v.BitrateBps > 400_000 {
		t.Errorf("video bitrate %d bit/s, want about 175k", v.BitrateBps)
	}
	if au := s.Tracks[1]; au.Kind != "audio" || au.Codec != "opus" || au.Width != nil {
		t.Errorf("audio track: %+v", au)
	}
	if s.IngestBitrateBps < s.Tracks[0].BitrateBps {
		t.Errorf("ingest bitrate %d below the video track's", s.IngestBitrateBps)
	}
	rd := s.Readers[0]
	if rd.Kind != "whep" || rd.ID == "" || rd.PacketsSent == 0 || !strings.HasPrefix(rd.RemoteAddr, "127.0.0.1") ||
		*rd.RTTMs < 0 || *rd.RTTMs > 1000 || *rd.JitterMs < 0 || *rd.FractionLost != 0 {
		t.Errorf("reader: %+v rtt %v jitter %v loss %v", rd, *rd.RTTMs, *rd.JitterMs, *rd.FractionLost)
	}
	t.Logf("reader rtt %.3f ms jitter %.3f ms", *rd.RTTMs, *rd.JitterMs)
	if s.Viewers.WHEP != 1 || s.Viewers.RTSP != 0 {
		t.Errorf("viewers %+v", s.Viewers)
	}

	r := call(t, "GET", a.URL()+"/api/v1/streams", nil)
	list := decode[struct{ Items []stream }](t, r)
	if r.Status != 200 || len(list.Items) != 1 || list.Items[0].Name != "cam1" {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
}

// TestDeleteStream: the publisher and the viewer both see their peer
// connection close.
func TestDeleteStream(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	pub := publish(t, a, "gone")
	v := play(t, a, "gone")
	if r := call(t, "DELETE", a.URL()+"/api/v1/streams/gone", nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ended := []webrtc.PeerConnectionState{webrtc.PeerConnectionStateClosed} // the gateway's DTLS close
	if _, err := pub.WaitState(ctx, ended...); err != nil {
		t.Errorf("publisher: %v", err)
	}
	if _, err := v.WaitState(ctx, ended...); err != nil {
		t.Errorf("viewer: %v", err)
	}
	wantProblem(t, call(t, "GET", a.URL()+"/api/v1/streams/gone", nil), 404, "no such stream")
}

// TestIngestLoss: packets missing from the publisher's sequence numbers are
// reported as lost on the track they belong to.
func TestIngestLoss(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	publishLossy(t, a, "lossy", 10)
	var s stream
	eventually(t, 10*time.Second, "ingest loss", func() bool {
		s = decode[stream](t, call(t, "GET", a.URL()+"/api/v1/streams/lossy", nil))
		return len(s.Tracks) == 2 && s.Tracks[0].Lost >= 5
	})
	// About one in ten video packets never existed.
	if v := s.Tracks[0]; v.Lost*20 < v.Packets || v.Lost*5 > v.Packets {
		t.Errorf("video lost %d of %d received, want about 1 in 10", v.Lost, v.Packets)
	}
	if au := s.Tracks[1]; au.Lost != 0 {
		t.Errorf("audio lost %d, want 0", au.Lost)
	}
}
