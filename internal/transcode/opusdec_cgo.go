//go:build cgo && transcode

package transcode

/*
#cgo pkg-config: opus
#include <opus/opus.h>
static OpusDecoder *wg_opus_decoder_new(int channels, int *err) {
	return opus_decoder_create(48000, channels, err);
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// OpusDecoder decodes Opus packets to 48 kHz PCM: what a viewer does, for
// tests and diagnostics that check what the gateway sends.
type OpusDecoder struct {
	d        *C.OpusDecoder
	channels int
}

// NewOpusDecoder returns a decoder with channels output channels (1 or 2).
func NewOpusDecoder(channels int) (*OpusDecoder, error) {
	var e C.int
	d := C.wg_opus_decoder_new(C.int(channels), &e)
	if e != C.OPUS_OK || d == nil {
		return nil, errors.New("opus decoder: " + C.GoString(C.opus_strerror(e)))
	}
	return &OpusDecoder{d: d, channels: channels}, nil
}

// Decode decodes one packet into pcm (interleaved) and returns the samples
// per channel it holds. pcm must have room for 120 ms (5760 per channel).
func (o *OpusDecoder) Decode(packet []byte, pcm []int16) (int, error) {
	if len(packet) == 0 || len(pcm) < 5760*o.channels {
		return 0, errors.New("opus decode: empty packet or short buffer")
	}
	n := C.opus_decode(o.d, (*C.uchar)(unsafe.Pointer(&packet[0])), C.opus_int32(len(packet)),
		(*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)/o.channels), 0)
	if n < 0 {
		return 0, errors.New("opus decode: " + C.GoString(C.opus_strerror(n)))
	}
	return int(n), nil
}

// Close frees the decoder.
func (o *OpusDecoder) Close() {
	if o.d != nil {
		C.opus_decoder_destroy(o.d)
		o.d = nil
	}
}
