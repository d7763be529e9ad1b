package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/codec"
	"github.com/wishgate/wishgate/internal/rtpconv"
	"github.com/wishgate/wishgate/streams"
)

// ErrNoTracks: none of an RTSP session's tracks can be bridged.
var ErrNoTracks = errors.New("no track can be bridged")

// TrackNote describes how one RTSP track was bridged, for logs and the
// source's status: refused outright, or kept for RTSP readers but left out
// for WebRTC viewers.
type TrackNote struct {
	Media  int    // index of the m-line in the RTSP description
	Codec  string // e.g. "MPEG4-GENERIC/44100/2"
	Status string // "bridged", "transcoded", "rtsp-only" or "refused"
	Reason string
}

func (n TrackNote) String() string {
	s := fmt.Sprintf("track %d (%s): %s", n.Media, n.Codec, n.Status)
	if n.Reason != "" {
		s += ": " + n.Reason
	}
	return s
}

// ingest turns the RTP of an RTSP session (a camera we pull, or a client
// that publishes with RECORD) into registry tracks: H.264/H.265 through the
// rtpconv re-packetizers, everything else as it came.
type ingest struct {
	log    *slog.Logger
	tracks []*ingestTrack
	byFmt  map[format.Format]*ingestTrack
	specs  []streams.TrackSpec
	notes  []TrackNote
	target Target
	// pub receives the packets; set by the owner before media flows and
	// only touched from the goroutine that delivers packets.
	pub *streams.Publication
	// lastPacket is when the last RTP packet arrived (UnixNano, 0: none
	// yet), read by the session's watchdog.
	lastPacket atomic.Int64
}

type ingestTrack struct {
	in    *ingest
	index int
	media *description.Media
	forma format.Format
	kind  streams.Kind
	codec streams.Codec

	h264 *rtpconv.H264
	h265 *rtpconv.H265
	emit rtpconv.Emit
	// lpcmFrame is the bytes per sample frame of L16/L24 (0 otherwise),
	// whose payloads are cut to fit the registry's packets.
	lpcmFrame int

	seq     uint16
	ts      uint32
	pt      uint8
	bframes atomic.Bool // read by status listings
}

// maxIngestTracks bounds the tracks one RTSP session can create: a camera
// sends a video and an audio track, some a second video or a metadata
// stream; an ANNOUNCE of thousands of m-lines must not become thousands of
// tracks. maxNotesPerMedia bounds the refusals recorded for one m-line that
// lists many formats.
const (
	maxIngestTracks  = 8
	maxNotesPerMedia = 4
)

// Target says what WebRTC viewers get for a codec they cannot play
// (streams.Registry.ConversionTarget), or why they get nothing.
type Target func(streams.Codec) (streams.Codec, error)

// newIngest maps every media of desc to a registry track. Unsupported
// formats are refused per track; ErrNoTracks if nothing is left. target
// (nil: none) words the notes of tracks WebRTC cannot play as they are.
func newIngest(desc *description.Session, log *slog.Logger, target Target) (*ingest, error) {
	in := &ingest{log: log, byFmt: map[format.Format]*ingestTrack{}, target: target}
	for mi, m := range desc.Medias {
		if m.IsBackChannel || len(m.Formats) == 0 {
			continue
		}
		if len(in.tracks) == maxIngestTracks {
			in.notes = append(in.notes, TrackNote{Media: mi, Status: "refused",
				Reason: fmt.Sprintf("more than %d tracks: this and the remaining %d m-lines are ignored", maxIngestTracks, len(desc.Medias)-mi)})
			break
		}
		var refused []TrackNote
		var chosen *ingestTrack
		for _, f := range m.Formats {
			t, note := newIngestTrack(in, mi, m, f)
			if t == nil {
				if len(refused) < maxNotesPerMedia {
					refused = append(refused, note)
				}
				continue
			}
			chosen = t
			in.notes = append(in.notes, note)
			break
		}
		if chosen == nil {
			in.notes = append(in.notes, refused...)
			continue
		}
		chosen.index = len(in.tracks)
		in.tracks = append(in.tracks, chosen)
		in.byFmt[chosen.forma] = chosen
		in.specs = append(in.specs, streams.TrackSpec{Kind: chosen.kind, Codec: chosen.codec})
	}
	if len(in.tracks) == 0 {
		var why []string
		for _, n := range in.notes {
			why = append(why, n.String())
		}
		return in, fmt.Errorf("%w: %s", ErrNoTracks, strings.Join(why, "; "))
	}
	return in, nil
}

