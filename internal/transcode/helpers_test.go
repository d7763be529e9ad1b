package transcode

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"
)

// requireTranscoder: this package's tests cannot use internal/testutil
// (it imports the gateway, which imports this package).
func requireTranscoder(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("WISHGATE_REQUIRE_TOOLS") == "1" {
			t.Fatalf("the transcoder is required (WISHGATE_REQUIRE_TOOLS=1): %v", err)
		}
		t.Skip(err)
	}
}

func requireFFmpeg(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("WISHGATE_REQUIRE_TOOLS") == "1" {
			t.Fatal("ffmpeg is required (WISHGATE_REQUIRE_TOOLS=1)")
		}
		t.Skip("ffmpeg not installed")
	}
	return p
}

// readADTS returns the access units of an ADTS file and its configuration.
func readADTS(t testing.TB, path string) ([][]byte, mpeg4audio.AudioSpecificConfig) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pkts mpeg4audio.ADTSPackets
	if err := pkts.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	aus := make([][]byte, len(pkts))
	for i, p := range pkts {
		aus[i] = p.AU
	}
	return aus, mpeg4audio.AudioSpecificConfig{Type: pkts[0].Type, SampleRate: pkts[0].SampleRate, ChannelCount: pkts[0].ChannelCount}
}

func testdataAudio(name string) string { return filepath.Join("..", "..", "testdata", "audio", name) }

// encodeADTS makes an ADTS file of AAC-LC with ffmpeg from a lavfi source.
func encodeADTS(t testing.TB, lavfi string, rate, channels int) string {
	t.Helper()
	ff := requireFFmpeg(t)
	out := filepath.Join(t.TempDir(), "a.aac")
	cmd := exec.Command(ff, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", lavfi,
		"-ar", strconv.Itoa(rate), "-ac", strconv.Itoa(channels), "-c:a", "aac", "-b:a", "96k", "-f", "adts", "-y", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	return out
}

// hbrPacket is an RFC 3640 AAC-hbr payload carrying aus.
func hbrPacket(aus ...[]byte) []byte {
	n := len(aus) * 16
	p := []byte{byte(n >> 8), byte(n)}
	for _, au := range aus {
		h := len(au) << 3
		p = append(p, byte(h>>8), byte(h))
	}
	for _, au := range aus {
		p = append(p, au...)
	}
	return p
}

// sink collects what a Transcoder emits, decoding it like a viewer.
type sink struct {
	t      testing.TB
	dec    *OpusDecoder
	ts     []uint32
	pcm    []int16 // channel 0
	first  uint32
	frame  []int16
	decErr int
}

func newSink(t testing.TB, channels int) *sink {
	d, err := NewOpusDecoder(channels)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return &sink{t: t, dec: d, frame: make([]int16, 5760*channels)}
}

func (s *sink) emit(ts uint32, payload []byte) {
	if len(s.ts) == 0 {
		s.first = ts
	}
	s.ts = append(s.ts, ts)
	n, err := s.dec.Decode(payload, s.frame)
	if err != nil {
		s.decErr++
		return
	}
	ch := s.dec.channels
	for i := range n {
		s.pcm = append(s.pcm, s.frame[i*ch])
	}
}

// frequency of the (single) tone in pcm at 48 kHz, from zero crossings.
func frequency(pcm []int16) float64 {
	crossings := 0
	for i := 1; i < len(pcm); i++ {
		if (pcm[i-1] < 0) != (pcm[i] < 0) {
			crossings++
		}
	}
	return float64(crossings) / 2 / (float64(len(pcm)) / 48000)
}

func rms(pcm []int16) float64 {
	var s float64
	for _, v := range pcm {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(len(pcm), 1)))
}

// onset is the first sample index from from on whose magnitude passes
// 5000: a beep of amplitude 0.8 at 1 kHz passes it on its second sample.
func onset(pcm []int16, from int) int {
	for i := max(from, 0); i < len(pcm); i++ {
		if pcm[i] > 5000 || pcm[i] < -5000 {
			return i
		}
	}
	return -1
}

func rtpHeader(ts uint32, seq uint16) *rtp.Header {
	return &rtp.Header{Version: 2, PayloadType: 97, SequenceNumber: seq, Timestamp: ts, Marker: true}
}
