package streams

import "time"

// SetPolicy changes the replace policy and the grace period for what
// happens next (hot reload): a publisher arriving later is judged by the new
// policy, a stream losing its publisher later waits the new grace period.
// Running publications, subscriptions and grace timers are untouched. An
// invalid policy is ignored.
func (r *Registry) SetPolicy(replace ReplacePolicy, grace time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if replace.Valid() {
		r.cfg.Replace = replace
	}
	if grace >= 0 {
		r.cfg.GracePeriod = grace
	}
}
