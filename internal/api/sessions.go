package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

func (a *API) listSessions(c echo.Context) error {
	out := itemsJSON[sessionJSON]{Items: []sessionJSON{}}
	if a.cfg.Sessions != nil {
		for _, s := range a.cfg.Sessions.Sessions() {
			if s.Ended {
				continue
			}
			out.Items = append(out.Items, sessionJSON{
				ID: s.ID, Kind: s.Kind, Stream: s.Stream, RemoteAddr: s.RemoteAddr, Since: s.Since.UTC(),
			})
		}
	}
	return c.JSON(http.StatusOK, out)
}

// kickSession ends a session as its own DELETE would; it returns once the
// session has ended, so the 204 means the peer connection is closed.
func (a *API) kickSession(c echo.Context) error {
	id := c.Param("id")
	if a.cfg.Sessions == nil || !a.cfg.Sessions.Kick(id) {
		return a.writeError(c, ErrSessionNotFound)
	}
	a.log.Info("session kicked over the API", "session", id, "remote", c.Request().RemoteAddr)
	return c.NoContent(http.StatusNoContent)
}
