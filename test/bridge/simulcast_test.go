package bridge_test

import (
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/testutil"
)

// TestSimulcastReadOverRTSP: an RTSP reader knows nothing of layers and
// gets the top one of a simulcast stream, as a plain H.264 track.
func TestSimulcastReadOverRTSP(t *testing.T) {
	g := startGateway(t, nil)
	layers := testutil.ThreeLayers()
	testutil.PublishLayers(t, g.App, "sim", layers, true)

	u, err := base.ParseURL("rtsp://" + g.RTSPAddr().String() + "/sim")
	if err != nil {
		t.Fatal(err)
	}
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp}
	if err := c.Start2(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	desc, _, err := c.Describe(u)
	if err != nil {
		t.Fatal(err)
	}
	var h264 *format.H264
	for _, m := range desc.Medias {
		for _, f := range m.Formats {
			if f, ok := f.(*format.H264); ok {
				h264 = f
			}
		}
	}
	if h264 == nil {
		t.Fatalf("no H.264 in %+v", desc.Medias)
	}
	if err := c.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	perLayer := make([]int, len(layers.Config().Layers))
	c.OnPacketRTPAny(func(_ *description.Media, f format.Format, pkt *rtp.Packet) {
		if _, ok := f.(*format.H264); !ok {
			return
		}
		if j := layers.LayerOf(pkt.Payload); j >= 0 {
			mu.Lock()
			perLayer[j]++
			mu.Unlock()
		}
	})
	if _, err := c.Play(nil); err != nil {
		t.Fatal(err)
	}
	top := len(perLayer) - 1
	testutil.WaitUntil(t, 10*time.Second, "100 packets of the top layer", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return perLayer[top] >= 100
	})
	mu.Lock()
	defer mu.Unlock()
	for j, n := range perLayer[:top] {
		if n > 0 {
			t.Errorf("the RTSP reader got %d packets of layer %d, want only the top layer's (%v)", n, j, perLayer)
		}
	}
}
