package transcode

import "github.com/pion/rtp"

// pushPCM decodes G.711, L16 or L24 (RFC 3551 §4.5.10-11: big-endian,
// channels interleaved) into the PCM batch, which goes to the native side
// once it holds 20 ms: one call per Opus frame, whatever the packet size.
func (t *Transcoder) pushPCM(h *rtp.Header, payload []byte, emit func(uint32, []byte)) {
	ch := t.src.channels
	width := 1
	switch t.src.in {
	case inL16:
		width = 2
	case inL24:
		width = 3
	}
	frames := len(payload) / (width * ch)
	if frames == 0 || len(payload)%(width*ch) != 0 {
		t.Stats.Malformed.Add(1)
		return
	}
	t.align(h.Timestamp, emit)
	for len(payload) > 0 {
		room := len(t.pcm)/ch - t.nPCM
		n := min(frames, room)
		dst := t.pcm[t.nPCM*ch : (t.nPCM+n)*ch]
		src := payload[:n*ch*width]
		switch t.src.in {
		case inPCMU:
			for i, b := range src {
				dst[i] = t.ulaw[b]
			}
		case inPCMA:
			for i, b := range src {
				dst[i] = t.alaw[b]
			}
		case inL16:
			for i := range dst {
				dst[i] = int16(uint16(src[2*i])<<8 | uint16(src[2*i+1]))
			}
		case inL24:
			for i := range dst {
				dst[i] = int16(uint16(src[3*i])<<8 | uint16(src[3*i+1])) // the top 16 of 24 bits
			}
		}
		t.nPCM += n
		t.advance(int64(n))
		payload = payload[n*ch*width:]
		frames -= n
		if t.nPCM*opusRate >= opusFrame*t.src.rate || t.nPCM == len(t.pcm)/ch {
			t.flushPCM(emit)
		}
	}
}

// flushPCM hands the buffered PCM to the native side.
func (t *Transcoder) flushPCM(emit func(uint32, []byte)) {
	if t.nPCM == 0 {
		return
	}
	t.eng.pcm(t.pcm[:t.nPCM*t.src.channels], t.nPCM, &t.out)
	t.nPCM = 0
	t.drain(emit)
}
