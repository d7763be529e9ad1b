package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// listSessions lists every session of every protocol from the registry's
// one catalogue, oldest first.
func (a *API) listSessions(c echo.Context) error {
	list := a.cfg.Registry.Sessions()
	out := itemsJSON[sessionJSON]{Items: make([]sessionJSON, 0, len(list))}
	for _, s := range list {
		out.Items = append(out.Items, sessionJSON{
			ID: s.ID, Kind: s.Kind.String(), Stream: s.Stream, RemoteAddr: s.RemoteAddr, Since: s.Since.UTC(),
		})
	}
	return c.JSON(http.StatusOK, out)
}

// kickSession ends a session by its public id, whatever its protocol: it
// has left its stream when the answer comes, and its connection closes
// right after (a kicked camera pull reconnects).
func (a *API) kickSession(c echo.Context) error {
	id := c.Param("id")
	if !a.cfg.Registry.Kick(id) {
		return a.writeError(c, ErrSessionNotFound)
	}
	a.log.Info("session kicked over the API", "session", id, "remote", c.Request().RemoteAddr)
	return c.NoContent(http.StatusNoContent)
}
