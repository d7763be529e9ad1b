package codec

import (
	"errors"
	"fmt"
)

// ErrLATM reports an MP4A-LATM payload (RFC 6416) that does not parse with
// the stream's configuration.
var ErrLATM = errors.New("malformed MP4A-LATM payload")

// maxLATMPayload bounds one LATM payload (one AAC access unit): 6144 bits
// per channel for 8 channels (ISO/IEC 14496-3 §4.5.3.1), rounded up.
const maxLATMPayload = 8192

// LATMConfig is a StreamMuxConfig (ISO/IEC 14496-3 §1.7.3.1) of the one
// program, one layer kind RTP senders use (RFC 6416 §6.1).
type LATMConfig struct {
	AAC AACConfig
	// ASC is the layer's AudioSpecificConfig, byte aligned, for a decoder.
	ASC []byte

	version       int
	numSubFrames  int // subframes per AudioMuxElement, minus one
	otherDataBits int
}

// ParseStreamMuxConfig reads the StreamMuxConfig of an MP4A-LATM fmtp
// config= value (cpresent=0, RFC 6416 §7.1).
func ParseStreamMuxConfig(b []byte) (LATMConfig, error) {
	if len(b) == 0 || len(b) > maxASCBytes {
		return LATMConfig{}, fmt.Errorf("%w: StreamMuxConfig of %d bytes", ErrAACConfig, len(b))
	}
	var c LATMConfig
	if err := c.read(&bitReader{b: b}); err != nil {
		return LATMConfig{}, err
	}
	return c, nil
}

func latmValue(r *bitReader) int {
	n := int(r.u(2)) + 1
	v := 0
	for range n {
		v = v<<8 | int(r.u(8))
	}
	return v
}

func (c *LATMConfig) read(r *bitReader) error {
	c.version = int(r.u(1))
	if c.version == 1 {
		if r.flag() { // audioMuxVersionA: reserved for future use
			return fmt.Errorf("%w: LATM audioMuxVersionA 1 is not defined", ErrAACConfig)
		}
		latmValue(r) // taraBufferFullness
	}
	if !r.flag() {
		return fmt.Errorf("%w: LATM streams without allStreamsSameTimeFraming are not supported", ErrAACConfig)
	}
	c.numSubFrames = int(r.u(6))
	if r.u(4) != 0 || r.u(3) != 0 {
		return fmt.Errorf("%w: LATM with several programs or layers is not supported", ErrAACConfig)
	}
	start := r.pos
	var ascBits int
	if c.version == 1 {
		ascBits = latmValue(r)
		start = r.pos
		if ascBits <= 0 || ascBits > r.left() {
			return fmt.Errorf("%w: LATM AudioSpecificConfig length %d bits", ErrAACConfig, ascBits)
		}
		sub := bitReader{b: r.b, pos: r.pos}
		aac, err := readASC(&sub)
		if err != nil {
			return err
		}
		c.AAC = aac
		r.skip(ascBits)
	} else {
		aac, err := readASC(r)
		if err != nil {
			return err
		}
		if aac.ObjectType == AACELD {
			return fmt.Errorf("%w: AAC-ELD in a version 0 StreamMuxConfig (no configuration length)", ErrAACConfig)
		}
		c.AAC = aac
		ascBits = r.pos - start
	}
	c.ASC = make([]byte, (ascBits+7)/8)
	(&bitReader{b: r.b, pos: start}).copyBits(c.ASC, ascBits)
	if frameLengthType := r.u(3); frameLengthType != 0 {
		return fmt.Errorf("%w: LATM frameLengthType %d is not supported (0 is)", ErrAACConfig, frameLengthType)
	}
	r.skip(8) // latmBufferFullness
	c.otherDataBits = 0
	if r.flag() { // otherDataPresent
		if c.version == 1 {
			c.otherDataBits = latmValue(r)
		} else {
			for more, n := true, 0; more && n < 4; n++ {
				more = r.flag()
				c.otherDataBits = c.otherDataBits<<8 | int(r.u(8))
			}
		}
	}
	if r.flag() { // crcCheckPresent
		r.skip(8)
	}
	if r.err != nil {
		return fmt.Errorf("%w: StreamMuxConfig truncated", ErrAACConfig)
	}
	return nil
}

// copyBits copies n bits from r's position into dst, left aligned, the
// last byte padded with zeros.
func (r *bitReader) copyBits(dst []byte, n int) {
	for i := 0; n > 0; i++ {
		k := min(8, n)
		dst[i] = byte(r.u(k) << (8 - k))
		n -= k
	}
}

// LATMSplitter splits the AudioMuxElements of an MP4A-LATM stream into AAC
// access units. With InBand (fmtp cpresent=1) each element may carry a new
// StreamMuxConfig; Config then reports the latest one.
type LATMSplitter struct {
	InBand bool

	cfg     LATMConfig
	haveCfg bool
	changed bool
	// scratch holds payloads that do not start on a byte boundary (in-band
	// configurations are not byte aligned); one element's worth.
	scratch [maxLATMPayload]byte
}

// SetConfig sets the out-of-band configuration (the fmtp's config=).
func (s *LATMSplitter) SetConfig(c LATMConfig) { s.cfg, s.haveCfg = c, true }

// Config returns the configuration in force, and whether it changed since
// the last call (an in-band StreamMuxConfig that differs).
func (s *LATMSplitter) Config() (LATMConfig, bool, bool) {
	ch := s.changed
	s.changed = false
	return s.cfg, s.haveCfg, ch
}

// Split appends the access units of the complete AudioMuxElements in elem
// to dst; its capacity bounds how many are accepted. The AUs alias elem or
// the splitter's scratch space, valid until the next call.
func (s *LATMSplitter) Split(elem []byte, dst [][]byte) ([][]byte, error) {
	dst = dst[:0]
	r := &bitReader{b: elem}
	used := 0
	for r.left() >= 8 {
		if s.InBand && !r.flag() { // useSameStreamMux == 0: a new config
			var c LATMConfig
			if err := c.read(r); err != nil {
				return dst, err
			}
			if !s.haveCfg || string(c.ASC) != string(s.cfg.ASC) {
				s.changed = true
			}
			s.cfg, s.haveCfg = c, true
		}
		if !s.haveCfg {
			return dst, fmt.Errorf("%w: no StreamMuxConfig yet", ErrLATM)
		}
		for range s.cfg.numSubFrames + 1 {
			n := 0
			for {
				b := int(r.u(8))
				n += b
				if b != 255 || r.err != nil {
					break
				}
			}
			if r.err != nil || n == 0 || n > maxLATMPayload || n*8 > r.left() {
				return dst, fmt.Errorf("%w: payload of %d bytes in an element of %d", ErrLATM, n, len(elem))
			}
			if len(dst) == cap(dst) {
				return dst, fmt.Errorf("%w: more than %d access units in one packet", ErrLATM, cap(dst))
			}
			if r.pos&7 == 0 {
				dst = append(dst, elem[r.pos>>3:r.pos>>3+n])
				r.pos += n * 8
				continue
			}
			if used+n > len(s.scratch) {
				return dst, fmt.Errorf("%w: unaligned payloads over %d bytes", ErrLATM, len(s.scratch))
			}
			buf := s.scratch[used : used+n]
			r.copyBytes(buf)
			used += n
			dst = append(dst, buf)
		}
		r.skip(s.cfg.otherDataBits)
		if r.err != nil {
			return dst, fmt.Errorf("%w: other data overruns the element", ErrLATM)
		}
		r.align()
	}
	return dst, nil
}
