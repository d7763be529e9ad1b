package bridge

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/sdp"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/codec"
	"github.com/wishgate/wishgate/streams"
)

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// announceSeeds are the SDP bodies of real kinds of RTSP publishers and
// cameras (ffmpeg, GStreamer, Hikvision/Axis-style cameras, ONVIF
// metadata), plus the shapes a mapping can trip over.
func announceSeeds() []string {
	const head = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=Stream\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
	return []string{
		head + "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n" +
			"a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z0LAHtkAUAW7ARAAAAMAEAAAAwPI8WLkgA==,aMuDyyA=; profile-level-id=42C01E\r\na=control:streamid=0\r\n" +
			"m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/44100/2\r\n" +
			"a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=121056E500\r\na=control:streamid=1\r\n",
		head + "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\n" +
			"a=fmtp:96 sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwB4mZgJ; sprop-sps=QgEBAWAAAAMAkAAAAwAAAwB4oAPAgBDlmZpJMry4BAAAAwAEAAADAHgg; sprop-pps=RAHBcrRiQA==\r\na=control:trackID=1\r\n" +
			"m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=control:trackID=2\r\n",
		head + "m=video 0 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\nm=audio 0 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 sprop-stereo=1\r\n",
		head + "m=video 0 RTP/AVP 98\r\na=rtpmap:98 VP9/90000\r\nm=video 0 RTP/AVP 99\r\na=rtpmap:99 AV1/90000\r\nm=audio 0 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n",
		head + "m=audio 0 RTP/AVP 96\r\na=rtpmap:96 MP4A-LATM/48000/2\r\na=fmtp:96 profile-level-id=30;cpresent=0;object=2;config=400024203fc0\r\n",
		// An m-line kind that disagrees with its codec, a format list whose
		// first entries are refused, a metadata stream, a back channel.
		head + "m=audio 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n" +
			"m=video 0 RTP/AVP 26 97 96\r\na=rtpmap:97 JPEG2000/90000\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=0\r\n" +
			"m=application 0 RTP/AVP 107\r\na=rtpmap:107 vnd.onvif.metadata/90000\r\n" +
			"m=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendonly\r\n",
		head + "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\na=fmtp:96 sprop-max-don-diff=2\r\n" +
			"m=audio 0 RTP/AVP 97\r\na=rtpmap:97 L16/16000/2\r\n",
		head + strings.Repeat("m=video 0 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n", maxIngestTracks+2),
	}
}

// FuzzAnnounce: an RTSP publisher's ANNOUNCE body (or a camera's DESCRIBE
// answer) goes through gortsplib's parsers, as the RTSP server does, and
// then through the bridge's mapping. Whatever it says: no panic; at most
// maxIngestTracks tracks; each track's kind and MIME type are its codec's;
// the stream can be published; and every track can be described to RTSP
// readers by the SDP the outlet builds, with the same codec.
func FuzzAnnounce(f *testing.F) {
	for _, s := range announceSeeds() {
		f.Add([]byte(s))
	}
	reg := streams.NewRegistry(streams.DefaultConfig())
	f.Cleanup(reg.Close)
	log := discardLog()

	f.Fuzz(func(t *testing.T, body []byte) {
		var ssd sdp.SessionDescription
		if ssd.Unmarshal(body) != nil {
			return
		}
		var desc description.Session
		if desc.Unmarshal(&ssd) != nil {
			return
		}
		in, err := newIngest(&desc, log, nil)
		if err != nil {
			if !errors.Is(err, ErrNoTracks) || len(in.tracks) != 0 {
				t.Fatalf("newIngest: %v with %d tracks", err, len(in.tracks))
			}
			return
		}
		if n := len(in.specs); n == 0 || n > maxIngestTracks || n != len(in.tracks) {
			t.Fatalf("%d specs for %d tracks", n, len(in.tracks))
		}
		for i, sp := range in.specs {
			id := codec.Parse(sp.Codec.MimeType)
			if id == codec.Unknown || id == codec.OtherAudio || id.Audio() != (sp.Kind == streams.KindAudio) {
				t.Fatalf("track %d: kind %v with MIME type %q", i, sp.Kind, sp.Codec.MimeType)
			}
		}
		pub, err := reg.Publish("fuzz", in.specs, nopPublisher{}, streams.PublisherInfo{Kind: streams.SessionRTSPPublish})
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		defer pub.Close()
		for i, tr := range pub.Tracks() {
			m, err := mediaFor(i, tr, newParamSets(tr.Codec).fmtp(tr.Codec))
			if err != nil {
				t.Fatalf("track %d (%s, fmtp %q) cannot be described to RTSP readers: %v", i, tr.Codec, tr.Codec.Fmtp, err)
			}
			if got := codecOf(tr.Kind.String(), m.Formats[0]); codec.Parse(got.MimeType) != codec.Parse(tr.Codec.MimeType) {
				t.Fatalf("track %d: %s described as %s", i, tr.Codec.MimeType, got.MimeType)
			}
		}
	})
}

