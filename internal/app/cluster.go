package app

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/internal/api"
	"github.com/wishgate/wishgate/internal/cluster"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
	"github.com/wishgate/wishgate/whep"
)

// clusterParts are what joining a cluster adds: the node (directory,
// leases, relays) and the WHEP endpoint the other nodes pull relays from.
// All nil on a single node.
type clusterParts struct {
	node  *cluster.Node
	edge  *signaling.Server // /cluster/whep/{name}, authorised by cluster_secret
	relay *whep.Handler
}

// joinCluster starts the node when cluster_redis_url is set; the HTTP
// listener must be bound (its port goes into the advertised URL).
func (a *App) joinCluster(cfg config.Config) error {
	if !cfg.Clustered() {
		return nil
	}
	id, err := cfg.NodeID()
	if err != nil {
		return err
	}
	node, err := cluster.New(cluster.Config{
		RedisURL: cfg.ClusterRedisURL, NodeID: id, URL: cfg.AdvertiseURL(a.ln.Addr()), Secret: cfg.ClusterSecret,
		Version: api.ReadBuildInfo().Version, LeaseTTL: cfg.ClusterLeaseTTL, RelayLinger: cfg.ClusterRelayLinger,
		CPUThreshold: cfg.ClusterCPUThreshold, MaxViewers: cfg.MaxViewers, MaxSessions: cfg.MaxSessions,
		Replace:  func() streams.ReplacePolicy { return streams.ReplacePolicy(a.holder.Load().Replace) },
		Registry: a.Registry, RelayInterfaces: cfg.Interfaces, Logger: a.log,
		LocalDemand: func(ctx context.Context, name string) error { return a.sources.Demand(ctx, name) },
		Sessions:    func() int { return a.edge.Count() },
	})
	if err != nil {
		return err
	}
	a.cluster.node = node
	return nil
}

// mountCluster serves the relay endpoint (after the WHEP handler exists).
func (a *App) mountCluster(cfg config.Config, e *echo.Echo) {
	n := a.cluster.node
	if n == nil {
		return
	}
	a.cluster.relay = &whep.Handler{Engine: a.engine, Registry: a.Registry, Logger: a.log,
		Demand: a.sources.Demand, SessionKind: streams.SessionRelayRead, NoAdapt: true}
	l := limits(cfg, a.Registry)
	// Relays are bounded by nodes × streams; the viewer and session caps
	// are for users, and the full-node redirect must never apply to them.
	l.MaxSessions, l.MaxStreams, l.MaxViewers, l.MaxViewersPerStream = 0, 0, 0, 0
	a.cluster.edge = signaling.New(signaling.Config{
		MaxBodyBytes: cfg.MaxBodyBytes, Auth: n.Checker(), Logger: a.log, Limits: l,
	})
	a.cluster.edge.Mount(e, "cluster/whep", n.Endpoint(a.cluster.relay))
}

// closeRelayEndpoint ends the relay sessions this node serves, with the
// user-facing sessions.
func (a *App) closeRelayEndpoint() {
	if a.cluster.relay != nil {
		a.cluster.relay.Close()
	}
	if a.cluster.edge != nil {
		a.cluster.edge.Close()
	}
}

// leaveCluster stops the node (its relays, leases and heartbeat), after the
// sessions and the cameras and before the registry.
func (a *App) leaveCluster() {
	if a.cluster.node != nil {
		a.cluster.node.Close()
	}
}

// Cluster is the node's cluster membership, nil on a single node.
func (a *App) Cluster() *cluster.Node { return a.cluster.node }
