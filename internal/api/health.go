package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// healthz says the process is up and serving HTTP; nothing more, so a
// container runtime does not restart a gateway that is merely busy.
func (a *API) healthz(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.String(http.StatusOK, "ok")
}

// readyz says every listener is bound (HTTP, WebRTC media, RTSP when on).
func (a *API) readyz(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if err := a.cfg.Ready(); err != nil {
		return a.writeError(c, &notReady{err})
	}
	return c.String(http.StatusOK, "ready")
}

type notReady struct{ err error }

func (e *notReady) Error() string { return "not ready: " + e.err.Error() }
func (e *notReady) Unwrap() error { return ErrNotReady }

// openapi serves openapi.yaml, the description of every route.
func (a *API) openapi(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", a.spec)
}
