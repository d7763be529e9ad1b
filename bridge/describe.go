package bridge

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	psdp "github.com/pion/sdp/v3"

	"github.com/wishgate/wishgate/internal/codec"
	"github.com/wishgate/wishgate/streams"
)

// paramSets collects a video track's parameter sets for the SDP an RTSP
// reader gets (sprop-parameter-sets, RFC 6184 §8.1; sprop-vps/sps/pps,
// RFC 7798 §7.1): from the publisher's fmtp when it has them (cameras), else
// from the first keyframe in-band (WHIP publishers send them only in-band).
type paramSets struct {
	id codec.ID
	codec.ParamSets
}

func newParamSets(c streams.Codec) *paramSets {
	id := codec.Parse(c.MimeType)
	return &paramSets{id: id, ParamSets: codec.ParamSetsFromFmtp(id, c.Fmtp)}
}

// complete reports whether nothing more is needed.
func (p *paramSets) complete() bool { return p.Complete(p.id) }

// sniff learns parameter sets from one RTP payload until they are complete.
func (p *paramSets) sniff(payload []byte) {
	if !p.complete() {
		p.Sniff(p.id, payload)
	}
}

// fmtp is the track's fmtp with the known parameter sets.
func (p *paramSets) fmtp(c streams.Codec) string {
	switch {
	case p.id == codec.H264 && p.complete():
		return codec.H264Fmtp(p.SPS, p.PPS)
	case p.id == codec.H264 && codec.FmtpParam(c.Fmtp, "packetization-mode") == "":
		// RFC 6184: no packetization-mode means mode 0, but every source
		// in the registry may send FU-A.
		return strings.TrimPrefix(c.Fmtp+";packetization-mode=1", ";")
	case p.id == codec.H265 && len(p.SPS) > 0:
		return codec.H265Fmtp(p.VPS, p.SPS, p.PPS)
	case p.id == codec.Opus && codec.FmtpParam(c.Fmtp, "stereo") == "1" && codec.FmtpParam(c.Fmtp, "sprop-stereo") == "":
		// The WebRTC publisher's "stereo=1" is what it receives; what it
		// sends, which an RTSP reader needs, is sprop-stereo (RFC 7587 §6.1).
		return c.Fmtp + ";sprop-stereo=1"
	}
	return c.Fmtp
}

// payloadType picks the RTP payload type of track i in the RTSP
// description: the static one for 8 kHz mono G.711 (RFC 3551 table 4),
// dynamic otherwise.
func payloadType(i int, c streams.Codec) uint8 {
	if c.ClockRate == 8000 && c.Channels <= 1 {
		switch codec.Parse(c.MimeType) {
		case codec.PCMU:
			return 0
		case codec.PCMA:
			return 8
		}
	}
	return uint8(96 + i)
}

// mediaFor describes one registry track as an RTSP media, through the same
// SDP parser gortsplib uses for cameras, so any codec the registry carries
// is described the way RTSP clients expect.
func mediaFor(i int, t *streams.Track, fmtp string) (*description.Media, error) {
	pt := strconv.Itoa(int(payloadType(i, t.Codec)))
	rtpmap := fmt.Sprintf("%s/%d", t.Codec.Name(), t.Codec.ClockRate)
	if t.Codec.Channels > 0 {
		rtpmap += "/" + strconv.Itoa(int(t.Codec.Channels))
	}
	md := &psdp.MediaDescription{
		MediaName: psdp.MediaName{Media: t.Kind.String(), Protos: []string{"RTP", "AVP"}, Formats: []string{pt}},
		Attributes: []psdp.Attribute{
			{Key: "rtpmap", Value: pt + " " + rtpmap},
		},
	}
	if fmtp != "" {
		md.Attributes = append(md.Attributes, psdp.Attribute{Key: "fmtp", Value: pt + " " + fmtp})
	}
	f, err := format.Unmarshal(md, pt)
	if err != nil {
		return nil, fmt.Errorf("track %d (%s): %w", i, t.Codec, err)
	}
	typ := description.MediaTypeVideo
	if t.Kind == streams.KindAudio {
		typ = description.MediaTypeAudio
	}
	return &description.Media{Type: typ, Control: "trackID=" + strconv.Itoa(i), Formats: []format.Format{f}}, nil
}
