package streams

import (
	"fmt"
	"strings"

	"github.com/wishgate/wishgate/internal/codec"
)

// Kind is the media kind of a track.
type Kind uint8

const (
	KindVideo Kind = iota
	KindAudio
)

func (k Kind) String() string {
	if k == KindAudio {
		return "audio"
	}
	return "video"
}

// Codec describes the RTP format of a track, as negotiated with its publisher.
type Codec struct {
	MimeType  string // e.g. "video/H264", "audio/opus"
	ClockRate uint32
	Channels  uint16 // audio only; 0 means unspecified (mono)
	Fmtp      string // the publisher's fmtp line, e.g. "profile-level-id=42e01f;packetization-mode=1"
}

// Name is the encoding name without the kind prefix ("H264", "opus").
func (c Codec) Name() string {
	if i := strings.IndexByte(c.MimeType, '/'); i >= 0 {
		return c.MimeType[i+1:]
	}
	return c.MimeType
}

func (c Codec) String() string {
	s := fmt.Sprintf("%s/%d", c.Name(), c.ClockRate)
	if c.Channels > 1 {
		s += fmt.Sprintf("/%d", c.Channels)
	}
	return s
}

// Compatible reports whether a subscriber negotiated for c can keep receiving
// a stream whose codec is now o: same encoding, clock rate and channel count.
// fmtp differences (an H.264 profile change, say) are tolerated, as decoders
// handle them in-band.
//
// AAC is the exception: its decoder configuration travels only in the SDP
// (fmtp config=, RFC 3640 §4.1, RFC 6416 §7.1), so another config is
// another codec for every reader, RTSP readers and transcoders alike.
func (c Codec) Compatible(o Codec) bool {
	if !strings.EqualFold(c.MimeType, o.MimeType) || c.ClockRate != o.ClockRate || c.Channels != o.Channels {
		return false
	}
	switch codec.Parse(c.MimeType) {
	case codec.MPEG4Audio, codec.MPEG4AudioLATM:
		return strings.EqualFold(codec.FmtpParam(c.Fmtp, "config"), codec.FmtpParam(o.Fmtp, "config"))
	}
	return true
}

// TrackSpec is what a publisher declares for one track.
type TrackSpec struct {
	Kind  Kind
	Codec Codec
	// Layers names the simulcast encodings of a video track (their rids,
	// in the publisher's order, at most MaxLayers); empty for a plain
	// track (layers.go).
	Layers []string
}
