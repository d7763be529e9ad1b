package app

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/wishgate/wishgate/internal/config"
)

// Watcher reloads the gateway's configuration from its Source when asked
// (SIGHUP, wired by cmd/gateway) and when the config file changes. A bad
// file is logged and refused; the running configuration stays.
type Watcher struct {
	app    *App
	src    config.Source
	log    *slog.Logger
	fs     *fsnotify.Watcher // nil without a config file
	base   string
	kick   chan struct{}
	quit   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
	result func(restart []string, err error)
}

// debounce lets an editor finish writing (truncate, write, rename) before
// the file is read.
const debounce = 250 * time.Millisecond

// NewWatcher starts watching. signals (e.g. SIGHUP) trigger a reload too;
// it may be nil. onResult, if set, receives each reload's outcome (tests).
func NewWatcher(a *App, src config.Source, signals <-chan os.Signal, log *slog.Logger, onResult func(restart []string, err error)) (*Watcher, error) {
	w := &Watcher{app: a, src: src, log: log.With("component", "config"), kick: make(chan struct{}, 1),
		quit: make(chan struct{}), result: onResult}
	if path := src.Path(); path != "" {
		fw, err := fsnotify.NewWatcher()
		if err != nil {
			return nil, fmt.Errorf("config watch: %w", err)
		}
		// The directory, not the file: editors and Kubernetes replace the
		// file (rename, ..data symlink swap), which ends a watch on it.
		if err := fw.Add(filepath.Dir(path)); err != nil {
			fw.Close()
			return nil, fmt.Errorf("config watch %s: %w", filepath.Dir(path), err)
		}
		w.fs, w.base = fw, filepath.Base(path)
	}
	w.wg.Add(1)
	go w.run(signals)
	return w, nil
}

// Trigger asks for a reload (non-blocking; reloads coalesce).
func (w *Watcher) Trigger() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Close stops watching and waits for a reload in progress.
func (w *Watcher) Close() {
	w.once.Do(func() {
		close(w.quit)
		if w.fs != nil {
			w.fs.Close()
		}
		w.wg.Wait()
	})
}

func (w *Watcher) run(signals <-chan os.Signal) {
	defer w.wg.Done()
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w.fs != nil {
		events, errs = w.fs.Events, w.fs.Errors
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-w.quit:
			return
		case <-signals:
			w.log.Info("SIGHUP: reloading the configuration")
			w.reload()
		case <-w.kick:
			w.reload()
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if name := filepath.Base(ev.Name); name == w.base || strings.HasPrefix(name, "..") {
				timer.Reset(debounce)
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			w.log.Warn("config file watch", "error", err)
		case <-timer.C:
			w.log.Info("config file changed: reloading", "file", w.src.Path())
			w.reload()
		}
	}
}

func (w *Watcher) reload() {
	cfg, err := w.src.Load()
	var restart []string
	if err == nil {
		restart, err = w.app.Reload(cfg)
	} else {
		err = fmt.Errorf("configuration refused, the running one stays: %w", err)
	}
	if err != nil {
		// One line per problem, each naming its key (Validate's format).
		w.log.Error("config reload failed", "error", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if w.result != nil {
		w.result(restart, err)
	}
}
