package transcode

import (
	"math"
	"testing"
	"time"

	"github.com/wishgate/wishgate/streams"
)

// latmElement is an AudioMuxElement of one AU (cpresent=0).
func latmElement(au []byte) []byte {
	var e []byte
	n := len(au)
	for ; n >= 255; n -= 255 {
		e = append(e, 255)
	}
	return append(append(e, byte(n)), au...)
}

// MP4A-LATM with the configuration in the SDP, one element per packet, and
// elements split over two packets (marker on the last), decode the same.
func TestLATMToOpus(t *testing.T) {
	requireTranscoder(t)
	aus, _ := readADTS(t, testdataAudio("tone-1k-48k-stereo.aac"))
	c := streams.Codec{MimeType: "audio/MP4A-LATM", ClockRate: 48000, Channels: 2,
		Fmtp: "cpresent=0;config=400023203fc0;object=2;profile-level-id=1"}
	tr, err := New(c, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	s := newSink(t, 2)
	for i, au := range aus {
		e := latmElement(au)
		ts := uint32(i * 1024)
		if i%2 == 0 {
			h := rtpHeader(ts, uint16(2*i))
			h.Marker = false
			tr.Convert(h, e[:len(e)/2], s.emit)
			tr.Convert(rtpHeader(ts, uint16(2*i+1)), e[len(e)/2:], s.emit)
			continue
		}
		tr.Convert(rtpHeader(ts, uint16(2*i)), e, s.emit)
	}
	if tr.Stats.Malformed.Load() > 0 || tr.Stats.DecodeError.Load() > 0 {
		t.Fatalf("malformed %d, decode errors %d", tr.Stats.Malformed.Load(), tr.Stats.DecodeError.Load())
	}
	if want := len(aus) * 1024 / 960; len(s.ts) < want-1 {
		t.Fatalf("%d packets, want %d", len(s.ts), want)
	}
	if f := frequency(s.pcm[4800 : len(s.pcm)-4800]); math.Abs(f-1000) > 5 {
		t.Fatalf("tone at %.1f Hz", f)
	}
}

// bits builds an unaligned bit string.
type bits struct {
	b []byte
	n int
}

func (w *bits) put(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>uint(i)&1 == 1 {
			w.b[len(w.b)-1] |= 0x80 >> uint(w.n%8)
		}
		w.n++
	}
}

// cpresent=1: the StreamMuxConfig arrives in the first element, not the
// SDP; the engine starts with it.
func TestLATMInBandConfig(t *testing.T) {
	requireTranscoder(t)
	aus, _ := readADTS(t, testdataAudio("tone-1k-48k-stereo.aac"))
	tr, err := New(streams.Codec{MimeType: "audio/MP4A-LATM", ClockRate: 48000, Channels: 2, Fmtp: "cpresent=1"}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	s := newSink(t, 2)
	smc := []byte{0x40, 0x00, 0x23, 0x20, 0x3f, 0xc0} // 44 bits used
	for i, au := range aus {
		var w bits
		if i == 0 {
			w.put(0, 1) // useSameStreamMux = 0
			for k := range 44 {
				w.put(uint64(smc[k/8]>>(7-uint(k%8))&1), 1)
			}
		} else {
			w.put(1, 1)
		}
		for _, b := range latmElement(au) {
			w.put(uint64(b), 8)
		}
		tr.Convert(rtpHeader(uint32(i*1024), uint16(i)), w.b, s.emit)
	}
	if tr.Stats.Malformed.Load() > 0 || len(s.ts) < len(aus)*1024/960-1 {
		t.Fatalf("malformed %d, %d packets", tr.Stats.Malformed.Load(), len(s.ts))
	}
	if f := frequency(s.pcm[4800 : len(s.pcm)-4800]); math.Abs(f-1000) > 5 {
		t.Fatalf("tone at %.1f Hz", f)
	}
}

// inBandElement is an AudioMuxElement of one AU that carries a
// StreamMuxConfig (AAC-LC at 48 kHz with the given channels) or, with
// channels 0, says useSameStreamMux.
func inBandElement(au []byte, channels uint64) []byte {
	var w bits
	if channels == 0 {
		w.put(1, 1)
	} else {
		w.put(0, 1) // useSameStreamMux = 0: a StreamMuxConfig follows
		w.put(0, 1) // audioMuxVersion 0
		w.put(1, 1) // allStreamsSameTimeFraming
		w.put(0, 6) // numSubFrames
		w.put(0, 4) // numProgram
		w.put(0, 3) // numLayer
		w.put(2, 5) // AudioSpecificConfig: AAC-LC,
		w.put(3, 4) // 48 kHz,
		w.put(channels, 4)
		w.put(0, 3)    // GASpecificConfig
		w.put(0, 3)    // frameLengthType 0
		w.put(0xff, 8) // latmBufferFullness
		w.put(0, 1)    // otherDataPresent
		w.put(0, 1)    // crcCheckPresent
	}
	for _, b := range latmElement(au) {
		w.put(uint64(b), 8)
	}
	return w.b
}

// A publisher whose in-band configuration changes on every packet restarts
// the decoder and encoder at most once a second: the packets in between
// are dropped and counted, and the last configuration is applied when the
// second is over.
func TestLATMReconfigurationIsRateLimited(t *testing.T) {
	requireTranscoder(t)
	aus, _ := readADTS(t, testdataAudio("tone-1k-48k-stereo.aac"))
	tr, err := New(streams.Codec{MimeType: "audio/MP4A-LATM", ClockRate: 48000, Channels: 2, Fmtp: "cpresent=1"}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	clock := time.Unix(1000, 0)
	tr.now = func() time.Time { return clock }
	engines := map[engine]bool{}
	send := func(i int, channels uint64) {
		tr.Convert(rtpHeader(uint32(i*1024), uint16(i)), inBandElement(aus[i%len(aus)], channels), func(uint32, []byte) {})
		engines[tr.eng] = true
	}
	send(0, 2) // the first configuration starts the engine
	send(1, 2) // the same again: no change
	for i := 2; i <= 20; i++ {
		clock = clock.Add(20 * time.Millisecond)
		send(i, uint64(1+i%2)) // mono, stereo, mono...: 19 changes in 0.4 s
	}
	if len(engines) != 1 || tr.Stats.Malformed.Load() != 19 {
		t.Fatalf("%d engines, %d dropped: want the first engine alone, the 19 packets of changes dropped", len(engines), tr.Stats.Malformed.Load())
	}
	clock = clock.Add(time.Second)
	send(21, 0) // no new configuration: the last one (mono) is applied now
	if len(engines) != 2 || tr.Stats.Malformed.Load() != 19 || string(tr.src.asc) != "\x11\x88" {
		t.Fatalf("%d engines, %d dropped, configuration % x: want the last (mono, 11 88) applied after a second",
			len(engines), tr.Stats.Malformed.Load(), tr.src.asc)
	}
}
