package bridge

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	psdp "github.com/pion/sdp/v3"

	"github.com/wishgate/wishgate/internal/rtpconv"
	"github.com/wishgate/wishgate/streams"
)

// paramSets collects a video track's parameter sets for the SDP an RTSP
// reader gets (sprop-parameter-sets, RFC 6184 §8.1; sprop-vps/sps/pps,
// RFC 7798 §7.1): from the publisher's fmtp when it has them (cameras), else
// from the first keyframe in-band (WHIP publishers send them only in-band).
type paramSets struct {
	h264, h265    bool
	vps, sps, pps []byte
}

func newParamSets(c streams.Codec) *paramSets {
	p := &paramSets{}
	switch strings.ToUpper(c.Name()) {
	case "H264":
		p.h264 = true
		if v := fmtpValue(c.Fmtp, "sprop-parameter-sets"); v != "" {
			parts := strings.Split(v, ",")
			if len(parts) >= 2 {
				p.sps, _ = base64.StdEncoding.DecodeString(parts[0])
				p.pps, _ = base64.StdEncoding.DecodeString(parts[1])
			}
		}
	case "H265":
		p.h265 = true
		for key, dst := range map[string]*[]byte{"sprop-vps": &p.vps, "sprop-sps": &p.sps, "sprop-pps": &p.pps} {
			if v := fmtpValue(c.Fmtp, key); v != "" {
				*dst, _ = base64.StdEncoding.DecodeString(v)
			}
		}
	}
	return p
}

// complete reports whether nothing more is needed.
func (p *paramSets) complete() bool {
	switch {
	case p.h264:
		return len(p.sps) > 0 && len(p.pps) > 0
	case p.h265:
		return len(p.vps) > 0 && len(p.sps) > 0 && len(p.pps) > 0
	}
	return true
}

// sniff learns parameter sets from one RTP payload: single NAL units and
// aggregation packets (STAP-A, RFC 6184 §5.7.1; AP, RFC 7798 §4.4.2), which
// is how encoders send them.
func (p *paramSets) sniff(payload []byte) {
	if len(payload) < 2 || p.complete() {
		return
	}
	switch {
	case p.h264:
		switch payload[0] & 0x1F {
		case 24:
			p.walk(payload[1:])
		default:
			p.nal(payload)
		}
	case p.h265:
		if (payload[0]>>1)&0x3F == 48 {
			p.walk(payload[2:])
		} else {
			p.nal(payload)
		}
	}
}

func (p *paramSets) walk(b []byte) {
	for len(b) >= 2 {
		n := int(b[0])<<8 | int(b[1])
		if n == 0 || n > len(b)-2 {
			return
		}
		p.nal(b[2 : 2+n])
		b = b[2+n:]
	}
}

func (p *paramSets) nal(n []byte) {
	if len(n) == 0 {
		return
	}
	cp := func() []byte { return append([]byte(nil), n...) }
	if p.h264 {
		switch n[0] & 0x1F {
		case 7:
			p.sps = cp()
		case 8:
			p.pps = cp()
		}
		return
	}
	switch (n[0] >> 1) & 0x3F {
	case 32:
		p.vps = cp()
	case 33:
		p.sps = cp()
	case 34:
		p.pps = cp()
	}
}

// fmtp is the track's fmtp with the known parameter sets.
func (p *paramSets) fmtp(c streams.Codec) string {
	switch {
	case p.h264 && len(p.sps) > 0 && len(p.pps) > 0:
		return rtpconv.H264Fmtp(p.sps, p.pps)
	case p.h264 && !strings.Contains(c.Fmtp, "packetization-mode"):
		// RFC 6184: no packetization-mode means mode 0, but every source
		// in the registry may send FU-A.
		return strings.TrimPrefix(c.Fmtp+";packetization-mode=1", ";")
	case p.h265 && len(p.sps) > 0:
		return rtpconv.H265Fmtp(p.vps, p.sps, p.pps)
	case strings.EqualFold(c.Name(), "opus") && fmtpValue(c.Fmtp, "stereo") == "1" && fmtpValue(c.Fmtp, "sprop-stereo") == "":
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
		switch strings.ToUpper(c.Name()) {
		case "PCMU":
			return 0
		case "PCMA":
			return 8
		}
	}
	return uint8(96 + i)
}

// mediaFor describes one registry track as an RTSP media, through the same
// SDP parser gortsplib uses for cameras, so any codec the registry carries
// is described the way RTSP clients expect.
func mediaFor(i int, t *streams.Track, fmtp string) (*description.Media, error) {
	pt := payloadType(i, t.Codec)
	pts := strconv.Itoa(int(pt))
	rtpmap := fmt.Sprintf("%s/%d", t.Codec.Name(), t.Codec.ClockRate)
	if t.Codec.Channels > 0 {
		rtpmap += "/" + strconv.Itoa(int(t.Codec.Channels))
	}
	md := &psdp.MediaDescription{
		MediaName: psdp.MediaName{Media: t.Kind.String(), Protos: []string{"RTP", "AVP"}, Formats: []string{pts}},
		Attributes: []psdp.Attribute{
			{Key: "rtpmap", Value: pts + " " + rtpmap},
		},
	}
	if fmtp != "" {
		md.Attributes = append(md.Attributes, psdp.Attribute{Key: "fmtp", Value: pts + " " + fmtp})
	}
	f, err := format.Unmarshal(md, pts)
	if err != nil {
		return nil, fmt.Errorf("track %d (%s): %w", i, t.Codec, err)
	}
	typ := description.MediaTypeVideo
	if t.Kind == streams.KindAudio {
		typ = description.MediaTypeAudio
	}
	return &description.Media{Type: typ, Control: "trackID=" + strconv.Itoa(i), Formats: []format.Format{f}}, nil
}

func fmtpValue(fmtp, key string) string {
	for kv := range strings.SplitSeq(fmtp, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}
