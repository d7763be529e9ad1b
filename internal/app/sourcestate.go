package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/api"
)

// sourceState is the RTSP camera set: the config file's cameras
// (sources, sources_on_demand) with the changes made over the control API
// on top, kept in a JSON file (sources_state_file) so that cameras added,
// replaced or removed from the dashboard stay so across restarts.
//
// An API change to a camera holds as long as the config file's own entry
// for that name stays what it was when the change was made: when the file
// changes that entry (at a reload, or between two runs), the file wins and
// the API's change is dropped. The state file holds camera passwords: it is
// written with mode 0600, atomically (temporary file, then rename).
type sourceState struct {
	run  *bridge.Sources
	log  *slog.Logger
	path string // "": changes are not kept

	mu       sync.Mutex
	declared map[string]bridge.SourceConfig // the config file's cameras
	changes  map[string]change              // the API's, by name
	broken   bool                           // the file did not read: never overwrite it
}

// change is one API change over the config file's cameras.
type change struct {
	set *bridge.SourceConfig // nil: removed
	// over is the digest of the config file's entry for the name when the
	// change was made ("" when the file had none).
	over string
}

// stateFile is the JSON document of sources_state_file.
type stateFile struct {
	Version int          `json:"version"`
	Sources []stateEntry `json:"sources"`
}

