package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofServer serves net/http/pprof on its own listener, never on the
// public one: profiles reveal memory contents and cost CPU, so they are off
// by default and, when on, reachable only where the operator binds them
// (e.g. 127.0.0.1:6060).
type pprofServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

func startPprof(addr string, log *slog.Logger) (*pprofServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof-addr %q: %w", addr, err)
	}
	// A private mux: importing net/http/pprof registers on
	// http.DefaultServeMux, which nothing here serves.
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No write deadline: a CPU profile or trace streams for its seconds.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	p := &pprofServer{srv: srv, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof listener", "component", "pprof", "error", err)
		}
	}()
	log.Info("pprof listening", "component", "pprof", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	return p, nil
}

// Close stops the listener; a running profile is cut short.
func (p *pprofServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		_ = p.srv.Close()
	}
	<-p.done
}
