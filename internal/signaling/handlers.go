package signaling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/internal/auth"
	"github.com/wishgate/wishgate/internal/rtc"
	"github.com/wishgate/wishgate/streams"
)

const (
	typeSDP  = "application/sdp"
	typeFrag = "application/trickle-ice-sdpfrag"
)

// token reads the bearer token from the Authorization header or, as RFC 9725
// §4.7 allows, a "token" query parameter.
func token(r *http.Request) string {
	if t := auth.BearerToken(r.Header.Get("Authorization")); t != "" {
		return t
	}
	return r.URL.Query().Get("token")
}

// readBody enforces the Content-Type (parameters such as charset are
// accepted: RFC 9110 §8.3.1) and the size cap, reading the raw bytes
// without any framework binder (some answer 415 to trickle-ice-sdpfrag).
func (s *Server) readBody(c echo.Context, want string) ([]byte, error) {
	return s.readBodyLimit(c, want, s.cfg.MaxBodyBytes)
}

// readBodyLimit is readBody with a cap of its own.
func (s *Server) readBodyLimit(c echo.Context, want string, limit int64) ([]byte, error) {
	r := c.Request()
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(mt, want) {
		got := r.Header.Get("Content-Type")
		if got == "" {
			got = "none"
		}
		return nil, &typeError{got: got, want: want}
	}
	if r.ContentLength > limit {
		return nil, ErrTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, ErrTooLarge
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil, ErrBodyTimeout // http_read_timeout passed: a stalled body
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBodyUnreadable, err)
	}
	return body, nil
}

type typeError struct{ got, want string }

func (e *typeError) Error() string {
	return "Content-Type " + e.got + " is not accepted here; send " + e.want
}
func (e *typeError) Unwrap() error { return ErrUnsupportedType }

func (s *Server) post(prefix string, ep Endpoint) handler {
	return func(c echo.Context, name, _ string) error {
		h := c.Response().Header()
		h.Set("Accept-Post", typeSDP)
		if err := streams.ValidName(name); err != nil {
			return s.writeError(c, err)
		}
		s.mu.Lock()
		closing := s.closing
		s.mu.Unlock()
		if closing {
			return s.writeError(c, ErrShuttingDown)
		}
		if err := s.authorize(c, ep.Action(), name); err != nil {
			return s.writeError(c, err)
		}
		body, err := s.readBody(c, typeSDP)
		if err != nil {
			return s.writeError(c, err)
		}
		offer, err := rtc.ParseOffer(body)
		if err != nil {
			return s.writeError(c, err)
		}
		if prefix == "whep" && s.cfg.Overflow != nil && s.cfg.Overflow.Overloaded() {
			return s.overflow(c, name, ErrOverloaded)
		}
		tk, err := s.lim.admit(prefix, name)
		if err != nil {
			if prefix == "whep" {
				return s.overflow(c, name, err)
			}
			return s.writeError(c, err)
		}
		registered := false
		defer func() {
			if !registered {
				tk.done()
			}
		}()
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.OfferTimeout)
		defer cancel()
		slot, err := s.lim.negotiating(ctx)
		if err != nil {
			return s.writeError(c, err)
		}
		defer slot()
		secret := rtc.RandomToken(16)
		req := OfferRequest{
			Context:    ctx,
			Stream:     name,
			Offer:      offer,
			SessionID:  rtc.RandomToken(6),
			RemoteAddr: c.RealIP(),
			UserAgent:  c.Request().UserAgent(),
			Header:     c.Request().Header,
			Query:      c.Request().URL.Query(),
		}
		answer, res, err := ep.Offer(req)
		if err != nil {
			return s.writeError(c, err)
		}
		if !s.add(secret, prefix, ep.Kind(), name, res, req, tk) {
			res.Close()
			return s.writeError(c, ErrShuttingDown)
		}
		registered = true
		h.Set("Location", SessionPath(prefix, name, secret))
		h.Set("ETag", res.Peer().ETag())
		h.Set("Accept-Patch", typeFrag)
		s.setLinks(h)
		if prefix == "whep" {
			s.extLinks(h, SessionPath(prefix, name, secret), res)
		}
		return c.Blob(http.StatusCreated, typeSDP, []byte(answer))
	}
}

// setLinks announces ICE servers, one Link field each: OBS splits a combined
// field on every comma (RFC 9725 §4.6).
func (s *Server) setLinks(h http.Header) {
	for _, is := range s.iceServers() {
		v := "<" + is.URL + `>; rel="ice-server"`
		if is.Username != "" {
			v += `; username="` + is.Username + `"; credential="` + is.Credential + `"; credential-type="password"`
		}
		h.Add("Link", v)
	}
}

