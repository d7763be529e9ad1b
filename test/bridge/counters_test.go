package bridge_test

import (
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/config"
)

// TestCountersTellTheTruth: an RTSP reader's bytes_sent are the bytes it
// received, and a camera's keyframes are its IDR pictures (not SPS, PPS
// and IDR packets counted apart).
func TestCountersTellTheTruth(t *testing.T) {
	g := startGateway(t, func(c *config.Config) { c.SourceStallTimeout = time.Minute })
	cam := newCamera(t, camSpec{video: "h264"})
	cam.Start()
	if err := g.Sources().Add(bridge.SourceConfig{Name: "count", URL: cam.url("count"), Transport: bridge.TransportTCP}); err != nil {
		t.Fatal(err)
	}
	waitLive(t, g, "count")
	tcp := gortsplib.TransportTCP
	reader, err := readRTSP(t, g.rtspURL("count"), &tcp)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "RTSP packets", func() bool { return reader.count() > 50 })

	// quiesce stops the camera's output and waits until the gateway's
	// counters and the reader are at rest, then checks that the bytes the
	// API reports are those the reader received. The gateway counts what
	// it hands to the reader's RTSP session from DESCRIBE on; what went out
	// before PLAY (a few packets) never reached the reader, and may only
	// add whole RTP packets of at most 1500 bytes.
	quiesce := func() (keyframes uint64, idrs int64) {
		t.Helper()
		cam.frozen.Store(true)
		var s apiStream
		var pkts, bytes int
		waitFor(t, 5*time.Second, "the counters at rest", func() bool {
			before, _ := reader.received()
			time.Sleep(200 * time.Millisecond)
			_, s = getStream(t, g, "count")
			pkts, bytes = reader.received()
			return len(s.Readers) == 1 && pkts == before && pkts > 0
		})
		r := s.Readers[0]
		extra := int(r.PacketsSent) - pkts
		if r.Kind != "rtsp" || extra < 0 || extra > 50 || int(r.BytesSent) < bytes+12*extra ||
			int(r.BytesSent) > bytes+1500*extra {
			t.Fatalf("API reader %+v; the reader received %d packets, %d bytes", r, pkts, bytes)
		}
		return s.Tracks[0].Keyframes, cam.idrs.Load()
	}
	k0, i0 := quiesce()
	cam.frozen.Store(false)
	waitFor(t, 15*time.Second, "three more IDR pictures", func() bool { return cam.idrs.Load() >= i0+3 })
	k1, i1 := quiesce()
	if k1-k0 != uint64(i1-i0) {
		t.Errorf("the camera sent %d IDR pictures, the API counted %d keyframes", i1-i0, k1-k0)
	}
	cam.frozen.Store(false)
}
