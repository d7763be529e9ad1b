package codec

// Units walks the units of an aggregation packet in which every NAL unit is
// preceded by a 16-bit network-order size: H.264 STAP-A (RFC 6184 §5.7.1)
// and H.265 AP (RFC 7798 §4.4.2). For H.265 it assumes no DONL/DOND fields,
// which is the case whenever sprop-max-don-diff is 0 or absent (always, in
// WebRTC; RTSP sources that use it are refused).
//
//	for u, ok := units.Next(); ok; u, ok = units.Next() { ... }
//	if units.Malformed() { ... }
type Units struct {
	rest []byte
	bad  bool
}

// AggregatedUnits walks b, an aggregation packet with its own payload header
// (1 byte for STAP-A, 2 for AP) already sliced off.
func AggregatedUnits(b []byte) Units { return Units{rest: b} }

// Next returns the next unit, or ok=false at the end of the packet or at the
// first inconsistent size (zero, or running past the end). Nothing after an
// inconsistency can be located reliably, so the walk stops there instead of
// guessing. A returned unit is never empty.
func (u *Units) Next() (unit []byte, ok bool) {
	if len(u.rest) == 0 {
		return nil, false
	}
	if len(u.rest) < 2 {
		u.rest, u.bad = nil, true
		return nil, false
	}
	n := int(u.rest[0])<<8 | int(u.rest[1])
	if n == 0 || n > len(u.rest)-2 {
		u.rest, u.bad = nil, true
		return nil, false
	}
	unit, u.rest = u.rest[2:2+n], u.rest[2+n:]
	return unit, true
}

// Malformed reports whether the walk stopped at an inconsistent size rather
// than at the end of the packet.
func (u *Units) Malformed() bool { return u.bad }
