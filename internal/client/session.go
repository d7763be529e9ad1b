package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// session is what publishers and viewers share: one PeerConnection and the
// HTTP resource that represents it on the gateway. Its exported methods are
// promoted to Publisher and Viewer.
type session struct {
	pc           *webrtc.PeerConnection
	sig          *signaler
	closeTimeout time.Duration

	// opMu serialises PATCH operations: an ICE restart replaces the ETag a
	// concurrent trickle would send.
	opMu sync.Mutex

	// stateChanged is closed and replaced on every connection state change,
	// a broadcast that lets any number of waiters wake without polling.
	stateMu      sync.Mutex
	stateChanged chan struct{}

	// deleted is set once a DELETE succeeded, so Close does not repeat it.
	deleted atomic.Bool
}

func newSession(api *webrtc.API, sig *signaler, closeTimeout time.Duration) (*session, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("client: new PeerConnection: %w", err)
	}
	s := &session{pc: pc, sig: sig, closeTimeout: closeTimeout, stateChanged: make(chan struct{})}
	// pion runs each handler call on its own goroutine, so calls may arrive
	// out of order; waiters therefore re-read pc.ConnectionState() instead
	// of trusting the argument.
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) { s.notifyState() })
	return s, nil
}

func (s *session) notifyState() {
	s.stateMu.Lock()
	close(s.stateChanged)
	s.stateChanged = make(chan struct{})
	s.stateMu.Unlock()
}

// negotiate runs the WHIP/WHEP offer/answer: full ICE gathering (the
// contract has no trickle from the client in the POST), POST, then apply
// the answer. On failure after the resource was created it is deleted so
// the gateway does not keep a half-open session.
func (s *session) negotiate(ctx context.Context) error {
	offer, err := s.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("client: create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("client: set local offer: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fmt.Errorf("client: gathering ICE candidates: %w", ctx.Err())
	}
	answer, err := s.sig.postOffer(ctx, s.pc.LocalDescription().SDP)
	if err == nil {
		err = s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
		if err != nil {
			err = fmt.Errorf("client: set remote answer: %w", err)
		}
	}
	if err != nil && s.sig.Location() != "" {
		ctx, cancel := context.WithTimeout(context.Background(), s.closeTimeout)
		_, _ = s.sig.delete(ctx) // best effort: the negotiation error is what matters
		cancel()
	}
	return err
}

// PeerConnection exposes the underlying pion PeerConnection (stats,
// descriptions, ...). Do not Close it directly; use the session's Close.
func (s *session) PeerConnection() *webrtc.PeerConnection { return s.pc }

// Location returns the absolute URL of the session resource.
func (s *session) Location() string { return s.sig.Location() }

// ETag returns the session's current entity tag (quoted, as sent).
func (s *session) ETag() string { return s.sig.ETag() }

// ResponseHeader returns a copy of the headers of the 201 that created the
// session (Link, Accept-Patch, ...).
func (s *session) ResponseHeader() http.Header { return s.sig.ResponseHeader() }

// ConnectionState returns the PeerConnection state.
func (s *session) ConnectionState() webrtc.PeerConnectionState { return s.pc.ConnectionState() }

// Codec returns the codec the gateway's answer put first for kind, i.e. the
// one negotiated for sending (publisher) or receiving (viewer).
func (s *session) Codec(kind webrtc.RTPCodecType) (webrtc.RTPCodecParameters, bool) {
	rd := s.pc.CurrentRemoteDescription()
	if rd == nil {
		return webrtc.RTPCodecParameters{}, false
	}
	return negotiatedCodec(rd.SDP, kind)
}

// WaitState blocks until the connection state is one of want, or ctx ends.
// It returns the state it last saw.
func (s *session) WaitState(ctx context.Context, want ...webrtc.PeerConnectionState) (webrtc.PeerConnectionState, error) {
	for {
		// Take the channel before reading the state so a change in between
		// is not missed.
		s.stateMu.Lock()
		changed := s.stateChanged
		s.stateMu.Unlock()
		st := s.pc.ConnectionState()
		if slices.Contains(want, st) {
			return st, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return st, fmt.Errorf("client: waiting for connection state %v (now %s): %w", want, st, ctx.Err())
		}
	}
}

// WaitConnected blocks until ICE and DTLS are up (state connected). It
// fails fast if the connection fails or closes first.
func (s *session) WaitConnected(ctx context.Context) error {
	st, err := s.WaitState(ctx, webrtc.PeerConnectionStateConnected,
		webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed)
	if err != nil {
		return err
	}
	if st != webrtc.PeerConnectionStateConnected {
		return fmt.Errorf("client: connection %s before connecting", st)
	}
	return nil
}

// Trickle PATCHes an application/trickle-ice-sdpfrag body (see SDPFrag,
// FragFromSDP) with If-Match set to the current ETag, and expects 204.
func (s *session) Trickle(ctx context.Context, frag string) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	return s.sig.trickle(ctx, frag)
}

// Delete sends DELETE to the session resource and returns the status. The
// error is an *HTTPError unless the status is 200. It does not close the
// PeerConnection; after a successful Delete, Close skips its own DELETE.
func (s *session) Delete(ctx context.Context) (int, error) {
	st, err := s.sig.delete(ctx)
	if err == nil {
		s.deleted.Store(true)
	}
	return st, err
}

// closeSession sends the DELETE (unless already done), then closes the
// PeerConnection and the private HTTP client.
func (s *session) closeSession() error {
	var errs []error
	if !s.deleted.Load() && s.sig.Location() != "" {
		ctx, cancel := context.WithTimeout(context.Background(), s.closeTimeout)
		_, err := s.Delete(ctx)
		cancel()
		errs = append(errs, err)
	}
	if err := s.pc.Close(); err != nil {
		errs = append(errs, fmt.Errorf("client: close PeerConnection: %w", err))
	}
	s.sig.close()
	return errors.Join(errs...)
}

// abort tears down a session that never became usable.
func (s *session) abort() {
	_ = s.pc.Close() // the negotiation error is the one reported
	s.sig.close()
}
