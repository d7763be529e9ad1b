package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// CallbackConfig configures the HTTP callback back-end.
type CallbackConfig struct {
	URL     string
	Timeout time.Duration // default 2s
	// CacheTTL reuses an answer for the same request this long; 0 disables.
	CacheTTL time.Duration
	// CacheSize bounds the cache; default 4096 entries.
	CacheSize int
	Logger    *slog.Logger
	Client    *http.Client // default: a private client with its own transport
}

// Callback asks an HTTP service: it POSTs
//
//	{"action": "publish", "stream": "cam1", "token": "…", "remote_addr": "192.0.2.7", "protocol": "whip"}
//
// and allows on any 2xx. 401 means a bad or missing token, other 4xx
// forbidden; anything else (5xx, timeout, refused) is ErrUnavailable and is
// not cached, so the service's recovery is seen at once.
type Callback struct {
	cfg CallbackConfig

	mu    sync.Mutex
	cache map[[32]byte]cached
}

type cached struct {
	err     error
	expires time.Time
}

type callbackBody struct {
	Action     Action `json:"action"`
	Stream     string `json:"stream"`
	Token      string `json:"token"`
	RemoteAddr string `json:"remote_addr"`
	Protocol   string `json:"protocol"`
}

// NewCallback builds the back-end.
func NewCallback(cfg CallbackConfig) *Callback {
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 4096
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return &Callback{cfg: cfg, cache: map[[32]byte]cached{}}
}

// Authorize asks the service (or the cache).
func (cb *Callback) Authorize(ctx context.Context, r Request) error {
	body, _ := json.Marshal(callbackBody{r.Action, r.Stream, r.Token, r.RemoteAddr, r.Protocol})
	// The cache key is a digest: the map holds no token in clear.
	key := sha256.Sum256(body)
	if err, ok := cb.lookup(key); ok {
		return err
	}
	err := cb.ask(ctx, body, r.Token == "")
	if !isUnavailable(err) {
		cb.store(key, err)
	}
	return err
}

func (cb *Callback) ask(ctx context.Context, body []byte, noToken bool) error {
	ctx, cancel := context.WithTimeout(ctx, cb.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cb.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := cb.cfg.Client.Do(req)
	if err != nil {
		// Log the cause only: the client's *url.Error quotes the whole URL,
		// query included, where an API key may sit (the password it masks);
		// the url field is already redacted (test/security found the key in
		// the log). The body with the token is never logged.
		cb.cfg.Logger.Warn("auth callback failed", "component", "auth", "url", redactURL(cb.cfg.URL), "error", withoutURL(err))
		if ctx.Err() != nil {
			return fmt.Errorf("%w: callback: %v", ErrUnavailable, ctx.Err())
		}
		return fmt.Errorf("%w: callback unreachable", ErrUnavailable)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && noToken:
		return ErrNoToken
	case resp.StatusCode == http.StatusUnauthorized:
		return ErrBadToken
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return ErrForbidden
	}
	cb.cfg.Logger.Warn("auth callback answered an error", "component", "auth", "url", redactURL(cb.cfg.URL), "status", resp.StatusCode)
	return fmt.Errorf("%w: callback status %d", ErrUnavailable, resp.StatusCode)
}

func (cb *Callback) lookup(key [32]byte) (error, bool) {
	if cb.cfg.CacheTTL <= 0 {
		return nil, false
	}
	cb.mu.Lock()
	defer cb.mu.Unlock()
	c, ok := cb.cache[key]
	if !ok || time.Now().After(c.expires) {
		return nil, false
	}
	return c.err, true
}

func (cb *Callback) store(key [32]byte, err error) {
	if cb.cfg.CacheTTL <= 0 {
		return
	}
	now := time.Now()
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if len(cb.cache) >= cb.cfg.CacheSize {
		for k, c := range cb.cache {
			if now.After(c.expires) {
				delete(cb.cache, k)
			}
		}
		if len(cb.cache) >= cb.cfg.CacheSize {
			// Still full of live entries: start over rather than grow.
			clear(cb.cache)
		}
	}
	cb.cache[key] = cached{err: err, expires: now.Add(cb.cfg.CacheTTL)}
}

// Close releases idle connections to the service.
func (cb *Callback) Close() { cb.cfg.Client.CloseIdleConnections() }
