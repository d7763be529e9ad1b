// Package apispec holds openapi.yaml to the server: every route the server
// registers is described and every described route exists, and real
// responses of an in-process gateway, errors included, validate against the
// document.
package apispec

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"go.uber.org/goleak"

	"github.com/wishgate/wishgate"
	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/testutil"
)

func TestMain(m *testing.M) {
	// Bodies kin-openapi has no decoder for are text to these schemas.
	for _, ct := range []string{"application/sdp", "application/trickle-ice-sdpfrag", "text/html",
		"text/javascript", "text/css", "image/svg+xml", "text/event-stream"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
	goleak.VerifyTestMain(m)
}

// loadSpec loads and validates openapi.yaml as the server embeds it.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(wishgate.OpenAPI())
	if err != nil {
		t.Fatalf("openapi.yaml does not load: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi.yaml is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.yaml is not valid: %v", err)
	}
	return doc
}

// echoPaths turns an echo route ("/api/v1/sessions/:id") into the OpenAPI
// path templates it serves ("/api/v1/sessions/{id}"). A wildcard route
// stands for the templates whose names may contain '/'; each is listed.
var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

var wildcards = map[string][]string{
	"/whip/*": {"/whip/{name}", "/whip/{name}/-/{secret}"},
	"/whep/*": {"/whep/{name}", "/whep/{name}/-/{secret}", "/whep/{name}/-/{secret}/layer",
		"/whep/{name}/-/{secret}/sse", "/whep/{name}/-/{secret}/sse/{id}"},
	"/cluster/whep/*":   {"/cluster/whep/{name}", "/cluster/whep/{name}/-/{secret}"},
	"/api/v1/streams/*": {"/api/v1/streams/{name}"},
	"/api/v1/sources/*": {"/api/v1/sources/{name}"},
	"/watch/*":          {"/watch/{name}"},
	"/publish/*":        {"/publish/{name}"},
	"/embed/*":          {"/embed/{name}"},
	"/static/*":         {"/static/{path}"},
}

func echoPaths(p string) []string {
	if t, ok := wildcards[p]; ok {
		return t
	}
	return []string{echoParam.ReplaceAllString(p, "{$1}")}
}

// routable rewrites a request path for the document's router, whose path
// parameters stop at '/': the slashes of a stream name (or a static file's
// path) become %2F, so /whep/site/cam1/-/S is routed as /whep/{name}/-/{secret}.
func routable(path string) string {
	for w := range wildcards {
		prefix := strings.TrimSuffix(w, "*")
		rest, ok := strings.CutPrefix(path, prefix)
		if !ok {
			continue
		}
		name, secret, session := strings.Cut(rest, "/-/")
		path = prefix + strings.ReplaceAll(name, "/", "%2F")
		if session {
			path += "/-/" + secret
		}
		return path
	}
	return path
}

var realMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions}

// routesOf lists "METHOD /path" of the server, skipping echo's internal
// not-found routes (registered for groups with middleware). A method of a
// wildcard route counts for each template it stands for that documents the
// method; for none, it is listed under the first, so that it shows up as
// undocumented.
func routesOf(a *app.App, ops []string) []string {
	var out []string
	for _, r := range a.Routes() {
		if !slices.Contains(realMethods, r.Method) {
			continue
		}
		paths := echoPaths(r.Path)
		found := false
		for _, p := range paths {
			if slices.Contains(ops, r.Method+" "+p) {
				out = append(out, r.Method+" "+p)
				found = true
			}
		}
		if !found {
			out = append(out, r.Method+" "+paths[0])
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func operationsOf(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// TestSpecMatchesRoutes fails when a route is registered but not described,
// or described but not registered.
func TestSpecMatchesRoutes(t *testing.T) {
	doc := loadSpec(t)
	a := testutil.StartGateway(t, nil)
	ops := operationsOf(doc)
	routes := routesOf(a, ops)
	for _, r := range routes {
		if !slices.Contains(ops, r) {
			t.Errorf("route %s is served but not in openapi.yaml", r)
		}
	}
	for _, o := range ops {
		if strings.Contains(o, " /cluster/") {
			continue // served in a cluster only: TestClusterSpec
		}
		if !slices.Contains(routes, o) {
			t.Errorf("openapi.yaml describes %s, which the server does not serve", o)
		}
	}
	if len(routes) < 50 {
		t.Errorf("only %d routes: the gateway's routes were not all found", len(routes))
	}
}

// validator checks every response it sees against the document and records
// which operation answered which status.
type validator struct {
	t      *testing.T
	router routers.Router
	next   http.RoundTripper

	mu      sync.Mutex
	errs    []string
	covered map[string]map[int]bool // "METHOD /path" -> statuses seen
}

func newValidator(t *testing.T, doc *openapi3.T, baseURL string) *validator {
	t.Helper()
	// Route by the in-process server's address, not the document's example.
	doc.Servers = openapi3.Servers{{URL: baseURL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &validator{t: t, router: router, next: tr, covered: map[string]map[int]bool{}}
}

func (v *validator) client() *http.Client { return &http.Client{Transport: v} }

// RoundTrip implements http.RoundTripper: the pion clients' signaling goes
// through it too, so their 201s and PATCH answers are validated.
func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	v.check(req, resp.StatusCode, resp.Header, body)
	return resp, nil
}

// check validates one response.
func (v *validator) check(req *http.Request, status int, header http.Header, body []byte) {
	where := fmt.Sprintf("%s %s -> %d", req.Method, req.URL.Path, status)
	req = req.Clone(req.Context())
	req.URL.Path, req.URL.RawPath = routable(req.URL.Path), ""
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		v.fail("%s: no operation in openapi.yaml: %v", where, err)
		return
	}
	key := req.Method + " " + route.Path
	v.mu.Lock()
	if v.covered[key] == nil {
		v.covered[key] = map[int]bool{}
	}
	v.covered[key][status] = true
	v.mu.Unlock()
	if route.Operation.Responses.Status(status) == nil {
		v.fail("%s: status not documented for %s", where, key)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		v.fail("%s: %v\nbody: %.300s", where, err, body)
	}
}

func (v *validator) fail(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.errs = append(v.errs, fmt.Sprintf(format, args...))
}

// report fails the test with every validation error.
func (v *validator) report() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, e := range v.errs {
		v.t.Error(e)
	}
}
