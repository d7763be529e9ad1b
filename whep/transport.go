package whep

import "github.com/pion/webrtc/v4"

// markUDP records whether the selected ICE candidate pair is UDP, which
// decides direct delivery (sink.NonBlocking). Decided once, when the viewer
// connects; an ICE restart that moves a viewer to TCP later is not seen.
func (s *session) markUDP() {
	pair, err := s.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil || pair.Local.Protocol != webrtc.ICEProtocolUDP {
		return
	}
	for _, t := range s.sink {
		if t != nil {
			t.udp.Store(true)
		}
	}
}