// ingestFormats are the formats FuzzIngest feeds, one per bridged kind of
// conversion: the two repacketizers and a codec forwarded as it came.
func ingestFormats() []format.Format {
	return []format.Format{
		&format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: testH264SPS, PPS: testH264PPS},
		&format.H265{PayloadTyp: 97, VPS: testH265VPS, SPS: testH265SPS, PPS: testH265PPS},
		&format.VP8{PayloadTyp: 98},
		&format.Opus{PayloadTyp: 111, ChannelCount: 2},
	}
}

// FuzzIngest: a stream of hostile RTP from an RTSP publisher or camera
// (any payload, on any track, with sequence gaps, repeated and backward
// timestamps) never panics the ingest, and every packet of a codec
// forwarded as it came is either written to its track or counted as
// dropped: nothing disappears uncounted.
func FuzzIngest(f *testing.F) {
	f.Add(encodePackets(0, []byte{0x65, 0x88, 0x84}, 0, []byte{0x19, 0, 1, 0x65}, 2, []byte{0x10, 0x50, 0x01}, 3, []byte{0xfc}))
	f.Add(encodePackets(0, []byte{0x7c, 0x85, 1, 2}, 0, []byte{0x7c, 0x45, 3}, 1, []byte{0x26, 0x01, 0xaf}, 1, []byte{0x62, 0x01, 0x93, 9}))
	f.Add(encodePackets(0, []byte{0x78, 0, 9, 0x65}, 1, []byte{0x60, 0x01, 0, 2, 0x40, 0x01}, 2, make([]byte, 1600)))
	reg := streams.NewRegistry(streams.DefaultConfig())
	f.Cleanup(reg.Close)
	log := discardLog()

	f.Fuzz(func(t *testing.T, data []byte) {
		forms := ingestFormats()
		desc := &description.Session{}
		for _, fm := range forms {
			typ := description.MediaTypeVideo
			if _, ok := fm.(*format.Opus); ok {
				typ = description.MediaTypeAudio
			}
			desc.Medias = append(desc.Medias, &description.Media{Type: typ, Formats: []format.Format{fm}})
		}
		in, err := newIngest(desc, log, nil)
		if err != nil || len(in.tracks) != len(forms) {
			t.Fatalf("newIngest: %v", err)
		}
		pub, err := reg.Publish("fuzz", in.specs, nopPublisher{}, streams.PublisherInfo{Kind: streams.SessionRTSPPublish})
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		defer pub.Close()
		in.pub = pub

		fed := make([]uint64, len(forms))
		seq, ts := uint16(1000), uint32(90000)
		for n := 0; len(data) >= 3 && n < 256; n++ {
			flags, size := data[0], int(data[1])<<8|int(data[2])
			data = data[3:]
			size = min(size, len(data))
			payload := data[:size:size]
			data = data[size:]
			seq += 1 + uint16(flags>>3&1)
			switch flags >> 4 & 3 {
			case 1:
				ts += 3000
			case 2:
				ts -= 6000
			}
			tr := int(flags&7) % len(forms)
			fed[tr]++
			in.handle(forms[tr], &rtp.Packet{
				Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: flags&0x40 != 0},
				Payload: payload,
			})
		}
		info, ok := reg.Info("fuzz")
		if !ok {
			t.Fatal("stream gone")
		}
		for i, tr := range info.Tracks {
			if i < 2 { // repacketized: output counts differ from input
				if tr.Dropped.Oversized != 0 {
					t.Fatalf("track %d: a repacketizer emitted %d oversized payloads", i, tr.Dropped.Oversized)
				}
				continue
			}
			if got := tr.Packets + tr.Dropped.Total(); got != fed[i] {
				t.Fatalf("track %d: %d fed, %d written + %+v dropped", i, fed[i], tr.Packets, tr.Dropped)
			}
		}
	})
}

// encodePackets lays out (track, payload) pairs as FuzzIngest reads them,
// each on a new timestamp.
func encodePackets(pairs ...any) []byte {
	var b []byte
	for i := 0; i+1 < len(pairs); i += 2 {
		tr, p := pairs[i].(int), pairs[i+1].([]byte)
		b = append(b, byte(tr)|0x10, byte(len(p)>>8), byte(len(p)))
		b = append(b, p...)
	}
	return b
}
