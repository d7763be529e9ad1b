package cluster

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/wishgate/wishgate/streams"
)

// owned is a lease this node holds.
type owned struct {
	l  lease
	at time.Time // when claimed: a Publish may still be attaching
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// staleAfter: a lease not renewed for this long (one renewal missed) has
// an owner in trouble, as a publisher without media for the health window
// is stale locally.
func (n *Node) staleAfter() time.Duration { return n.renew + n.renew/2 }

func (n *Node) newLease(specs []trackRec, since time.Time, healthy bool) lease {
	return lease{Node: n.cfg.NodeID, Instance: n.instance, URL: n.cfg.URL, Since: since.UTC(), Healthy: healthy, Tracks: specs}
}

// admit is the registry's admission hook: a local publisher (not a relay)
// claims the stream's lease under the replace policy. Another node's
// healthy publisher wins as a local one would (409). Without Redis the
// publisher is let in and the stream registered when Redis returns.
func (n *Node) admit(name string, specs []streams.TrackSpec, info streams.PublisherInfo) error {
	if info.Origin != "" {
		return nil
	}
	l := n.newLease(trackRecs(specs, n.cfg.Registry.ConversionTarget), time.Now(), true)
	if !n.st.up.Load() {
		n.setPending(name, l)
		return nil
	}
	policy := n.cfg.Replace()
	res, err := n.st.run(n.ctx, claimScript, []string{keyStream + name},
		n.cfg.NodeID, l.encode(), ms(n.cfg.LeaseTTL), string(policy), ms(n.staleAfter()))
	if err != nil {
		n.setPending(name, l)
		return nil
	}
	v, prev := verdict(res)
	p, _ := decodeLease(prev)
	switch v {
	case "new", "own":
		n.setOwned(name, l)
		n.announce(n.ctx, event{Type: evLive, Stream: name, Node: n.cfg.NodeID})
	case "took":
		n.setOwned(name, l)
		n.log.Info("took the stream over from another node", "stream", name, "from", p.Node, "replace", string(policy))
		n.announce(n.ctx, event{Type: evMoved, Stream: name, Node: n.cfg.NodeID, From: p.Node})
	default:
		return fmt.Errorf("%w: node %s publishes %q (replace=%s)", streams.ErrConflict, p.Node, name, policy)
	}
	return nil
}

func (n *Node) setOwned(name string, l lease) {
	n.mu.Lock()
	n.owned[name] = owned{l: l, at: time.Now()}
	delete(n.pending, name)
	n.mu.Unlock()
}

func (n *Node) setPending(name string, l lease) {
	n.mu.Lock()
	n.pending[name] = l
	n.mu.Unlock()
}

// onRegistryEvent runs on the goroutine that changed the registry: it only
// marks work for the maintain loop and the relays.
func (n *Node) onRegistryEvent(e streams.Event) {
	switch e.Type {
	case streams.EventPublished, streams.EventUnpublished, streams.EventRemoved:
		n.mu.Lock()
		n.dirty[e.Stream] = true
		n.mu.Unlock()
		n.poke()
	case streams.EventSubscribed, streams.EventLeft:
		n.relays.reader(e.Stream)
		if n.cfg.MaxViewers > 0 || n.cfg.MaxSessions > 0 {
			// Whether this node is full may have changed: the other
			// nodes must not redirect viewers here on stale news.
			n.mu.Lock()
			n.loadChanged = true
			n.mu.Unlock()
			n.poke()
		}
	}
	n.relays.touch(e.Stream)
}

// maintain owns the heartbeat and every lease: it renews, releases and
// re-registers them every third of the TTL, and at once when poked.
func (n *Node) maintain() {
	defer n.wg.Done()
	t := time.NewTicker(n.renew)
	defer t.Stop()
	later := time.NewTimer(time.Hour)
	later.Stop()
	defer later.Stop()
	for {
		var again time.Duration
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
			again = n.tick(true)
		case <-n.wake:
			again = n.tick(false)
		case <-later.C:
			again = n.tick(false)
		}
		if again > 0 {
			later.Reset(again)
		}
	}
}

// loadBeatGap is the shortest time between two heartbeats written because
// the node's room for viewers changed: however fast viewers come and go
// around a limit, that costs Redis at most ten writes per renewal period.
func (n *Node) loadBeatGap() time.Duration { return n.renew / 10 }

