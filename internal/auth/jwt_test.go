package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

const hsSecret = "0123456789abcdef0123456789abcdef-test"

func perms(publish, read []string, admin bool) map[string]any {
	return map[string]any{"publish": publish, "read": read, "admin": admin}
}

func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func future() int64 { return time.Now().Add(time.Hour).Unix() }

// checkActions asserts the publish/read/admin decisions of one token.
func checkActions(t *testing.T, a Authorizer, token string, want map[Action]map[string]error) {
	t.Helper()
	for act, streams := range want {
		for stream, werr := range streams {
			err := a.Authorize(context.Background(), Request{Action: act, Stream: stream, Token: token, Protocol: "whip"})
			if !errors.Is(err, werr) && !(err == nil && werr == nil) {
				t.Errorf("%s %q: got %v, want %v", act, stream, err, werr)
			}
		}
	}
}

func TestJWTHS256(t *testing.T) {
	j := NewJWT(JWTConfig{Secret: []byte(hsSecret)})
	cam := sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", jwt.MapClaims{
		"exp": future(), "wishgate": perms([]string{"cam*"}, []string{"*"}, false)})
	checkActions(t, j, cam, map[Action]map[string]error{
		ActionPublish: {"cam1": nil, "show": ErrForbidden},
		ActionRead:    {"cam1": nil, "anything": nil},
		ActionAdmin:   {"": ErrForbidden},
	})
	admin := sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", jwt.MapClaims{
		"exp": future(), "wishgate": perms(nil, nil, true)})
	checkActions(t, j, admin, map[Action]map[string]error{
		ActionPublish: {"cam1": ErrForbidden},
		ActionRead:    {"cam1": ErrForbidden},
		ActionAdmin:   {"": nil},
	})

	refused := map[string]string{
		"expired": sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", jwt.MapClaims{
			"exp": time.Now().Add(-time.Minute).Unix(), "wishgate": perms([]string{"*"}, nil, false)}),
		"not yet valid": sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", jwt.MapClaims{
			"exp": future(), "nbf": time.Now().Add(time.Minute).Unix(), "wishgate": perms([]string{"*"}, nil, false)}),
		"no exp": sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", jwt.MapClaims{
			"wishgate": perms([]string{"*"}, nil, false)}),
		"other secret": sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 40)), "", jwt.MapClaims{
			"exp": future(), "wishgate": perms([]string{"*"}, nil, false)}),
		"alg none": sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", jwt.MapClaims{
			"exp": future(), "wishgate": perms([]string{"*"}, nil, false)}),
		"HS384": sign(t, jwt.SigningMethodHS384, []byte(hsSecret), "", jwt.MapClaims{
			"exp": future(), "wishgate": perms([]string{"*"}, nil, false)}),
	}
	for name, tok := range refused {
		t.Run(name, func(t *testing.T) {
			err := j.Authorize(context.Background(), Request{Action: ActionPublish, Stream: "cam1", Token: tok})
			if !errors.Is(err, ErrBadToken) {
				t.Fatalf("got %v, want ErrBadToken", err)
			}
		})
	}
	noClaim := sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", jwt.MapClaims{"exp": future()})
	if err := j.Authorize(context.Background(), Request{Action: ActionRead, Stream: "x", Token: noClaim}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("token without the claim: got %v, want ErrForbidden", err)
	}
}

func TestJWTIssuerAudience(t *testing.T) {
	j := NewJWT(JWTConfig{Secret: []byte(hsSecret), Issuer: "idp", Audience: "wishgate"})
	good := sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", jwt.MapClaims{
		"exp": future(), "iss": "idp", "aud": "wishgate", "wishgate": perms(nil, []string{"*"}, false)})
	bad := sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", jwt.MapClaims{
		"exp": future(), "iss": "other", "aud": "wishgate", "wishgate": perms(nil, []string{"*"}, false)})
	if err := j.Authorize(context.Background(), Request{Action: ActionRead, Stream: "a", Token: good}); err != nil {
		t.Fatal(err)
	}
	if err := j.Authorize(context.Background(), Request{Action: ActionRead, Stream: "a", Token: bad}); !errors.Is(err, ErrBadToken) {
		t.Fatalf("wrong issuer: got %v", err)
	}
}

// jwksServer serves a key set on 127.0.0.1 and counts fetches.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int32
	keys atomic.Pointer[[]byte]
}

