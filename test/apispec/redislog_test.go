package apispec

import (
	"io"
	"log/slog"

	"github.com/wishgate/wishgate/internal/cluster"
)

// go-redis's dial failures after a test stops Redis go nowhere, as the
// gateway's go to debug level.
func init() { cluster.QuietRedisLog(slog.New(slog.NewTextHandler(io.Discard, nil))) }
