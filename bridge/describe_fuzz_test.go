package bridge

import (
	"bytes"
	"testing"

	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"github.com/wishgate/wishgate/internal/codec"
	"github.com/wishgate/wishgate/streams"
)

// FuzzSniffParamSets: the RTP payloads of a WHIP publisher's video, whose
// parameter sets the RTSP outlet sniffs in-band to describe the stream to
// RTSP readers. Whatever they hold: no panic; a learned set is exactly a
// NAL unit the publisher sent, of the kind its place names; and the
// description built from them parses (gortsplib's own SDP parser, as RTSP
// clients use) and hands readers the same sets when they are valid, none
// otherwise (decoders then take them in-band).
func FuzzSniffParamSets(f *testing.F) {
	sps, pps := testH264SPS, testH264PPS
	stap := append(append(append([]byte{24, 0, byte(len(sps))}, sps...), 0, byte(len(pps))), pps...)
	f.Add(false, encodePayloads(stap, []byte{0x65, 0x88}))
	f.Add(false, encodePayloads(sps, pps, []byte{0x7c, 0x85, 1}))
	vps, hsps, hpps := testH265VPS, testH265SPS, testH265PPS
	ap := []byte{48 << 1, 1}
	for _, u := range [][]byte{vps, hsps, hpps} {
		ap = append(append(ap, byte(len(u)>>8), byte(len(u))), u...)
	}
	f.Add(true, encodePayloads(ap, []byte{0x26, 0x01, 0xaf}))
	f.Add(true, encodePayloads(vps, hsps, hpps))
	f.Add(true, encodePayloads(vps, hsps[:12], hpps)) // a set no RTSP client parses

	reg := streams.NewRegistry(streams.DefaultConfig())
	f.Cleanup(reg.Close)
	specs := []streams.TrackSpec{
		{Kind: streams.KindVideo, Codec: streams.Codec{MimeType: "video/H264", ClockRate: 90000, Fmtp: "packetization-mode=1"}},
		{Kind: streams.KindVideo, Codec: streams.Codec{MimeType: "video/H265", ClockRate: 90000}},
	}
	pub, err := reg.Publish("fuzz", specs, nopPublisher{}, streams.PublisherInfo{Kind: streams.SessionWHIP})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(pub.Close)

	f.Fuzz(func(t *testing.T, hevc bool, data []byte) {
		i := 0
		if hevc {
			i = 1
		}
		tr := pub.Tracks()[i]
		p := newParamSets(tr.Codec)
		var sent [][]byte
		for n := 0; len(data) >= 2 && n < 64; n++ {
			size := min(int(data[0])<<8|int(data[1]), len(data)-2)
			payload := bytes.Clone(data[2 : 2+size])
			data = data[2+size:]
			sent = append(sent, payload)
			p.sniff(payload)
		}
		for _, got := range []struct {
			set  []byte
			kind codec.ParamKind
		}{{p.VPS, codec.VPS}, {p.SPS, codec.SPS}, {p.PPS, codec.PPS}} {
			if got.set == nil {
				continue
			}
			if codec.ParamKindOf(p.id, got.set) != got.kind || !containsUnit(sent, got.set) {
				t.Fatalf("learned % x as %v: not a NAL unit of that kind the publisher sent", got.set, got.kind)
			}
		}
		m, err := mediaFor(i, tr, p.fmtp(tr.Codec))
		if err != nil {
			t.Fatalf("stream with sets %x/%x/%x cannot be described to RTSP readers: %v", p.VPS, p.SPS, p.PPS, err)
		}
		switch fm := m.Formats[0].(type) {
		case *format.H264:
			var sp h264.SPS
			want := p.complete() && sp.Unmarshal(p.SPS) == nil
			if got := fm.SPS != nil; got != want || (want && (!bytes.Equal(fm.SPS, p.SPS) || !bytes.Equal(fm.PPS, p.PPS))) {
				t.Fatalf("readers get SPS % x PPS % x, the publisher sent % x / % x", fm.SPS, fm.PPS, p.SPS, p.PPS)
			}
		case *format.H265:
			var sp h265.SPS
			var pp h265.PPS
			// Described as soon as the SPS is known, VPS or not (paramSets.fmtp).
			want := sp.Unmarshal(p.SPS) == nil && pp.Unmarshal(p.PPS) == nil
			if got := fm.SPS != nil; got != want ||
				(want && (!bytes.Equal(fm.VPS, p.VPS) || !bytes.Equal(fm.SPS, p.SPS) || !bytes.Equal(fm.PPS, p.PPS))) {
				t.Fatalf("readers get % x / % x / % x, the publisher sent % x / % x / % x", fm.VPS, fm.SPS, fm.PPS, p.VPS, p.SPS, p.PPS)
			}
		default:
			t.Fatalf("described as %T", fm)
		}
	})
}

// containsUnit reports whether u is one of the payloads or a member of one
// of them taken as an aggregation packet.
func containsUnit(payloads [][]byte, u []byte) bool {
	for _, p := range payloads {
		if bytes.Equal(p, u) {
			return true
		}
		for _, skip := range []int{1, 2} { // STAP-A, AP payload headers
			if len(p) < skip {
				continue
			}
			it := codec.AggregatedUnits(p[skip:])
			for x, ok := it.Next(); ok; x, ok = it.Next() {
				if bytes.Equal(x, u) {
					return true
				}
			}
		}
	}
	return false
}

// encodePayloads lays out payloads as FuzzSniffParamSets reads them.
func encodePayloads(ps ...[]byte) []byte {
	var b []byte
	for _, p := range ps {
		b = append(append(b, byte(len(p)>>8), byte(len(p))), p...)
	}
	return b
}
