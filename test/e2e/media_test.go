package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

// Synthetic media whose every payload is a pure function of a counter, so a
// viewer can check byte for byte what the gateway forwarded. The first bytes
// are the smallest codec header that the gateway's keyframe detection (and a
// real depacketizer) reads; the rest is the counter and a fill pattern.

const (
	keyEvery   = 15 // video packets between keyframes
	payloadLen = 300
)

// codecHeader returns the leading bytes of a keyframe or delta packet.
func codecHeader(mime string, key bool) []byte {
	switch mime {
	case webrtc.MimeTypeH264:
		if key {
			return []byte{0x65} // IDR slice NAL unit (RFC 6184 single NAL)
		}
		return []byte{0x41} // non-IDR slice
	case webrtc.MimeTypeH265:
		if key {
			return []byte{19 << 1, 0x01} // IDR_W_RADL (RFC 7798 NAL header)
		}
		return []byte{1 << 1, 0x01} // TRAIL_R
	case webrtc.MimeTypeVP8:
		if key {
			return []byte{0x10, 0x00} // S=1 PID=0, frame tag P=0 (RFC 7741)
		}
		return []byte{0x10, 0x01}
	case webrtc.MimeTypeVP9:
		if key {
			return []byte{0x08} // B=1, P=0 (RFC 9628 descriptor)
		}
		return []byte{0x48} // B=1, P=1
	case webrtc.MimeTypeAV1:
		if key {
			return []byte{0x08} // N=1: new coded video sequence
		}
		return []byte{0x00}
	}
	return nil // audio: any payload is a frame
}

func isKey(mime string, n uint64) bool {
	return len(codecHeader(mime, true)) == 0 || n%keyEvery == 0
}

func payloadFor(mime string, n uint64) []byte {
	p := append([]byte(nil), codecHeader(mime, isKey(mime, n))...)
	p = binary.BigEndian.AppendUint64(p, n)
	for len(p) < payloadLen {
		p = append(p, byte(n)+byte(len(p)))
	}
	return p
}

// counterOf recovers the counter from a payload and checks every byte.
func counterOf(mime string, p []byte) (uint64, error) {
	h := len(codecHeader(mime, true))
	if len(p) < h+8 {
		return 0, fmt.Errorf("payload of %d bytes", len(p))
	}
	n := binary.BigEndian.Uint64(p[h:])
	if want := payloadFor(mime, n); !bytes.Equal(p, want) {
		return n, fmt.Errorf("payload %d differs from what was sent", n)
	}
	return n, nil
}

// feeder sends video and audio at a fixed packet rate until stopped, and
// answers keyframe requests with an early keyframe.
type feeder struct {
	pub        *client.Publisher
	video      string // mime, "" for none
	audio      string
	stop, done chan struct{}
	sent       atomic.Uint64 // video packets
	seqBase    uint16
}

func startFeeder(t *testing.T, pub *client.Publisher, video, audio string, seqBase uint16) *feeder {
	f := &feeder{pub: pub, video: video, audio: audio, stop: make(chan struct{}), done: make(chan struct{}), seqBase: seqBase}
	go f.run()
	t.Cleanup(f.Stop)
	return f
}

func (f *feeder) Stop() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	<-f.done
}

func (f *feeder) run() {
	defer close(f.done)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var n, forced uint64
	for i := 0; i < 100000; i++ { // bounded: 1000 s at 100 packets/s
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
		if f.video != "" {
			mime := f.video
			p := payloadFor(mime, n)
			select {
			case <-f.pub.KeyframeRequests():
				// Browsers answer a PLI with an IDR; so does this source,
				// by jumping to the next keyframe counter.
				if !isKey(mime, n) {
					forced++
				}
			default:
			}
			_ = f.pub.WriteRTP(webrtc.RTPCodecTypeVideo, &rtp.Packet{
				Header:  rtp.Header{Version: 2, Marker: true, SequenceNumber: f.seqBase + uint16(n), Timestamp: uint32(n) * 3000},
				Payload: p,
			})
			f.sent.Add(1)
		}
		if f.audio != "" {
			_ = f.pub.WriteRTP(webrtc.RTPCodecTypeAudio, &rtp.Packet{
				Header:  rtp.Header{Version: 2, Marker: n == 0, SequenceNumber: f.seqBase + uint16(n), Timestamp: uint32(n) * 480},
				Payload: payloadFor(f.audio, n),
			})
		}
		n++
	}
}

