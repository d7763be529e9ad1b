package transcode

import (
	"encoding/binary"
	"testing"

	"github.com/wishgate/wishgate/streams"
)

// fuzzCodecs are the tracks FuzzConvert feeds: each packetization and
// decoder path a camera's RTP reaches, including MP4A-LATM with in-band
// configurations (cpresent=1), where the packets themselves choose what
// the native AAC decoder is opened with.
var fuzzCodecs = []streams.Codec{
	{MimeType: "audio/MPEG4-GENERIC", ClockRate: 48000, Channels: 2,
		Fmtp: "config=1190;indexdeltalength=3;indexlength=3;mode=AAC-hbr;sizelength=13;streamtype=5"},
	{MimeType: "audio/MPEG4-GENERIC", ClockRate: 8000, Channels: 1, Fmtp: "config=1588;mode=AAC-lbr"},
	{MimeType: "audio/MP4A-LATM", ClockRate: 48000, Channels: 2, Fmtp: "cpresent=0;config=400023203fc0"},
	{MimeType: "audio/MP4A-LATM", ClockRate: 48000, Channels: 2, Fmtp: "cpresent=1"},
	{MimeType: "audio/PCMU", ClockRate: 16000, Channels: 2},
	{MimeType: "audio/L16", ClockRate: 44100, Channels: 1},
}

// fuzzPackets cuts data into RTP packets: each is a flags byte (bit 0 the
// marker, bits 1-7 how far its timestamp moves on, in eighths of 1024
// ticks, 127 a jump of a minute), a length byte and that many payload
// bytes.
func fuzzPackets(data []byte, each func(ts uint32, marker bool, payload []byte)) {
	ts := uint32(0)
	for len(data) >= 2 {
		flags, n := data[0], int(data[1])
		data = data[2:]
		n = min(n, len(data))
		if step := flags >> 1; step == 127 {
			ts += 60 * 48000
		} else {
			ts += uint32(step) * 128
		}
		each(ts, flags&1 == 1, data[:n])
		data = data[n:]
	}
}

// FuzzConvert: whatever a publisher sends on a transcoded track — broken
// AU headers, fragments that never complete, LATM elements with made-up
// configurations, PCM of odd lengths, timestamps that jump — the
// transcoder neither crashes nor emits anything but bounded Opus packets
// on a timeline of whole 20 ms frames.
func FuzzConvert(f *testing.F) {
	requireTranscoder(f)
	aus, _ := readADTS(f, testdataAudio("tone-1k-48k-stereo.aac"))
	seed := func(which uint8, payloads ...[]byte) {
		var d []byte
		for _, p := range payloads {
			p = p[:min(len(p), 255)]
			d = append(d, 8<<1|1, byte(len(p)))
			d = append(d, p...)
		}
		f.Add(which, d)
	}
	seed(0, hbrPacket(aus[0]), hbrPacket(aus[1]), hbrPacket(aus[2]))
	seed(0, []byte{0x00, 0x10, 0xff, 0xf8, 1, 2}, hbrPacket(aus[3]))
	seed(1, []byte{0x00, 0x08, 0x40, 1, 2, 3, 4}, []byte{0, 0})
	seed(2, latmElement(aus[0]), latmElement(aus[1]))
	var inBand bits
	inBand.put(0, 1) // useSameStreamMux = 0, then a StreamMuxConfig
	for _, b := range []byte{0x40, 0x00, 0x23, 0x20, 0x3f, 0xc0} {
		inBand.put(uint64(b), 8)
	}
	seed(3, inBand.b, []byte{0x80, 0x01, 0x02})
	seed(4, make([]byte, 640), []byte{1, 2, 3})
	pcm := make([]byte, 200)
	binary.BigEndian.PutUint16(pcm, 0x7fff)
	seed(5, pcm, pcm[:3])

	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		tr, err := New(fuzzCodecs[int(which)%len(fuzzCodecs)], DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		// Consecutive packets are one frame apart, unless the timeline
		// restarted in between (a jump, or a new in-band configuration).
		var prev uint32
		var prevEng engine
		prevResets := uint64(0)
		emit := func(ts uint32, p []byte) {
			if len(p) == 0 || len(p) > maxOpusPacket {
				t.Fatalf("Opus packet of %d bytes", len(p))
			}
			resets := tr.Stats.Resets.Load()
			if prevEng == tr.eng && resets == prevResets && ts-prev != opusFrame {
				t.Fatalf("packet at %d after one at %d", ts, prev)
			}
			prev, prevEng, prevResets = ts, tr.eng, resets
		}
		fuzzPackets(data, func(ts uint32, marker bool, payload []byte) {
			h := rtpHeader(ts, 0)
			h.Marker = marker
			tr.Convert(h, payload, emit)
		})
	})
}
