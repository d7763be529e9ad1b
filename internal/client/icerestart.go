package client

import (
	"context"
	"fmt"

	"github.com/pion/webrtc/v4"
)

// RestartICE performs a WHIP/WHEP ICE restart (RFC 9725 §4.3.2): it creates
// an ICE-restart offer, PATCHes its new credentials and candidates as an
// sdpfrag with If-Match: *, expects 200 with the gateway's new credentials
// and candidates plus a new ETag, and applies them as the answer.
//
// pion restarts the local ICE agent as soon as the restart offer is
// created, so if this fails the old transport is already gone: the session
// stays usable only for another RestartICE, Delete or Close.
func (s *session) RestartICE(ctx context.Context) (err error) {
	s.opMu.Lock()
	defer s.opMu.Unlock()

	offer, err := s.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return fmt.Errorf("client: create ICE restart offer: %w", err)
	}
	// CreateOffer already restarted gathering, so the promise is taken now:
	// taken earlier it could resolve on the previous generation's state.
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("client: set local restart offer: %w", err)
	}
	defer func() {
		if err != nil {
			// Back to stable so a later RestartICE can create a new offer.
			_ = s.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
		}
	}()
	select {
	case <-gathered:
	case <-ctx.Done():
		return fmt.Errorf("client: gathering ICE candidates: %w", ctx.Err())
	}

	frag, err := FragFromSDP(s.pc.LocalDescription().SDP)
	if err != nil {
		return err
	}
	body, err := s.sig.restart(ctx, frag.String())
	if err != nil {
		return err
	}
	reply, err := ParseSDPFrag(body)
	if err != nil {
		return fmt.Errorf("%w: ICE restart answer: %v", ErrProtocol, err)
	}
	remote := s.pc.CurrentRemoteDescription()
	if remote == nil {
		return fmt.Errorf("client: no remote description to restart")
	}
	answer, err := applyICERestart(remote.SDP, reply)
	if err != nil {
		return err
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("client: set remote restart answer: %w", err)
	}
	return nil
}