type stateEntry struct {
	Name        string `json:"name"`
	URL         string `json:"url,omitempty"`
	OnDemand    bool   `json:"on_demand,omitempty"`
	Transport   string `json:"transport,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// Removed: the config file's camera of this name was removed.
	Removed bool `json:"removed,omitempty"`
	// ConfigFile is the digest of the config file's entry for the name
	// when the API changed it; empty when the file had none.
	ConfigFile string `json:"config_file,omitempty"`
}

const stateVersion = 1

// maxStateBytes bounds the state file, read and written: some thousands of
// cameras. A change that would make it larger is refused.
const maxStateBytes = 1 << 20

func newSourceState(run *bridge.Sources, path string, log *slog.Logger) *sourceState {
	return &sourceState{run: run, path: path, log: log.With("component", "sources"),
		declared: map[string]bridge.SourceConfig{}, changes: map[string]change{}}
}

// digest identifies a config file entry without keeping its credentials.
func digest(sc bridge.SourceConfig, ok bool) string {
	if !ok {
		return ""
	}
	b, _ := json.Marshal(entryOf(sc)) // a struct of strings and a bool: cannot fail
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func entryOf(sc bridge.SourceConfig) stateEntry {
	return stateEntry{Name: sc.Name, URL: sc.URL, OnDemand: sc.OnDemand, Transport: string(sc.Transport), Fingerprint: sc.Fingerprint}
}

func (e stateEntry) config() bridge.SourceConfig {
	return bridge.SourceConfig{Name: e.Name, URL: e.URL, OnDemand: e.OnDemand, Transport: bridge.Transport(e.Transport), Fingerprint: e.Fingerprint}
}

// start starts the config file's cameras with the saved changes applied.
// A state file that does not read is reported and left as it is: the
// file's cameras run, and nothing is written over it.
func (s *sourceState) start(declared []bridge.SourceConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sc := range declared {
		s.declared[sc.Name] = sc
	}
	dropped := s.load()
	names := make([]string, 0, len(s.declared)+len(s.changes))
	for name := range s.declared {
		names = append(names, name)
	}
	for name, ch := range s.changes {
		if _, ok := s.declared[name]; !ok && ch.set != nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		sc, ok := s.effective(name)
		if !ok {
			continue
		}
		if err := s.run.Add(sc); err != nil {
			return fmt.Errorf("sources: start %s: %w", name, err)
		}
	}
	if dropped {
		s.save()
	}
	return nil
}

// effective is what runs under name: the API's change, else the file's.
func (s *sourceState) effective(name string) (bridge.SourceConfig, bool) {
	if ch, ok := s.changes[name]; ok {
		if ch.set == nil {
			return bridge.SourceConfig{}, false
		}
		return *ch.set, true
	}
	sc, ok := s.declared[name]
	return sc, ok
}

// load reads the state file into s.changes, dropping the changes whose
// config file entry changed since; it reports whether it dropped any.
func (s *sourceState) load() (dropped bool) {
	if s.path == "" {
		s.log.Info("cameras added or removed over the control API last until the next restart " +
			"(sources_state_file is off, or there is no config file to keep them next to)")
		return false
	}
	b, err := readBounded(s.path)
	if errors.Is(err, os.ErrNotExist) {
		if s.checkWritable() {
			s.log.Info("camera changes made over the control API are kept across restarts", "sources_state_file", s.path)
		}
		return false
	}
	var f stateFile
	if err == nil {
		err = json.Unmarshal(b, &f)
	}
	if err == nil && f.Version != stateVersion {
		err = fmt.Errorf("version %d, want %d", f.Version, stateVersion)
	}
	if err != nil {
		s.broken = true
		s.log.Error("sources state file not read: the config file's cameras run without the changes made over the API; "+
			"the file is left untouched and later changes are not kept until it is fixed or removed",
			"sources_state_file", s.path, "error", err.Error())
		return false
	}
	for _, e := range f.Sources {
		sc, ok := s.declared[e.Name]
		if digest(sc, ok) != e.ConfigFile {
			s.log.Info("the config file changed this camera since the control API did: the file's version runs", "stream", e.Name)
			dropped = true
			continue
		}
		ch := change{over: e.ConfigFile}
		if !e.Removed {
			set := e.config()
			if err := set.Validate(); err != nil {
				s.log.Warn("saved camera skipped", "sources_state_file", s.path, "error", err.Error())
				dropped = true
				continue
			}
			ch.set = &set
		}
		s.changes[e.Name] = ch
	}
	s.log.Info("camera changes made over the control API restored", "sources_state_file", s.path, "count", len(s.changes))
	return dropped
}

// List implements api.Sources.
func (s *sourceState) List() []bridge.SourceStatus { return s.run.List() }

// Get implements api.Sources.
func (s *sourceState) Get(name string) (bridge.SourceStatus, bool) { return s.run.Get(name) }

// Add implements api.Sources: the camera starts, and is kept.
func (s *sourceState) Add(sc bridge.SourceConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.declared[sc.Name]
	next := maps.Clone(s.changes)
	next[sc.Name] = change{set: &sc, over: digest(d, ok)}
	b, err := encodeState(next)
	if err != nil {
		return err
	}
	if err := s.run.Add(sc); err != nil {
		return err
	}
	s.changes = next
	s.saveLocked(b)
	return nil
}

// Remove implements api.Sources: the camera stops, and stays removed.
func (s *sourceState) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := maps.Clone(s.changes)
	if d, ok := s.declared[name]; ok {
		next[name] = change{over: digest(d, true)}
	} else {
		delete(next, name)
	}
	b, err := encodeState(next)
	if err != nil {
		return err
	}
	if err := s.run.Remove(name); err != nil {
		return err
	}
	s.changes = next
	s.saveLocked(b)
	return nil
}

// declare applies a reloaded config file's cameras: every name whose entry
// changed runs the file's version again (or stops, when the file dropped
// it), whatever the API did to it; the others are left as they run.
func (s *sourceState) declare(next []bridge.SourceConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := map[string]bridge.SourceConfig{}
	for _, sc := range next {
		want[sc.Name] = sc
	}
	var changed []string
	for name, sc := range s.declared {
		if n, ok := want[name]; !ok || n != sc {
			changed = append(changed, name)
		}
	}
	for name := range want {
		if _, ok := s.declared[name]; !ok {
			changed = append(changed, name)
		}
	}
	sort.Strings(changed)
	s.declared = want
	var errs []error
	save := false
	for _, name := range changed {
		if _, ok := s.changes[name]; ok {
			delete(s.changes, name)
			save = true
		}
		if err := s.run.Remove(name); err != nil && !errors.Is(err, bridge.ErrSourceNotFound) {
			errs = append(errs, fmt.Errorf("sources: stop %s: %w", name, err))
		}
		if sc, ok := want[name]; ok {
			if err := s.run.Add(sc); err != nil {
				errs = append(errs, fmt.Errorf("sources: start %s: %w", name, err))
			}
		}
	}
	if save {
		s.save()
	}
	return errors.Join(errs...)
}

// checkWritable warns at start-up, not at the first change, when the state
// cannot be saved (a read-only config volume, say).
func (s *sourceState) checkWritable() bool {
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".wishgate-sources-*")
	if err != nil {
		s.log.Warn("camera changes made over the control API will not survive a restart: cannot write next to sources_state_file",
			"sources_state_file", s.path, "error", err.Error())
		return false
	}
	_ = tmp.Close()
	_ = os.Remove(tmp.Name())
	return true
}

// encodeState is the state file's content for changes, refused when it
// would be larger than maxStateBytes.
func encodeState(changes map[string]change) ([]byte, error) {
	f := stateFile{Version: stateVersion, Sources: make([]stateEntry, 0, len(changes))}
	for name, ch := range changes {
		e := stateEntry{Name: name, Removed: true}
		if ch.set != nil {
			e = entryOf(*ch.set)
		}
		e.ConfigFile = ch.over
		f.Sources = append(f.Sources, e)
	}
	sort.Slice(f.Sources, func(i, j int) bool { return f.Sources[i].Name < f.Sources[j].Name })
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	if b = append(b, '\n'); len(b) > maxStateBytes {
		return nil, fmt.Errorf("%w: they are kept in at most %d KiB (%d cameras now); remove some first, or declare them in the config file",
			api.ErrSourcesFull, maxStateBytes>>10, len(changes))
	}
	return b, nil
}

// save writes s.changes to the state file (s.mu held). Only shrinking
// changes come here (the config file took a camera back), so the bound holds.
func (s *sourceState) save() {
	b, err := encodeState(s.changes)
	if err != nil {
		s.log.Error("sources state not saved", "sources_state_file", s.path, "error", err.Error())
		return
	}
	s.saveLocked(b)
}

// saveLocked writes b, the encoded s.changes, to the state file (s.mu held).
func (s *sourceState) saveLocked(b []byte) {
	switch {
	case s.path == "":
		return
	case s.broken:
		s.log.Warn("camera change not kept: sources_state_file did not read at start-up and is left untouched", "sources_state_file", s.path)
		return
	}
	if err := writeFileAtomic(s.path, b); err != nil {
		s.log.Error("camera change not kept: it holds until the next restart", "sources_state_file", s.path, "error", err.Error())
	}
}

// readBounded reads path, refusing a file larger than maxStateBytes.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateBytes+1))
	if err == nil && len(b) > maxStateBytes {
		err = fmt.Errorf("larger than %d KiB: not a file wishgate wrote", maxStateBytes>>10)
	}
	return b, err
}

// writeFileAtomic writes b to path with mode 0600: a temporary file in the
// same directory, synced, renamed over path, and the directory synced, so a
// crash leaves the old file or the new one, never a mix.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".wishgate-sources-*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing left to remove
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the rename itself durable; not all filesystems support it
		_ = d.Close()
	}
	return nil
}
