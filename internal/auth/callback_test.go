package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// authService is an in-process callback service: "pub-cam" may publish
// cam*, "viewer" may read anything, "root" may use the API; 401 otherwise.
type authService struct {
	*httptest.Server
	hits atomic.Int32
	mu   sync.Mutex
	last callbackBody
}

func newAuthService(t *testing.T, delay time.Duration) *authService {
	t.Helper()
	s := &authService{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var b callbackBody
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.last = b
		s.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		ok := (b.Token == "pub-cam" && b.Action == ActionPublish && strings.HasPrefix(b.Stream, "cam")) ||
			(b.Token == "viewer" && b.Action == ActionRead) ||
			(b.Token == "root" && b.Action == ActionAdmin)
		switch {
		case ok:
			w.WriteHeader(http.StatusNoContent)
		case b.Token == "pub-cam" || b.Token == "viewer" || b.Token == "root":
			w.WriteHeader(http.StatusForbidden)
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func TestCallback(t *testing.T) {
	srv := newAuthService(t, 0)
	cb := NewCallback(CallbackConfig{URL: srv.URL, CacheTTL: time.Minute})
	defer cb.Close()
	checkActions(t, cb, "pub-cam", map[Action]map[string]error{
		ActionPublish: {"cam1": nil, "show": ErrForbidden},
		ActionRead:    {"cam1": ErrForbidden},
		ActionAdmin:   {"": ErrForbidden},
	})
	checkActions(t, cb, "viewer", map[Action]map[string]error{
		ActionPublish: {"cam1": ErrForbidden},
		ActionRead:    {"cam1": nil, "show": nil},
	})
	checkActions(t, cb, "root", map[Action]map[string]error{
		ActionAdmin: {"": nil}, ActionRead: {"x": ErrForbidden},
	})
	checkActions(t, cb, "stranger", map[Action]map[string]error{ActionRead: {"x": ErrBadToken}})
	checkActions(t, cb, "", map[Action]map[string]error{ActionRead: {"x": ErrNoToken}})

	err := cb.Authorize(context.Background(), Request{Action: ActionPublish, Stream: "cam9", Token: "pub-cam", RemoteAddr: "192.0.2.7", Protocol: ProtocolRTSP})
	if err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	got := srv.last
	srv.mu.Unlock()
	want := callbackBody{Action: ActionPublish, Stream: "cam9", Token: "pub-cam", RemoteAddr: "192.0.2.7", Protocol: "rtsp"}
	if got != want {
		t.Fatalf("service got %+v, want %+v", got, want)
	}

	// A repeated question within the TTL is answered from the cache.
	before := srv.hits.Load()
	for range 5 {
		_ = cb.Authorize(context.Background(), Request{Action: ActionPublish, Stream: "cam9", Token: "pub-cam", RemoteAddr: "192.0.2.7", Protocol: ProtocolRTSP})
		_ = cb.Authorize(context.Background(), Request{Action: ActionRead, Stream: "x", Token: "stranger", Protocol: "whip"})
	}
	if n := srv.hits.Load() - before; n != 0 {
		t.Fatalf("%d service calls for cached answers", n)
	}
}

func TestCallbackCacheBoundedAndExpires(t *testing.T) {
	srv := newAuthService(t, 0)
	cb := NewCallback(CallbackConfig{URL: srv.URL, CacheTTL: 100 * time.Millisecond, CacheSize: 8})
	defer cb.Close()
	for i := range 50 {
		_ = cb.Authorize(context.Background(), Request{Action: ActionRead, Stream: "s" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Token: "viewer"})
		cb.mu.Lock()
		n := len(cb.cache)
		cb.mu.Unlock()
		if n > 8 {
			t.Fatalf("cache holds %d entries, bound is 8", n)
		}
	}
	req := Request{Action: ActionRead, Stream: "z", Token: "viewer"}
	_ = cb.Authorize(context.Background(), req)
	before := srv.hits.Load()
	time.Sleep(150 * time.Millisecond) // let the TTL pass: the point of the test
	_ = cb.Authorize(context.Background(), req)
	if srv.hits.Load() == before {
		t.Fatal("an expired answer was reused")
	}
}

func TestCallbackTimeoutIsUnavailableAndNotCached(t *testing.T) {
	srv := newAuthService(t, 2*time.Second)
	var logs bytes.Buffer
	cb := NewCallback(CallbackConfig{URL: srv.URL, Timeout: 100 * time.Millisecond, CacheTTL: time.Minute,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer cb.Close()
	start := time.Now()
	for range 2 {
		err := cb.Authorize(context.Background(), Request{Action: ActionRead, Stream: "x", Token: "viewer-secret-123"})
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("two timed-out calls took %s", d)
	}
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("%d service calls, want 2 (failures are not cached)", n)
	}
	if strings.Contains(logs.String(), "viewer-secret-123") {
		t.Fatal("token in logs")
	}
	if !strings.Contains(logs.String(), "auth callback failed") {
		t.Fatalf("failure not logged: %s", logs.String())
	}
}
