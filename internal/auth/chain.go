package auth

import (
	"context"
	"errors"
)

// Chain asks the configured back-ends in turn: static tokens, then JWT,
// then the HTTP callback; the first that allows wins. If none allows, the
// most telling refusal is returned: forbidden (the token is known but not
// for this), then unavailable, then bad token, then no token.
//
// An action no back-end covers is open: with no publish tokens, no JWT and
// no callback, anyone may publish, as before any auth was configured. Once
// JWT or a callback is configured, every action needs their approval (or a
// static token).
type Chain struct {
	Static   *Static
	JWT      *JWT      // nil: not configured
	Callback *Callback // nil: not configured
}

// Open reports whether a needs no credentials at all.
func (c *Chain) Open(a Action) bool {
	return c.JWT == nil && c.Callback == nil && (c.Static == nil || c.Static.Open(a))
}

// Authorize answers r.
func (c *Chain) Authorize(ctx context.Context, r Request) error {
	if c.Open(r.Action) {
		return nil
	}
	var errs []error
	if c.Static != nil && !c.Static.Open(r.Action) {
		err := c.Static.Check(r.Action, r.Stream, r.Token)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	if c.JWT != nil && looksLikeJWT(r.Token) {
		err := c.JWT.Authorize(ctx, r)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	if c.Callback != nil {
		err := c.Callback.Authorize(ctx, r)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return worst(r.Token, errs)
}

// Check is Authorize without a remote address or protocol.
func (c *Chain) Check(a Action, stream, token string) error {
	return c.Authorize(context.Background(), Request{Action: a, Stream: stream, Token: token})
}

// Close releases the back-ends' idle connections.
func (c *Chain) Close() {
	if c.JWT != nil && c.JWT.cfg.JWKS != nil {
		c.JWT.cfg.JWKS.Close()
	}
	if c.Callback != nil {
		c.Callback.Close()
	}
}

func worst(token string, errs []error) error {
	for _, want := range []error{ErrForbidden, ErrUnavailable, ErrBadToken} {
		for _, err := range errs {
			if errors.Is(err, want) {
				return err
			}
		}
	}
	if token == "" {
		return ErrNoToken
	}
	return ErrBadToken
}

func isUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }
