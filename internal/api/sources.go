package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/bridge"
)

// Sources is the RTSP camera set as the API drives it (*bridge.Sources).
type Sources interface {
	Add(bridge.SourceConfig) error
	Remove(name string) error
	List() []bridge.SourceStatus
	Get(name string) (bridge.SourceStatus, bool)
}

type sourceStatusJSON struct {
	Name      string          `json:"name"`
	URL       string          `json:"url"` // credentials masked
	OnDemand  bool            `json:"on_demand"`
	Transport string          `json:"transport"`
	State     string          `json:"state"` // idle | connecting | playing | retrying
	Since     *time.Time      `json:"since"`
	LastError string          `json:"last_error"`
	Tracks    []trackNoteJSON `json:"tracks"`
	BFrames   bool            `json:"b_frames"`
}

type trackNoteJSON struct {
	Media  int    `json:"media"`
	Codec  string `json:"codec"`
	Status string `json:"status"` // bridged | transcoded | rtsp-only | refused
	Reason string `json:"reason"`
}

// sourceRequest is the PUT body.
type sourceRequest struct {
	URL       string `json:"url"`
	OnDemand  bool   `json:"on_demand"`
	Transport string `json:"transport"`
	// Fingerprint pins an rtsps:// camera's self-signed certificate
	// (SHA-256, hex).
	Fingerprint string `json:"fingerprint"`
}

// maxSourceBody caps a PUT body: a URL and two flags.
const maxSourceBody = 16 << 10

func sourceView(st bridge.SourceStatus) sourceStatusJSON {
	v := sourceStatusJSON{
		Name: st.Name, URL: st.URL, OnDemand: st.OnDemand, Transport: st.Transport, State: st.State,
		LastError: st.LastError, Tracks: make([]trackNoteJSON, 0, len(st.Tracks)), BFrames: st.BFrames,
	}
	if !st.Since.IsZero() {
		since := st.Since.UTC()
		v.Since = &since
	}
	for _, n := range st.Tracks {
		v.Tracks = append(v.Tracks, trackNoteJSON{Media: n.Media, Codec: n.Codec, Status: n.Status, Reason: n.Reason})
	}
	return v
}

func (a *API) listSources(c echo.Context) error {
	list := a.cfg.Sources.List()
	out := itemsJSON[sourceStatusJSON]{Items: make([]sourceStatusJSON, 0, len(list))}
	for _, st := range list {
		out.Items = append(out.Items, sourceView(st))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *API) getSource(c echo.Context, name string) error {
	st, ok := a.cfg.Sources.Get(name)
	if !ok {
		return a.writeError(c, ErrSourceNotFound)
	}
	return c.JSON(http.StatusOK, sourceView(st))
}

// putSource creates (201) or replaces (200) a stream's RTSP source. A
// replacement stops the old pull before the new one starts, so the two never
// publish at once.
func (a *API) putSource(c echo.Context, name string) error {
	req, err := readSourceRequest(c.Request())
	if err != nil {
		return a.writeError(c, err)
	}
	cfg := bridge.SourceConfig{Name: name, URL: req.URL, OnDemand: req.OnDemand,
		Transport: bridge.Transport(req.Transport), Fingerprint: req.Fingerprint}
	if err := cfg.Validate(); err != nil {
		return a.writeError(c, err)
	}
	status := http.StatusCreated
	if _, exists := a.cfg.Sources.Get(name); exists {
		if err := a.cfg.Sources.Remove(name); err != nil && !errors.Is(err, bridge.ErrSourceNotFound) {
			return a.writeError(c, err)
		}
		status = http.StatusOK
	}
	if err := a.cfg.Sources.Add(cfg); err != nil {
		return a.writeError(c, err)
	}
	a.log.Info("source set over the API", "stream", name, "source", cfg.String(), "remote", c.Request().RemoteAddr)
	st, ok := a.cfg.Sources.Get(name)
	if !ok {
		// Removed by a concurrent DELETE in between.
		return a.writeError(c, ErrSourceNotFound)
	}
	if status == http.StatusCreated {
		c.Response().Header().Set("Location", "/api/v1/sources/"+name)
	}
	return c.JSON(status, sourceView(st))
}

func (a *API) deleteSource(c echo.Context, name string) error {
	if err := a.cfg.Sources.Remove(name); err != nil {
		return a.writeError(c, err)
	}
	a.log.Info("source removed over the API", "stream", name, "remote", c.Request().RemoteAddr)
	return c.NoContent(http.StatusNoContent)
}

// readSourceRequest decodes a PUT body strictly: JSON only, unknown keys
// are errors naming the key, the size is capped.
func readSourceRequest(r *http.Request) (sourceRequest, error) {
	var req sourceRequest
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return req, ErrNotJSON
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxSourceBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("%w: %v", ErrBadBody, err)
	}
	if dec.More() {
		return req, fmt.Errorf("%w: more than one JSON value", ErrBadBody)
	}
	if req.URL == "" {
		return req, fmt.Errorf("%w: \"url\" is required", ErrBadBody)
	}
	return req, nil
}
