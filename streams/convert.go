package streams

import (
	"time"

	"github.com/pion/rtp"
)

// A Converter turns one track's packets into another codec, for readers
// that cannot take the original (a camera's AAC audio for WebRTC viewers,
// who get Opus). It is used by one goroutine at a time.
type Converter interface {
	// Convert takes the next source packet and writes whatever output is
	// complete through emit, whose payload is valid only during the call.
	Convert(h *rtp.Header, payload []byte, emit func(ts uint32, payload []byte))
	// RTPTime maps a source timestamp onto the output's timeline (so that
	// the output's sender reports say the same wall clock as the source's:
	// lip sync). It is safe to call concurrently with Convert.
	RTPTime(src uint32) (uint32, bool)
	// CPU is the processor time the conversion has used; safe to call
	// concurrently with Convert.
	CPU() time.Duration
	// Close releases the converter.
	Close()
}

// Conversions says which codecs a registry converts, and starts
// conversions. A track whose codec has a target gets a derived track in
// that codec, which readers may subscribe to instead of the original; the
// conversion runs while the derived track has at least one reader.
type Conversions interface {
	// Target is the codec readers get for src, or an error saying why
	// src is not converted (not a convertible codec, or the build has no
	// converter for it).
	Target(src Codec) (Codec, error)
	// New starts converting src for the stream name.
	New(stream string, src Codec) (Converter, error)
}