// newIngestTrack builds the converter for one format, or returns nil and
// the reason it is refused.
func newIngestTrack(in *ingest, mi int, m *description.Media, f format.Format) (*ingestTrack, TrackNote) {
	kind, ok := formatKind(f)
	if !ok {
		return nil, TrackNote{Media: mi, Codec: codecOf(string(m.Type), f).String(), Status: "refused",
			Reason: "codec not supported (bridged: H.264, H.265, VP8, VP9, AV1, Opus, G.711, G.722, AAC, L16, L24)"}
	}
	// The kind is the codec's, whatever the m-line says: an "audio" m-line
	// carrying H.264 is video to every reader.
	c := codecOf(kind.String(), f)
	note := TrackNote{Media: mi, Codec: c.String(), Status: "bridged"}
	t := &ingestTrack{in: in, media: m, forma: f, kind: kind, codec: c, pt: f.PayloadType()}
	switch f := f.(type) {
	case *format.H264:
		t.h264 = &rtpconv.H264{}
		t.h264.SetParams(f.SPS, f.PPS)
		// Packetization mode 0 or 1 comes in; mode 1 goes out.
		t.codec.Fmtp = codec.H264Fmtp(f.SPS, f.PPS)
	case *format.H265:
		if f.MaxDONDiff > 0 {
			note.Status, note.Reason = "refused", "H.265 with DONL (sprop-max-don-diff) is not supported"
			return nil, note
		}
		t.h265 = &rtpconv.H265{}
		t.h265.SetParams(f.VPS, f.SPS, f.PPS)
		t.codec.Fmtp = codec.H265Fmtp(f.VPS, f.SPS, f.PPS)
	case *format.LPCM:
		t.lpcmFrame = f.ChannelCount * f.BitDepth / 8
	}
	if err := codec.WebRTCPlayable(c.MimeType, c.ClockRate, c.Channels); err != nil {
		why := strings.TrimPrefix(err.Error(), codec.ErrNotWebRTC.Error()+": ")
		var dst streams.Codec
		terr := streams.ErrNoConversions
		if in.target != nil {
			dst, terr = in.target(c)
		}
		if terr == nil {
			note.Status = "transcoded"
			note.Reason = fmt.Sprintf("WHEP viewers get it transcoded to %s while they watch (%s); RTSP readers get it as it is", dst, why)
		} else {
			note.Status = "rtsp-only"
			note.Reason = "kept for RTSP readers, left out for WHEP viewers: " + why + "; not transcoded: " + terr.Error()
		}
	} else if err := codec.BrowserDecodable(t.codec.MimeType, t.codec.Fmtp); err != nil {
		note.Reason = "served over WHEP, but " + err.Error()
	}
	t.emit = t.out
	return t, note
}

// formatKind reports the kind of the formats the bridge carries.
func formatKind(f format.Format) (streams.Kind, bool) {
	switch f.(type) {
	case *format.H264, *format.H265, *format.VP8, *format.VP9, *format.AV1:
		return streams.KindVideo, true
	case *format.Opus, *format.G711, *format.G722, *format.MPEG4Audio, *format.MPEG4AudioLATM, *format.LPCM:
		return streams.KindAudio, true
	}
	return 0, false
}

// codecOf describes a gortsplib format as a registry codec of the given
// top-level type ("video", "audio").
func codecOf(top string, f format.Format) streams.Codec {
	parts := strings.Split(f.RTPMap(), "/")
	name := parts[0]
	if name == "" {
		name = strings.ToUpper(f.Codec())
	}
	c := streams.Codec{MimeType: top + "/" + name, ClockRate: uint32(f.ClockRate())}
	if len(parts) >= 3 {
		if n, err := strconv.Atoi(parts[2]); err == nil && n > 0 {
			c.Channels = uint16(n)
		}
	}
	c.Fmtp = codec.FormatFmtp(f.FMTP())
	return c
}

