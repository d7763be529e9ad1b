// Package cluster lets gateways that share one Redis serve every stream
// from every node. Redis is the directory, never the media path: each
// stream's owner holds a lease on it, each node a heartbeat carrying its
// load, and events on a pub/sub channel tell the other nodes at once when
// a stream goes live, moves or ends. A node with readers for a stream
// owned elsewhere pulls it once from the owner over WHEP (relay.go) and
// publishes it into its own registry like any other publisher, so the GOP
// cache, fan-out, grace period and publisher switch work unchanged.
// docs/cluster.md tells the whole story.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wishgate/wishgate/streams"
)

// Config is what a node needs; internal/app fills it from config.Config.
type Config struct {
	RedisURL string
	NodeID   string
	URL      string // advertised base URL of this node's HTTP listener
	Secret   string
	Version  string
	// LeaseTTL is the lifetime of leases and heartbeats; they are renewed
	// every third of it.
	LeaseTTL    time.Duration
	RelayLinger time.Duration
	// CPUThreshold (percent of the machine, 0 = off), MaxViewers and
	// MaxSessions (0 = no limit) decide when this node is full.
	CPUThreshold float64
	MaxViewers   int
	MaxSessions  int
	// Replace is the replace policy now (hot reload changes it).
	Replace func() streams.ReplacePolicy
	// HealthWindow: a publisher without media this long is stale.
	HealthWindow time.Duration
	Registry     *streams.Registry
	// LocalDemand starts an on-demand camera of this node (nil: none).
	LocalDemand func(ctx context.Context, name string) error
	// Sessions counts this node's live WHIP and WHEP sessions (nil: 0).
	Sessions func() int
	// RelayInterfaces, when set, restricts the relays' ICE candidates to
	// these interfaces' addresses (as interfaces does for the engine).
	RelayInterfaces []string
	Logger          *slog.Logger
}

// Node is this gateway's membership of the cluster.
type Node struct {
	cfg      Config
	log      *slog.Logger
	st       *store
	instance string
	started  time.Time
	renew    time.Duration
	http     *http.Client // relays' signaling
	relays   *relays
	cpu      cpuMeter
	metrics  counters

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{} // the maintain loop has work

	mu      sync.Mutex
	owned   map[string]owned  // stream leases this node holds
	dirty   map[string]bool   // streams whose local state changed
	pending map[string]lease  // local streams published while Redis was unreachable
	lost    map[string]string // stream -> session id of a local publisher ended for another node
	sources map[string]bool   // camera pull rights this node holds
	rejoin  bool              // Redis came back: re-register everything
	// loadChanged: a reader came or went; lastFull is what the last
	// heartbeat said about room for viewers.
	loadChanged bool
	lastFull    atomic.Bool
	lastBeat    time.Time // the last heartbeat's time; the maintain loop's (and register's before it)
	closed      bool
}

// ErrIDInUse: another running gateway has this node id.
var ErrIDInUse = errors.New("cluster_node_id is in use by another running node")

// New joins the cluster: it registers the node (waiting up to one lease
// TTL for a previous run's heartbeat to expire), drops the leases a
// previous run of this node left, and starts the heartbeat, lease and
// event loops. Redis being unreachable is not an error: the node starts
// alone and joins when Redis answers.
func New(cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HealthWindow <= 0 {
		cfg.HealthWindow = 2 * time.Second
	}
	if cfg.Replace == nil {
		cfg.Replace = func() streams.ReplacePolicy { return streams.ReplaceStale }
	}
	log := cfg.Logger.With("component", "cluster", "node", cfg.NodeID)
	timeout := min(max(cfg.LeaseTTL/4, 250*time.Millisecond), time.Second)
	st, err := newStore(cfg.RedisURL, timeout, log)
	if err != nil {
		return nil, err
	}
	var inst [8]byte
	_, _ = rand.Read(inst[:])
	n := &Node{
		cfg: cfg, log: log, st: st, instance: hex.EncodeToString(inst[:]), started: time.Now(),
		renew: cfg.LeaseTTL / 3, wake: make(chan struct{}, 1),
		owned: map[string]owned{}, dirty: map[string]bool{}, pending: map[string]lease{}, lost: map[string]string{}, sources: map[string]bool{},
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}},
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.relays = newRelays(n)
	if err := n.register(); err != nil {
		n.cancel()
		_ = st.close()
		return nil, err
	}
	st.onChange = func(up bool) {
		if up {
			n.mu.Lock()
			n.rejoin = true
			n.mu.Unlock()
			n.poke()
		}
	}
	cfg.Registry.SetAdmit(n.admit)
	cfg.Registry.OnEvent(n.onRegistryEvent)
	n.wg.Add(2)
	go n.maintain()
	go n.listen()
	log.Info("joined the cluster", "url", cfg.URL, "lease_ttl", cfg.LeaseTTL, "redis_reachable", st.up.Load())
	return n, nil
}