// tick does the maintain loop's work; full is the periodic round. It
// returns when to look again at a change of load it put off (0: none).
func (n *Node) tick(full bool) time.Duration {
	if full {
		n.cpu.sample()
		if err := n.heartbeat(); err != nil {
			return 0
		}
	}
	n.mu.Lock()
	rejoin, loadChanged := n.rejoin, n.loadChanged
	n.rejoin, n.loadChanged = false, false
	n.mu.Unlock()
	var again time.Duration
	if !full && loadChanged {
		// Whether this node is full goes to Redis at once, so that the
		// other nodes stop (or resume) redirecting viewers here; but not
		// more often than loadBeatGap.
		if wait := time.Until(n.lastBeat.Add(n.loadBeatGap())); wait > 0 {
			n.mu.Lock()
			n.loadChanged = true
			n.mu.Unlock()
			again = wait
		} else if n.record().Full != n.lastFull.Load() {
			_ = n.heartbeat()
		}
	}
	if rejoin {
		n.log.Info("rejoining the cluster: registering this node's streams again")
		// What we held before the outage is registered like what was
		// published during it: another node may hold it now (split brain).
		n.mu.Lock()
		for name, o := range n.owned {
			n.pending[name] = o.l
		}
		n.owned = map[string]owned{}
		n.mu.Unlock()
		if err := n.heartbeat(); err != nil {
			return again
		}
		full = true
	}
	if n.st.up.Load() {
		n.reconcile(full)
		if full {
			n.renewSources()
		}
	}
	return again
}

// reconcile brings the leases in line with the registry: renew what we
// publish, release what we no longer do, register what we published while
// Redis was away.
func (n *Node) reconcile(full bool) {
	n.mu.Lock()
	names := n.dirty
	n.dirty = map[string]bool{}
	if full {
		for name := range n.owned {
			names[name] = true
		}
		for name := range n.pending {
			names[name] = true
		}
	}
	n.mu.Unlock()
	for name := range names {
		if n.ctx.Err() != nil {
			return
		}
		info, ok := n.cfg.Registry.Info(name)
		local := ok && info.Publisher != nil && info.Publisher.Origin == ""
		n.mu.Lock()
		o, isOwned := n.owned[name]
		n.mu.Unlock()
		if ok && !local && len(info.Subscribers) > 0 {
			// Readers whose publisher left (or moved to another node):
			// a relay follows the stream to wherever it is published.
			n.relays.ensure(name)
		}
		switch {
		case local && isOwned:
			n.renewLease(name, o.l, info)
		case local && n.wasLost(name, info.Publisher.SessionID):
			// Kicked for another node's sake; its session is ending.
		case local:
			n.register1(name, info)
		case isOwned && time.Since(o.at) > n.renew/2:
			n.mu.Lock()
			delete(n.owned, name)
			n.mu.Unlock()
			// Not cancelled by shutdown: Close no longer sees this lease
			// in owned, so a release cut short here would leave it to
			// expire by TTL instead of freeing the stream at once. The
			// store bounds the call; Close waits for it (wg).
			n.releaseLease(context.WithoutCancel(n.ctx), name)
		case isOwned:
			n.mu.Lock()
			n.dirty[name] = true // a Publish may still be attaching: look again later
			n.mu.Unlock()
		default:
			n.mu.Lock()
			delete(n.pending, name)
			delete(n.lost, name)
			n.mu.Unlock()
		}
	}
}

// healthy: media within the health window, or a publisher still setting up.
func (n *Node) healthy(info streams.StreamInfo) bool {
	now := time.Now()
	if now.Sub(info.Since) < n.cfg.HealthWindow {
		return true
	}
	for _, t := range info.Tracks {
		if !t.LastPacket.IsZero() && now.Sub(t.LastPacket) < n.cfg.HealthWindow {
			return true
		}
	}
	return false
}

