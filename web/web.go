// Package web serves the gateway's own pages: the live dashboard (/), the
// player (/watch/NAME), the publisher (/publish/NAME) and the embeddable
// player (/embed/NAME, or the <wishgate-player> web component in
// /static/js/wishgate-player.js), plus their assets under /static/. Everything
// is embedded in the binary: there is no build step and no separate
// front-end server. The pages talk to the gateway only through its public
// WHIP/WHEP endpoints and the control API, like any other client would.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/streams"
)

//go:embed assets
var assets embed.FS

// file is one embedded asset with the headers computed once at start-up.
type file struct {
	body  []byte
	ctype string
	etag  string // strong validator: the content hash
}

// Handler serves the pages and assets. It is immutable after New and safe
// for concurrent use.
type Handler struct {
	files map[string]*file // by path below assets/, e.g. "static/js/player.js"
	mux   *http.ServeMux
}

// New loads every embedded asset and builds the routes.
func New() (*Handler, error) {
	h := &Handler{files: map[string]*file{}, mux: http.NewServeMux()}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = http.DetectContentType(body)
		}
		h.files[strings.TrimPrefix(p, "assets/")] = &file{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.mux.HandleFunc("GET /{$}", h.page("index.html", false))
	// Stream names may contain '/' (site/cam1): {name...} takes the rest.
	h.mux.HandleFunc("GET /watch/{name...}", h.named("watch.html", false))
	h.mux.HandleFunc("GET /publish/{name...}", h.named("publish.html", false))
	h.mux.HandleFunc("GET /publish", h.page("publish.html", false))
	h.mux.HandleFunc("GET /embed/{name...}", h.named("embed.html", true))
	h.mux.HandleFunc("GET /static/", h.static)
	h.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		h.serve(w, r, "static/favicon.svg", false)
	})
	return h, nil
}

// Mount registers the pages on e (GET and HEAD). Routes of other
// components (/whip, /whep, /api) are untouched.
func (h *Handler) Mount(e *echo.Echo) {
	wrapped := echo.WrapHandler(h)
	for _, p := range []string{"/", "/watch/*", "/publish", "/publish/*", "/embed/*", "/static/*", "/favicon.ico"} {
		e.GET(p, wrapped)
		e.HEAD(p, wrapped)
	}
}

// ServeHTTP implements http.Handler. HEAD is answered like GET without a
// body (net/http's ServeMux maps HEAD onto GET patterns).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) page(name string, embeddable bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, name, embeddable) }
}

// named serves a page whose URL carries a stream name, after checking it
// by the rule of every other surface: a page that could never play or
// publish is a 404 that says why, not a page that fails later.
func (h *Handler) named(name string, embeddable bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := streams.ValidName(r.PathValue("name")); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		h.serve(w, r, name, embeddable)
	}
}

func (h *Handler) static(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if !strings.HasPrefix(p, "static/") {
		http.NotFound(w, r)
		return
	}
	h.serve(w, r, p, false)
}

// contentSecurityPolicy allows only same-origin scripts, styles and
// connections: the pages speak WHIP/WHEP and the API of the gateway that
// served them, nothing else. frame-ancestors is the only difference
// between the embeddable player (any site may frame it) and the rest.
func contentSecurityPolicy(embeddable bool) string {
	ancestors := "'none'"
	if embeddable {
		ancestors = "*"
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
		"form-action 'self'; frame-ancestors " + ancestors
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, name string, embeddable bool) {
	f, ok := h.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", f.ctype)
	hdr.Set("ETag", f.etag)
	// Revalidate every time: files are small and an upgraded gateway must
	// never run a page against stale scripts. The ETag makes it a 304.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Content-Type-Options", "nosniff")
	// Tokens may sit in page URLs (?token=): never leak them in Referer.
	hdr.Set("Referrer-Policy", "no-referrer")
	if strings.HasSuffix(name, ".html") {
		hdr.Set("Content-Security-Policy", contentSecurityPolicy(embeddable))
		if !embeddable {
			hdr.Set("X-Frame-Options", "DENY")
		}
	} else {
		// Scripts and styles may be loaded by other sites: the
		// <wishgate-player> component is a module script, and module
		// scripts from another origin need CORS.
		hdr.Set("Access-Control-Allow-Origin", "*")
		hdr.Set("Cross-Origin-Resource-Policy", "cross-origin")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
