package bridge

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/streams"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseSourceSpec(t *testing.T) {
	c, err := ParseSourceSpec(" cam1 = rtsp://admin:s3cret@10.0.0.5:554/stream1#transport=tcp ")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "cam1" || c.URL != "rtsp://admin:s3cret@10.0.0.5:554/stream1" || c.Transport != TransportTCP {
		t.Fatalf("parsed %+v", c)
	}
	if s := c.String(); strings.Contains(s, "s3cret") || !strings.Contains(s, "admin:***@10.0.0.5") {
		t.Fatalf("String() = %q: password not masked", s)
	}
	for _, bad := range []string{
		"nourl",
		"cam=http://x/y",
		"cam=rtsp:///path",
		"../x=rtsp://h/p",
		"cam=rtsp://u:pw@h/p#transport=carrier-pigeon",
		"cam=rtsp://u:pw@h/p#speed=fast",
	} {
		_, err := ParseSourceSpec(bad)
		if !errors.Is(err, ErrInvalidSource) {
			t.Errorf("%q: %v, want ErrInvalidSource", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("%q: error leaks the password: %v", bad, err)
		}
	}
	// A URL with a fragment cannot reach gortsplib through Add either.
	if err := (SourceConfig{Name: "x", URL: "rtsp://h/p#transport=tcp"}).Validate(); err == nil {
		t.Error("Validate accepted a URL with a fragment")
	}
}

func TestParseSourceList(t *testing.T) {
	list, err := ParseSourceList("a=rtsp://h/1?x=1,2,b=rtsps://u:p@h/2", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].URL != "rtsp://h/1?x=1,2" || list[1].Name != "b" || !list[1].OnDemand {
		t.Fatalf("parsed %+v", list)
	}
	if _, err := ParseSourceList("a=rtsp://h/1,a=rtsp://h/2", false); err == nil {
		t.Fatal("duplicate name accepted")
	}
}

