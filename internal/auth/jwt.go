package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Permissions is the object a JWT carries under its permissions claim
// (JWTConfig.Claim, "wishgate" by default):
//
//	{"exp": 1767225600, "wishgate": {"publish": ["cam*"], "read": ["*"], "admin": false}}
//
// publish and read are stream-name globs (path.Match syntax, "*" is every
// stream); admin grants the control API. Anything absent is not allowed.
type Permissions struct {
	Publish []string `json:"publish"`
	Read    []string `json:"read"`
	Admin   bool     `json:"admin"`
}

func (p Permissions) allows(a Action, stream string) bool {
	var globs []string
	switch a {
	case ActionAdmin:
		return p.Admin
	case ActionPublish:
		globs = p.Publish
	case ActionRead:
		globs = p.Read
	}
	for _, g := range globs {
		if g == "*" {
			return true
		}
		if ok, err := path.Match(g, stream); err == nil && ok {
			return true
		}
	}
	return false
}

// JWTConfig configures JWT bearer tokens. Secret enables HS256, JWKSURL
// enables RS256 and ES256 (P-256) with the keys it publishes.
type JWTConfig struct {
	Secret   []byte
	JWKS     *JWKS
	Claim    string // default "wishgate"
	Issuer   string // required iss, if set
	Audience string // required aud, if set
	// Leeway for exp/nbf against clock skew; default 5s.
	Leeway time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// JWT verifies bearer JWTs and reads their permissions.
type JWT struct {
	cfg  JWTConfig
	algs []string
}

// NewJWT builds the verifier. Only the algorithms whose key material is
// configured are accepted: "none" never, HS256 only with a secret, RS256 and
// ES256 only with a JWKS, and each with its own key type only, so a public
// RSA key can never be used as an HMAC secret (the RFC 8725 §2.1 confusion).
func NewJWT(cfg JWTConfig) *JWT {
	if cfg.Claim == "" {
		cfg.Claim = "wishgate"
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	j := &JWT{cfg: cfg}
	if len(cfg.Secret) > 0 {
		j.algs = append(j.algs, "HS256")
	}
	if cfg.JWKS != nil {
		j.algs = append(j.algs, "RS256", "ES256")
	}
	return j
}

// looksLikeJWT reports whether token has the compact JWS shape, so that a
// static token never reaches the JWT parser (and vice versa costs nothing).
func looksLikeJWT(token string) bool {
	return strings.Count(token, ".") == 2 && strings.HasPrefix(token, "eyJ")
}

// Authorize verifies r.Token and checks its permissions.
func (j *JWT) Authorize(ctx context.Context, r Request) error {
	if r.Token == "" {
		return ErrNoToken
	}
	if !looksLikeJWT(r.Token) {
		return ErrBadToken
	}
	claims := jwt.MapClaims{}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(j.algs),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(j.cfg.Leeway),
		jwt.WithTimeFunc(j.cfg.Now),
	}
	if j.cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(j.cfg.Issuer))
	}
	if j.cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(j.cfg.Audience))
	}
	var unavailable error
	_, err := jwt.ParseWithClaims(r.Token, claims, func(t *jwt.Token) (any, error) {
		key, err := j.key(ctx, t)
		if errors.Is(err, ErrUnavailable) {
			unavailable = err
		}
		return key, err
	}, opts...)
	if unavailable != nil {
		return unavailable
	}
	if err != nil {
		// The library's reason (expired, bad signature, wrong alg) never
		// contains the token itself.
		return fmt.Errorf("%w: %s", ErrBadToken, jwtReason(err))
	}
	perms, err := permissionsOf(claims[j.cfg.Claim])
	if err != nil {
		return fmt.Errorf("%w: claim %q: %v", ErrForbidden, j.cfg.Claim, err)
	}
	if !perms.allows(r.Action, r.Stream) {
		return ErrForbidden
	}
	return nil
}

// key returns the verification key for t, of the type its alg needs.
func (j *JWT) key(ctx context.Context, t *jwt.Token) (any, error) {
	switch t.Method.Alg() {
	case "HS256":
		return j.cfg.Secret, nil
	case "RS256", "ES256":
		kid, _ := t.Header["kid"].(string)
		k, err := j.cfg.JWKS.Key(ctx, kid, t.Method.Alg())
		if err != nil {
			return nil, err
		}
		switch pk := k.(type) {
		case *rsa.PublicKey:
			if t.Method.Alg() == "RS256" {
				return pk, nil
			}
		case *ecdsa.PublicKey:
			if t.Method.Alg() == "ES256" && pk.Curve == elliptic.P256() {
				return pk, nil
			}
		}
		return nil, fmt.Errorf("key %q does not fit %s", kid, t.Method.Alg())
	}
	return nil, fmt.Errorf("algorithm %s not accepted", t.Method.Alg())
}

func jwtReason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "exp missing"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "no usable key"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	}
	return "rejected"
}

// permissionsOf reads the permissions object from decoded JSON.
func permissionsOf(v any) (Permissions, error) {
	var p Permissions
	if v == nil {
		return p, errors.New("missing")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return p, errors.New("not an object")
	}
	for k, val := range m {
		if val == nil {
			continue // null is absent
		}
		switch k {
		case "publish", "read":
			list, ok := val.([]any)
			if !ok {
				return p, fmt.Errorf("%s is not a list", k)
			}
			for _, g := range list {
				s, ok := g.(string)
				if !ok {
					return p, fmt.Errorf("%s holds a non-string", k)
				}
				if k == "publish" {
					p.Publish = append(p.Publish, s)
				} else {
					p.Read = append(p.Read, s)
				}
			}
		case "admin":
			b, ok := val.(bool)
			if !ok {
				return p, errors.New("admin is not a boolean")
			}
			p.Admin = b
		}
	}
	return p, nil
}
