package whep

import (
	"time"

	"github.com/pion/rtcp"
	"golang.org/x/time/rate"
)

// answerNACK resends the packets a viewer reports lost (RFC 4585 §6.2.1)
// from the stream track's retransmission history, which all viewers share,
// instead of a per-viewer copy of every packet sent (pion's NACK responder:
// ≈ 1.2 MB of video per viewer at its default size). Retransmissions reuse
// the original SSRC and sequence number, as pion's responder does; RTX
// (RFC 4588) is not negotiated.
//
// Each viewer has a budget of resendRate retransmissions a second (burst
// resendBurst); NACKed numbers beyond it are ignored. Without it one viewer
// could turn the gateway into an amplifier: a 1 KB NACK names a thousand
// packets and a viewer can send hundreds a second (TestNACKFloodIsBounded
// measured 25 times the stream's own rate going to such a viewer), eating
// the uplink and CPU every other viewer needs. Honest loss is far below the
// budget: 10 % of a 2.5 Mbit/s stream is about 26 packets a second.
func (s *session) answerNACK(track int, n *rtcp.TransportLayerNack) {
	now := time.Now()
	for i := range n.Nacks {
		ok := true
		n.Nacks[i].Range(func(seq uint16) bool {
			if ok = s.resend.AllowN(now, 1); !ok {
				return false
			}
			s.sub.Retransmit(track, seq, s.sink)
			return true
		})
		if !ok {
			return
		}
	}
}

// Per-viewer NACK retransmission budget, in packets.
const (
	resendRate  = 200 // per second
	resendBurst = 400
)

func newResendBudget() *rate.Limiter { return rate.NewLimiter(resendRate, resendBurst) }
