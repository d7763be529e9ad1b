package browser

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

// startGateway runs the whole gateway in-process on loopback, ephemeral ports.
func startGateway(t *testing.T, mutate func(*config.Config)) *app.App {
	t.Helper()
	cfg := testutil.LoopbackConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	log := slog.New(slog.NewTextHandler(&testWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// browser is one headless Chromium for one test.
type browser struct {
	t     *testing.T
	ctx   context.Context // the first tab's context; parent of the others
	mu    sync.Mutex
	lines []string // console output and exceptions of every tab
}

// startBrowser launches Chromium with a fresh profile, fake camera and
// microphone, autoplay allowed, and nothing that reaches the network on its
// own (updates, sync, QUIC probes).
func startBrowser(t *testing.T, execPath string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// Background tabs must keep decoding and running timers: the
		// player and the publisher share one headless window.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		// Chromium's WebRTC ignores loopback interfaces (libwebrtc's default
		// network_ignore_mask); in a namespace with only lo it would gather
		// no candidate at all and ICE could never succeed.
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		// A page without camera permission (any player, and every page in a
		// cross-origin iframe) hides its host candidates behind mDNS names.
		// Chromium's mDNS responder cannot work in a namespace without a
		// multicast interface, and the first connection then stalls until
		// it gives up. So the browser trickles 127.0.0.1 here; a real
		// browser trickles .local names, which the gateway drops (it learns
		// the address from the browser's connectivity checks instead).
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,WebRtcHideLocalIpsWithMdns"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	b.ctx = ctx
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		b.dumpConsole()
	})
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// listen records page console output; it runs on chromedp's reader
// goroutine, so it only appends.
func (b *browser) listen(ev any) {
	var line string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range ev.Args {
			if len(a.Value) > 0 {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		line = "console." + string(ev.Type) + ": " + strings.Join(parts, " ")
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		line = "exception: " + d.Text
		if d.Exception != nil {
			line += " " + d.Exception.Description
		}
	default:
		return
	}
	b.mu.Lock()
	b.lines = append(b.lines, time.Now().Format("15:04:05.000")+" "+line)
	b.mu.Unlock()
}

func (b *browser) dumpConsole() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.lines {
		b.t.Log("page " + l)
	}
}

// exceptions returns the uncaught page exceptions so far.
func (b *browser) exceptions() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range b.lines {
		if strings.Contains(l, "exception: ") {
			out = append(out, l)
		}
	}
	return out
}

// tab is one page.
type tab struct {
	b      *browser
	ctx    context.Context
	cancel context.CancelFunc
	name   string
}

// newTab opens url in a new tab (or in the first one, for the first call
// with first=true).
func (b *browser) newTab(name, url string) *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithListener(b.listen))
	tb := &tab{b: b, ctx: ctx, cancel: cancel, name: name}
	b.t.Cleanup(cancel)
	tctx, tcancel := context.WithTimeout(ctx, 20*time.Second)
	defer tcancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.t.Fatalf("%s: open tab: %v", name, err)
	}
	if err := chromedp.Do(tctx, recordRequests); err != nil {
		b.t.Fatalf("%s: install the request recorder: %v", name, err)
	}
	if err := chromedp.Do(tctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("%s: navigate %s: %v", name, url, err)
	}
	return tb
}

// requestRecorder wraps fetch in every document of the tab so tests can see
// the signaling the pages really send: window.__requests lists method, URL,
// request Content-Type and response status of every fetch.
const requestRecorder = `(() => {
  const log = [];
  Object.defineProperty(window, "__requests", { value: log });
  const original = window.fetch;
  window.fetch = async function (input, init) {
    const headers = new Headers((init && init.headers) || {});
    const entry = { method: (init && init.method) || "GET", url: String((input && input.url) || input),
                    type: headers.get("Content-Type") || "", status: 0 };
    log.push(entry);
    const resp = await original.apply(this, arguments);
    entry.status = resp.status;
    return resp;
  };
})();`

func recordRequests(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
	_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: requestRecorder})
	return chromedp.Void{}, err
}

// close closes the tab, as a user closing it would.
func (tb *tab) close() { tb.cancel() }

// do runs actions with a deadline.
func (tb *tab) do(timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(tb.ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// eval evaluates a JavaScript expression (awaiting a promise) into T.
func eval[T any](tb *tab, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// mustEval is eval for a value an assertion reads: a page that cannot
// answer fails the test rather than passing it with the zero value.
func mustEval[T any](tb *tab, expr string) T {
	tb.b.t.Helper()
	v, err := eval[T](tb, expr)
	if err != nil {
		tb.b.t.Fatalf("%s: evaluating %s: %v", tb.name, expr, err)
	}
	return v
}

// waitJS polls expr (every 100 ms; requestAnimationFrame does not run in
// background tabs) until it is truthy, and fails the test with what after
// timeout, logging the page's status line to explain why.
func (tb *tab) waitJS(timeout time.Duration, expr, what string) {
	tb.b.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, timeout+5*time.Second)
	defer cancel()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		_, err = chromedp.Run(ctx, chromedp.Poll[any](expr,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		// A poll started while the page was still swapping its JavaScript
		// context (right after a navigation) fails with "Cannot find
		// context"; poll again in the new one.
		if err == nil || !strings.Contains(err.Error(), "Cannot find context") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		status, _ := eval[string](tb, `(document.querySelector('[role=status]') || document.body).innerText`)
		if errors.Is(err, chromedp.ErrPollingTimeout) {
			err = errors.New("timed out")
		}
		tb.b.t.Fatalf("%s: %s within %v: %v (page says %q)", tb.name, what, timeout, err, status)
	}
}

// screenshot saves the tab as PNG under the artifacts directory.
func (tb *tab) screenshot(file string) {
	tb.b.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.b.t.Errorf("%s: screenshot: %v", tb.name, err)
		return
	}
	dir := artifactsDir(tb.b.t)
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.b.t.Errorf("save screenshot: %v", err)
		return
	}
	tb.b.t.Logf("screenshot of %s: %s", tb.name, path)
}

// artifactsDir is $WISHGATE_ARTIFACTS/browser, or test-artifacts/browser at
// the repository root (git-ignored).
func artifactsDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("WISHGATE_ARTIFACTS")
	if base == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10; i++ {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			dir = filepath.Dir(dir)
		}
		base = filepath.Join(dir, "test-artifacts")
	}
	dir := filepath.Join(base, "browser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
