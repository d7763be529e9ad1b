package app

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strings"

	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/rtc"
	"github.com/wishgate/wishgate/streams"
)

// liveKeys are the settings Reload applies to the running gateway. Changes
// to any other key are reported as needing a restart.
var liveKeys = []string{
	"publish_tokens", "read_tokens",
	"jwt_secret", "jwt_jwks_url", "jwt_jwks_refresh", "jwt_claim", "jwt_issuer", "jwt_audience",
	"auth_callback_url", "auth_callback_timeout", "auth_callback_cache",
	"ice_servers", "turn_servers", "turn_secret", "turn_user", "turn_ttl",
	"allow_origins", "replace", "grace_period",
	"sources", "sources_on_demand",
}

// Reload applies cfg to the running gateway without dropping sessions:
// auth back-ends, announced ICE servers, CORS origins, replace policy and
// grace period change at once (for the next request, publisher or
// unpublish); RTSP sources that were added, removed or changed in the
// file are started or stopped, the others keep running. An invalid cfg is
// refused and the running one stays. It returns the changed keys that
// only a restart applies.
func (a *App) Reload(cfg config.Config) (restart []string, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuration refused, the running one stays: %w", err)
	}
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	old := *a.holder.Load()
	changed := changedKeys(old, cfg)
	if len(changed) == 0 {
		return nil, nil
	}
	var applied []string
	for _, k := range changed {
		if slices.Contains(liveKeys, k) {
			applied = append(applied, k)
		} else {
			restart = append(restart, k)
		}
	}
	// Keep what cannot change live as it runs, so the holder always
	// describes the running gateway (and a later reload diffs against it).
	next := old
	v, nv := reflect.ValueOf(&next).Elem(), reflect.ValueOf(cfg)
	for i := range v.NumField() {
		if slices.Contains(liveKeys, yamlKey(v.Type().Field(i))) {
			v.Field(i).Set(nv.Field(i))
		}
	}
	chain := authChain(next, a.log)
	a.authz.Swap(chain)
	if slices.Contains(applied, "publish_tokens") || slices.Contains(applied, "read_tokens") ||
		slices.ContainsFunc(applied, func(k string) bool { return strings.HasPrefix(k, "jwt_") || strings.HasPrefix(k, "auth_callback") }) {
		logAuth(a.log, chain)
	}
	a.Registry.SetPolicy(streams.ReplacePolicy(next.Replace), next.GracePeriod)
	srcErr := a.reloadSources(next)
	a.holder.Store(next)
	a.log.Info("configuration reloaded", "applied", strings.Join(applied, ","), "restart_needed", strings.Join(restart, ","))
	if len(restart) > 0 {
		a.log.Warn("some changed settings apply only after a restart", "keys", strings.Join(restart, ","))
	}
	if srcErr != nil {
		return restart, fmt.Errorf("configuration applied, but: %w", srcErr)
	}
	return restart, nil
}

// reloadSources applies the reloaded file's cameras (sourceState.declare):
// those whose entry changed run the file's version, whatever the control
// API did to them; the others are left as they run.
func (a *App) reloadSources(next config.Config) error {
	after, err := next.SourceConfigs()
	if err != nil {
		return err // Validate checked it; kept for safety
	}
	return a.srcState.declare(after)
}

// Config is the configuration the gateway runs with now.
func (a *App) Config() config.Config { return *a.holder.Load() }

// TCPAddr is the bound ICE-TCP address, nil when ICE-TCP is off.
func (a *App) TCPAddr() *net.TCPAddr { return a.engine.TCPAddr() }

// Diagnose reports the WebRTC network view (GET /api/v1/diagnostics).
func (a *App) Diagnose(ctx context.Context) (rtc.Diagnostics, error) { return a.engine.Diagnose(ctx) }

// changedKeys lists the yaml keys whose values differ.
func changedKeys(a, b config.Config) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		k := yamlKey(va.Type().Field(i))
		if k == "" {
			continue
		}
		fa, fb := va.Field(i), vb.Field(i)
		if fa.Kind() == reflect.Slice && fa.Len() == 0 && fb.Len() == 0 {
			continue // nil and empty lists are the same setting
		}
		if !reflect.DeepEqual(fa.Interface(), fb.Interface()) {
			out = append(out, k)
		}
	}
	return out
}

func yamlKey(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if k == "-" {
		return ""
	}
	return k
}
