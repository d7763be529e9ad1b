package transcode

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/streams"
)

type nopPublisher struct{}

func (nopPublisher) Connected() bool     { return true }
func (nopPublisher) RequestKeyframe(int) {}
func (nopPublisher) Kick(error)          {}

type countSink struct{ n atomic.Int64 }

func (s *countSink) WriteRTP(int, *rtp.Header, []byte) error { s.n.Add(1); return nil }

// vmRSS is the process's resident set in bytes, after a GC that returns
// what it can to the OS: C allocations (the decoder, resampler and encoder
// states) show here, not in the Go heap.
func vmRSS(t testing.TB) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// 200 times a reader of the Opus track comes and goes while the camera's
// AAC keeps flowing: each time the transcoder starts, converts, and stops
// (its native state freed). Afterwards no goroutine is left over and the
// process's resident memory has not grown with the cycles (a leaked
// transcoder holds about 1 MB of native buffers: 200 of them would show).
func TestStartStopCyclesDoNotLeak(t *testing.T) {
	requireTranscoder(t)
	if testing.Short() {
		t.Skip("200 transcoder starts (about 20 s)")
	}
	aus, cfg := readADTS(t, testdataAudio("tone-1k-48k-stereo.aac"))
	reg := streams.NewRegistry(streams.Config{Replace: streams.ReplaceStale, HealthWindow: time.Second,
		GracePeriod: time.Second, Conversions: &Factory{Options: DefaultOptions(), Logger: slog.New(slog.DiscardHandler)}})
	defer reg.Close()
	pub, err := reg.Publish("cam", []streams.TrackSpec{{Kind: streams.KindAudio, Codec: aacCodec(t, cfg)}},
		nopPublisher{}, streams.PublisherInfo{Kind: streams.SessionRTSPSource})
	if err != nil {
		t.Fatal(err)
	}
	// The camera: one AU every millisecond (faster than real time, with
	// real-time timestamps) until the test ends.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			p := streams.NewPacket()
			p.Header = rtp.Header{Version: 2, PayloadType: 97, SequenceNumber: uint16(i), Timestamp: uint32(i * 1024), Marker: true}
			p.SetPayload(hbrPacket(aus[i%len(aus)]))
			pub.Write(0, p, time.Now())
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	s, tracks, err := reg.Lookup("cam")
	if err != nil {
		t.Fatal(err)
	}
	opus := tracks[0].Derived()
	if opus == nil {
		t.Fatal("the AAC track has no Opus track")
	}
	cycle := func() {
		sub, err := reg.Subscribe(s, streams.SubscribeOptions{Tracks: []*streams.Track{opus}})
		if err != nil {
			t.Fatal(err)
		}
		var sink countSink
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = sub.Run(ctx, &sink) }()
		deadline := time.Now().Add(5 * time.Second)
		for sink.n.Load() < 3 {
			if time.Now().After(deadline) {
				t.Fatal("no Opus from a started transcoder within 5 s")
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		<-done
		sub.Close()
		for {
			info, _ := reg.Info("cam")
			if c := info.Tracks[0].Conversion; !c.Running && c.Readers == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the transcoder did not stop after its last reader left")
			}
			time.Sleep(time.Millisecond)
		}
	}
	for range 100 {
		// Warm up: pools, the decoder's static tables, the C allocator's
		// and the Go heap's working sets (they settle after a few dozen).
		cycle()
	}
	rss0, g0 := vmRSS(t), runtime.NumGoroutine()
	for range cycles() {
		cycle()
	}
	// The last transcoder's goroutine ends just after it reports stopped.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > g0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	rss1, g1 := vmRSS(t), runtime.NumGoroutine()
	info, _ := reg.Info("cam")
	starts := info.Tracks[0].Conversion.Starts
	t.Logf("after %d starts (%d counted): RSS %d → %d KiB (%+d KiB), goroutines %d → %d",
		100+cycles(), starts, rss0>>10, rss1>>10, (rss1-rss0)>>10, g0, g1)
	if want := uint64(100 + cycles()); starts != want {
		t.Errorf("%d transcoder starts, want %d", starts, want)
	}
	if g1 > g0 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	// A missing free shows as +150 MB here; the allocators' drift is a few MB.
	if rss1-rss0 > 16<<20 {
		t.Errorf("resident memory grew by %d KiB over 200 transcoder starts and stops", (rss1-rss0)>>10)
	}
}

func cycles() int {
	if n, err := strconv.Atoi(os.Getenv("CYCLES")); err == nil {
		return n
	}
	return 200
}
