package cluster

import (
	"context"
	"encoding/json"
)

// Event types on the cluster channel.
const (
	evLive  = "live"  // Node publishes Stream now
	evMoved = "moved" // Node took Stream over From another node
	evEnded = "ended" // Node no longer publishes Stream
)

// event is one message on the cluster channel. Events only wake the
// receivers early: each reads the lease itself, so a lost event delays
// nothing longer than one renewal period.
type event struct {
	Type   string `json:"type"`
	Stream string `json:"stream"`
	Node   string `json:"node"`
	From   string `json:"from,omitempty"`
}

func (n *Node) announce(ctx context.Context, e event) {
	b, _ := json.Marshal(e)
	_ = n.st.publish(ctx, string(b)) // best effort: see event
}

// listen receives the cluster's events until Close. go-redis resubscribes
// by itself after a lost connection.
func (n *Node) listen() {
	defer n.wg.Done()
	ps := n.st.rdb.Subscribe(n.ctx, keyChannel)
	defer ps.Close()
	ch := ps.Channel()
	for {
		select {
		case <-n.ctx.Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			var e event
			if json.Unmarshal([]byte(msg.Payload), &e) != nil || e.Stream == "" || e.Node == n.cfg.NodeID {
				continue
			}
			if e.Type == evMoved && e.From == n.cfg.NodeID {
				// Our stream was taken: the renewal finds out and ends
				// the local publisher; do it now.
				n.mu.Lock()
				if _, ok := n.owned[e.Stream]; ok {
					n.dirty[e.Stream] = true
				}
				n.mu.Unlock()
				n.poke()
			}
			n.relays.touch(e.Stream)
		}
	}
}
