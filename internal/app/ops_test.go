package app_test

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func start(t *testing.T, mutate func(*config.Config)) *app.App {
	t.Helper()
	cfg := testutil.LoopbackConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := app.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPprofOnlyOnItsOwnListener: off by default; when on, served on the
// pprof address and never on the public HTTP listener.
func TestPprofOnlyOnItsOwnListener(t *testing.T) {
	off := start(t, nil)
	if off.PprofAddr() != nil {
		t.Fatalf("pprof listening by default at %s", off.PprofAddr())
	}
	if code, _ := get(t, off.URL()+"/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("public listener /debug/pprof/ = %d, want 404", code)
	}

	on := start(t, func(c *config.Config) { c.PprofAddr = "127.0.0.1:0" })
	if on.PprofAddr() == nil {
		t.Fatal("pprof not listening with pprof_addr set")
	}
	code, body := get(t, "http://"+on.PprofAddr().String()+"/debug/pprof/")
	if code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof index = %d %.200s", code, body)
	}
	if code, body := get(t, "http://"+on.PprofAddr().String()+"/debug/pprof/cmdline"); code != 200 || body == "" {
		t.Errorf("pprof cmdline = %d", code)
	}
	if code, _ := get(t, on.URL()+"/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("public listener /debug/pprof/ = %d with pprof on, want 404", code)
	}
	if code, _ := get(t, "http://"+on.PprofAddr().String()+"/metrics"); code != http.StatusNotFound {
		t.Errorf("pprof listener serves more than pprof: /metrics = %d", code)
	}
	addr := on.PprofAddr().String()
	if err := on.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Error("pprof still answering after Close")
	}
}

// TestPprofAddrValidated: a bad address or the HTTP address itself is
// refused at start-up, naming the setting.
func TestPprofAddrValidated(t *testing.T) {
	for _, bad := range []string{"nonsense", ":8080"} {
		cfg := config.Default()
		cfg.PprofAddr = bad
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "pprof") {
			t.Errorf("pprof_addr %q: %v", bad, err)
		}
	}
}
