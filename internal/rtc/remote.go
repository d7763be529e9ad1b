package rtc

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"

	"github.com/pion/webrtc/v4"
)

// DefaultMaxRemoteCandidates bounds a session's remote candidates when the
// engine is not told otherwise. A browser sends a handful per network
// interface; Firefox's 16 (IPv4 and IPv6, host and srflx, UDP and TCP) are
// the most in testdata/sdp, and only the UDP ones count.
const DefaultMaxRemoteCandidates = 32

// ErrTooManyCandidates: a PATCH would take the session past its remote
// candidate limit (422); see CandidateLimitError.
var ErrTooManyCandidates = errors.New("too many remote candidates")

// CandidateLimitError says which limit a PATCH hit. Nothing of that PATCH
// was added.
type CandidateLimitError struct {
	Limit, Have, New int
}

func (e *CandidateLimitError) Error() string {
	return fmt.Sprintf("max_remote_candidates: a session may have %d remote candidates; it has %d and this PATCH has %d more, so none of them was added",
		e.Limit, e.Have, e.New)
}

func (e *CandidateLimitError) Unwrap() error { return ErrTooManyCandidates }

// remoteSet is the remote candidates of a peer's current ICE session, as
// the gateway let them through: each one allowed by the policy, each
// transport address once, at most limit of them. pion starts a goroutine
// per candidate handed to it (until its agent's loop takes it), so limit
// also bounds those.
type remoteSet struct {
	policy *candidatePolicy
	limit  int
	added  map[netip.AddrPort]bool
	learnt *learnBudget // the peer-reflexive ones (learnt.go); nil outside an Engine
}

func newRemoteSet(policy *candidatePolicy, limit int) *remoteSet {
	if policy == nil {
		policy = newCandidatePolicy(nil, false)
	}
	if limit <= 0 {
		limit = DefaultMaxRemoteCandidates
	}
	return &remoteSet{policy: policy, limit: limit, added: map[netip.AddrPort]bool{}}
}

// reset forgets the candidates: an ICE restart starts from none.
func (s *remoteSet) reset() {
	s.added = map[netip.AddrPort]bool{}
	s.learnt.reset()
}

// screen returns the candidates of in the session may use and does not
// have yet (fresh: as if it had none, for an ICE restart), counting every
// other one by its reason.
func (s *remoteSet) screen(in []FragCandidate, fresh bool) []remoteCandidate {
	var out []remoteCandidate
	batch := map[netip.AddrPort]bool{}
	for _, fc := range in {
		c, ok := parseCandidate(fc.Mid, fc.Candidate)
		if !ok {
			s.policy.count(dropUnsupported)
			continue
		}
		if r := s.policy.check(c.Addr); r != keep {
			s.policy.count(r)
			continue
		}
		if (!fresh && s.added[c.key()]) || batch[c.key()] {
			s.policy.count(dropDuplicate)
			continue
		}
		batch[c.key()] = true
		out = append(out, c)
	}
	return out
}

// addOffered adds an offer's candidates: beyond the limit, the ones with
// the highest priority (RFC 8445 §5.1.2) are kept and the others counted.
func (s *remoteSet) addOffered(pc *webrtc.PeerConnection, in []FragCandidate) {
	cands := s.screen(in, false)
	if room := s.limit - len(s.added); len(cands) > room {
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].Priority > cands[j].Priority })
		for range cands[room:] {
			s.policy.count(dropOverCap)
		}
		cands = cands[:room]
	}
	s.add(pc, cands)
}

// admitTrickled screens a PATCH's candidates: all of them may be added, or,
// past the limit, none. restart: they belong to a new ICE session.
func (s *remoteSet) admitTrickled(in []FragCandidate, restart bool) ([]remoteCandidate, error) {
	cands := s.screen(in, restart)
	have := len(s.added)
	if restart {
		have = 0
	}
	if have+len(cands) > s.limit {
		return nil, &CandidateLimitError{Limit: s.limit, Have: have, New: len(cands)}
	}
	return cands, nil
}

func (s *remoteSet) add(pc *webrtc.PeerConnection, cands []remoteCandidate) {
	for _, c := range cands {
		init := webrtc.ICECandidateInit{Candidate: c.line}
		if c.Mid != "" {
			mid := c.Mid
			init.SDPMid = &mid
		}
		// A candidate pion refuses (an earlier generation's ufrag) is as
		// good as one never sent; it still holds its place in the limit.
		_ = pc.AddICECandidate(init)
		s.added[c.key()] = true
	}
}

// NewPeer wraps a peer connection of this engine: its remote candidates go
// through the engine's policy and limit.
func (e *Engine) NewPeer(pc *webrtc.PeerConnection) *Peer {
	remote := newRemoteSet(e.policy, e.cfg.MaxRemoteCandidates)
	if b, ok := e.learnt.LoadAndDelete(pc); ok {
		remote.learnt = b.(*learnBudget)
	}
	return &Peer{PC: pc, remote: remote}
}

// Protect names listening sockets of the gateway (HTTP, RTSP, pprof...)
// that no remote candidate may point at; the media sockets are protected
// from the start. Addresses that are not TCP or UDP are ignored.
func (e *Engine) Protect(addrs ...net.Addr) {
	for _, a := range addrs {
		var ip net.IP
		var port int
		switch a := a.(type) {
		case *net.TCPAddr:
			ip, port = a.IP, a.Port
		case *net.UDPAddr:
			ip, port = a.IP, a.Port
		default:
			continue
		}
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			addr = netip.IPv6Unspecified()
		}
		e.policy.protect(netip.AddrPortFrom(addr, uint16(port)))
	}
}

// OwnSocket reports whether a names one of the gateway's listening sockets
// (Protect), as the candidate policy judges them: other protocols' senders
// (RTSP over UDP) must not aim at them either.
func (e *Engine) OwnSocket(a netip.AddrPort) bool {
	return e.policy.ownSocket(netip.AddrPortFrom(a.Addr().Unmap(), a.Port()))
}

// CandidateDrops counts the remote candidates never given to ICE, by
// reason (metrics).
func (e *Engine) CandidateDrops() map[string]uint64 { return e.policy.dropCounts() }
