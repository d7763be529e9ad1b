// Command gateway runs wishgate: WHIP ingest and WHEP playback through an
// in-memory stream registry.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/cluster"
	"github.com/wishgate/wishgate/internal/config"
)

func main() {
	// `gateway healthcheck` is the container HEALTHCHECK (healthcheck.go).
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck(os.Args[2:], os.Getenv))
	}
	src := config.Source{Args: os.Args[1:], Getenv: os.Getenv}
	cfg, err := src.Load()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wishgate: invalid configuration:", err)
		os.Exit(2)
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cluster.QuietRedisLog(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(cfg, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		os.Exit(1)
	}
	// SIGHUP and changes to the config file reload it (hot reload).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	w, err := app.NewWatcher(a, src, hup, log, nil)
	if err != nil {
		log.Error("cannot watch the configuration", "error", err)
		_ = a.Close()
		os.Exit(1)
	}
	<-ctx.Done()
	log.Info("shutting down")
	w.Close()
	if err := a.Close(); err != nil {
		log.Error("shutdown", "error", err)
		os.Exit(1)
	}
}
