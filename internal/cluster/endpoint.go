package cluster

import (
	"crypto/subtle"
	"fmt"
	"sync"

	"github.com/wishgate/wishgate/internal/auth"
	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
)

// secretChecker authorises relay pulls by the cluster secret, compared in
// constant time; users' tokens have no meaning here.
type secretChecker struct{ secret []byte }

func (c secretChecker) Check(_ auth.Action, _ string, token string) error {
	if token == "" {
		return auth.ErrNoToken
	}
	if subtle.ConstantTimeCompare([]byte(token), c.secret) != 1 {
		return auth.ErrBadToken
	}
	return nil
}

// Checker is the relay endpoint's authorisation.
func (n *Node) Checker() signaling.Checker { return secretChecker{secret: []byte(n.cfg.Secret)} }

// relayEndpoint serves this node's streams to the other nodes' relays: a
// WHEP endpoint that serves only streams published here (never a relay of
// a relay, so no loop can form) and keeps exactly one session per edge
// node and stream, a newer one replacing the older.
type relayEndpoint struct {
	signaling.Endpoint
	reg *streams.Registry

	mu     sync.Mutex
	byEdge map[string]signaling.Resource
}

// Endpoint wraps the WHEP endpoint that relays pull from.
func (n *Node) Endpoint(whep signaling.Endpoint) signaling.Endpoint {
	return &relayEndpoint{Endpoint: whep, reg: n.cfg.Registry, byEdge: map[string]signaling.Resource{}}
}

func (e *relayEndpoint) Offer(req signaling.OfferRequest) (string, signaling.Resource, error) {
	info, ok := e.reg.Info(req.Stream)
	if !ok || info.Publisher == nil || info.Publisher.Origin != "" {
		return "", nil, fmt.Errorf("%w: %q is not published on this node", streams.ErrNotLive, req.Stream)
	}
	answer, res, err := e.Endpoint.Offer(req)
	if err != nil {
		return "", nil, err
	}
	key := req.Header.Get(NodeHeader) + "\x00" + req.Stream
	e.mu.Lock()
	old := e.byEdge[key]
	e.byEdge[key] = res
	for k, r := range e.byEdge { // forget ended sessions
		select {
		case <-r.Done():
			delete(e.byEdge, k)
		default:
		}
	}
	e.mu.Unlock()
	if old != nil {
		old.Close() // the edge's previous pull: one relay reader per edge
	}
	return answer, res, nil
}
