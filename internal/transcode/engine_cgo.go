//go:build cgo && transcode

package transcode

/*
#cgo pkg-config: libavcodec libavutil libswresample opus
#include "pipeline.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"time"
	"unsafe"
)

// Available reports whether this build transcodes: it does.
func Available() error { return nil }

// Versions names the native libraries this build runs with and the
// licence each reports (Debian builds FFmpeg with --enable-gpl), for the
// start-up log.
func Versions() string {
	return fmt.Sprintf("libavcodec %s (%s), libswresample %s (%s), %s (BSD-3-Clause)",
		version(uint32(C.avcodec_version())), C.GoString(C.avcodec_license()),
		version(uint32(C.swresample_version())), C.GoString(C.swresample_license()),
		C.GoString(C.opus_get_version_string()))
}

func version(v uint32) string { return fmt.Sprintf("%d.%d.%d", v>>16, v>>8&0xff, v&0xff) }

type cgoEngine struct {
	p *C.wg_pipe
	r C.wg_result
}

func newEngine(c engineConfig) (engine, error) {
	var errBuf [256]C.char
	kind := C.int(1)
	var asc *C.uint8_t
	if c.aac {
		kind = 0
		if len(c.asc) == 0 {
			return nil, errors.New("no AudioSpecificConfig")
		}
		asc = (*C.uint8_t)(unsafe.Pointer(&c.asc[0]))
	}
	p := C.wg_pipe_new(kind, asc, C.int(len(c.asc)), C.int(c.rate), C.int(c.channels),
		C.int(c.outChannels), C.int(c.bitrate), C.int(c.complexity), &errBuf[0], C.int(len(errBuf)))
	if p == nil {
		return nil, errors.New(C.GoString(&errBuf[0]))
	}
	return &cgoEngine{p: p}, nil
}

func (e *cgoEngine) result(out *output) {
	out.n = int(e.r.packets)
	out.dropped += int(e.r.dropped)
	out.decodeErrors += int(e.r.decode_errors)
	out.cpu += time.Duration(e.r.cpu_ns)
}

func outArgs(out *output) (*C.uint8_t, C.int, *C.int, C.int) {
	return (*C.uint8_t)(unsafe.Pointer(&out.buf[0])), C.int(len(out.buf)),
		(*C.int)(unsafe.Pointer(&out.sizes[0])), C.int(len(out.sizes))
}

func (e *cgoEngine) decode(data []byte, sizes []int32, out *output) {
	if len(sizes) == 0 || len(data) == 0 {
		return
	}
	buf, cap_, sz, max_ := outArgs(out)
	C.wg_push_aac(e.p, (*C.uint8_t)(unsafe.Pointer(&data[0])), (*C.int)(unsafe.Pointer(&sizes[0])), C.int(len(sizes)),
		buf, cap_, sz, max_, &e.r)
	e.result(out)
}

func (e *cgoEngine) pcm(samples []int16, frames int, out *output) {
	if frames == 0 {
		return
	}
	buf, cap_, sz, max_ := outArgs(out)
	C.wg_push_pcm(e.p, (*C.int16_t)(unsafe.Pointer(&samples[0])), C.int(frames), buf, cap_, sz, max_, &e.r)
	e.result(out)
}

func (e *cgoEngine) silence(n int, out *output) {
	if n <= 0 {
		return
	}
	buf, cap_, sz, max_ := outArgs(out)
	C.wg_push_silence(e.p, C.int(n), buf, cap_, sz, max_, &e.r)
	e.result(out)
}

func (e *cgoEngine) reset()         { C.wg_reset(e.p) }
func (e *cgoEngine) lookahead() int { return int(e.p.lookahead) }

func (e *cgoEngine) close() {
	C.wg_pipe_free(e.p)
	e.p = nil
}
