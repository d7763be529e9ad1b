package auth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestChainOpenWithoutBackEnds(t *testing.T) {
	c := &Chain{Static: NewStatic(nil, nil)}
	for _, a := range []Action{ActionPublish, ActionRead, ActionAdmin} {
		if !c.Open(a) || c.Check(a, "x", "") != nil {
			t.Fatalf("%s should be open", a)
		}
	}
	c = &Chain{Static: NewStatic([]Rule{{Glob: "*", Token: "p"}}, nil)}
	if c.Open(ActionPublish) || !c.Open(ActionRead) {
		t.Fatal("only publish should need a token")
	}
	c = &Chain{Static: NewStatic(nil, nil), JWT: NewJWT(JWTConfig{Secret: []byte(hsSecret)})}
	if c.Open(ActionRead) || c.Open(ActionAdmin) {
		t.Fatal("with JWT configured nothing is open")
	}
}

func TestChainComposes(t *testing.T) {
	srv := newAuthService(t, 0)
	static := NewStaticActions(map[Action][]Rule{
		ActionPublish: {{Glob: "studio*", Token: "studio-pub"}},
		ActionAdmin:   {{Token: "static-admin"}},
	})
	c := &Chain{
		Static:   static,
		JWT:      NewJWT(JWTConfig{Secret: []byte(hsSecret)}),
		Callback: NewCallback(CallbackConfig{URL: srv.URL}),
	}
	defer c.Close()
	jwtRead := sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", jwt.MapClaims{
		"exp": future(), "wishgate": perms(nil, []string{"public*"}, false)})
	cases := []struct {
		name   string
		action Action
		stream string
		token  string
		want   error
	}{
		{"static publish", ActionPublish, "studio1", "studio-pub", nil},
		{"static publish elsewhere", ActionPublish, "cam1", "studio-pub", ErrForbidden},
		{"static admin", ActionAdmin, "", "static-admin", nil},
		{"jwt read", ActionRead, "public1", jwtRead, nil},
		{"jwt read elsewhere", ActionRead, "private", jwtRead, ErrForbidden},
		{"jwt cannot publish", ActionPublish, "public1", jwtRead, ErrForbidden},
		{"callback publish", ActionPublish, "cam1", "pub-cam", nil},
		{"callback admin", ActionAdmin, "", "root", nil},
		{"callback refuses", ActionAdmin, "", "viewer", ErrForbidden},
		{"unknown", ActionRead, "x", "nobody", ErrBadToken},
		{"none", ActionPublish, "x", "", ErrNoToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Authorize(context.Background(), Request{Action: tc.action, Stream: tc.stream, Token: tc.token, Protocol: ProtocolWHIP})
			if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSwappable(t *testing.T) {
	s := NewSwappable(&Chain{Static: NewStatic([]Rule{{Glob: "*", Token: "one"}}, nil)})
	if s.Check(ActionPublish, "a", "one") != nil || s.Check(ActionPublish, "a", "two") == nil {
		t.Fatal("first chain")
	}
	s.Swap(&Chain{Static: NewStatic([]Rule{{Glob: "*", Token: "two"}}, nil)})
	if s.Check(ActionPublish, "a", "two") != nil || s.Check(ActionPublish, "a", "one") == nil {
		t.Fatal("swapped chain")
	}
}

// TestNoTokenInLogs drives every back-end through its failures and scans
// what was logged and returned for the tokens used.
func TestNoTokenInLogs(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusInternalServerError)
	}))
	defer down.Close()
	jwks := &JWKS{URL: down.URL + "/jwks?key=k", Logger: log}
	c := &Chain{
		Static:   NewStatic([]Rule{{Glob: "*", Token: "static-secret-aaaa"}}, nil),
		JWT:      NewJWT(JWTConfig{Secret: []byte(hsSecret), JWKS: jwks}),
		Callback: NewCallback(CallbackConfig{URL: down.URL + "/cb", Timeout: time.Second, Logger: log}),
	}
	defer c.Close()
	hs := sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix()})
	es := "eyJhbGciOiJFUzI1NiIsImtpZCI6Ims.eyJleHAiOjF9.c2ln"
	var errs []string
	for _, tok := range []string{"static-secret-bbbb", hs, es, "plain-secret-cccc"} {
		for _, a := range []Action{ActionPublish, ActionRead, ActionAdmin} {
			if err := c.Authorize(context.Background(), Request{Action: a, Stream: "s", Token: tok}); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if logs.Len() == 0 {
		t.Fatal("expected failures to be logged")
	}
	all := logs.String() + strings.Join(errs, "\n")
	for _, secret := range []string{"static-secret", hs, es, "plain-secret", hsSecret, "key=k"} {
		if strings.Contains(all, secret) {
			t.Fatalf("%q leaked:\n%s", secret, all)
		}
	}
}

func TestChainRule(t *testing.T) {
	for _, c := range []struct {
		chain *Chain
		a     Action
		want  []string
		not   []string
	}{
		{&Chain{Static: NewStatic(nil, nil)}, ActionRead, []string{"open"}, []string{"denied"}},
		{&Chain{Static: NewStatic(nil, []Rule{{Glob: "cam*", Token: "viewsecret"}})}, ActionRead,
			[]string{"token required", "cam*", "denied by default"}, []string{"viewsecret"}},
		{&Chain{Static: NewStatic(nil, []Rule{{Glob: "cam*", Token: "viewsecret"}})}, ActionPublish, []string{"open"}, nil},
		{&Chain{Static: NewStatic([]Rule{{Glob: "*", Token: "pub"}}, nil)}, ActionPublish,
			[]string{"static token for *"}, []string{"denied", "pub)"}},
		{&Chain{Static: NewStatic(nil, nil), Callback: &Callback{}}, ActionRead, []string{"callback", "denied by default"}, nil},
	} {
		got := c.chain.Rule(c.a)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", c.a, got, w)
			}
		}
		for _, n := range c.not {
			if strings.Contains(got, n) {
				t.Errorf("%s: %q has %q", c.a, got, n)
			}
		}
	}
}