// watcher is a viewer that verifies every packet it gets.
type watcher struct {
	*client.Viewer
	mu        sync.Mutex
	errs      []error
	first     map[webrtc.RTPCodecType]uint64
	got       map[webrtc.RTPCodecType]uint64
	ssrcs     map[webrtc.RTPCodecType]map[uint32]bool
	firstSeq  map[webrtc.RTPCodecType]uint16
	seqs      map[webrtc.RTPCodecType]map[uint16]bool // every sequence number seen
	firstKey  map[webrtc.RTPCodecType]bool
	startedAt time.Time
}

func play(t *testing.T, a *app.App, stream string, opts client.PlayOptions) *watcher {
	t.Helper()
	w := &watcher{
		first: map[webrtc.RTPCodecType]uint64{}, got: map[webrtc.RTPCodecType]uint64{},
		ssrcs: map[webrtc.RTPCodecType]map[uint32]bool{}, firstSeq: map[webrtc.RTPCodecType]uint16{},
		seqs:     map[webrtc.RTPCodecType]map[uint16]bool{},
		firstKey: map[webrtc.RTPCodecType]bool{}, startedAt: time.Now(),
	}
	opts.OnPacket = w.onPacket
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := client.Play(ctx, a.URL()+"/whep/"+stream, opts)
	if err != nil {
		t.Fatalf("play %s: %v", stream, err)
	}
	w.Viewer = v
	t.Cleanup(func() { _ = v.Close() })
	return w
}

func (w *watcher) onPacket(kind webrtc.RTPCodecType, c webrtc.RTPCodecParameters, pkt *rtp.Packet) {
	n, err := counterOf(c.MimeType, pkt.Payload)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("%s: %w", kind, err))
		return
	}
	if _, ok := w.got[kind]; !ok {
		w.first[kind] = n
		w.firstKey[kind] = isKey(c.MimeType, n)
		w.firstSeq[kind] = pkt.SequenceNumber
		w.seqs[kind] = map[uint16]bool{}
	}
	w.got[kind]++
	w.seqs[kind][pkt.SequenceNumber] = true
	if w.ssrcs[kind] == nil {
		w.ssrcs[kind] = map[uint32]bool{}
	}
	w.ssrcs[kind][pkt.SSRC] = true
}

func (w *watcher) check(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, err := range w.errs {
		t.Error(err)
	}
	if got, ok := w.firstKey[webrtc.RTPCodecTypeVideo]; ok && !got {
		t.Errorf("first video packet (counter %d) is not a keyframe", w.first[webrtc.RTPCodecTypeVideo])
	}
}

// holes counts the sequence numbers missing between the first packet and
// the newest: zero once every loss was retransmitted (NACK) and no gap was
// left in the numbering. Order does not matter: a retransmission arrives
// late.
func (w *watcher) holes(kind webrtc.RTPCodecType) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	top := 0
	for seq := range w.seqs[kind] {
		if off := int(seq - w.firstSeq[kind]); off < 1<<15 {
			top = max(top, off)
		}
	}
	return top + 1 - len(w.seqs[kind])
}

func (w *watcher) count(kind webrtc.RTPCodecType) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.got[kind]
}

