package whep

import "github.com/pion/rtcp"

// answerNACK resends the packets a viewer reports lost (RFC 4585 §6.2.1)
// from the stream track's retransmission history, which all viewers share,
// instead of a per-viewer copy of every packet sent (pion's NACK responder:
// ≈ 1.2 MB of video per viewer at its default size). Retransmissions reuse
// the original SSRC and sequence number, as pion's responder does; RTX
// (RFC 4588) is not negotiated.
func (s *session) answerNACK(track int, n *rtcp.TransportLayerNack) {
	for i := range n.Nacks {
		n.Nacks[i].Range(func(seq uint16) bool {
			s.sub.Retransmit(track, seq, s.sink)
			return true
		})
	}
}