func (s *Server) patch(prefix string) handler {
	return func(c echo.Context, name, secret string) error {
		c.Response().Header().Set("Accept-Patch", typeFrag)
		e, err := s.lookup(prefix, name, secret)
		if err != nil || ended(e.res) {
			return s.writeError(c, ErrNotFound)
		}
		body, err := s.readBody(c, typeFrag)
		if err != nil {
			return s.writeError(c, err)
		}
		peer := e.res.Peer()
		if err := s.checkIfMatch(c.Request().Header.Get("If-Match"), peer.ETag()); err != nil {
			return s.writeError(c, err)
		}
		frag, err := rtc.ParseFragment(body)
		if err != nil {
			return s.writeError(c, err)
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.OfferTimeout)
		defer cancel()
		if frag.Ufrag != "" {
			// Possibly an ICE restart, which gathers like a POST: it takes
			// a pending-offer slot too (max_pending_offers).
			slot, err := s.lim.negotiating(ctx)
			if err != nil {
				return s.writeError(c, err)
			}
			defer slot()
		}
		resp, err := peer.Patch(ctx, frag)
		if err != nil {
			return s.writeError(c, err)
		}
		if resp == "" {
			return c.NoContent(http.StatusNoContent)
		}
		c.Response().Header().Set("ETag", peer.ETag())
		return c.Blob(http.StatusOK, typeFrag, []byte(resp))
	}
}

// checkIfMatch applies RFC 9725 §4.3.1, except that a missing If-Match
// passes unless StrictETag is set: several clients send none
// (docs/protocol.md).
func (s *Server) checkIfMatch(ifMatch, etag string) error {
	ifMatch = strings.TrimSpace(ifMatch)
	switch {
	case ifMatch == "":
		if s.cfg.StrictETag {
			return ErrPreconditionRequired
		}
		return nil
	case ifMatch == "*":
		return nil
	}
	for _, tag := range strings.Split(ifMatch, ",") {
		if strings.TrimSpace(tag) == etag {
			return nil
		}
	}
	return ErrPreconditionFailed
}

func (s *Server) delete(prefix string) handler {
	return func(c echo.Context, name, secret string) error {
		// If-Match is ignored on DELETE (§4.3.1): simple-whep-client sends it.
		e, err := s.claimDelete(prefix, name, secret)
		if err != nil {
			return s.writeError(c, err)
		}
		e.res.Close() // returns at once for a session that already ended
		return c.NoContent(http.StatusOK)
	}
}

// ended reads the session's own done signal: entry.ended belongs to the
// server's lock and the handlers run outside it.
func ended(r Resource) bool {
	select {
	case <-r.Done():
		return true
	default:
		return false
	}
}

func (s *Server) optionsEndpoint(ep Endpoint) handler {
	return func(c echo.Context, name, _ string) error {
		h := c.Response().Header()
		h.Set("Accept-Post", typeSDP)
		if isPreflight(c.Request()) {
			// The preflight never carries the token: don't ask for one.
			return c.NoContent(http.StatusNoContent)
		}
		h.Set("Allow", "OPTIONS, GET, HEAD, POST")
		h.Set("Access-Control-Allow-Methods", "OPTIONS, GET, HEAD, POST, PATCH, DELETE")
		// ICE servers go only to clients allowed to use the endpoint.
		if s.authorize(c, ep.Action(), name) == nil {
			s.setLinks(h)
		}
		return c.NoContent(http.StatusNoContent)
	}
}

func (s *Server) optionsSession(c echo.Context, _, _ string) error {
	h := c.Response().Header()
	h.Set("Accept-Patch", typeFrag)
	if !isPreflight(c.Request()) {
		h.Set("Allow", "OPTIONS, GET, HEAD, PATCH, DELETE")
		h.Set("Access-Control-Allow-Methods", "OPTIONS, GET, HEAD, PATCH, DELETE")
	}
	return c.NoContent(http.StatusNoContent)
}

// emptyOK answers GET (2xx, no content: RFC 9725 §4.1) and HEAD (200 with
// the Content-Type the endpoint accepts, WHEP discoverability).
func (s *Server) emptyOK(head bool) handler {
	return func(c echo.Context, _, _ string) error {
		if head {
			c.Response().Header().Set("Content-Type", typeSDP)
			c.Response().WriteHeader(http.StatusOK)
			return nil
		}
		return c.NoContent(http.StatusNoContent)
	}
}

func (s *Server) notAllowed(allow string) handler {
	return func(c echo.Context, _, _ string) error {
		c.Response().Header().Set("Allow", allow)
		return WriteProblem(c, http.StatusMethodNotAllowed, c.Request().Method+" is not supported here; allowed: "+allow)
	}
}

func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}
