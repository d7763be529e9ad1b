package rtc

import (
	"net"
	"net/netip"
	"sync/atomic"
)

// learnBudget is one peer connection's remote IP filter (pion's
// SetRemoteIPFilter), consulted by its ICE agent for every remote candidate
// it is about to hold. The signalled ones were screened and capped before
// pion saw them (remote.go); the others are peer-reflexive, learnt from
// binding requests that carry the session's ICE credentials, from whatever
// source address and port the client sends them. Those meet the policy's
// address rules here and a cap: in one ICE session the agent holds at most
// twice the limit, so at least limit peer-reflexive candidates beyond the
// signalled ones are not needed. A binding request from an address past
// the cap, or one the policy refuses, is ignored by pion: no response, no
// check, nothing held.
//
// The rule on the gateway's own sockets (a port as well as an address)
// cannot be judged from an IP alone; it does not need to be: a binding
// request reaches the media socket with one of the gateway's own addresses
// as its source only from this machine, since the kernel drops packets
// from outside that claim a local source address, and loopback sources are
// refused unless media is on loopback.
type learnBudget struct {
	policy *candidatePolicy
	limit  int32
	held   atomic.Int32
}

func newLearnBudget(policy *candidatePolicy, limit int) *learnBudget {
	if limit <= 0 {
		limit = DefaultMaxRemoteCandidates
	}
	return &learnBudget{policy: policy, limit: int32(2 * limit)}
}

// keep is the filter. Called on the agent's loop, once per new address.
func (b *learnBudget) keep(ip net.IP) bool {
	if r := b.policy.ipReason(ip); r != keep {
		b.policy.count(r)
		return false
	}
	if b.held.Add(1) > b.limit {
		b.held.Add(-1)
		b.policy.count(dropOverCap)
		return false
	}
	return true
}

// reset starts a new ICE session: the agent dropped its remote candidates.
func (b *learnBudget) reset() {
	if b != nil {
		b.held.Store(0)
	}
}

// ipReason judges an address without a port, as pion's filter sees it.
func (p *candidatePolicy) ipReason(ip net.IP) dropReason {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return dropUnsupported
	}
	a = judged(a)
	if r := p.absolute(a); r != keep {
		return r
	}
	return p.configurable(a)
}
