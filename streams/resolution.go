package streams

import (
	"sync/atomic"

	"github.com/wishgate/wishgate/internal/codec"
)

// videoSize is the picture size a video track's publisher last declared,
// packed into one atomic (width<<32 | height) so a reader never sees the
// width of one size with the height of another.
type videoSize struct{ wh atomic.Uint64 }

// observe looks for a size in a keyframe packet: the parameter sets and key
// frame headers that carry it travel with keyframes, so the parse runs about
// once per GOP, never per packet.
func (v *videoSize) observe(id codec.ID, payload []byte) {
	if w, h, ok := id.Resolution(payload); ok {
		if packed := uint64(w)<<32 | uint64(h); v.wh.Load() != packed {
			v.wh.Store(packed)
		}
	}
}

// get returns the last declared size, 0x0 if none yet.
func (v *videoSize) get() (width, height int) {
	packed := v.wh.Load()
	return int(packed >> 32), int(packed & 0xffffffff)
}
