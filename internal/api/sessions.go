package api

import (
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"
)

// listSessions lists the live WHIP/WHEP sessions of the HTTP edge and the
// RTSP ones the registry knows (publishers, camera pulls, readers).
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
	for _, info := range a.cfg.Registry.List() {
		if p := info.Publisher; p != nil && p.SessionID != "" && (p.Protocol == "rtsp" || p.Protocol == "rtsp-source") {
			out.Items = append(out.Items, sessionJSON{
				ID: p.SessionID, Kind: sourceKind(p.Protocol), Stream: info.Name, RemoteAddr: p.RemoteAddr, Since: info.Since.UTC(),
			})
		}
		for _, sub := range info.Subscribers {
			if sub.Protocol == "rtsp" && sub.SessionID != "" {
				out.Items = append(out.Items, sessionJSON{
					ID: sub.SessionID, Kind: "rtsp-read", Stream: info.Name, RemoteAddr: sub.RemoteAddr, Since: sub.Since.UTC(),
				})
			}
		}
	}
	sort.SliceStable(out.Items, func(i, j int) bool { return out.Items[i].Since.Before(out.Items[j].Since) })
	return c.JSON(http.StatusOK, out)
}

// kickSession ends a session by its public id. A WHIP/WHEP session is
// closed as its own DELETE would close it, and the answer waits until it has
// ended; an RTSP session is cut through the registry and ends right after.
func (a *API) kickSession(c echo.Context) error {
	id := c.Param("id")
	kicked := a.cfg.Sessions != nil && a.cfg.Sessions.Kick(id)
	if !kicked {
		kicked = a.cfg.Registry.Kick(id)
	}
	if !kicked {
		return a.writeError(c, ErrSessionNotFound)
	}
	a.log.Info("session kicked over the API", "session", id, "remote", c.Request().RemoteAddr)
	return c.NoContent(http.StatusNoContent)
}
