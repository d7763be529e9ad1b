package transcode

import "time"

// engine is the native pipeline: decode (AAC) or take PCM, resample to
// 48 kHz, encode 20 ms Opus frames.
type engine interface {
	// decode takes AAC access units, back to back in data, sizes[i] each.
	decode(data []byte, sizes []int32, out *output)
	// pcm takes frames of interleaved 16-bit samples.
	pcm(samples []int16, frames int, out *output)
	// silence appends n samples (48 kHz) of silence.
	silence(n int, out *output)
	// reset drops the samples not yet encoded (a jump in the timeline).
	reset()
	// lookahead is the encoder's delay in 48 kHz samples: an output sample
	// carries the input sample that many samples earlier.
	lookahead() int
	close()
}

type engineConfig struct {
	aac         bool
	asc         []byte
	rate        int
	channels    int
	outChannels int
	bitrate     int
	complexity  int
}

// output is what one native call produced: Opus packets back to back in
// buf, sizes[:n] long each.
type output struct {
	buf          []byte
	sizes        []int32
	n            int
	dropped      int
	decodeErrors int
	cpu          time.Duration
}

func newOutput() output {
	return output{buf: make([]byte, maxPacketsPerCall*maxOpusPacket), sizes: make([]int32, maxPacketsPerCall)}
}