// register writes the first heartbeat. A heartbeat of another process
// with our id at another URL is waited out for one TTL (a restart whose
// old heartbeat has not expired yet), then refused.
func (n *Node) register() error {
	deadline := time.Now().Add(n.cfg.LeaseTTL + n.renew)
	for {
		err := n.heartbeat()
		if !errors.Is(err, ErrIDInUse) {
			if err == nil {
				n.dropPreviousRun()
			}
			return nil // unreachable Redis: join later
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-time.After(n.renew):
		case <-n.ctx.Done():
			return err
		}
	}
}

// dropPreviousRun deletes the leases a previous process of this node left
// behind: that process is gone, and its streams with it.
func (n *Node) dropPreviousRun() {
	keys, err := n.st.scan(n.ctx, keyStream)
	if err != nil || len(keys) == 0 {
		return
	}
	vals, err := n.st.mget(n.ctx, keys)
	if err != nil {
		return
	}
	dropped := 0
	for i, v := range vals {
		if l, ok := decodeLease(v); ok && l.Node == n.cfg.NodeID && l.Instance != n.instance {
			if res, err := n.st.run(n.ctx, delIfScript, []string{keys[i]}, v); err == nil && res == int64(1) {
				dropped++
			}
		}
	}
	if dropped > 0 {
		n.log.Info("removed the stream leases of this node's previous run", "streams", dropped)
	}
}

// poke wakes the maintain loop.
func (n *Node) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// ID is this node's id.
func (n *Node) ID() string { return n.cfg.NodeID }

// Reachable reports whether Redis answered the last call.
func (n *Node) Reachable() bool { return n.st.up.Load() }

// Close leaves the cluster: relays stop, leases and the heartbeat are
// deleted (so other nodes know at once), the loops end.
func (n *Node) Close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	n.mu.Unlock()
	n.relays.close()
	n.cancel()
	n.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n.mu.Lock()
	held := n.owned
	n.owned = map[string]owned{}
	srcs := n.sources
	n.sources = map[string]bool{}
	n.mu.Unlock()
	for name := range held {
		n.releaseLease(ctx, name)
	}
	for name := range srcs {
		_, _ = n.st.run(ctx, sourceReleaseScript, []string{keySource + name}, n.cfg.NodeID)
	}
	if _, err := n.st.run(ctx, releaseHeartbeat, []string{keyNode + n.cfg.NodeID}, n.instance); err != nil {
		n.log.Warn("could not remove the heartbeat; it expires by itself", "error", err)
	}
	_ = n.st.close()
	n.http.CloseIdleConnections()
	n.log.Info("left the cluster")
}

// releaseLease gives up a stream we own and tells the other nodes.
func (n *Node) releaseLease(ctx context.Context, name string) {
	res, err := n.st.run(ctx, releaseScript, []string{keyStream + name}, n.cfg.NodeID)
	if err == nil && res == int64(1) {
		n.announce(ctx, event{Type: evEnded, Stream: name, Node: n.cfg.NodeID})
	}
}

func (n *Node) String() string { return fmt.Sprintf("node %s (%s)", n.cfg.NodeID, n.cfg.URL) }
