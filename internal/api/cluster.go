package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/internal/cluster"
)

// Cluster is the gateway's membership of a cluster (*cluster.Node).
type Cluster interface {
	ID() string
	Snapshot(ctx context.Context) (cluster.Snapshot, error)
}

// ErrNotClustered: GET /api/v1/cluster on a gateway without cluster_redis_url.
var ErrNotClustered = errors.New("this gateway is not in a cluster (cluster_redis_url is empty)")

// getCluster lists every node of the cluster and which node owns which
// stream, as Redis knows it (503 while Redis is unreachable).
func (a *API) getCluster(c echo.Context) error {
	if a.cfg.Cluster == nil {
		return a.writeError(c, ErrNotClustered)
	}
	snap, err := a.cfg.Cluster.Snapshot(c.Request().Context())
	if err != nil {
		return a.writeError(c, err)
	}
	return c.JSON(http.StatusOK, snap)
}

// originNode is the id of the node that publishes a stream: this one, or
// for a relay the one it pulls from; nil outside a cluster or with no
// publisher.
func (a *API) originNode(relayOrigin string, live bool) *string {
	if a.cfg.Cluster == nil || !live {
		return nil
	}
	id := relayOrigin
	if id == "" {
		id = a.cfg.Cluster.ID()
	}
	return &id
}
