package config

import (
	"fmt"

	"github.com/wishgate/wishgate/internal/rtc"
)

// validateExposure checks the settings that bound what strangers can make
// the gateway do: where it sends ICE checks and how many candidates it keeps
// (docs/security.md lists each with the attack it stops).
func (c Config) validateExposure() []error {
	var errs []error
	bad := func(key string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", paramName(key), fmt.Sprintf(format, args...)))
	}
	for _, r := range c.ICERemoteNetworks {
		if _, err := rtc.ParseRemoteNetwork(r); err != nil {
			bad("ice_remote_networks", "%v", err)
		}
	}
	if c.MaxRemoteCandidates < 1 || c.MaxRemoteCandidates > 1000 {
		bad("max_remote_candidates", "%d: must be between 1 and 1000", c.MaxRemoteCandidates)
	}
	return errs
}

// RemoteNetworks returns the parsed ice_remote_networks (Validate checked them).
func (c Config) RemoteNetworks() []rtc.RemoteNetwork {
	var out []rtc.RemoteNetwork
	for _, s := range c.ICERemoteNetworks {
		if r, err := rtc.ParseRemoteNetwork(s); err == nil {
			out = append(out, r)
		}
	}
	return out
}
