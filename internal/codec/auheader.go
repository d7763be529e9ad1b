package codec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrAUHeader reports an RFC 3640 payload whose AU-header section does not
// fit the payload or the stream's declared layout.
var ErrAUHeader = errors.New("malformed mpeg4-generic payload")

// AULayout is how an mpeg4-generic stream's payloads are laid out: the
// fmtp parameters of RFC 3640 §4.1 that size the AU-header fields.
type AULayout struct {
	SizeLength, IndexLength, IndexDeltaLength int
	CTSDeltaLength, DTSDeltaLength            int
	RandomAccess                              bool
	StreamStateLength                         int
	AuxSizeLength                             int
	// ConstantSize is the size of every AU when the headers carry none.
	ConstantSize int
}

// maxFieldBits bounds each fmtp length parameter: the fields are read as
// 32-bit values, and no mode of RFC 3640 needs more than 16.
const maxFieldBits = 32

// ParseAULayout reads the AU-header layout from an mpeg4-generic fmtp line.
// The AAC modes (AAC-hbr, AAC-lbr) fix their own lengths (RFC 3640 §3.3.5,
// §3.3.6) when the fmtp leaves them out.
func ParseAULayout(fmtp string) (AULayout, error) {
	var l AULayout
	mode := strings.ToLower(FmtpParam(fmtp, "mode"))
	switch mode {
	case "aac-hbr":
		l.SizeLength, l.IndexLength, l.IndexDeltaLength = 13, 3, 3
	case "aac-lbr":
		l.SizeLength, l.IndexLength, l.IndexDeltaLength = 6, 2, 2
	case "generic", "":
	default:
		return AULayout{}, fmt.Errorf("%w: mode=%s is not an AAC mode", ErrAACConfig, mode)
	}
	for _, p := range []struct {
		key string
		dst *int
	}{
		{"sizelength", &l.SizeLength}, {"indexlength", &l.IndexLength}, {"indexdeltalength", &l.IndexDeltaLength},
		{"ctsdeltalength", &l.CTSDeltaLength}, {"dtsdeltalength", &l.DTSDeltaLength},
		{"streamstateindication", &l.StreamStateLength}, {"auxiliarydatasizelength", &l.AuxSizeLength},
		{"constantsize", &l.ConstantSize},
	} {
		v := FmtpParam(fmtp, p.key)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		limit := maxFieldBits
		if p.key == "constantsize" {
			limit = 1 << 16
		}
		if err != nil || n < 0 || n > limit {
			return AULayout{}, fmt.Errorf("%w: %s=%s", ErrAACConfig, p.key, v)
		}
		*p.dst = n
	}
	l.RandomAccess = FmtpParam(fmtp, "randomaccessindication") == "1"
	return l, nil
}

// hasHeaders reports whether payloads start with an AU-header section.
func (l *AULayout) hasHeaders() bool {
	return l.SizeLength > 0 || l.IndexLength > 0 || l.IndexDeltaLength > 0 || l.CTSDeltaLength > 0 ||
		l.DTSDeltaLength > 0 || l.RandomAccess || l.StreamStateLength > 0
}

// AU is one access unit of a payload, or a fragment of one.
type AU struct {
	// Data is the AU's bytes in the payload.
	Data []byte
	// Size is the AU's declared size: larger than len(Data) when the AU is
	// fragmented and this payload carries its first part or a later one.
	Size int
	// Interleaved: the AU index says it is not the next AU in order.
	Interleaved bool
}

// SplitAUs splits one RTP payload into its access units, appending them to
// dst (whose capacity bounds how many are accepted: pass a reused slice so
// the steady state does not allocate). The AUs alias payload.
func (l *AULayout) SplitAUs(payload []byte, dst []AU) ([]AU, error) {
	dst = dst[:0]
	data := payload
	var sizes [64]int
	var flags [64]bool
	n := 0
	if l.hasHeaders() {
		if len(payload) < 2 {
			return dst, fmt.Errorf("%w: %d bytes, no AU-headers-length", ErrAUHeader, len(payload))
		}
		bitsLen := int(payload[0])<<8 | int(payload[1])
		headerBytes := (bitsLen + 7) / 8
		if 2+headerBytes > len(payload) {
			return dst, fmt.Errorf("%w: AU-headers-length %d bits in a %d-byte payload", ErrAUHeader, bitsLen, len(payload))
		}
		r := &bitReader{b: payload[2 : 2+headerBytes]}
		for r.pos < bitsLen {
			if n == len(sizes) || n == cap(dst) {
				return dst, fmt.Errorf("%w: more than %d AUs in one payload", ErrAUHeader, min(len(sizes), cap(dst)))
			}
			start := r.pos
			size := int(r.u(l.SizeLength))
			idxLen := l.IndexDeltaLength
			if n == 0 {
				idxLen = l.IndexLength
			}
			idx := r.u(idxLen)
			if l.CTSDeltaLength > 0 && r.flag() {
				r.skip(l.CTSDeltaLength)
			}
			if l.DTSDeltaLength > 0 && r.flag() {
				r.skip(l.DTSDeltaLength)
			}
			if l.RandomAccess {
				r.skip(1)
			}
			r.skip(l.StreamStateLength)
			if r.err != nil || r.pos > bitsLen || r.pos == start {
				return dst, fmt.Errorf("%w: AU-header %d overruns AU-headers-length %d", ErrAUHeader, n, bitsLen)
			}
			if l.SizeLength == 0 {
				size = l.ConstantSize
			}
			sizes[n], flags[n] = size, idx != 0
			n++
		}
		data = payload[2+headerBytes:]
	}
	if l.AuxSizeLength > 0 {
		r := &bitReader{b: data}
		auxBits := int(r.u(l.AuxSizeLength))
		total := (l.AuxSizeLength + auxBits + 7) / 8
		if r.err != nil || total > len(data) {
			return dst, fmt.Errorf("%w: auxiliary section overruns the payload", ErrAUHeader)
		}
		data = data[total:]
	}
	if n == 0 {
		// No headers: one AU, or AUs of constantSize each.
		if l.ConstantSize == 0 || len(data) <= l.ConstantSize {
			if len(data) == 0 {
				return dst, fmt.Errorf("%w: empty payload", ErrAUHeader)
			}
			size := max(l.ConstantSize, len(data))
			return append(dst, AU{Data: data, Size: size}), nil
		}
		for len(data) > 0 {
			if len(dst) == cap(dst) {
				return dst, fmt.Errorf("%w: more than %d AUs in one payload", ErrAUHeader, cap(dst))
			}
			k := min(l.ConstantSize, len(data))
			dst = append(dst, AU{Data: data[:k], Size: l.ConstantSize})
			data = data[k:]
		}
		return dst, nil
	}
	for i := range n {
		size := sizes[i]
		if size == 0 {
			return dst, fmt.Errorf("%w: AU %d has size 0", ErrAUHeader, i)
		}
		if size > len(data) {
			// Only a payload holding a single AU may carry part of it
			// (a fragment, RFC 3640 §3.2.3).
			if n != 1 || len(data) == 0 {
				return dst, fmt.Errorf("%w: AU %d of %d bytes, %d left", ErrAUHeader, i, size, len(data))
			}
			return append(dst, AU{Data: data, Size: size, Interleaved: flags[i]}), nil
		}
		dst = append(dst, AU{Data: data[:size], Size: size, Interleaved: flags[i]})
		data = data[size:]
	}
	return dst, nil
}
