// Package transcode converts the audio codecs cameras send and WebRTC
// peers cannot play — AAC (RFC 3640 mpeg4-generic and RFC 6416 MP4A-LATM,
// HE-AAC included), G.711 at other rates than 8 kHz mono, L16 and L24 — to
// Opus at 48 kHz, in-process, for the registry's derived tracks
// (streams.Conversions).
//
// The native work (FFmpeg's AAC decoder, libswresample, libopus) is cgo
// behind the transcode build tag (engine_cgo.go), which `make build`, `make
// test` and the Dockerfile set when the libraries' development packages are
// installed. A build without it (the default of `go build` and `go run`,
// CGO_ENABLED=0) needs Go alone and runs the same: Available reports why it
// cannot transcode, and the registry then offers no derived tracks.
//
// Depacketizing, G.711/L16 decoding and the output timeline are Go; the
// native side gets one call per batch of access units or per 20 ms of PCM,
// never one per sample, and the steady state allocates nothing.
package transcode

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/wishgate/wishgate/internal/codec"
	"github.com/wishgate/wishgate/streams"
)

// ErrUnavailable: this build has no transcoder.
var ErrUnavailable = errors.New("this build has no audio transcoder")

// ErrUnsupported: a codec this package does not convert.
var ErrUnsupported = errors.New("codec is not transcoded")

// HowToEnable says how to get a build that transcodes.
const HowToEnable = "install gcc, pkg-config and the FFmpeg/Opus development packages " +
	"(Debian: apt-get install gcc pkg-config libavcodec-dev libswresample-dev libopus-dev), then `make build` " +
	"(or go build -tags transcode ./cmd/gateway); or use the Docker image"

// Options tune the Opus encoder.
type Options struct {
	// Complexity is libopus's encoder complexity, 0-10.
	Complexity int
	// Bitrate in bit/s for mono and for stereo output.
	BitrateMono, BitrateStereo int
}

// DefaultOptions are chosen on BenchmarkTranscode's figures (see
// docs/performance.md): complexity 5 keeps a 48 kHz stereo AAC track well
// under 2 % of one core here, where 10 costs about twice as much for a
// difference inaudible at these bitrates.
func DefaultOptions() Options {
	return Options{Complexity: 5, BitrateMono: 32000, BitrateStereo: 64000}
}

// input is the kind of source a Transcoder depacketizes.
type input int

const (
	inAAC  input = iota + 1 // mpeg4-generic
	inLATM                  // MP4A-LATM
	inPCMU
	inPCMA
	inL16
	inL24
)

// source is what a codec says about the audio it carries.
type source struct {
	in        input
	name      string // for notes: "AAC", "G.711 µ-law", ...
	clockRate uint32 // RTP clock
	rate      int    // sample rate of the decoded audio
	channels  int    // 0: unknown until decoded (AAC program config)
	perUnit   int    // AAC: output samples per access unit
	asc       []byte // AAC: the AudioSpecificConfig for the decoder
	layout    codec.AULayout
	latm      codec.LATMConfig
	inBand    bool // LATM with cpresent=1
}

// outChannels: Opus mono for a mono source, stereo otherwise (more than
// two channels are downmixed).
func (s source) outChannels() int {
	if s.channels == 1 {
		return 1
	}
	return 2
}

