package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/internal/rtc"
)

// Diagnoser reports what the WebRTC side would advertise (rtc.Engine).
type Diagnoser interface {
	Diagnose(ctx context.Context) (rtc.Diagnostics, error)
}

// Diagnostics is the body of GET /api/v1/diagnostics: the media sockets,
// the advertised-address resolutions and STUN results, the candidates an
// answer would carry now, the ICE server URLs announced to clients (never
// their credentials) and warnings about the usual NAT mistakes.
type Diagnostics struct {
	rtc.Diagnostics
	ICEServers []string `json:"ice_servers"`
}

// diagnoseTimeout bounds candidate gathering for the report.
const diagnoseTimeout = 5 * time.Second

// MountDiagnostics registers GET /api/v1/diagnostics behind the admin
// check. iceServers lists the announced ICE server URLs (may be nil).
func (a *API) MountDiagnostics(e *echo.Echo, d Diagnoser, iceServers func() []string) {
	e.GET("/api/v1/diagnostics", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), diagnoseTimeout)
		defer cancel()
		rep, err := d.Diagnose(ctx)
		if err != nil {
			// A closed engine or a gathering timeout is still a report:
			// the sockets part says what is wrong.
			rep.Warnings = append(rep.Warnings, "candidate gathering failed: "+err.Error())
		}
		body := Diagnostics{Diagnostics: rep, ICEServers: []string{}}
		if iceServers != nil {
			body.ICEServers = append(body.ICEServers, iceServers()...)
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.JSON(http.StatusOK, body)
	}, a.requireAdmin)
}
