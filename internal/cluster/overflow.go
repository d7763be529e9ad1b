package cluster

import (
	"context"
	"time"
)

// Overloaded implements signaling.Overflow: CPU over the threshold.
func (n *Node) Overloaded() bool {
	return n.cfg.CPUThreshold > 0 && n.cpu.Percent() >= n.cfg.CPUThreshold
}

// Redirect implements signaling.Overflow: the least-loaded other node
// whose last heartbeat says it has room. Any node can serve any stream (it
// relays), so the stream does not narrow the choice.
func (n *Node) Redirect(ctx context.Context, _ string) (string, bool) {
	recs, err := n.nodes(ctx)
	if err != nil {
		return "", false
	}
	var best *nodeRecord
	for i := range recs {
		r := &recs[i]
		if r.ID == n.cfg.NodeID || r.Full || r.URL == "" || time.Since(r.LastSeen) > n.cfg.LeaseTTL+n.renew {
			continue
		}
		if best == nil || r.Load < best.Load || (r.Load == best.Load && r.Viewers < best.Viewers) {
			best = r
		}
	}
	if best == nil {
		return "", false
	}
	return best.URL, true
}
