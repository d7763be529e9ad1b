package auth

import (
	"errors"
	"testing"
)

func TestStaticCheck(t *testing.T) {
	s := NewStatic(
		[]Rule{{Glob: "*", Token: "pub-all"}, {Glob: "cam*", Token: "pub-cam"}},
		[]Rule{{Glob: "*", Token: "viewer"}},
	)
	cases := []struct {
		name   string
		action Action
		stream string
		token  string
		want   error
	}{
		{"global publish token", ActionPublish, "show", "pub-all", nil},
		{"glob publish token", ActionPublish, "cam1", "pub-cam", nil},
		{"glob token on other stream", ActionPublish, "show", "pub-cam", ErrForbidden},
		{"read token cannot publish", ActionPublish, "show", "viewer", ErrForbidden},
		{"publish token cannot read", ActionRead, "show", "pub-all", ErrForbidden},
		{"missing token", ActionPublish, "show", "", ErrNoToken},
		{"unknown token", ActionRead, "show", "nope", ErrBadToken},
		{"read token", ActionRead, "anything", "viewer", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := s.Check(c.action, c.stream, c.token); !errors.Is(err, c.want) {
				t.Fatalf("Check = %v, want %v", err, c.want)
			}
		})
	}
}

func TestOpenWhenNoRules(t *testing.T) {
	s := NewStatic(nil, []Rule{{Token: "v"}})
	if err := s.Check(ActionPublish, "x", ""); err != nil {
		t.Fatalf("publish with no rules: %v", err)
	}
	// Eyevinn's client sends "Bearer undefined" when it has no key.
	if err := s.Check(ActionPublish, "x", "undefined"); err != nil {
		t.Fatalf("publish with junk token and no rules: %v", err)
	}
	if !s.Open(ActionPublish) || s.Open(ActionRead) {
		t.Fatal("Open() wrong")
	}
}

func TestParseRule(t *testing.T) {
	for in, want := range map[string]Rule{
		"secret":      {Glob: "*", Token: "secret"},
		"cam*=secret": {Glob: "cam*", Token: "secret"},
		"abc=":        {Glob: "*", Token: "abc="},
		"*=dG9rZW4=":  {Glob: "*", Token: "dG9rZW4="},
	} {
		got, err := ParseRule(in)
		if err != nil || got != want {
			t.Errorf("ParseRule(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	if _, err := ParseRule("[=x"); err == nil {
		t.Error("bad glob accepted")
	}
	if _, err := ParseRule(""); err == nil {
		t.Error("empty accepted")
	}
}

func TestBearerToken(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer abc":  "abc",
		"bearer  abc": "abc",
		"Basic abc":   "",
		"":            "",
		"Bearer":      "",
	} {
		if got := BearerToken(in); got != want {
			t.Errorf("BearerToken(%q) = %q, want %q", in, got, want)
		}
	}
}
