package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

// roundTrip answers every request of a client without a network.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// countingBody is a response body that counts what the client read.
type countingBody struct {
	r    io.Reader
	read int
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += n
	return n, err
}
func (b *countingBody) Close() error { return nil }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// isSentinel: the error is one the HTTP edge maps to a status.
func isSentinel(err error) bool {
	for _, s := range []error{ErrNoToken, ErrBadToken, ErrForbidden, ErrUnavailable} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// hs256 signs payload (any bytes, as a forger with the secret could) under
// a fixed HS256 header.
func hs256(secret, payload []byte) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// FuzzJWTClaims: a token's claims are JSON a stranger writes (signed, when
// the stranger is a careless issuer). Whatever they hold, the answer is
// nil or a sentinel, and nil only when the claims expire in the future and
// their permissions allow the action on the stream as a plain JSON decode
// reads them. A token not signed with the secret is never allowed.
func FuzzJWTClaims(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	for _, c := range []string{
		`{"exp":1800000100,"wishgate":{"publish":["cam*"],"read":["*"]}}`,
		`{"exp":1800000100,"wishgate":{"admin":true}}`,
		`{"exp":1700000000,"wishgate":{"read":["*"]}}`,
		`{"exp":"1800000100","wishgate":{"read":["*"]}}`,
		`{"exp":1800000100,"wishgate":{"read":"*"}}`,
		`{"exp":1800000100,"wishgate":{"read":[1]}}`,
		`{"exp":1800000100,"wishgate":null}`,
		`{"exp":1e400,"wishgate":{"read":["["]}}`,
		`{"exp":1800000100,"nbf":1900000000,"wishgate":{"read":["*"]}}`,
		`[]`, `null`, `{`, "",
	} {
		f.Add([]byte(c), "read", "cam1", true)
		f.Add([]byte(c), "publish", "cam1", false)
	}
	secret := []byte("fuzz-secret-0123456789abcdef")
	j := NewJWT(JWTConfig{Secret: secret, Now: func() time.Time { return now }})
	f.Fuzz(func(t *testing.T, payload []byte, action, stream string, signed bool) {
		key := secret
		if !signed {
			key = []byte("another secret")
		}
		token := hs256(key, payload)
		err := j.Authorize(context.Background(), Request{Action: Action(action), Stream: stream, Token: token})
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("claims %q: error %v is no sentinel", payload, err)
			}
			if errors.Is(err, ErrUnavailable) {
				t.Fatalf("claims %q: %v with a secret (no back-end to be unavailable)", payload, err)
			}
			return
		}
		if !signed {
			t.Fatalf("claims %q: allowed under a key that is not the secret", payload)
		}
		// Keys compared exactly (encoding/json's struct fields would also
		// take "Read" for "read").
		var claims, perms map[string]json.RawMessage
		var exp float64
		var p Permissions
		if json.Unmarshal(payload, &claims) != nil || json.Unmarshal(claims["exp"], &exp) != nil ||
			json.Unmarshal(claims["wishgate"], &perms) != nil {
			t.Fatalf("claims %q: allowed, but they are not an object with a numeric exp and a permissions object", payload)
		}
		if math.IsNaN(exp) || time.Unix(int64(exp), 0).Add(5*time.Second).Before(now) {
			t.Fatalf("claims %q: allowed without a future exp", payload)
		}
		for k, dst := range map[string]any{"publish": &p.Publish, "read": &p.Read, "admin": &p.Admin} {
			if raw, ok := perms[k]; ok && json.Unmarshal(raw, dst) != nil {
				t.Fatalf("claims %q: allowed, but %s is malformed", payload, k)
			}
		}
		if !p.allows(Action(action), stream) {
			t.Fatalf("claims %q: %s on %q allowed, the permissions do not say so", payload, action, stream)
		}
	})
}

// FuzzJWKS: the key server's document is JSON the gateway fetches and
// trusts only as far as it parses. Whatever it holds, Key answers a public
// key or an error: never a private key, never a symmetric
// ("oct") key an HS256 token could be forged with, and the document is
// read no further than its bound.
func FuzzJWKS(f *testing.F) {
	for _, doc := range []string{
		`{"keys":[{"kty":"EC","crv":"P-256","kid":"a","use":"sig","alg":"ES256",` +
			`"x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`,
		`{"keys":[{"kty":"oct","kid":"a","k":"c2VjcmV0"}]}`,
		`{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","kid":"a","x":"AA","y":"AA","d":"AA"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
		`{"keys":null}`, `{"keys":[null,1,"x"]}`, `[]`, `{`, "",
	} {
		f.Add([]byte(doc), "a", "ES256")
		f.Add([]byte(doc), "", "RS256")
	}
	f.Fuzz(func(t *testing.T, doc []byte, kid, alg string) {
		body := &countingBody{r: strings.NewReader(string(doc) + strings.Repeat(" ", 64))}
		k := &JWKS{URL: "http://keys.invalid/jwks.json", Logger: discardLogger(), Client: &http.Client{
			Transport: roundTrip(func(*http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: http.StatusOK, Body: body, Header: http.Header{}}, nil
			}),
		}}
		key, err := k.Key(context.Background(), kid, alg)
		if body.read > maxJWKSBytes {
			t.Fatalf("read %d bytes of the JWKS document, bound %d", body.read, maxJWKSBytes)
		}
		if err != nil {
			if key != nil {
				t.Fatalf("a key %T with error %v", key, err)
			}
			return
		}
		// Public keys only (JWT.key then takes RSA for RS256, P-256 for
		// ES256 and nothing else).
		switch key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			t.Fatalf("document %q gave a %T for kid %q, %s: only public keys verify tokens", doc, key, kid, alg)
		}
	})
}

// FuzzCallbackAnswer: the callback's answer is a status and a body from a
// service that may be broken or hostile. The status alone decides (2xx
// allows, 401 is a bad token, other 4xx forbidden, a missing token makes any
// 4xx "token required", everything else unavailable); the body is drained
// no further than its bound and never changes the answer.
func FuzzCallbackAnswer(f *testing.F) {
	for _, st := range []int{200, 204, 299, 301, 401, 403, 404, 429, 499, 500, 503, 100, 999} {
		f.Add(st, []byte(`{"allow":false}`), "tok")
		f.Add(st, []byte("OK"), "")
	}
	f.Fuzz(func(t *testing.T, status int, answer []byte, token string) {
		if status < 100 || status > 999 {
			return // net/http never yields such a status
		}
		body := &countingBody{r: io.MultiReader(strings.NewReader(string(answer)), strings.NewReader(strings.Repeat("x", 70<<10)))}
		cb := NewCallback(CallbackConfig{URL: "http://auth.invalid/check", Logger: discardLogger(), Client: &http.Client{
			Transport: roundTrip(func(*http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: status, Body: body, Header: http.Header{}}, nil
			}),
		}})
		err := cb.Authorize(context.Background(), Request{Action: ActionPublish, Stream: "cam1", Token: token, Protocol: "whip"})
		if body.read > 64<<10 {
			t.Fatalf("read %d bytes of the answer, bound %d", body.read, 64<<10)
		}
		var want error
		switch {
		case status >= 200 && status < 300:
		case status >= 400 && status < 500 && token == "":
			want = ErrNoToken
		case status == http.StatusUnauthorized:
			want = ErrBadToken
		case status >= 400 && status < 500:
			want = ErrForbidden
		default:
			want = ErrUnavailable
		}
		if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
			t.Fatalf("status %d (token %q): %v, want %v", status, token, err, want)
		}
	})
}
