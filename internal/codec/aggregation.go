package codec

// aggUnits walks the units of an aggregation packet in which every NAL unit
// is preceded by a 16-bit network-order size: H.264 STAP-A (RFC 6184 §5.7.1)
// and H.265 AP (RFC 7798 §4.4.2). For H.265 it assumes no DONL/DOND fields,
// which is the case whenever sprop-max-don-diff is 0 or absent (always, in
// WebRTC). The caller slices off the packet's own payload header first.
type aggUnits struct {
	rest []byte
}

// next returns the next unit, or ok=false at the end of the packet or at the
// first inconsistent size (zero, or running past the end). Nothing after an
// inconsistency can be located reliably, so the walk stops there instead of
// guessing.
func (a *aggUnits) next() (unit []byte, ok bool) {
	if len(a.rest) < 2 {
		return nil, false
	}
	n := int(a.rest[0])<<8 | int(a.rest[1])
	if n == 0 || n > len(a.rest)-2 {
		a.rest = nil
		return nil, false
	}
	unit, a.rest = a.rest[2:2+n], a.rest[2+n:]
	return unit, true
}