func publish(t *testing.T, a *app.App, stream string, video, audio client.CodecID) *client.Publisher {
	t.Helper()
	opts := client.PublishOptions{}
	if video == "" {
		opts.NoVideo = true
	} else {
		opts.VideoCodecs = client.Codecs(video)
	}
	if audio == "" {
		opts.NoAudio = true
	} else {
		opts.AudioCodecs = client.Codecs(audio)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := client.Publish(ctx, a.URL()+"/whip/"+stream, opts)
	if err != nil {
		t.Fatalf("publish %s: %v", stream, err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatalf("publisher never connected: %v", err)
	}
	return pub
}

func mimeOf(id client.CodecID) string {
	if id == "" {
		return ""
	}
	return id.Params().MimeType
}

func waitPackets(t *testing.T, ws []*watcher, kind webrtc.RTPCodecType, n uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for i, w := range ws {
		if err := w.WaitPackets(ctx, kind, n); err != nil {
			t.Fatalf("viewer %d: %d %s packets, want %d: %v", i, w.count(kind), kind, n, err)
		}
	}
}

// TestFanOutEveryCodec publishes each pass-through codec pair over WHIP to
// three WHEP viewers, each of which verifies every payload byte, that video
// starts at a keyframe, and that the viewer's own payload type was used.
func TestFanOutEveryCodec(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	for _, tc := range []struct{ video, audio client.CodecID }{
		{client.CodecH264, client.CodecOpus},
		{client.CodecH264High, client.CodecOpus}, // FFmpeg's 64001f
		{client.CodecVP8, client.CodecPCMU},
		{client.CodecVP9, client.CodecPCMA},
		{client.CodecAV1, client.CodecG722},
		{client.CodecH265, client.CodecOpus},
	} {
		t.Run(string(tc.video)+"+"+string(tc.audio), func(t *testing.T) {
			stream := fmt.Sprintf("fan-%s", mimeOf(tc.video)[6:])
			pub := publish(t, a, stream, tc.video, tc.audio)
			var ws []*watcher
			for range 3 {
				ws = append(ws, play(t, a, stream, client.PlayOptions{}))
			}
			f := startFeeder(t, pub, mimeOf(tc.video), mimeOf(tc.audio), 1000)
			waitPackets(t, ws, webrtc.RTPCodecTypeVideo, 40)
			waitPackets(t, ws, webrtc.RTPCodecTypeAudio, 40)
			f.Stop()
			for i, w := range ws {
				w.check(t)
				for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
					c, ok := w.Codec(kind)
					want := tc.video
					if kind == webrtc.RTPCodecTypeAudio {
						want = tc.audio
					}
					if !ok || c.MimeType != want.Params().MimeType {
						t.Errorf("viewer %d %s codec %q, want %s", i, kind, c.MimeType, want)
					}
					if tr := w.Track(kind); tr == nil || tr.PayloadType() != c.PayloadType {
						t.Errorf("viewer %d %s: packets not on the viewer's payload type %d", i, kind, c.PayloadType)
					}
				}
			}
		})
	}
}

// TestPublisherReplacedMidStream is OBS reconnecting after a network drop:
// the new POST replaces the stale publisher, and viewers keep playing on
// the same session with one SSRC and a continuous sequence (no renegotiation).
func TestPublisherReplacedMidStream(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	first := publish(t, a, "obs", client.CodecH264, client.CodecOpus)
	ws := []*watcher{play(t, a, "obs", client.PlayOptions{}), play(t, a, "obs", client.PlayOptions{})}
	f1 := startFeeder(t, first, webrtc.MimeTypeH264, webrtc.MimeTypeOpus, 100)
	waitPackets(t, ws, webrtc.RTPCodecTypeVideo, 30)

	// While the first publisher is healthy a second one is refused and the
	// live stream is untouched.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client.Publish(ctx, a.URL()+"/whip/obs", client.PublishOptions{}); client.HTTPStatus(err) != 409 {
		t.Fatalf("second publisher while the first is healthy: %v, want 409", err)
	}

	// The first publisher's network drops: no more media. After the health
	// window it is stale and a new POST takes over.
	f1.Stop()
	before := ws[0].count(webrtc.RTPCodecTypeVideo)
	var second *client.Publisher
	deadline := time.Now().Add(10 * time.Second)
	for second == nil {
		p, err := client.Publish(ctx, a.URL()+"/whip/obs", client.PublishOptions{})
		switch {
		case err == nil:
			second = p
			t.Cleanup(func() { _ = p.Close() })
		case client.HTTPStatus(err) == 409 && time.Now().Before(deadline):
			select { // retry as OBS's reconnect loop does
			case <-time.After(250 * time.Millisecond):
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			}
		default:
			t.Fatalf("replacing a stale publisher: %v", err)
		}
	}
	if err := second.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	// A different sequence/timestamp origin, as a restarted encoder has.
	startFeeder(t, second, webrtc.MimeTypeH264, webrtc.MimeTypeOpus, 40000)
	waitPackets(t, ws, webrtc.RTPCodecTypeVideo, before+30)
	waitPackets(t, ws, webrtc.RTPCodecTypeAudio, before+30)
	for i, w := range ws {
		w.check(t)
		w.mu.Lock()
		for kind, set := range w.ssrcs {
			if len(set) != 1 {
				t.Errorf("viewer %d saw %d %s SSRCs across the switch, want 1", i, len(set), kind)
			}
		}
		w.mu.Unlock()
		// The gateway closes the gap it leaves while the viewer waits for
		// the new publisher's keyframe: no sequence number is missing once
		// the losses of a busy machine are retransmitted.
		for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
			deadline := time.Now().Add(5 * time.Second)
			for w.holes(kind) != 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond) // polling a condition, bounded by the deadline
			}
			if h := w.holes(kind); h != 0 {
				t.Errorf("viewer %d: %d %s sequence numbers missing across the switch", i, h, kind)
			}
		}
		if st := w.ConnectionState(); st != webrtc.PeerConnectionStateConnected {
			t.Errorf("viewer %d state %s after the switch", i, st)
		}
	}
}

