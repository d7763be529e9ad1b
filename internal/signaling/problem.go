package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/internal/auth"
	"github.com/wishgate/wishgate/internal/rtc"
	"github.com/wishgate/wishgate/streams"
)

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Errors of the HTTP edge itself.
var (
	ErrNotFound             = errors.New("no such session")
	ErrUnsupportedType      = errors.New("unsupported Content-Type")
	ErrTooLarge             = errors.New("request body too large")
	ErrBodyTimeout          = errors.New("the request body did not arrive in time (http_read_timeout)")
	ErrBodyUnreadable       = errors.New("the request body cannot be read")
	ErrPreconditionFailed   = errors.New("If-Match does not match the session's ETag")
	ErrPreconditionRequired = errors.New("If-Match is required")
	ErrShuttingDown         = errors.New("server is shutting down")
	// ErrUnavailable: something the answer depends on (the cluster's
	// directory) cannot be reached right now; 503 + Retry-After.
	ErrUnavailable = errors.New("temporarily unavailable")
	// ErrOverloaded: the gateway takes no new viewers (its CPU is over the
	// configured threshold); 503 + Retry-After unless redirected.
	ErrOverloaded = errors.New("the gateway is too busy for new viewers")
)

// statusOf maps every error the edge can meet to its HTTP status: the one
// place where domain errors become protocol answers.
func statusOf(err error) int {
	switch {
	case errors.Is(err, streams.ErrBadName), errors.Is(err, rtc.ErrMalformed), errors.Is(err, ErrBodyUnreadable),
		errors.Is(err, streams.ErrBadLayer), errors.Is(err, ErrBadJSON):
		return http.StatusBadRequest
	case errors.Is(err, auth.ErrNoToken), errors.Is(err, auth.ErrBadToken):
		return http.StatusUnauthorized
	case errors.Is(err, auth.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, streams.ErrConflict), errors.Is(err, streams.ErrNotLive):
		return http.StatusConflict
	case errors.Is(err, ErrPreconditionFailed):
		return http.StatusPreconditionFailed
	case errors.Is(err, ErrBodyTimeout):
		return http.StatusRequestTimeout
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnsupportedType):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, rtc.ErrUnsupported), errors.Is(err, streams.ErrCodecChanged), errors.Is(err, rtc.ErrTooManyCandidates),
		errors.Is(err, streams.ErrNoLayer), errors.Is(err, ErrLayerUnsupported):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrPreconditionRequired):
		return http.StatusPreconditionRequired
	case errors.Is(err, ErrShuttingDown), errors.Is(err, streams.ErrClosed), errors.Is(err, auth.ErrUnavailable),
		errors.Is(err, ErrTooManySessions), errors.Is(err, ErrTooManyStreams), errors.Is(err, ErrTooManyViewers),
		errors.Is(err, ErrBusy), errors.Is(err, ErrNodeFull), errors.Is(err, ErrUnavailable), errors.Is(err, ErrOverloaded),
		errors.Is(err, rtc.ErrNegotiationTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// writeError sends err as a problem, with the headers its status calls for.
func (s *Server) writeError(c echo.Context, err error) error {
	status := statusOf(err)
	h := c.Response().Header()
	switch status {
	case http.StatusUnauthorized:
		v := `Bearer realm="wishgate"`
		if errors.Is(err, auth.ErrBadToken) {
			v += `, error="invalid_token"`
		}
		h.Set("WWW-Authenticate", v)
	case http.StatusConflict:
		if errors.Is(err, streams.ErrNotLive) {
			h.Set("Retry-After", strconv.Itoa(s.cfg.RetryAfterSeconds))
		}
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", strconv.Itoa(s.cfg.RetryAfterSeconds))
	case http.StatusTooManyRequests:
		h.Set("Retry-After", strconv.Itoa(s.lim.retryAfter()))
	}
	detail := err.Error()
	if status == http.StatusInternalServerError {
		s.log.Error("internal error", "path", c.Path(), "error", err)
		detail = "internal error"
	}
	return WriteProblem(c, status, detail)
}

// WriteProblem writes an application/problem+json response.
func WriteProblem(c echo.Context, status int, detail string) error {
	body, _ := json.Marshal(Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
	return c.Blob(status, "application/problem+json", body)
}
