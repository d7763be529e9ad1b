package auth

import (
	"slices"
	"strings"
)

// Globs lists the stream patterns that action's tokens cover, sorted and
// without repeats ("*" for a token that covers every stream).
func (s *Static) Globs(a Action) []string {
	var out []string
	for _, r := range s.rules[a] {
		g := r.Glob
		if g == "" {
			g = "*"
		}
		out = append(out, g)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Rule says in words who may perform a, for the start-up log and the
// documentation's promise: an action with no rule at all is open; once any
// rule exists for it, it is denied by default, and a request passes only
// if a back-end allows it. A static token covers the streams its pattern
// matches ('*' does not cross '/': site/* covers site/cam1, cam* does not).
func (c *Chain) Rule(a Action) string {
	if c.Open(a) {
		return "open: no token needed"
	}
	var by []string
	all := false
	if c.Static != nil && !c.Static.Open(a) {
		globs := c.Static.Globs(a)
		all = slices.Contains(globs, "*")
		by = append(by, "a static token for "+strings.Join(globs, ", "))
	}
	if c.JWT != nil {
		by = append(by, "a JWT whose claim covers the stream")
		all = false
	}
	if c.Callback != nil {
		by = append(by, "the auth callback's approval")
		all = false
	}
	s := "token required (" + strings.Join(by, "; or ") + ")"
	if !all && a != ActionAdmin {
		s += "; denied by default: a stream no rule covers is refused, with any token"
	}
	return s
}
