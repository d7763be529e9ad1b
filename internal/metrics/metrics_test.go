package metrics_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

// scrape GETs /metrics and returns "name{labels}" -> value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("bad sample %q", line)
		}
		out[m[1]+m[2]] = v
	}
	return out
}

func startGateway(t *testing.T) *app.App {
	t.Helper()
	return testutil.StartGatewayLog(t, nil, slog.New(slog.DiscardHandler))
}

func feed(t *testing.T, pub *client.Publisher) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := uint32(0); n < 1_000_000; n++ {
			p := append([]byte{0x41}, bytes.Repeat([]byte{1}, 300)...)
			if n%25 == 0 {
				p = append([]byte{0x65}, bytes.Repeat([]byte{2}, 900)...) // IDR
			}
			_ = pub.WriteRTP(webrtc.RTPCodecTypeVideo, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(n), Timestamp: n * 1800, Marker: true}, Payload: p})
			_ = pub.WriteRTP(webrtc.RTPCodecTypeAudio, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(n), Timestamp: n * 960}, Payload: bytes.Repeat([]byte{3}, 50)})
			select {
			case <-tick.C:
			case <-quit:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(quit)
		wg.Wait()
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMetricsMoveWithMedia: the counters start at zero, move when a
// publisher and a viewer exchange media, and never go down when the viewer
// and then the stream are gone.
func TestMetricsMoveWithMedia(t *testing.T) {
	a := startGateway(t)
	m := scrape(t, a.URL())
	for _, k := range []string{
		`wishgate_ingest_bytes_total{kind="video"}`, `wishgate_egress_bytes_total{protocol="whep"}`,
		`wishgate_sessions{kind="whip"}`, `wishgate_sessions{kind="whep"}`, `wishgate_streams{state="live"}`,
		`wishgate_viewer_time_to_first_frame_seconds_count`, `wishgate_keyframe_requests_total`,
		`wishgate_dropped_packets_total{reason="queue_full"}`, `wishgate_rtsp_source_reconnects_total`,
		`wishgate_dropped_packets_total{reason="malformed_rtp"}`, `wishgate_dropped_packets_total{reason="unsupported_rtp"}`,
		`wishgate_dropped_packets_total{reason="oversized_rtp"}`, `wishgate_dropped_packets_total{reason="keyframe_wait"}`,
	} {
		if v, ok := m[k]; !ok || v != 0 {
			t.Errorf("%s = %v (present %v), want 0 before any media", k, v, ok)
		}
	}
	if _, ok := m["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	pub, err := client.Publish(ctx, a.URL()+"/whip/cam", client.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	feed(t, pub)
	v, err := client.Play(ctx, a.URL()+"/whep/cam", client.PlayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.WaitPackets(ctx, webrtc.RTPCodecTypeVideo, 20); err != nil {
		t.Fatal(err)
	}
	// A refused request is counted under its status.
	resp, err := http.Post(a.URL()+"/whep/nobody", "application/sdp", strings.NewReader("v=0\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	eventually(t, "media metrics", func() bool {
		m = scrape(t, a.URL())
		return m[`wishgate_egress_bytes_total{protocol="whep"}`] > 10_000 && m[`wishgate_ingest_bytes_total{kind="audio"}`] > 0
	})
	want := map[string]float64{
		`wishgate_sessions{kind="whip"}`: 1, `wishgate_sessions{kind="whep"}`: 1, `wishgate_streams{state="live"}`: 1,
		`wishgate_signaling_requests_total{code="201",method="POST",protocol="whip"}`: 1,
		`wishgate_signaling_requests_total{code="201",method="POST",protocol="whep"}`: 1,
		`wishgate_viewer_time_to_first_frame_seconds_count`:                           1,
	}
	for k, w := range want {
		if m[k] != w {
			t.Errorf("%s = %v, want %v", k, m[k], w)
		}
	}
	if m[`wishgate_signaling_requests_total{code="400",method="POST",protocol="whep"}`]+
		m[`wishgate_signaling_requests_total{code="409",method="POST",protocol="whep"}`] != 1 {
		t.Errorf("the refused WHEP POST is not counted: %v", m)
	}
	for _, k := range []string{`wishgate_ingest_bytes_total{kind="video"}`, `wishgate_ingest_packets_total{kind="video"}`,
		`wishgate_egress_packets_total{protocol="whep"}`, `wishgate_keyframes_total`, `wishgate_viewer_time_to_first_frame_seconds_sum`} {
		if m[k] <= 0 {
			t.Errorf("%s = %v, want > 0 with media flowing", k, m[k])
		}
	}
	if ttff := m[`wishgate_viewer_time_to_first_frame_seconds_sum`]; ttff > 10 {
		t.Errorf("time to first frame %vs", ttff)
	}

	// Counters keep what the viewer and the stream counted after they end.
	before := m
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the viewer gone", func() bool {
		m = scrape(t, a.URL())
		return m[`wishgate_sessions{kind="whep"}`] == 0
	})
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the stream gone", func() bool {
		m = scrape(t, a.URL())
		return m[`wishgate_streams{state="live"}`] == 0 && m[`wishgate_streams{state="waiting"}`] == 0
	})
	for k, old := range before {
		if strings.Contains(k, "_total") && m[k] < old {
			t.Errorf("counter %s went down from %v to %v", k, old, m[k])
		}
	}
	if m[`wishgate_signaling_requests_total{code="200",method="DELETE",protocol="whep"}`] != 1 {
		t.Errorf("viewer DELETE not counted")
	}
}

// TestSourceMetrics: a camera that refuses connections shows as retrying
// and its reconnect attempts are counted.
func TestSourceMetrics(t *testing.T) {
	a := startGateway(t)
	req, _ := http.NewRequest("PUT", a.URL()+"/api/v1/sources/door",
		strings.NewReader(`{"url":"rtsp://127.0.0.1:1/x","transport":"tcp"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("PUT source: %d", resp.StatusCode)
	}
	eventually(t, "a counted reconnect", func() bool {
		m := scrape(t, a.URL())
		return m[`wishgate_rtsp_source_reconnects_total`] >= 1 && m[`wishgate_rtsp_sources{state="retrying"}`]+m[`wishgate_rtsp_sources{state="connecting"}`] == 1
	})
}
