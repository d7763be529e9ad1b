package api

import (
	"net"
	"net/http"
	"runtime"
	"runtime/debug"

	"github.com/labstack/echo/v4"
)

// BuildInfo is what the binary knows about its own build, from the module
// and VCS stamps the go command embeds (no -ldflags needed).
type BuildInfo struct {
	Version string
	Commit  string
	Go      string
}

// ReadBuildInfo reads the running binary's build stamps.
func ReadBuildInfo() BuildInfo {
	b := BuildInfo{Version: "devel", Commit: "unknown", Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && b.Commit != "unknown" {
		b.Commit += "-dirty"
	}
	return b
}

func (a *API) info(c echo.Context) error {
	// URLs as this client reached us: the Host it used is the name that
	// works for it (behind a proxy or NAT the listen address would not).
	host := c.Request().Host
	scheme := c.Scheme()
	urls := map[string]string{
		"whip": scheme + "://" + host + "/whip/{name}",
		"whep": scheme + "://" + host + "/whep/{name}",
	}
	addURL := func(key string, addr func() net.Addr) {
		if addr == nil {
			return
		}
		if bound := addr(); bound != nil {
			h, _, err := net.SplitHostPort(host)
			if err != nil {
				h = host
			}
			_, port, _ := net.SplitHostPort(bound.String())
			urls[key] = key + "://" + net.JoinHostPort(h, port) + "/{name}"
		}
	}
	addURL("rtsp", a.cfg.RTSPAddr)
	addURL("rtsps", a.cfg.RTSPSAddr)
	return c.JSON(http.StatusOK, infoJSON{
		Version: a.build.Version, Commit: a.build.Commit, Go: a.build.Go,
		StartedAt: a.cfg.StartedAt.UTC(), URLs: urls,
	})
}
