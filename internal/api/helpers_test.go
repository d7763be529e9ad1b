package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/client"
)

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// call performs one HTTP request; hdr are header name/value pairs.
func call(t *testing.T, method, url string, body []byte, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return response{Status: r.StatusCode, Header: r.Header, Body: b}
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	return v
}

// eventually polls cond every 50ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// feeder sends synthetic H.264 (SPS/PPS + IDR every 25 frames) and Opus at
// 50 packets per second each until Stop.
type feeder struct {
	pub *client.Publisher
	// skipEvery > 0 leaves out every skipEvery-th video sequence number,
	// as a lossy network would.
	skipEvery uint16
	quit      chan struct{}
	wg        sync.WaitGroup
	once      sync.Once
}

func startFeeder(pub *client.Publisher, skipEvery uint16) *feeder {
	f := &feeder{pub: pub, skipEvery: skipEvery, quit: make(chan struct{})}
	f.wg.Add(1)
	go f.run()
	return f
}

func (f *feeder) Stop() {
	f.once.Do(func() { close(f.quit) })
	f.wg.Wait()
}

func (f *feeder) run() {
	defer f.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var vseq, aseq uint16
	for n := uint32(0); n < 1_000_000; n++ {
		var payloads [][]byte
		if n%25 == 0 {
			payloads = append(payloads, stapA(testSPS(1280, 720), []byte{0x68, 0xce, 0x3c, 0x80}))
			payloads = append(payloads, append([]byte{0x65}, bytes.Repeat([]byte{0x11}, 1000)...))
		} else {
			payloads = append(payloads, append([]byte{0x41}, bytes.Repeat([]byte{0x22}, 400)...))
		}
		for i, p := range payloads {
			_ = f.pub.WriteRTP(webrtc.RTPCodecTypeVideo, &rtp.Packet{
				Header:  rtp.Header{Version: 2, SequenceNumber: vseq, Timestamp: n * 1800, Marker: i == len(payloads)-1},
				Payload: p,
			})
			vseq++
			if f.skipEvery > 0 && vseq%f.skipEvery == 0 {
				vseq++
			}
		}
		_ = f.pub.WriteRTP(webrtc.RTPCodecTypeAudio, &rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: aseq, Timestamp: n * 960, Marker: true},
			Payload: bytes.Repeat([]byte{0xfc}, 80),
		})
		aseq++
		select {
		case <-tick.C:
		case <-f.quit:
			return
		}
	}
}

func stapA(nalus ...[]byte) []byte {
	out := []byte{24}
	for _, n := range nalus {
		out = append(out, byte(len(n)>>8), byte(len(n)))
		out = append(out, n...)
	}
	return out
}

// testSPS builds a Constrained Baseline SPS (profile-level-id 42e01f) for a
// width x height picture (multiples of 16).
func testSPS(width, height int) []byte {
	var w bits
	w.u(0x67, 8) // NAL header: nal_ref_idc 3, type 7
	w.u(66, 8)   // profile_idc
	w.u(0xe0, 8) // constraint flags
	w.u(31, 8)   // level_idc
	w.ue(0)      // seq_parameter_set_id
	w.ue(0)      // log2_max_frame_num_minus4
	w.ue(2)      // pic_order_cnt_type
	w.ue(1)      // max_num_ref_frames
	w.u(0, 1)    // gaps_in_frame_num_value_allowed_flag
	w.ue(uint64(width/16 - 1))
	w.ue(uint64(height/16 - 1))
	w.u(1, 1) // frame_mbs_only_flag
	w.u(1, 1) // direct_8x8_inference_flag
	w.u(0, 1) // frame_cropping_flag
	w.u(0, 1) // vui_parameters_present_flag
	w.u(1, 1) // rbsp_stop_one_bit
	return w.bytes()
}

type bits struct {
	buf []byte
	n   int
}

func (b *bits) u(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		if b.n%8 == 0 {
			b.buf = append(b.buf, 0)
		}
		if (v>>i)&1 == 1 {
			b.buf[len(b.buf)-1] |= 0x80 >> (b.n % 8)
		}
		b.n++
	}
}

func (b *bits) ue(v uint64) {
	v++
	n := 0
	for x := v; x > 1; x >>= 1 {
		n++
	}
	b.u(0, n)
	b.u(v, n+1)
}

func (b *bits) bytes() []byte { return b.buf }

// publish starts a WHIP publisher on stream and feeds it until the test ends.
func publish(t *testing.T, a *app.App, stream string) *client.Publisher {
	return publishLossy(t, a, stream, 0)
}

// publishLossy is publish with every skipEvery-th video packet missing.
func publishLossy(t *testing.T, a *app.App, stream string, skipEvery uint16) *client.Publisher {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := client.Publish(ctx, a.URL()+"/whip/"+stream, client.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	f := startFeeder(pub, skipEvery)
	t.Cleanup(f.Stop)
	return pub
}

// play starts a WHEP viewer on stream and waits for its first video packets.
func play(t *testing.T, a *app.App, stream string) *client.Viewer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := client.Play(ctx, a.URL()+"/whep/"+stream, client.PlayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	if err := v.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "video at the viewer", func() bool {
		return v.Received(webrtc.RTPCodecTypeVideo).Packets > 5
	})
	return v
}
