package app

import (
	"log/slog"
	"syscall"

	"github.com/wishgate/wishgate/internal/config"
)

// warnFDLimit warns when the open-file limit cannot hold what the
// connection caps allow on the HTTP and RTSP listeners (plus media sockets
// and files): past it, accept fails for everyone ("too many open files").
// Go raises the soft limit to the hard one at start-up.
func warnFDLimit(cfg config.Config, log *slog.Logger) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	listeners := uint64(1)
	for _, a := range []string{cfg.RTSPAddr, cfg.RTSPSAddr} {
		if a != "" {
			listeners++
		}
	}
	if need := listeners*uint64(cfg.MaxConnections) + 256; lim.Cur < need {
		log.Warn("the open-file limit is below what max_connections allows on every listener; lower max_connections or raise the limit (ulimit -n)",
			"open_file_limit", lim.Cur, "max_connections", cfg.MaxConnections, "listeners", listeners, "needed", need)
	}
}
