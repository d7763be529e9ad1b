package network

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
)

const jwtSecret = "a-very-long-hs256-secret-for-tests-0123456789"

func hsToken(t *testing.T, perms map[string]any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"exp": time.Now().Add(time.Hour).Unix(), "wishgate": perms,
	}).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantStatus(t *testing.T, err error, code int) {
	t.Helper()
	var he *client.HTTPError
	if !errors.As(err, &he) || he.Status != code {
		t.Fatalf("got %v, want HTTP %d", err, code)
	}
}

// playOnce plays url until video arrives.
func playOnce(t *testing.T, ctx context.Context, url string, opts client.PlayOptions) {
	t.Helper()
	v, err := client.Play(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	waitFor(t, ctx, "video at "+url, func() bool { return v.Received(webrtc.RTPCodecTypeVideo).Packets > 5 })
}

func TestJWTAtTheEdge(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(set) }))
	defer jwks.Close()
	gw, logs := start(t, func(c *config.Config) {
		c.JWTSecret = jwtSecret
		c.JWTJWKSURL = jwks.URL
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	pubTok := hsToken(t, map[string]any{"publish": []string{"cam*"}})
	publishSynth(t, ctx, gw.URL()+"/whip/cam1", client.PublishOptions{Options: client.Options{Token: pubTok}})
	_, err := client.Publish(ctx, gw.URL()+"/whip/studio", client.PublishOptions{Options: client.Options{Token: pubTok}})
	wantStatus(t, err, http.StatusForbidden)
	_, err = client.Play(ctx, gw.URL()+"/whep/cam1", client.PlayOptions{Options: client.Options{Token: pubTok}})
	wantStatus(t, err, http.StatusForbidden)
	_, err = client.Play(ctx, gw.URL()+"/whep/cam1", client.PlayOptions{})
	wantStatus(t, err, http.StatusUnauthorized)

	// ES256 from the JWKS, given as ?token= (RFC 9725 §4.7 allows it).
	es, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"exp": time.Now().Add(time.Hour).Unix(), "wishgate": map[string]any{"read": []string{"*"}},
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	playOnce(t, ctx, gw.URL()+"/whep/cam1?token="+es, client.PlayOptions{})

	expired, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"exp": time.Now().Add(-time.Minute).Unix(), "wishgate": map[string]any{"read": []string{"*"}},
	}).SignedString([]byte(jwtSecret))
	_, err = client.Play(ctx, gw.URL()+"/whep/cam1", client.PlayOptions{Options: client.Options{Token: expired}})
	wantStatus(t, err, http.StatusUnauthorized)

	for _, secret := range []string{pubTok, es, expired, jwtSecret} {
		if strings.Contains(logs.String(), secret) {
			t.Fatal("a token or key leaked into the log")
		}
	}
}

// callbackService records what the gateway asks and allows publish to
// "cb-pub" and read to "cb-view".
type callbackService struct {
	*httptest.Server
	mu   sync.Mutex
	seen []map[string]string
}

func newCallbackService(t *testing.T) *callbackService {
	s := &callbackService{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]string
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.seen = append(s.seen, b)
		s.mu.Unlock()
		switch {
		case b["token"] == "cb-pub" && b["action"] == "publish", b["token"] == "cb-view" && b["action"] == "read":
			w.WriteHeader(http.StatusOK)
		case b["token"] == "cb-pub" || b["token"] == "cb-view":
			w.WriteHeader(http.StatusForbidden)
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func TestCallbackAtTheEdge(t *testing.T) {
	svc := newCallbackService(t)
	gw, logs := start(t, func(c *config.Config) {
		c.AuthCallbackURL = svc.URL + "/auth"
		c.AuthCallbackCache = 0 // every request reaches the service: it is what we check
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	publishSynth(t, ctx, gw.URL()+"/whip/door", client.PublishOptions{Options: client.Options{Token: "cb-pub"}})
	playOnce(t, ctx, gw.URL()+"/whep/door", client.PlayOptions{Options: client.Options{Token: "cb-view"}})
	_, err := client.Play(ctx, gw.URL()+"/whep/door", client.PlayOptions{Options: client.Options{Token: "cb-pub"}})
	wantStatus(t, err, http.StatusForbidden)
	_, err = client.Play(ctx, gw.URL()+"/whep/door", client.PlayOptions{Options: client.Options{Token: "nobody"}})
	wantStatus(t, err, http.StatusUnauthorized)

	svc.mu.Lock()
	first := svc.seen[0]
	svc.mu.Unlock()
	want := map[string]string{"action": "publish", "stream": "door", "token": "cb-pub", "remote_addr": "127.0.0.1", "protocol": "whip"}
	for k, v := range want {
		if first[k] != v {
			t.Fatalf("callback body %v, want %s=%q", first, k, v)
		}
	}

	// RTSP asks the same service, saying so (the token is the Basic password).
	u, err := base.ParseURL("rtsp://any:cb-view@" + gw.RTSPAddr().String() + "/door")
	if err != nil {
		t.Fatal(err)
	}
	rc := gortsplib.Client{}
	if err := rc.Start(u.Scheme, u.Host); err != nil {
		t.Fatal(err)
	}
	_, _, err = rc.Describe(u)
	rc.Close()
	if err != nil {
		t.Fatalf("RTSP DESCRIBE with a token the callback allows: %v", err)
	}
	svc.mu.Lock()
	var rtsp map[string]string
	for _, b := range svc.seen {
		if b["protocol"] == "rtsp" {
			rtsp = b
		}
	}
	svc.mu.Unlock()
	if rtsp["action"] != "read" || rtsp["stream"] != "door" || rtsp["token"] != "cb-view" || rtsp["remote_addr"] != "127.0.0.1" {
		t.Fatalf("callback body for RTSP %v", rtsp)
	}

	// The service down: 503 with Retry-After, not a refusal.
	svc.Close()
	code, h := status(t, http.MethodPost, gw.URL()+"/whip/door2", "cb-pub", nil)
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("callback down: %d %v", code, h)
	}
	for _, secret := range []string{"cb-pub", "cb-view", "nobody"} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("%q leaked into the log", secret)
		}
	}
}
