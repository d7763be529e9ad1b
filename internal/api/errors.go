package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/auth"
	"github.com/wishgate/wishgate/internal/cluster"
	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
)

// Errors of the control API.
var (
	ErrStreamNotFound  = errors.New("no such stream")
	ErrSessionNotFound = errors.New("no such live session")
	ErrAdminToken      = errors.New("the control API needs the admin token: send Authorization: Bearer <token> or ?token=<token>")
	ErrBadAdminToken   = errors.New("the admin token is not valid")
	ErrLoopbackOnly    = errors.New("no admin token is configured, so the control API answers loopback clients only; " +
		"set --admin-token or WISHGATE_ADMIN_TOKEN to use it from elsewhere")
	ErrHostNotAllowed = errors.New("no admin token is configured, so the control API answers requests for a loopback host only " +
		"(127.0.0.1, [::1], localhost) or one in api_allowed_hosts: another Host may be a web page reaching it by DNS rebinding")
	ErrNotReady       = errors.New("not ready")
	ErrSourceNotFound = errors.New("no such source")
	ErrNotJSON        = errors.New("send the body as Content-Type: application/json")
	ErrBadBody        = errors.New("malformed request body")
	// ErrSourcesFull: the cameras changed over the API would no longer fit
	// the bounded state they are kept in.
	ErrSourcesFull = errors.New("too many cameras changed over the control API")
)

// statusOf maps every error the API produces to its HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, cluster.ErrUnreachable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrStreamNotFound), errors.Is(err, ErrSessionNotFound), errors.Is(err, ErrNotClustered),
		errors.Is(err, ErrSourceNotFound), errors.Is(err, bridge.ErrSourceNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrBadBody), errors.Is(err, streams.ErrBadName):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotJSON):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, bridge.ErrInvalidSource):
		return http.StatusUnprocessableEntity
	case errors.Is(err, bridge.ErrSourceExists), errors.Is(err, ErrSourcesFull):
		return http.StatusConflict
	case errors.Is(err, streams.ErrClosed):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrAdminToken), errors.Is(err, ErrBadAdminToken):
		return http.StatusUnauthorized
	case errors.Is(err, ErrLoopbackOnly), errors.Is(err, ErrHostNotAllowed), errors.Is(err, auth.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, auth.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrNotReady):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func (a *API) writeError(c echo.Context, err error) error {
	status := statusOf(err)
	h := c.Response().Header()
	switch status {
	case http.StatusUnauthorized:
		v := `Bearer realm="wishgate-admin"`
		if errors.Is(err, ErrBadAdminToken) {
			v += `, error="invalid_token"`
		}
		h.Set("WWW-Authenticate", v)
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", "1")
	}
	detail := err.Error()
	if status == http.StatusInternalServerError {
		a.log.Error("internal error", "path", c.Path(), "error", err)
		detail = "internal error"
	}
	return signaling.WriteProblem(c, status, detail)
}