// TestStalledViewerDoesNotSlowOthers: one viewer stops reading; the
// publisher and the other viewers carry on losing nothing.
func TestStalledViewerDoesNotSlowOthers(t *testing.T) {
	testutil.Exclusive(t) // it measures delivery or timing under its own load
	a := testutil.StartGateway(t, nil)
	pub := publish(t, a, "stall", client.CodecH264, client.CodecOpus)
	stalled := play(t, a, "stall", client.PlayOptions{StartPaused: true})
	healthy := []*watcher{play(t, a, "stall", client.PlayOptions{}), play(t, a, "stall", client.PlayOptions{})}
	f := startFeeder(t, pub, webrtc.MimeTypeH264, webrtc.MimeTypeOpus, 0)
	waitPackets(t, healthy, webrtc.RTPCodecTypeVideo, 300) // 3 s of media
	f.Stop()
	sent := f.sent.Load()
	waitPackets(t, healthy, webrtc.RTPCodecTypeVideo, sent-sent/1000-keyEvery)
	for i, w := range healthy {
		w.check(t)
		// Everything from the first keyframe on arrives.
		if got, first := w.count(webrtc.RTPCodecTypeVideo), w.first[webrtc.RTPCodecTypeVideo]; float64(got) < 0.999*float64(sent-first) {
			t.Errorf("healthy viewer %d got %d of %d video packets", i, got, sent-first)
		}
	}
	if got := stalled.count(webrtc.RTPCodecTypeVideo); got > 2 {
		t.Errorf("the paused viewer read %d packets", got)
	}
}

// TestGracePeriod: the publisher leaves (DELETE); viewers stay connected and
// resume when a publisher with the same codecs returns within the grace
// period; after it they are closed.
func TestGracePeriod(t *testing.T) {
	a := testutil.StartGateway(t, func(c *config.Config) { c.GracePeriod = 3 * time.Second })
	pub := publish(t, a, "g", client.CodecH264, client.CodecOpus)
	w := play(t, a, "g", client.PlayOptions{})
	f := startFeeder(t, pub, webrtc.MimeTypeH264, webrtc.MimeTypeOpus, 0)
	waitPackets(t, []*watcher{w}, webrtc.RTPCodecTypeVideo, 20)
	f.Stop()
	if err := pub.Close(); err != nil { // DELETE → 200
		t.Fatalf("publisher DELETE: %v", err)
	}
	info, ok := a.Registry.Info("g")
	if !ok || info.State != "waiting" || len(info.Subscribers) != 1 {
		t.Fatalf("after DELETE: %+v, want a waiting stream holding its viewer", info)
	}
	before := w.count(webrtc.RTPCodecTypeVideo)
	back := publish(t, a, "g", client.CodecH264, client.CodecOpus)
	startFeeder(t, back, webrtc.MimeTypeH264, webrtc.MimeTypeOpus, 5000)
	waitPackets(t, []*watcher{w}, webrtc.RTPCodecTypeVideo, before+20)
	w.check(t)
	if err := back.Close(); err != nil {
		t.Fatal(err)
	}

	// Nobody returns: the viewer is closed once the grace period is over.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// Closed: the gateway ended the session with a DTLS close. A
	// disconnected or failed ICE would only say that it went silent.
	if st, err := w.WaitState(ctx, webrtc.PeerConnectionStateClosed); err != nil {
		t.Fatalf("viewer %s after the grace period, want closed by the gateway", st)
	}
	if _, ok := a.Registry.Info("g"); ok {
		t.Error("stream still registered after the grace period")
	}
}

