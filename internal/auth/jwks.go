package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// JWKS fetches and caches the public keys of a JWKS URL (RFC 7517 §5).
// Keys are fetched on first use and again when older than Refresh; a token
// with an unknown kid triggers a refetch at most once per MinRefetch, so a
// stream of forged kids cannot hammer the key server. No goroutine runs
// between requests; Close drops idle connections.
type JWKS struct {
	URL        string
	Refresh    time.Duration // default 5m
	MinRefetch time.Duration // default 10s
	Timeout    time.Duration // per fetch, default 5s
	Logger     *slog.Logger
	Client     *http.Client // default: a private client with its own transport

	mu        sync.Mutex
	keys      map[string]jose.JSONWebKey
	fetchedAt time.Time
	triedAt   time.Time
	inflight  chan struct{} // closed when the running fetch ends
	once      sync.Once
}

// maxJWKSBytes bounds a JWKS document.
const maxJWKSBytes = 1 << 20

func (k *JWKS) init() {
	k.once.Do(func() {
		if k.Refresh == 0 {
			k.Refresh = 5 * time.Minute
		}
		if k.MinRefetch == 0 {
			k.MinRefetch = 10 * time.Second
		}
		if k.Timeout == 0 {
			k.Timeout = 5 * time.Second
		}
		if k.Logger == nil {
			k.Logger = slog.Default()
		}
		if k.Client == nil {
			k.Client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		}
	})
}

// Key returns the public key with id kid for alg. An empty kid matches the
// only key usable for alg. A fetch runs without the lock: other tokens are
// verified with the keys at hand meanwhile, and only callers with no keys
// at all wait for it.
func (k *JWKS) Key(ctx context.Context, kid, alg string) (any, error) {
	k.init()
	k.mu.Lock()
	now := time.Now()
	_, known := k.keys[kid]
	stale := k.keys == nil || now.Sub(k.fetchedAt) > k.Refresh
	if (stale || (!known && kid != "")) && now.Sub(k.triedAt) >= k.MinRefetch && k.inflight == nil {
		done := make(chan struct{})
		k.inflight, k.triedAt = done, now
		k.mu.Unlock()
		keys, err := k.fetch(ctx)
		k.mu.Lock()
		if err != nil {
			k.Logger.Warn("jwks fetch failed", "component", "auth", "url", redactURL(k.URL), "error", withoutURL(err))
		} else {
			k.keys, k.fetchedAt = keys, time.Now()
		}
		k.inflight = nil
		close(done)
	} else if k.keys == nil && k.inflight != nil {
		done := k.inflight
		k.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: JWKS: %v", ErrUnavailable, ctx.Err())
		}
		k.mu.Lock()
	}
	defer k.mu.Unlock()
	if k.keys == nil {
		return nil, fmt.Errorf("%w: JWKS %s could not be fetched", ErrUnavailable, redactURL(k.URL))
	}
	if kid != "" {
		if key, ok := k.keys[kid]; ok && (key.Algorithm == "" || key.Algorithm == alg) {
			return key.Key, nil
		}
		return nil, fmt.Errorf("no key %q for %s", kid, alg)
	}
	var found []any
	for _, key := range k.keys {
		if key.Algorithm == "" || key.Algorithm == alg {
			found = append(found, key.Key)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("token has no kid and the JWKS has %d keys for %s", len(found), alg)
	}
	return found[0], nil
}

// fetch downloads the key set. Keys that fail to parse (unknown kty,
// private keys) are skipped, not fatal: key servers publish mixed sets.
func (k *JWKS) fetch(ctx context.Context) (map[string]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, k.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := k.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBytes)).Decode(&set); err != nil {
		return nil, fmt.Errorf("bad JWKS: %w", err)
	}
	keys := map[string]jose.JSONWebKey{}
	for _, raw := range set.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err != nil || !key.IsPublic() || !key.Valid() {
			continue
		}
		if key.Use != "" && key.Use != "sig" {
			continue
		}
		keys[key.KeyID] = key
	}
	return keys, nil
}

// Close releases idle connections to the key server.
func (k *JWKS) Close() {
	k.init()
	k.Client.CloseIdleConnections()
}

// redactURL hides credentials in a URL for logs.
// withoutURL drops the URL an HTTP client's *url.Error quotes: it masks
// the password but keeps the query, where an API key may sit. Log it next
// to redactURL's form of the URL.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.RawQuery = ""
	return u.Redacted()
}
