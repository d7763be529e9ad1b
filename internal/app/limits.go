package app

import (
	"net/netip"

	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
)

// limits turns the limit settings into the edge's Limits; stream counts
// come from the registry, so RTSP sources count towards max_streams too.
func limits(cfg config.Config, reg *streams.Registry) signaling.Limits {
	l := signaling.Limits{
		MaxSessions:         cfg.MaxSessions,
		MaxStreams:          cfg.MaxStreams,
		MaxViewers:          cfg.MaxViewers,
		MaxViewersPerStream: cfg.MaxViewersPerStream,
		MaxPendingOffers:    cfg.MaxPendingOffers,
		Rate:                cfg.RateLimit,
		Burst:               cfg.RateBurst,
		StreamCount:         func() int { return len(reg.Names()) },
		HasStream: func(name string) bool {
			_, ok := reg.Info(name)
			return ok
		},
	}
	for _, p := range cfg.RateLimitExempt {
		if pfx, err := netip.ParsePrefix(p); err == nil { // Validate checked them
			l.RateExempt = append(l.RateExempt, pfx.Masked())
		}
	}
	return l
}