// TestICERestartKeepsMedia: a viewer restarts ICE over PATCH (200, new
// ETag, sdpfrag) and keeps receiving.
func TestICERestartKeepsMedia(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	pub := publish(t, a, "ice", client.CodecVP8, client.CodecOpus)
	w := play(t, a, "ice", client.PlayOptions{})
	startFeeder(t, pub, webrtc.MimeTypeVP8, webrtc.MimeTypeOpus, 0)
	waitPackets(t, []*watcher{w}, webrtc.RTPCodecTypeVideo, 20)
	etag := w.ETag()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.RestartICE(ctx); err != nil {
		t.Fatalf("ICE restart: %v", err)
	}
	if w.ETag() == etag || !etagRe.MatchString(w.ETag()) {
		t.Errorf("ETag %q after restart (was %q)", w.ETag(), etag)
	}
	if err := w.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	n := w.count(webrtc.RTPCodecTypeVideo)
	waitPackets(t, []*watcher{w}, webrtc.RTPCodecTypeVideo, n+50)
	w.check(t)
}

// TestKeyframeRequestsAreThrottled: viewers hammering PLI cost the
// publisher about one keyframe request per 500 ms, not one each.
func TestKeyframeRequestsAreThrottled(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	pub := publish(t, a, "pli", client.CodecH264, "")
	var ws []*watcher
	for range 4 {
		ws = append(ws, play(t, a, "pli", client.PlayOptions{Options: client.Options{NoAudio: true}}))
	}
	startFeeder(t, pub, webrtc.MimeTypeH264, "", 0)
	waitPackets(t, ws, webrtc.RTPCodecTypeVideo, 10)
	base := pub.KeyframeRequestCount()
	begin := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	sent := 0
	for range 100 { // 2 s of 4 viewers × 50 PLI/s
		<-tick.C
		for _, w := range ws {
			if err := w.SendPLI(); err == nil {
				sent++
			}
		}
	}
	elapsed := time.Since(begin)
	got := pub.KeyframeRequestCount() - base
	limit := uint64(elapsed/(500*time.Millisecond)) + 2
	if sent < 200 || got == 0 || got > limit {
		t.Errorf("%d PLIs from viewers in %s reached the publisher as %d requests, want 1..%d", sent, elapsed, got, limit)
	}
}

// TestAudioOnlyStream: a viewer offering video and audio to an audio-only
// stream gets its video m-line answered as a bundled inactive section (a
// rejected BUNDLE-tag m-line makes Chromium refuse the whole answer, RFC
// 8843 §7.3.3), the server's candidates, and the audio.
func TestAudioOnlyStream(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	pub := publish(t, a, "radio", "", client.CodecOpus)
	startFeeder(t, pub, "", webrtc.MimeTypeOpus, 0)

	r := do(t, "POST", a.URL()+"/whep/radio", sdpType, golden(t, "chromium-156-whep.sdp"))
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	defer do(t, "DELETE", a.URL()+r.Header.Get("Location"), "", nil)
	if !strings.Contains(r.Body, "a=group:BUNDLE 0 1\r\n") {
		t.Error("the BUNDLE group does not keep both of the offer's mids")
	}
	video := r.Body[strings.Index(r.Body, "m=video"):strings.Index(r.Body, "m=audio")]
	for _, want := range []string{"m=video 9 ", "a=mid:0\r\n", "a=inactive\r\n", "a=rtcp-mux-only\r\n"} {
		if !strings.Contains(video, want) {
			t.Errorf("video section lacks %q:\n%s", want, video)
		}
	}
	if !strings.Contains(r.Body, "a=candidate:") {
		t.Error("answer carries no candidate")
	}

	w := play(t, a, "radio", client.PlayOptions{})
	waitPackets(t, []*watcher{w}, webrtc.RTPCodecTypeAudio, 30)
	w.check(t)
	if n := w.count(webrtc.RTPCodecTypeVideo); n != 0 {
		t.Errorf("%d video packets on an audio-only stream", n)
	}
}