// logNotes reports each track once, at publish time.
func (in *ingest) logNotes(log *slog.Logger) {
	for _, n := range in.notes {
		switch n.Status {
		case "bridged":
			if n.Reason != "" {
				log.Warn("track bridged, but browsers cannot play it", "track", n.Media, "codec", n.Codec, "reason", n.Reason)
				continue
			}
			log.Info("track bridged", "track", n.Media, "codec", n.Codec)
		case "transcoded":
			log.Info("track bridged, transcoded for WebRTC viewers", "track", n.Media, "codec", n.Codec, "detail", n.Reason)
		case "rtsp-only":
			log.Warn("track not sent to WebRTC viewers", "track", n.Media, "codec", n.Codec, "reason", n.Reason)
		default:
			log.Warn("track refused", "track", n.Media, "codec", n.Codec, "reason", n.Reason)
		}
	}
}

// handle converts one packet from the RTSP session. It is called from the
// session's reading goroutine only.
func (in *ingest) handle(f format.Format, pkt *rtp.Packet) {
	in.lastPacket.Store(time.Now().UnixNano())
	t := in.byFmt[f]
	if t == nil || in.pub == nil {
		return
	}
	t.ts = pkt.Timestamp
	switch {
	case t.h264 != nil:
		t.dropped(t.h264.Push(pkt, t.emit))
		t.checkReorder(t.h264.Stats.Reordered)
	case t.h265 != nil:
		t.dropped(t.h265.Push(pkt, t.emit))
		t.checkReorder(t.h265.Stats.Reordered)
	case t.lpcmFrame > 0:
		t.outLPCM(pkt)
	default:
		t.seq = pkt.SequenceNumber
		t.out(pkt.Payload, pkt.Marker)
	}
}

// lpcmChunk bounds an L16/L24 payload in the registry: cameras send up to
// a few KB per packet over TCP, more than a registry packet holds.
const lpcmChunk = 1200

// outLPCM writes an L16/L24 payload in pieces of whole sample frames
// (RFC 3551 §4.5.11: any number of frames per packet), each stamped with
// its first frame's time. The track numbers its packets itself.
func (t *ingestTrack) outLPCM(pkt *rtp.Packet) {
	payload := pkt.Payload
	step := max(lpcmChunk/t.lpcmFrame, 1) * t.lpcmFrame
	for len(payload) > 0 {
		n := min(step, len(payload))
		t.out(payload[:n], false)
		t.ts += uint32(n / t.lpcmFrame)
		payload = payload[n:]
	}
}

// dropped counts a packet a repacketizer refused (err != nil) on the
// track, where the API and the metrics read it.
func (t *ingestTrack) dropped(err error) {
	switch {
	case err == nil:
	case errors.Is(err, rtpconv.ErrUnsupportedPacket):
		t.in.pub.Drop(t.index, streams.DropUnsupported)
	default:
		t.in.pub.Drop(t.index, streams.DropMalformed)
	}
}

// checkReorder reports B-frames once: browsers decode in arrival order and
// show such streams with frames out of order (jerky motion).
func (t *ingestTrack) checkReorder(n uint64) {
	if n > 0 && !t.bframes.Load() {
		t.bframes.Store(true)
		t.in.log.Warn("video has B-frames (timestamps go backwards): browsers will show frames out of order; "+
			"configure the camera/encoder for a baseline or no-B-frame profile",
			"track", t.index, "codec", t.codec.String())
	}
}

// out writes one payload to the registry with the track's numbering.
func (t *ingestTrack) out(payload []byte, marker bool) {
	p := streams.NewPacket()
	if !p.SetPayload(payload) {
		// Only codecs forwarded as they came can be this large: H.264
		// and H.265 leave the repacketizers at most rtpconv.MaxPayload.
		p.Release()
		t.in.pub.Drop(t.index, streams.DropOversized)
		return
	}
	p.Header = rtp.Header{Version: 2, PayloadType: t.pt, SequenceNumber: t.seq, Timestamp: t.ts, Marker: marker}
	t.seq++
	t.in.pub.Write(t.index, p, time.Now())
}

// bframes reports whether any video track was seen with B-frames.
func (in *ingest) bframes() bool {
	for _, t := range in.tracks {
		if t.bframes.Load() {
			return true
		}
	}
	return false
}
