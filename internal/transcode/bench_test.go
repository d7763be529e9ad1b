package transcode

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// BenchmarkTranscode converts the 48 kHz stereo AAC tone at each Opus
// complexity. One op is one RTP packet (one AU, 21.3 ms of audio);
// core-% is the share of one core a real-time track costs: the native
// process's CPU time (getrusage: the Go side, the native pipeline, the
// GC) per second of audio converted; native-core-% is the native
// pipeline's own thread CPU time. CPU time, not wall time, so that other
// load on the machine does not inflate the figures.
//
//	go test -tags transcode -run '^$' -bench 'Transcode$' -benchtime 3000x -count 2 ./internal/transcode/
func BenchmarkTranscode(b *testing.B) {
	requireTranscoder(b)
	inputs := []struct{ name, path string }{
		{"tone", testdataAudio("tone-1k-48k-stereo.aac")},
		// Pink noise is the worst case for a transform codec: every band busy.
		{"noise", encodeADTS(b, "anoisesrc=color=pink:amplitude=0.3:duration=4", 48000, 2)},
	}
	for _, in := range inputs {
		aus, cfg := readADTS(b, in.path)
		payloads := make([][]byte, len(aus))
		for i, au := range aus {
			payloads[i] = hbrPacket(au)
		}
		for _, cx := range []int{0, 3, 5, 8, 10} {
			b.Run(fmt.Sprintf("%s/complexity=%d", in.name, cx), func(b *testing.B) {
				opts := DefaultOptions()
				opts.Complexity = cx
				tr, err := New(aacCodec(b, cfg), opts)
				if err != nil {
					b.Fatal(err)
				}
				defer tr.Close()
				var bytes int
				emit := func(_ uint32, p []byte) { bytes += len(p) }
				b.ReportAllocs()
				b.ResetTimer()
				start := processCPU(b)
				for i := range b.N {
					tr.Convert(rtpHeader(uint32(i*1024), uint16(i)), payloads[i%len(payloads)], emit)
				}
				cpu := processCPU(b) - start
				b.StopTimer()
				audio := time.Duration(b.N) * 1024 * time.Second / 48000
				b.ReportMetric(100*tr.CPU().Seconds()/audio.Seconds(), "native-core-%")
				b.ReportMetric(100*cpu.Seconds()/audio.Seconds(), "core-%")
				b.ReportMetric(float64(bytes)*8/audio.Seconds()/1000, "kbit/s")
			})
		}
	}
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The steady state allocates nothing per packet.
func TestConvertDoesNotAllocate(t *testing.T) {
	requireTranscoder(t)
	aus, cfg := readADTS(t, testdataAudio("tone-1k-48k-stereo.aac"))
	tr, err := New(aacCodec(t, cfg), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	payloads := make([][]byte, len(aus))
	for i, au := range aus {
		payloads[i] = hbrPacket(au)
	}
	emit := func(uint32, []byte) {}
	i := 0
	h := rtpHeader(0, 0)
	step := func() {
		h.Timestamp, h.SequenceNumber = uint32(i*1024), uint16(i)
		tr.Convert(h, payloads[i%len(payloads)], emit)
		i++
	}
	for range 20 {
		step() // warm up: the first calls size the scratch buffers
	}
	if n := testing.AllocsPerRun(200, step); n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
}

// BenchmarkTranscoderMemory holds b.N transcoders of the 48 kHz stereo AAC
// tone at once, each having converted a second of it, and reports what one
// costs: resident memory (the native decoder, resampler, encoder and
// buffers show there, not in the Go heap) and Go heap, per transcoder.
//
//	go test -tags transcode -run '^$' -bench TranscoderMemory -benchtime 50x ./internal/transcode/
func BenchmarkTranscoderMemory(b *testing.B) {
	requireTranscoder(b)
	aus, cfg := readADTS(b, testdataAudio("tone-1k-48k-stereo.aac"))
	c := aacCodec(b, cfg)
	emit := func(uint32, []byte) {}
	rss0, heap0 := vmRSS(b), heapInUse()
	held := make([]*Transcoder, 0, b.N)
	defer func() {
		for _, tr := range held {
			tr.Close()
		}
	}()
	for range b.N {
		tr, err := New(c, DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		held = append(held, tr)
		feedAAC(tr, aus[:47], 0, emit) // one second
	}
	b.StopTimer()
	rss, heap := vmRSS(b)-rss0, heapInUse()-heap0
	b.ReportMetric(float64(rss)/float64(b.N)/1024, "RSS-KiB/transcoder")
	b.ReportMetric(float64(heap)/float64(b.N)/1024, "heap-KiB/transcoder")
}

func heapInUse() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}
