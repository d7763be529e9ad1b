package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
)

// ErrElsewhere is what a camera source answers a reader's demand when
// another node holds the right to pull it: the stream comes as a relay.
var ErrElsewhere = errors.New("another node pulls this camera")

// Demand is called by every reader (WHEP, RTSP) before it looks a stream
// up. A stream live here (published or relayed) needs nothing; one owned
// by another node gets a relay, and Demand waits until it is published
// locally (bounded by ctx); otherwise a local on-demand camera may start.
// Without Redis, a stream that is not here cannot be located: 503.
func (n *Node) Demand(ctx context.Context, name string) error {
	if info, ok := n.cfg.Registry.Info(name); ok && info.State == streams.StateLive {
		if info.Publisher != nil && info.Publisher.Origin != "" {
			if r := n.relays.ensure(name); r != nil {
				return r.waitLive(ctx) // live: holds it for this reader
			}
		}
		return nil
	}
	l, owned, err := n.owner(ctx, name)
	if err != nil {
		if n.cfg.LocalDemand != nil {
			_ = n.cfg.LocalDemand(ctx, name) // a camera of this node may start
		}
		if info, ok := n.cfg.Registry.Info(name); ok && info.State == streams.StateLive {
			return nil
		}
		return fmt.Errorf("%w: %v, so where %q is published is unknown", signaling.ErrUnavailable, ErrUnreachable, name)
	}
	if !owned || l.Node == n.cfg.NodeID {
		if n.cfg.LocalDemand == nil {
			return nil
		}
		err := n.cfg.LocalDemand(ctx, name)
		if !errors.Is(err, ErrElsewhere) {
			return err
		}
		// The camera's puller is connecting it: its stream will appear.
	}
	r := n.relays.ensure(name)
	if r == nil {
		return signaling.ErrShuttingDown
	}
	return r.waitLive(ctx)
}
