package browser

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
)

// accessUnits splits an Annex B H.264 stream into access units: parameter
// sets and SEI go with the next slice, and every slice ends a unit. That
// holds for the single-slice-per-picture test clip; the browser must be able
// to decode what we send, so real encoder output is used rather than
// synthetic slices.
func accessUnits(t *testing.T, file string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "rtsp", file))
	if err != nil {
		t.Fatal(err)
	}
	startCode := []byte{0, 0, 1}
	var nals [][]byte
	for {
		i := bytes.Index(data, startCode)
		if i < 0 {
			break
		}
		data = data[i+3:]
		j := bytes.Index(data, startCode)
		nal := data
		if j >= 0 {
			nal = data[:j]
		}
		// A four-byte start code leaves a trailing zero on the previous NAL.
		nals = append(nals, bytes.TrimRight(nal, "\x00"))
		if j < 0 {
			break
		}
	}
	var units [][]byte
	var cur []byte
	for _, n := range nals {
		if len(n) == 0 {
			continue
		}
		cur = append(cur, 0, 0, 0, 1)
		cur = append(cur, n...)
		if typ := n[0] & 0x1f; typ == 1 || typ == 5 {
			units = append(units, cur)
			cur = nil
		}
	}
	if len(units) == 0 {
		t.Fatalf("%s: no access units", file)
	}
	return units
}

// feeder publishes the test clip in a loop, at its 25 fps, through a pion
// WHIP publisher, until stop.
type feeder struct {
	pub    *client.Publisher
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func publishClip(t *testing.T, whipURL string) *feeder {
	t.Helper()
	units := accessUnits(t, "testsrc-baseline.h264")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := client.Publish(ctx, whipURL, client.PublishOptions{Options: client.Options{NoAudio: true}})
	if err != nil {
		t.Fatalf("pion publisher: %v", err)
	}
	if err := pub.WaitConnected(ctx); err != nil {
		_ = pub.Close()
		t.Fatalf("pion publisher: %v", err)
	}
	runCtx, runCancel := context.WithCancel(context.Background())
	f := &feeder{pub: pub, cancel: runCancel}
	f.wg.Add(1)
	go f.run(runCtx, units)
	t.Cleanup(f.stop)
	return f
}

func (f *feeder) run(ctx context.Context, units [][]byte) {
	defer f.wg.Done()
	const clock, fps = 90000, 25
	payloader := &codecs.H264Payloader{}
	tick := time.NewTicker(time.Second / fps)
	defer tick.Stop()
	var seq uint16
	var ts uint32
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		payloads := payloader.Payload(1200, units[i%len(units)])
		for k, p := range payloads {
			pkt := &rtp.Packet{
				Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: k == len(payloads)-1},
				Payload: p,
			}
			seq++
			if err := f.pub.WriteRTP(webrtc.RTPCodecTypeVideo, pkt); err != nil {
				return
			}
		}
		ts += clock / fps
	}
}

// stop ends the feed and the WHIP session. Idempotent.
func (f *feeder) stop() {
	f.cancel()
	f.wg.Wait()
	_ = f.pub.Close()
}
