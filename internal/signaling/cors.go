package signaling

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
)

// cors answers every WHIP/WHEP response, preflight included, with the CORS
// headers browsers need: Authorization must be listed explicitly (a "*" does
// not cover it), and Location/ETag/Link must be exposed or JavaScript cannot
// PATCH or DELETE (mediamtx#2453; docs/protocol.md).
func (s *Server) cors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		origin := c.Request().Header.Get("Origin")
		h := c.Response().Header()
		if origin != "" && s.originAllowed(origin) {
			if s.anyOrigin() {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Add("Vary", "Origin")
			}
			h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Patch, Accept-Post, Access-Control-Allow-Methods")
			if isPreflight(c.Request()) {
				h.Set("Access-Control-Allow-Methods", "OPTIONS, GET, HEAD, POST, PATCH, DELETE")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
				h.Set("Access-Control-Max-Age", "86400")
			}
		} else if origin != "" && isPreflight(c.Request()) {
			return c.NoContent(http.StatusForbidden)
		}
		return next(c)
	}
}

func (s *Server) anyOrigin() bool {
	o := s.origins()
	return len(o) == 0 || slices.Contains(o, "*")
}

func (s *Server) originAllowed(origin string) bool {
	return s.anyOrigin() || slices.Contains(s.origins(), origin)
}
