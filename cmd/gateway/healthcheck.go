package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/wishgate/wishgate/internal/config"
)

// healthcheck is `gateway healthcheck`: GET /healthz of the gateway this
// configuration describes, exit 0 on 200 and 1 otherwise. Container images
// without a shell or curl (distroless, scratch) use it as their HEALTHCHECK;
// it reads the same file, environment and flags as the server, so it finds
// the HTTP port the server listens on.
func healthcheck(args []string, getenv func(string) string) int {
	cfg, err := config.Source{Args: args, Getenv: getenv}.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wishgate healthcheck: invalid configuration:", err)
		return 2
	}
	scheme, client := "http", http.DefaultClient
	if cfg.TLSCert != "" {
		// Its own listener on this host: the certificate names the public
		// host, not 127.0.0.1, so it is not verified here (nothing but the
		// status is read).
		scheme = "https"
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	}
	url := scheme + "://" + localHostPort(cfg.HTTPAddr) + "/healthz"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wishgate healthcheck:", err)
		return 1
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wishgate healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "wishgate healthcheck: %s answered %d %s\n", url, resp.StatusCode, body)
		return 1
	}
	fmt.Printf("wishgate healthcheck: %s %s\n", url, body)
	return 0
}

// localHostPort turns a listen address into one to connect to from the same
// host: an empty or wildcard host means the loopback address.
func localHostPort(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}