// describe reads what src is; ErrUnsupported for codecs left alone
// (including those WebRTC plays as they are).
func describe(c streams.Codec) (source, error) {
	s := source{clockRate: c.ClockRate, rate: int(c.ClockRate), channels: max(int(c.Channels), 1)}
	if c.ClockRate == 0 || c.ClockRate > 192000 {
		return source{}, fmt.Errorf("%w: %s at clock rate %d", ErrUnsupported, c.Name(), c.ClockRate)
	}
	switch codec.Parse(c.MimeType) {
	case codec.MPEG4Audio:
		s.in, s.name = inAAC, "AAC"
		l, err := codec.ParseAULayout(c.Fmtp)
		if err != nil {
			return source{}, err
		}
		asc, err := codec.ParseFmtpConfig(c.Fmtp)
		if err != nil {
			return source{}, err
		}
		cfg, err := codec.ParseAudioSpecificConfig(asc)
		if err != nil {
			return source{}, err
		}
		s.layout, s.asc = l, asc
		s.setAAC(cfg, int(c.Channels))
	case codec.MPEG4AudioLATM:
		s.in, s.name = inLATM, "AAC"
		if codec.FmtpParam(c.Fmtp, "cpresent") == "1" || codec.FmtpParam(c.Fmtp, "config") == "" {
			// The configuration arrives in-band with the first element.
			s.inBand = true
			s.channels = int(c.Channels)
			s.perUnit = 1024
			break
		}
		smc, err := codec.ParseFmtpConfig(c.Fmtp)
		if err != nil {
			return source{}, err
		}
		lc, err := codec.ParseStreamMuxConfig(smc)
		if err != nil {
			return source{}, err
		}
		s.latm, s.asc = lc, lc.ASC
		s.setAAC(lc.AAC, int(c.Channels))
	case codec.PCMU, codec.PCMA:
		if c.ClockRate == 8000 && c.Channels <= 1 {
			return source{}, fmt.Errorf("%w: 8 kHz mono G.711 plays over WebRTC as it is", ErrUnsupported)
		}
		s.in, s.name = inPCMU, "G.711 µ-law"
		if codec.Parse(c.MimeType) == codec.PCMA {
			s.in, s.name = inPCMA, "G.711 A-law"
		}
	case codec.L16:
		s.in, s.name = inL16, "L16"
	case codec.L24:
		s.in, s.name = inL24, "L24"
	default:
		return source{}, fmt.Errorf("%w: %s", ErrUnsupported, c.Name())
	}
	if s.channels > 8 {
		return source{}, fmt.Errorf("%w: %d channels", ErrUnsupported, s.channels)
	}
	return s, nil
}

func (s *source) setAAC(cfg codec.AACConfig, sdpChannels int) {
	s.rate = cfg.OutputRate
	s.channels = cfg.Channels
	if s.channels == 0 {
		s.channels = sdpChannels // from a program config element: trust the SDP
	}
	s.perUnit = cfg.SamplesPerAU()
}

// Supported reports whether c is a codec this package converts, whatever
// the build.
func Supported(c streams.Codec) bool {
	_, err := describe(c)
	return err == nil
}

// opusCodec is the derived track's codec: what browsers offer, with
// stereo=1 so they decode both channels (RFC 7587 §7.1).
func opusCodec(channels int) streams.Codec {
	c := streams.Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, Fmtp: "minptime=10;useinbandfec=1"}
	if channels == 2 {
		c.Fmtp += ";sprop-stereo=1;stereo=1"
	}
	return c
}

// Factory is the registry's streams.Conversions.
type Factory struct {
	Options Options
	Logger  *slog.Logger
}

// Target implements streams.Conversions.
func (f *Factory) Target(c streams.Codec) (streams.Codec, error) {
	s, err := describe(c)
	if err != nil {
		return streams.Codec{}, err
	}
	if err := Available(); err != nil {
		return streams.Codec{}, err
	}
	return opusCodec(s.outChannels()), nil
}

// New implements streams.Conversions.
func (f *Factory) New(stream string, c streams.Codec) (streams.Converter, error) {
	log := f.Logger
	if log == nil {
		log = slog.Default()
	}
	t, err := New(c, f.Options)
	if err != nil {
		log.Warn("audio transcoding failed to start", "component", "transcode", "stream", stream, "codec", c.String(), "error", err)
		return nil, err
	}
	t.log, t.logged = log.With("component", "transcode", "stream", stream), true
	t.log.Info("audio transcoding started", "from", c.String(), "to", "opus/48000/"+fmt.Sprint(t.src.outChannels()))
	return t, nil
}