func newJWKSServer(t *testing.T, keys ...jose.JSONWebKey) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.set(t, keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(*s.keys.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(t *testing.T, keys ...jose.JSONWebKey) {
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	s.keys.Store(&b)
}

func TestJWTJWKS(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := newJWKSServer(t,
		jose.JSONWebKey{Key: &rsaKey.PublicKey, KeyID: "rsa1", Algorithm: "RS256", Use: "sig"},
		jose.JSONWebKey{Key: &ecKey.PublicKey, KeyID: "ec1", Algorithm: "ES256", Use: "sig"},
	)
	jwks := &JWKS{URL: srv.URL, MinRefetch: time.Hour}
	defer jwks.Close()
	j := NewJWT(JWTConfig{JWKS: jwks})

	rs := sign(t, jwt.SigningMethodRS256, rsaKey, "rsa1", jwt.MapClaims{
		"exp": future(), "wishgate": perms([]string{"cam*"}, []string{"cam*"}, false)})
	checkActions(t, j, rs, map[Action]map[string]error{
		ActionPublish: {"cam1": nil, "show": ErrForbidden},
		ActionRead:    {"cam2": nil, "show": ErrForbidden},
		ActionAdmin:   {"": ErrForbidden},
	})
	es := sign(t, jwt.SigningMethodES256, ecKey, "ec1", jwt.MapClaims{
		"exp": future(), "wishgate": perms(nil, []string{"*"}, true)})
	checkActions(t, j, es, map[Action]map[string]error{
		ActionPublish: {"cam1": ErrForbidden},
		ActionRead:    {"show": nil},
		ActionAdmin:   {"": nil},
	})
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1 (cached)", n)
	}

	// HS/RS confusion (RFC 8725 §2.1): an HS256 token whose "secret" is the
	// public key's bytes must not verify when only a JWKS is configured.
	pub, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	forged := sign(t, jwt.SigningMethodHS256, pub, "rsa1", jwt.MapClaims{
		"exp": future(), "wishgate": perms([]string{"*"}, nil, true)})
	if err := j.Authorize(context.Background(), Request{Action: ActionAdmin, Token: forged}); !errors.Is(err, ErrBadToken) {
		t.Fatalf("HS256 with the RSA public key: got %v", err)
	}
	// The RSA key may not verify an ES256 token naming it, nor vice versa.
	wrongKid := sign(t, jwt.SigningMethodES256, ecKey, "rsa1", jwt.MapClaims{
		"exp": future(), "wishgate": perms(nil, []string{"*"}, false)})
	if err := j.Authorize(context.Background(), Request{Action: ActionRead, Stream: "a", Token: wrongKid}); !errors.Is(err, ErrBadToken) {
		t.Fatalf("ES256 naming the RSA kid: got %v", err)
	}
}

func TestJWKSRefetchOnUnknownKidIsBounded(t *testing.T) {
	oldKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	newKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv := newJWKSServer(t, jose.JSONWebKey{Key: &oldKey.PublicKey, KeyID: "old", Algorithm: "ES256"})
	jwks := &JWKS{URL: srv.URL, MinRefetch: 200 * time.Millisecond}
	defer jwks.Close()
	j := NewJWT(JWTConfig{JWKS: jwks})
	claims := jwt.MapClaims{"exp": future(), "wishgate": perms(nil, []string{"*"}, false)}
	if err := j.Authorize(context.Background(), Request{Action: ActionRead, Stream: "a", Token: sign(t, jwt.SigningMethodES256, oldKey, "old", claims)}); err != nil {
		t.Fatal(err)
	}
	// Key rotation: the server now publishes "new".
	srv.set(t, jose.JSONWebKey{Key: &newKey.PublicKey, KeyID: "new", Algorithm: "ES256"})
	tok := sign(t, jwt.SigningMethodES256, newKey, "new", claims)
	// Forged kids in a burst cause at most one refetch per MinRefetch.
	for i := range 50 {
		forged := sign(t, jwt.SigningMethodES256, newKey, "forged"+string(rune('a'+i%26)), claims)
		_ = j.Authorize(context.Background(), Request{Action: ActionRead, Stream: "a", Token: forged})
	}
	if n := srv.hits.Load(); n > 2 {
		t.Fatalf("%d fetches for a burst of unknown kids, want at most 2", n)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := j.Authorize(context.Background(), Request{Action: ActionRead, Stream: "a", Token: tok})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rotated key never accepted: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestJWKSUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	var logs bytes.Buffer
	jwks := &JWKS{URL: srv.URL, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	defer jwks.Close()
	j := NewJWT(JWTConfig{JWKS: jwks})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tok := sign(t, jwt.SigningMethodES256, key, "k", jwt.MapClaims{"exp": future(), "wishgate": perms(nil, []string{"*"}, false)})
	err := j.Authorize(context.Background(), Request{Action: ActionRead, Stream: "a", Token: tok})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if strings.Contains(logs.String(), tok) || strings.Contains(err.Error(), tok) {
		t.Fatal("the token leaked into a log or error")
	}
}

// A slow refetch (an unknown kid) does not hold up tokens whose key is at hand.
func TestJWKSRefetchDoesNotBlockKnownKeys(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k", Algorithm: "ES256"}}})
	var hits atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) > 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		_, _ = w.Write(set)
	}))
	defer srv.Close()
	jwks := &JWKS{URL: srv.URL, MinRefetch: time.Nanosecond}
	defer jwks.Close()
	j := NewJWT(JWTConfig{JWKS: jwks})
	claims := jwt.MapClaims{"exp": future(), "wishgate": perms(nil, []string{"*"}, false)}
	good := sign(t, jwt.SigningMethodES256, key, "k", claims)
	if err := j.Authorize(context.Background(), Request{Action: ActionRead, Stream: "a", Token: good}); err != nil {
		t.Fatal(err)
	}
	unknown := sign(t, jwt.SigningMethodES256, key, "unknown", claims)
	slow := make(chan error, 1)
	go func() {
		slow <- j.Authorize(context.Background(), Request{Action: ActionRead, Stream: "a", Token: unknown})
	}()
	deadline := time.Now().Add(2 * time.Second)
	for hits.Load() < 2 {
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("the unknown kid did not refetch: %v", <-slow)
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if err := j.Authorize(context.Background(), Request{Action: ActionRead, Stream: "a", Token: good}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("a known key waited %s for another token's refetch", d)
	}
	close(release)
	if err := <-slow; !errors.Is(err, ErrBadToken) {
		t.Fatalf("unknown kid: %v", err)
	}
}