// renewLease extends our lease; one taken by another node (replace rule
// there) ends the local publisher.
func (n *Node) renewLease(name string, l lease, info streams.StreamInfo) {
	l.Healthy = n.healthy(info)
	res, err := n.st.run(n.ctx, renewScript, []string{keyStream + name}, n.cfg.NodeID, l.encode(), ms(n.cfg.LeaseTTL))
	if err != nil {
		return
	}
	v, prev := verdict(res)
	switch v {
	case "own":
		n.mu.Lock()
		if o, ok := n.owned[name]; ok {
			o.l = l
			n.owned[name] = o
		}
		n.mu.Unlock()
	case "held":
		p, _ := decodeLease(prev)
		n.mu.Lock()
		delete(n.owned, name)
		n.mu.Unlock()
		n.lose(name, info, p.Node, "another node took the stream over")
	default: // gone: Redis lost it (a restart); register it again
		n.mu.Lock()
		delete(n.owned, name)
		n.mu.Unlock()
		n.register1(name, info)
	}
}

// lose ends the local publisher of a stream another node owns now; the
// local readers stay for the grace period and get a relay from the owner.
func (n *Node) lose(name string, info streams.StreamInfo, owner, why string) {
	id := info.Publisher.SessionID
	n.mu.Lock()
	n.lost[name] = id
	n.mu.Unlock()
	n.log.Warn("ending the local publisher: the stream belongs to another node", "stream", name, "owner", owner, "reason", why)
	n.cfg.Registry.Kick(id)
	if len(info.Subscribers) > 0 {
		n.relays.ensure(name) // the readers stay: relay the winner to them
	}
}

// wasLost reports whether the publisher with session id was ended because
// another node owns its stream.
func (n *Node) wasLost(name, id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if got, ok := n.lost[name]; ok && got == id {
		return true
	}
	delete(n.lost, name)
	return false
}

// register1 registers a stream this node publishes but holds no lease for
// (published while Redis was unreachable, or Redis lost the key). A lease
// of another node is a split brain: the replace rule picks one publisher
// for both nodes, compared by when each attached (the older wins under
// stale and never, the newer under always; an unhealthy one always loses).
func (n *Node) register1(name string, info streams.StreamInfo) {
	if info.Publisher == nil || n.cfg.Registry == nil {
		return
	}
	var specs []streams.TrackSpec
	for _, t := range info.Tracks {
		specs = append(specs, streams.TrackSpec{Kind: t.Kind, Codec: t.Codec})
	}
	mine := n.newLease(trackRecs(specs, n.cfg.Registry.ConversionTarget), info.Since, n.healthy(info))
	key := keyStream + name
	cur, exists, err := n.st.get(n.ctx, key)
	if err != nil {
		return
	}
	expect := ""
	policy := n.cfg.Replace()
	if exists {
		p, ok := decodeLease(cur)
		if ok && p.Node != n.cfg.NodeID && !wins(policy, mine, p) {
			n.mu.Lock()
			delete(n.pending, name)
			n.mu.Unlock()
			n.lose(name, info, p.Node, "split brain after a Redis outage, resolved by replace="+string(policy))
			return
		}
		expect = cur
	}
	res, err := n.st.run(n.ctx, casScript, []string{key}, expect, mine.encode(), ms(n.cfg.LeaseTTL))
	if err != nil || res != int64(1) {
		n.mu.Lock()
		n.dirty[name] = true // changed meanwhile: next tick
		n.mu.Unlock()
		return
	}
	n.setOwned(name, mine)
	if p, ok := decodeLease(cur); ok && p.Node != n.cfg.NodeID {
		n.log.Warn("split brain after a Redis outage: kept the local publisher, the other node's ends",
			"stream", name, "other", p.Node, "replace", string(policy))
		n.announce(n.ctx, event{Type: evMoved, Stream: name, Node: n.cfg.NodeID, From: p.Node})
		return
	}
	n.log.Info("registered the stream in the cluster", "stream", name)
	n.announce(n.ctx, event{Type: evLive, Stream: name, Node: n.cfg.NodeID})
}

// wins decides a split brain between our publisher and another node's.
func wins(policy streams.ReplacePolicy, mine, other lease) bool {
	if !other.Healthy && mine.Healthy {
		return true
	}
	if mine.Since.Equal(other.Since) {
		return mine.Node < other.Node
	}
	if policy == streams.ReplaceAlways {
		return mine.Since.After(other.Since)
	}
	return mine.Since.Before(other.Since)
}

// owner returns the lease of stream name, if any node holds one.
func (n *Node) owner(ctx context.Context, name string) (lease, bool, error) {
	v, ok, err := n.st.get(ctx, keyStream+name)
	if err != nil || !ok {
		return lease{}, false, err
	}
	l, ok := decodeLease(v)
	return l, ok, nil
}
