package transcode

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/wishgate/wishgate/streams"
)

// ffmpegRaw encodes a 440 Hz tone as raw G.711 with ffmpeg.
func ffmpegRaw(t *testing.T, format string, rate, ch int) []byte {
	t.Helper()
	ff := requireFFmpeg(t)
	out := filepath.Join(t.TempDir(), "a.raw")
	cmd := exec.Command(ff, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
		"-ar", strconv.Itoa(rate), "-ac", strconv.Itoa(ch), "-f", format, "-y", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// G.711 at 16 kHz or in stereo and L16/L24 at any rate come out as the
// same tone, in packets of whatever duration the camera sends.
func TestPCMToOpus(t *testing.T) {
	requireTranscoder(t)
	l16 := func(rate, ch, width int) []byte {
		var b []byte
		for i := range rate {
			v := int32(12000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
			for range ch {
				var s [4]byte
				binary.BigEndian.PutUint32(s[:], uint32(v)<<16)
				b = append(b, s[:width]...)
			}
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		codec  streams.Codec
		data   []byte
		width  int
		packet int // ms per RTP packet
	}{
		// G.711 at 16 kHz, in stereo, and both: each law.
		{"PCMU 16 kHz mono", streams.Codec{MimeType: "audio/PCMU", ClockRate: 16000, Channels: 1}, ffmpegRaw(t, "mulaw", 16000, 1), 1, 20},
		{"PCMA 16 kHz mono", streams.Codec{MimeType: "audio/PCMA", ClockRate: 16000, Channels: 1}, ffmpegRaw(t, "alaw", 16000, 1), 1, 20},
		{"PCMU 8 kHz stereo", streams.Codec{MimeType: "audio/PCMU", ClockRate: 8000, Channels: 2}, ffmpegRaw(t, "mulaw", 8000, 2), 1, 20},
		{"PCMA 8 kHz stereo", streams.Codec{MimeType: "audio/PCMA", ClockRate: 8000, Channels: 2}, ffmpegRaw(t, "alaw", 8000, 2), 1, 10},
		{"PCMU 16 kHz stereo", streams.Codec{MimeType: "audio/PCMU", ClockRate: 16000, Channels: 2}, ffmpegRaw(t, "mulaw", 16000, 2), 1, 40},
		{"PCMA 16 kHz stereo", streams.Codec{MimeType: "audio/PCMA", ClockRate: 16000, Channels: 2}, ffmpegRaw(t, "alaw", 16000, 2), 1, 30},
		// L16 at the rates cameras and RTSP publishers use (RFC 3551's
		// static 44.1 kHz ones included), L24 too.
		{"L16 8 kHz mono", streams.Codec{MimeType: "audio/L16", ClockRate: 8000, Channels: 1}, l16(8000, 1, 2), 2, 20},
		{"L16 16 kHz mono", streams.Codec{MimeType: "audio/L16", ClockRate: 16000, Channels: 1}, l16(16000, 1, 2), 2, 20},
		{"L16 44.1 kHz mono", streams.Codec{MimeType: "audio/L16", ClockRate: 44100, Channels: 1}, l16(44100, 1, 2), 2, 10},
		{"L16 44.1 kHz stereo", streams.Codec{MimeType: "audio/L16", ClockRate: 44100, Channels: 2}, l16(44100, 2, 2), 2, 5},
		{"L16 48 kHz stereo", streams.Codec{MimeType: "audio/L16", ClockRate: 48000, Channels: 2}, l16(48000, 2, 2), 2, 10},
		{"L24 48 kHz mono", streams.Codec{MimeType: "audio/L24", ClockRate: 48000, Channels: 1}, l16(48000, 1, 3), 3, 40},
	} {
		tr, err := New(tc.codec, DefaultOptions())
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if want := min(int(tc.codec.Channels), 2); tr.src.outChannels() != want {
			t.Errorf("%s: Opus with %d channels, want %d", tc.name, tr.src.outChannels(), want)
		}
		s := newSink(t, tr.src.outChannels())
		calls := &countingEngine{engine: tr.eng}
		tr.eng = calls
		ch := int(tc.codec.Channels)
		per := int(tc.codec.ClockRate) * tc.packet / 1000 // samples per packet
		step := per * ch * tc.width
		packets := 0
		for i, ts := 0, uint32(0); i+step <= len(tc.data); i, ts = i+step, ts+uint32(per) {
			tr.Convert(rtpHeader(ts, uint16(i)), tc.data[i:i+step], s.emit)
			packets++
		}
		tr.Close()
		// One native call per 20 ms of audio (or per packet, when packets
		// are longer), never one per short packet.
		if want := max(1000/max(tc.packet, 20), 1) * packets * tc.packet / 1000; calls.pcmCalls > want+1 {
			t.Errorf("%s: %d native calls for %d packets of %d ms, want at most %d", tc.name, calls.pcmCalls, packets, tc.packet, want+1)
		}
		if tr.Stats.Malformed.Load() > 0 {
			t.Errorf("%s: %d malformed", tc.name, tr.Stats.Malformed.Load())
		}
		if len(s.ts) < 45 {
			t.Errorf("%s: %d packets for a second", tc.name, len(s.ts))
			continue
		}
		if f := frequency(s.pcm[4800 : len(s.pcm)-4800]); math.Abs(f-440) > 5 {
			t.Errorf("%s: tone at %.1f Hz, want 440", tc.name, f)
		}
	}
}

func TestPCMRefusesMisalignedPayloads(t *testing.T) {
	requireTranscoder(t)
	tr, err := New(streams.Codec{MimeType: "audio/L16", ClockRate: 16000, Channels: 2}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	s := newSink(t, 2)
	tr.Convert(rtpHeader(0, 0), []byte{1, 2, 3}, s.emit)
	if tr.Stats.Malformed.Load() != 1 {
		t.Fatalf("malformed %d, want 1", tr.Stats.Malformed.Load())
	}
}

func TestDescribe(t *testing.T) {
	for _, c := range []streams.Codec{
		{MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
		{MimeType: "audio/PCMU", ClockRate: 8000},
		{MimeType: "audio/MPEG4-GENERIC", ClockRate: 44100, Fmtp: "mode=AAC-hbr"}, // no config
		{MimeType: "audio/MPEG4-GENERIC", ClockRate: 44100, Fmtp: "config=4210"},  // CELP
		{MimeType: "audio/L16", ClockRate: 0},
		{MimeType: "video/H264", ClockRate: 90000},
	} {
		if Supported(c) {
			t.Errorf("%v (%s) reported convertible", c, c.Fmtp)
		}
	}
	for _, c := range []streams.Codec{
		{MimeType: "audio/MPEG4-GENERIC", ClockRate: 44100, Channels: 2, Fmtp: "config=1210;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3"},
		{MimeType: "audio/MP4A-LATM", ClockRate: 44100, Channels: 2, Fmtp: "cpresent=0;config=400024203fc0"},
		{MimeType: "audio/MP4A-LATM", ClockRate: 44100, Channels: 2, Fmtp: "cpresent=1"},
		{MimeType: "audio/PCMA", ClockRate: 16000},
		{MimeType: "audio/PCMU", ClockRate: 8000, Channels: 2},
		{MimeType: "audio/L16", ClockRate: 44100, Channels: 2},
	} {
		if !Supported(c) {
			t.Errorf("%v (%s) not reported convertible", c, c.Fmtp)
		}
	}
	if c := opusCodec(2); c.Fmtp != "minptime=10;useinbandfec=1;sprop-stereo=1;stereo=1" || c.ClockRate != 48000 || c.Channels != 2 {
		t.Errorf("stereo target %+v", c)
	}
}

type countingEngine struct {
	engine
	pcmCalls, decodeCalls int
}

func (c *countingEngine) pcm(s []int16, n int, out *output) { c.pcmCalls++; c.engine.pcm(s, n, out) }
func (c *countingEngine) decode(d []byte, sz []int32, out *output) {
	c.decodeCalls++
	c.engine.decode(d, sz, out)
}
