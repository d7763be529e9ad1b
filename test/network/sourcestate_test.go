package network

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

// stateRig runs gateways from one config file, one after the other, to
// look at the cameras each one starts with. Port 1 on loopback refuses: the
// cameras stay in their retry loop, which is all the rules need.
type stateRig struct {
	t    *testing.T
	dir  string
	cfg  string // the config file
	args []string
}

func newStateRig(t *testing.T, body string) *stateRig {
	dir := t.TempDir()
	r := &stateRig{t: t, dir: dir, cfg: filepath.Join(dir, "wishgate.yaml")}
	r.args = []string{"--config", r.cfg}
	writeAtomically(t, r.cfg, body)
	return r
}

func (r *stateRig) state() string { return filepath.Join(r.dir, config.DefaultSourcesStateFile) }

// run starts a gateway; the caller closes it.
func (r *stateRig) run() (*app.App, *testutil.LogBuffer, config.Source) {
	r.t.Helper()
	src := config.Source{Args: r.args, Getenv: loopbackEnv(r.t, nil)}
	cfg, err := src.Load()
	if err != nil {
		r.t.Fatal(err)
	}
	lb := &testutil.LogBuffer{}
	a, err := app.New(cfg, slog.New(slog.NewTextHandler(lb, nil)))
	if err != nil {
		r.t.Fatal(err)
	}
	return a, lb, src
}