func TestMaskURL(t *testing.T) {
	for in, want := range map[string]string{
		"rtsp://u:p@h/x":        "rtsp://u:***@h/x",
		"rtsp://h/x":            "rtsp://h/x",
		"rtsp://u@h/x":          "rtsp://u@h/x",
		"rtsp://u:p%zz@h:1/x?y": "rtsp://u:***@h:1/x?y", // unparsable escape
	} {
		if got := MaskURL(in); got != want {
			t.Errorf("MaskURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	s := NewSources(SourcesConfig{BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second})
	defer s.Close()
	for n := range 40 {
		want := min(100*time.Millisecond<<min(n, 20), time.Second)
		for range 20 {
			d := s.backoff(n)
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: %s outside [%s, %s]", n, d, want/2, want)
			}
		}
	}
}

func TestParamSetsSniff(t *testing.T) {
	sps, pps := testH264SPS, testH264PPS
	p := newParamSets(streams.Codec{MimeType: "video/H264", ClockRate: 90000, Fmtp: "packetization-mode=1"})
	if p.complete() {
		t.Fatal("complete without parameter sets")
	}
	p.sniff([]byte{0x41, 0x9a}) // a P slice: nothing to learn
	stap := []byte{24, 0, byte(len(sps))}
	stap = append(stap, sps...)
	stap = append(stap, 0, byte(len(pps)))
	stap = append(stap, pps...)
	p.sniff(stap)
	if !p.complete() {
		t.Fatal("STAP-A with SPS and PPS not learned")
	}
	fmtp := p.fmtp(streams.Codec{})
	want := "sprop-parameter-sets=" + base64.StdEncoding.EncodeToString(sps) + "," + base64.StdEncoding.EncodeToString(pps)
	if !strings.Contains(fmtp, want) || !strings.Contains(fmtp, "packetization-mode=1") || !strings.Contains(fmtp, "profile-level-id=42c028") {
		t.Fatalf("fmtp %q", fmtp)
	}
	// From the publisher's fmtp (a camera's sprop-parameter-sets).
	q := newParamSets(streams.Codec{MimeType: "video/H264", Fmtp: want})
	if !q.complete() {
		t.Fatal("sprop-parameter-sets not read")
	}
}

func TestMediaFor(t *testing.T) {
	reg := streams.NewRegistry(streams.DefaultConfig())
	defer reg.Close()
	specs := []streams.TrackSpec{
		{Kind: streams.KindVideo, Codec: streams.Codec{MimeType: "video/H264", ClockRate: 90000, Fmtp: "packetization-mode=1;profile-level-id=42e01f"}},
		{Kind: streams.KindAudio, Codec: streams.Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, Fmtp: "minptime=10;stereo=1"}},
		{Kind: streams.KindAudio, Codec: streams.Codec{MimeType: "audio/PCMA", ClockRate: 8000}},
	}
	pub, err := reg.Publish("x", specs, nopPublisher{}, streams.PublisherInfo{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	tr := pub.Tracks()
	m0, err := mediaFor(0, tr[0], tr[0].Codec.Fmtp)
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := m0.Formats[0].(*format.H264); !ok || h.PacketizationMode != 1 || h.PayloadType() != 96 {
		t.Fatalf("H.264 media: %#v", m0.Formats[0])
	}
	m1, _ := mediaFor(1, tr[1], newParamSets(tr[1].Codec).fmtp(tr[1].Codec))
	if o, ok := m1.Formats[0].(*format.Opus); !ok || o.ChannelCount != 2 {
		t.Fatalf("Opus media: %#v", m1.Formats[0])
	}
	m2, _ := mediaFor(2, tr[2], "")
	if g, ok := m2.Formats[0].(*format.G711); !ok || g.PayloadType() != 8 || g.MULaw {
		t.Fatalf("PCMA media: %#v", m2.Formats[0])
	}
}

type nopPublisher struct{}

func (nopPublisher) Connected() bool     { return true }
func (nopPublisher) RequestKeyframe(int) {}
func (nopPublisher) Kick(error)          {}

func TestNewIngestRefusesPerTrack(t *testing.T) {
	desc := &description.Session{Medias: []*description.Media{
		{Type: description.MediaTypeVideo, Formats: []format.Format{&format.MJPEG{}}},
		{Type: description.MediaTypeAudio, Formats: []format.Format{&format.G711{PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1}}},
		{Type: description.MediaTypeAudio, Formats: []format.Format{&format.G711{PayloadTyp: 97, SampleRate: 16000, ChannelCount: 1}}},
	}}
	in, err := newIngest(desc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.specs) != 2 {
		t.Fatalf("%d tracks bridged, want 2 (MJPEG refused)", len(in.specs))
	}
	var statuses []string
	for _, n := range in.notes {
		statuses = append(statuses, n.Status)
	}
	if strings.Join(statuses, ",") != "refused,bridged,rtsp-only" {
		t.Fatalf("notes %v", in.notes)
	}
	if _, err := newIngest(&description.Session{Medias: desc.Medias[:1]}, nil, nil); !errors.Is(err, ErrNoTracks) {
		t.Fatalf("MJPEG only: %v, want ErrNoTracks", err)
	}
}

func TestFingerprintOption(t *testing.T) {
	fp := strings.Repeat("Ab:", 31) + "Ab"
	c, err := ParseSourceSpec("cam=rtsps://h/x#fingerprint=" + fp + "&transport=tcp")
	if err != nil {
		t.Fatal(err)
	}
	if c.Fingerprint != fp || c.Transport != TransportTCP {
		t.Fatalf("parsed %+v", c)
	}
	for _, bad := range []string{
		"cam=rtsp://h/x#fingerprint=" + fp,                    // not TLS
		"cam=rtsps://h/x#fingerprint=abcd",                    // too short
		"cam=rtsps://h/x#fingerprint=" + fp[:len(fp)-1] + "g", // not hex
	} {
		if _, err := ParseSourceSpec(bad); !errors.Is(err, ErrInvalidSource) {
			t.Errorf("%q: %v, want ErrInvalidSource", bad, err)
		}
	}
}

// TestIngestCountsDrops: every packet the RTSP ingest cannot bridge is
// counted on its track by reason: an unconvertible packetization, a
// malformed aggregation packet, a payload too large to forward.
func TestIngestCountsDrops(t *testing.T) {
	reg := streams.NewRegistry(streams.DefaultConfig())
	defer reg.Close()
	h264 := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	vp8 := &format.VP8{PayloadTyp: 97}
	desc := &description.Session{Medias: []*description.Media{
		{Type: description.MediaTypeVideo, Formats: []format.Format{h264}},
		{Type: description.MediaTypeVideo, Formats: []format.Format{vp8}},
	}}
	in, err := newIngest(desc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := reg.Publish("cam", in.specs, nopPublisher{}, streams.PublisherInfo{Kind: streams.SessionRTSPPublish})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	in.pub = pub
	seq := uint16(0)
	push := func(f format.Format, payload []byte) {
		seq++
		in.handle(f, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: 3000}, Payload: payload})
	}
	push(h264, []byte{0x65, 0x88, 0x84})       // IDR: bridged
	push(h264, []byte{0x19, 0x00, 0x01, 0x65}) // STAP-B
	push(h264, []byte{0x1a, 0x00})             // MTAP16
	push(h264, []byte{0x78, 0x00, 0x09, 0x65}) // STAP-A size past its end
	push(vp8, []byte{0x10, 0x50, 0x01})        // VP8 key frame start: bridged
	push(vp8, make([]byte, 1600))              // over a packet buffer
	info, ok := reg.Info("cam")
	if !ok {
		t.Fatal("stream gone")
	}
	if got, want := info.Tracks[0].Dropped, (streams.IngestDrops{Unsupported: 2, Malformed: 1}); got != want {
		t.Errorf("H.264 drops %+v, want %+v", got, want)
	}
	if got, want := info.Tracks[1].Dropped, (streams.IngestDrops{Oversized: 1}); got != want {
		t.Errorf("VP8 drops %+v, want %+v", got, want)
	}
	if info.Tracks[0].Packets != 1 || info.Tracks[1].Packets != 1 {
		t.Errorf("bridged %d H.264 and %d VP8 packets, want 1 each", info.Tracks[0].Packets, info.Tracks[1].Packets)
	}
}

// TestNewIngestKindsAndBounds: a track's kind is its codec's whatever the
// m-line says, and an ANNOUNCE of many m-lines makes at most
// maxIngestTracks tracks, saying why the rest are ignored.
func TestNewIngestKindsAndBounds(t *testing.T) {
	desc := &description.Session{Medias: []*description.Media{
		{Type: description.MediaTypeAudio, Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}}},
		{Type: description.MediaTypeVideo, Formats: []format.Format{&format.Opus{PayloadTyp: 111, ChannelCount: 2}}},
	}}
	in, err := newIngest(desc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := in.specs; len(s) != 2 || s[0].Kind != streams.KindVideo || s[0].Codec.MimeType != "video/H264" ||
		s[1].Kind != streams.KindAudio || s[1].Codec.MimeType != "audio/opus" {
		t.Fatalf("specs %+v", s)
	}

	desc = &description.Session{}
	for i := 0; i < maxIngestTracks+3; i++ {
		desc.Medias = append(desc.Medias, &description.Media{Type: description.MediaTypeVideo,
			Formats: []format.Format{&format.VP8{PayloadTyp: 96}}})
	}
	if in, err = newIngest(desc, nil, nil); err != nil {
		t.Fatal(err)
	}
	last := in.notes[len(in.notes)-1]
	if len(in.specs) != maxIngestTracks || last.Status != "refused" || !strings.Contains(last.Reason, "3 m-lines are ignored") {
		t.Fatalf("%d tracks, last note %v", len(in.specs), last)
	}
}
