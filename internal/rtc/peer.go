package rtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/pion/webrtc/v4"
)

// Peer wraps a peer connection with the state WHIP/WHEP keep per session:
// the current ICE session's entity tag and remote credentials.
type Peer struct {
	PC *webrtc.PeerConnection

	mu          sync.Mutex
	remote      *remoteSet
	etag        string
	remoteUfrag string
	remoteSDP   string
	opts        AnswerOptions
}

// NewPeer wraps pc with the default candidate policy and limit; sessions
// use Engine.NewPeer, which knows the gateway's sockets and settings.
func NewPeer(pc *webrtc.PeerConnection) *Peer {
	return &Peer{PC: pc, remote: newRemoteSet(nil, 0)}
}

// Negotiate applies the offer and returns the final answer, with every
// candidate gathered (the server cannot trickle, RFC 9725 §4.3.2). The
// offer's SDP has no candidates (ParseOffer took them out): they reach
// pion only through the candidate policy and limit.
func (p *Peer) Negotiate(ctx context.Context, offer *Offer, opts AnswerOptions) (string, error) {
	if err := p.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		return "", unsupportedOffer(err)
	}
	p.mu.Lock()
	p.remote.addOffered(p.PC, offer.Candidates)
	p.mu.Unlock()
	local, err := p.answer(ctx)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opts = opts
	p.remoteSDP = offer.SDP
	p.remoteUfrag = firstAttr(offer.SDP, "ice-ufrag")
	p.etag = newETag()
	return FinalizeAnswer(local, opts), nil
}

func (p *Peer) answer(ctx context.Context) (string, error) {
	ans, err := p.PC.CreateAnswer(nil)
	if err != nil {
		return "", unsupportedOffer(err)
	}
	gathered := webrtc.GatheringCompletePromise(p.PC)
	if err := p.PC.SetLocalDescription(ans); err != nil {
		return "", fmt.Errorf("set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("%w: gathering candidates: %v", ErrNegotiationTimeout, ctx.Err())
	}
	return p.PC.LocalDescription().SDP, nil
}

// unsupportedOffer classifies pion's refusal of an offer that passed our own
// parse: it is nearly always a semantic problem (422), not syntax, so it is
// reported as ErrUnsupported.
func unsupportedOffer(err error) error {
	return fmt.Errorf("%w: %v", ErrUnsupported, err)
}

// ETag is the strong entity-tag of the current ICE session (RFC 9725 §4.3.1).
func (p *Peer) ETag() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.etag
}

// Patch applies a trickle-ice-sdpfrag. A fragment with new ICE credentials is
// an ICE restart: it returns the server's new fragment for a 200 response;
// otherwise it returns "" (204). Candidates we cannot use (TCP, mDNS names,
// RTCP components) or may not send to (the candidate policy) are dropped
// silently, as §4.3.2 allows; a fragment that would take the session past
// its candidate limit is refused whole (CandidateLimitError).
func (p *Peer) Patch(ctx context.Context, f *Fragment) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	restart := f.Ufrag != "" && f.Ufrag != p.remoteUfrag
	cands, err := p.remote.admitTrickled(f.Candidates, restart)
	if err != nil {
		return "", err
	}
	resp := ""
	if restart {
		if resp, err = p.restartLocked(ctx, f); err != nil {
			return "", err
		}
	}
	p.remote.add(p.PC, cands)
	return resp, nil
}

func (p *Peer) restartLocked(ctx context.Context, f *Fragment) (string, error) {
	offer := replaceICE(p.remoteSDP, f.Ufrag, f.Pwd)
	if err := p.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: ICE restart: %v", ErrUnsupported, err)
	}
	local, err := p.answer(ctx)
	if err != nil {
		return "", err
	}
	p.remoteSDP = offer
	p.remoteUfrag = f.Ufrag
	p.remote.reset() // pion's agent dropped the old session's candidates too
	p.etag = newETag()
	return restartFragment(FinalizeAnswer(local, p.opts)), nil
}

// replaceICE swaps the ICE credentials of a description and drops its
// candidates: the restarted session starts from the new credentials only.
func replaceICE(desc, ufrag, pwd string) string {
	var b strings.Builder
	for _, l := range splitLines(desc) {
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			l = "a=ice-ufrag:" + ufrag
		case strings.HasPrefix(l, "a=ice-pwd:"):
			l = "a=ice-pwd:" + pwd
		case strings.HasPrefix(l, "a=candidate:"), l == "a=end-of-candidates":
			continue
		}
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return b.String()
}

// restartFragment extracts the sdpfrag answering an ICE restart (RFC 9725
// §4.3.3): ice-options, the new credentials, the first m-line with its mid
// and the candidates.
func restartFragment(answer string) string {
	var b strings.Builder
	var session, media []string
	inMedia, seenM := false, false
	for _, l := range splitLines(answer) {
		switch {
		case strings.HasPrefix(l, "m="):
			if seenM {
				inMedia = false
				continue
			}
			seenM, inMedia = true, true
			media = append(media, l)
		case strings.HasPrefix(l, "a=ice-lite"), strings.HasPrefix(l, "a=ice-options:"), strings.HasPrefix(l, "a=group:BUNDLE"):
			if !seenM {
				session = append(session, l)
			}
		case inMedia && (strings.HasPrefix(l, "a=mid:") || strings.HasPrefix(l, "a=ice-ufrag:") ||
			strings.HasPrefix(l, "a=ice-pwd:") || strings.HasPrefix(l, "a=candidate:") || l == "a=end-of-candidates"):
			media = append(media, l)
		}
	}
	for _, l := range append(session, media...) {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return b.String()
}

func firstAttr(desc, key string) string {
	prefix := "a=" + key + ":"
	for _, l := range splitLines(desc) {
		if strings.HasPrefix(l, prefix) {
			return strings.TrimSpace(l[len(prefix):])
		}
	}
	return ""
}

func newETag() string { return `"` + RandomToken(12) + `"` }

// RandomToken returns n random bytes, hex encoded (CSPRNG, RFC 4086).
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}