// cameras lists name=url (credentials masked) from GET /api/v1/sources.
func (r *stateRig) cameras(a *app.App) string {
	r.t.Helper()
	resp, err := http.Get(a.URL() + "/api/v1/sources")
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("GET /api/v1/sources: %d", resp.StatusCode)
	}
	var out struct {
		Items []struct {
			Name, URL string
			OnDemand  bool `json:"on_demand"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		r.t.Fatal(err)
	}
	var n []string
	for _, it := range out.Items {
		s := it.Name + "=" + it.URL
		if it.OnDemand {
			s += "(on demand)"
		}
		n = append(n, s)
	}
	sort.Strings(n)
	return strings.Join(n, " ")
}

func (r *stateRig) call(a *app.App, method, name, body string, want int) {
	r.t.Helper()
	req, err := http.NewRequest(method, a.URL()+"/api/v1/sources/"+name, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		r.t.Fatalf("%s %s: %d %s, want %d", method, name, resp.StatusCode, b, want)
	}
}

// TestSourceStateAcrossRestarts: cameras added, replaced and removed over
// the API come back that way after a restart, kept next to the config file
// (mode 0600, written atomically: no temporary file left). An API change to
// one of the file's cameras holds until the file's own entry for it
// changes between two runs; then the file's version runs.
func TestSourceStateAcrossRestarts(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	r := newStateRig(t, `
sources: ["filecam=rtsp://127.0.0.1:1/file", "old=rtsp://127.0.0.1:1/old"]
sources_on_demand: ["lobby=rtsp://127.0.0.1:1/lobby"]
`)
	a, _, _ := r.run()
	r.call(a, http.MethodPut, "door", `{"url":"rtsp://admin:pw@127.0.0.1:1/door","on_demand":true}`, http.StatusCreated)
	r.call(a, http.MethodPut, "site/yard", `{"url":"rtsp://127.0.0.1:1/yard","transport":"tcp"}`, http.StatusCreated)
	r.call(a, http.MethodPut, "gone", `{"url":"rtsp://127.0.0.1:1/gone"}`, http.StatusCreated)
	r.call(a, http.MethodDelete, "gone", "", http.StatusNoContent)
	r.call(a, http.MethodPut, "filecam", `{"url":"rtsp://127.0.0.1:1/from-the-api"}`, http.StatusOK) // replaces the file's
	r.call(a, http.MethodDelete, "old", "", http.StatusNoContent)                                    // removes the file's
	const want = "door=rtsp://admin:***@127.0.0.1:1/door(on demand) filecam=rtsp://127.0.0.1:1/from-the-api " +
		"lobby=rtsp://127.0.0.1:1/lobby(on demand) site/yard=rtsp://127.0.0.1:1/yard"
	if got := r.cameras(a); got != want {
		t.Fatalf("cameras\n got %s\nwant %s", got, want)
	}
	fi, err := os.Stat(r.state())
	if err != nil {
		t.Fatalf("no state file next to the config: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600 (camera passwords)", fi.Mode().Perm())
	}
	b, err := os.ReadFile(r.state())
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, "admin:pw@") || strings.Contains(s, "/lobby") || strings.Contains(s, `"gone"`) {
		t.Errorf("the state file must hold the API's changes only, with their credentials:\n%s", s)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(r.dir, ".wishgate-sources-*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}

	b2, lb, _ := r.run()
	if got := r.cameras(b2); got != want {
		t.Errorf("after a restart\n got %s\nwant %s\nlog:\n%s", got, want, lb)
	}
	if !strings.Contains(lb.String(), "camera changes made over the control API restored") || strings.Contains(lb.String(), "admin:pw") {
		t.Errorf("the restore is not logged, or logged with a password:\n%s", lb)
	}
	if err := b2.Close(); err != nil {
		t.Fatal(err)
	}

	// Between two runs the file changes filecam and drops lobby: for
	// filecam the file's version runs again; "old", unchanged in the file,
	// stays removed.
	writeAtomically(t, r.cfg, `
sources: ["filecam=rtsp://127.0.0.1:1/file-v2", "old=rtsp://127.0.0.1:1/old"]
`)
	c, lc, _ := r.run()
	defer c.Close()
	const want3 = "door=rtsp://admin:***@127.0.0.1:1/door(on demand) filecam=rtsp://127.0.0.1:1/file-v2 site/yard=rtsp://127.0.0.1:1/yard"
	if got := r.cameras(c); got != want3 {
		t.Errorf("after the file changed\n got %s\nwant %s\nlog:\n%s", got, want3, lc)
	}
	if b, _ := os.ReadFile(r.state()); strings.Contains(string(b), "from-the-api") || !strings.Contains(string(b), `"old"`) {
		t.Errorf("the state file still holds the change the file overrode, or lost the removal:\n%s", b)
	}
}

// TestSourceStateReload: a reload that changes one of the file's cameras,
// or names one the API added, runs the file's version and drops the API's
// change from the state file; the others keep what the API did.
func TestSourceStateReload(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	r := newStateRig(t, `sources: ["a=rtsp://127.0.0.1:1/a", "b=rtsp://127.0.0.1:1/b"]`+"\n")
	gw, _, src := r.run()
	defer gw.Close()
	results := make(chan reloadResult, 4)
	w, err := app.NewWatcher(gw, src, nil, slog.New(slog.DiscardHandler), func(r []string, err error) { results <- reloadResult{r, err} })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r.call(gw, http.MethodPut, "a", `{"url":"rtsp://127.0.0.1:1/api-a"}`, http.StatusOK)
	r.call(gw, http.MethodPut, "b", `{"url":"rtsp://127.0.0.1:1/api-b"}`, http.StatusOK)
	r.call(gw, http.MethodPut, "c", `{"url":"rtsp://127.0.0.1:1/api-c"}`, http.StatusCreated)

	// a unchanged, b changed, c newly in the file.
	writeAtomically(t, r.cfg, `sources: ["a=rtsp://127.0.0.1:1/a", "b=rtsp://127.0.0.1:1/b2", "c=rtsp://127.0.0.1:1/c"]`+"\n")
	if res := nextResult(t, results); res.err != nil {
		t.Fatalf("reload: %v", res.err)
	}
	const want = "a=rtsp://127.0.0.1:1/api-a b=rtsp://127.0.0.1:1/b2 c=rtsp://127.0.0.1:1/c"
	if got := r.cameras(gw); got != want {
		t.Fatalf("after the reload\n got %s\nwant %s", got, want)
	}
	b, err := os.ReadFile(r.state())
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, "api-a") || strings.Contains(s, "api-b") || strings.Contains(s, "api-c") {
		t.Errorf("state file after the reload:\n%s", s)
	}
}

// A state file that does not read is reported, never overwritten, and the
// file's cameras run; without a config file nothing is kept (and the log
// says so) unless sources_state_file names a file.
func TestSourceStateUnreadableAndNoConfig(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	r := newStateRig(t, `sources: ["a=rtsp://127.0.0.1:1/a"]`+"\n")
	if err := os.WriteFile(r.state(), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, lb, _ := r.run()
	if got := r.cameras(a); got != "a=rtsp://127.0.0.1:1/a" {
		t.Errorf("cameras %s", got)
	}
	if !strings.Contains(lb.String(), "sources state file not read") {
		t.Errorf("the unreadable state file was not reported:\n%s", lb)
	}
	r.call(a, http.MethodPut, "new", `{"url":"rtsp://127.0.0.1:1/new"}`, http.StatusCreated)
	if b, _ := os.ReadFile(r.state()); string(b) != "{not json" {
		t.Errorf("the unreadable state file was overwritten: %q", b)
	}
	if !strings.Contains(lb.String(), "camera change not kept") {
		t.Errorf("the change that could not be kept was not reported:\n%s", lb)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	none := &stateRig{t: t, dir: t.TempDir()}
	b, lnone, _ := none.run()
	if !strings.Contains(lnone.String(), "last until the next restart") {
		t.Errorf("without a config file the log must say API changes are not kept:\n%s", lnone)
	}
	none.call(b, http.MethodPut, "x", `{"url":"rtsp://127.0.0.1:1/x"}`, http.StatusCreated)
	_ = b.Close()

	named := &stateRig{t: t, dir: t.TempDir()}
	named.args = []string{"--sources-state-file", named.state()}
	c, _, _ := named.run()
	named.call(c, http.MethodPut, "x", `{"url":"rtsp://127.0.0.1:1/x"}`, http.StatusCreated)
	_ = c.Close()
	d, _, _ := named.run()
	defer d.Close()
	if got := named.cameras(d); got != "x=rtsp://127.0.0.1:1/x" {
		t.Errorf("with --sources-state-file and no config file, after a restart: %q", got)
	}
}

// The state file is bounded: a change that would make it larger than
// 1 MiB is refused with 409 and nothing changes (the camera does not run,
// the file keeps what it had); a file larger than that is reported at
// start-up and left untouched, and the config file's cameras run.
func TestSourceStateBounded(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	r := newStateRig(t, `sources: ["a=rtsp://127.0.0.1:1/a"]`+"\n")
	a, _, _ := r.run()
	long := strings.Repeat("p", 15<<10) // a PUT body stays under its 16 KiB cap
	put := func(i int) *http.Response {
		req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/api/v1/sources/big%d", a.URL(), i),
			strings.NewReader(fmt.Sprintf(`{"url":"rtsp://127.0.0.1:1/%s","on_demand":true}`, long)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	refused := -1
	for i := range 100 { // 100 × 15 KiB is past 1 MiB
		resp := put(i)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated {
			continue
		}
		if resp.StatusCode != http.StatusConflict || !strings.Contains(string(b), "too many cameras changed over the control API") {
			t.Fatalf("PUT big%d: %d %s, want 409 saying the state is full", i, resp.StatusCode, b)
		}
		refused = i
		break
	}
	if refused < 0 {
		t.Fatal("100 cameras of 15 KiB each were all kept: the state file is unbounded")
	}
	api := func(gw *app.App, path string) int {
		resp, err := http.Get(gw.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := api(a, fmt.Sprintf("/api/v1/sources/big%d", refused)); st != http.StatusNotFound {
		t.Errorf("the refused camera runs anyway: GET %d", st)
	}
	fi, err := os.Stat(r.state())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 1<<20 {
		t.Errorf("state file %d bytes, over 1 MiB", fi.Size())
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, _, _ := r.run()
	if st := api(b, fmt.Sprintf("/api/v1/sources/big%d", refused-1)); st != http.StatusOK {
		t.Errorf("the last camera kept is not back after a restart: GET %d", st)
	}
	_ = b.Close()

	huge := append([]byte(`{"version":1,"sources":[],"pad":"`), make([]byte, 1<<20)...)
	if err := os.WriteFile(r.state(), huge, 0o600); err != nil {
		t.Fatal(err)
	}
	c, lc, _ := r.run()
	defer c.Close()
	if got := r.cameras(c); got != "a=rtsp://127.0.0.1:1/a" {
		t.Errorf("with an oversized state file the config file's cameras must run: %s", got)
	}
	if !strings.Contains(lc.String(), "sources state file not read") || !strings.Contains(lc.String(), "larger than 1024 KiB") {
		t.Errorf("the oversized state file was not reported:\n%s", lc)
	}
	if fi, err := os.Stat(r.state()); err != nil || fi.Size() != int64(len(huge)) {
		t.Errorf("the oversized state file was touched: %v %v", fi, err)
	}
}
