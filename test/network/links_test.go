package network

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/config"
)

// link is one parsed link-value (RFC 8288 §3).
type link struct {
	Target string
	Params map[string]string
}

// parseLinkField parses one Link header field value strictly per RFC 8288
// §3: link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param ),
// link-param = token BWS [ "=" BWS ( token / quoted-string ) ], values
// separated by ",". Any deviation is an error, not a guess.
func parseLinkField(v string) ([]link, error) {
	var out []link
	i := 0
	ows := func() {
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
	}
	for {
		ows()
		if i >= len(v) || v[i] != '<' {
			return nil, fmt.Errorf("at %d: want '<'", i)
		}
		end := strings.IndexByte(v[i:], '>')
		if end < 0 {
			return nil, fmt.Errorf("unterminated <")
		}
		l := link{Target: v[i+1 : i+end], Params: map[string]string{}}
		if strings.ContainsAny(l.Target, " \t\"<") {
			return nil, fmt.Errorf("bad URI-Reference %q", l.Target)
		}
		i += end + 1
		for {
			ows()
			if i >= len(v) || v[i] == ',' {
				break
			}
			if v[i] != ';' {
				return nil, fmt.Errorf("at %d: want ';' or ','", i)
			}
			i++
			ows()
			start := i
			for i < len(v) && isTchar(v[i]) {
				i++
			}
			name := strings.ToLower(v[start:i])
			if name == "" {
				return nil, fmt.Errorf("at %d: empty parameter name", i)
			}
			ows()
			val := ""
			if i < len(v) && v[i] == '=' {
				i++
				ows()
				if i < len(v) && v[i] == '"' {
					i++
					var b strings.Builder
					for ; i < len(v) && v[i] != '"'; i++ {
						if v[i] == '\\' && i+1 < len(v) {
							i++
						}
						b.WriteByte(v[i])
					}
					if i >= len(v) {
						return nil, fmt.Errorf("unterminated quoted-string")
					}
					i++
					val = b.String()
				} else {
					start := i
					for i < len(v) && isTchar(v[i]) {
						i++
					}
					if start == i {
						return nil, fmt.Errorf("at %d: empty token value", i)
					}
					val = v[start:i]
				}
			}
			if _, dup := l.Params[name]; dup {
				return nil, fmt.Errorf("parameter %q twice", name)
			}
			l.Params[name] = val
		}
		out = append(out, l)
		if i >= len(v) {
			return out, nil
		}
		i++ // ','
	}
}

func isTchar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func TestLinkParserIsStrict(t *testing.T) {
	good := `<turn:h:3478?transport=udp>; rel="ice-server"; username="a:b"; credential="x+/="; credential-type="password"`
	ls, err := parseLinkField(good)
	if err != nil || len(ls) != 1 || ls[0].Params["username"] != "a:b" || ls[0].Target != "turn:h:3478?transport=udp" {
		t.Fatalf("%v %+v", err, ls)
	}
	for _, bad := range []string{`turn:h`, `<a>; rel="x`, `<a> rel=x`, `<a>; =x`, `<a>; rel=`, `<a>; rel=x; rel=y`} {
		if _, err := parseLinkField(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// iceLinks sends OPTIONS (the way WHIP clients discover ICE servers before
// the offer, RFC 9725 §4.6) and parses every Link field.
func iceLinks(t *testing.T, url, token string) (links []link, fields int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodOptions, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	for _, f := range resp.Header.Values("Link") {
		ls, err := parseLinkField(f)
		if err != nil {
			t.Fatalf("Link %q: %v", f, err)
		}
		if len(ls) != 1 {
			t.Fatalf("one ICE server per Link field (OBS splits on commas): %q", f)
		}
		links = append(links, ls...)
	}
	return links, len(resp.Header.Values("Link"))
}

func TestLinkHeadersWithTURNREST(t *testing.T) {
	const secret = "coturn-static-auth-secret"
	gw, logs := start(t, func(c *config.Config) {
		c.ICEServers = []string{"stun:stun.example.com:3478", "turn:alice:wonder@turn.example.com:3478?transport=udp"}
		c.TURNServers = []string{"turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp"}
		c.TURNSecret = secret
		c.TURNUser = "gw"
		c.TURNTTL = time.Hour
	})
	before := time.Now()
	links, n := iceLinks(t, gw.URL()+"/whip/cam", "")
	if n != 4 || len(links) != 4 {
		t.Fatalf("want 4 Link fields, got %d: %+v", n, links)
	}
	for _, l := range links {
		if l.Params["rel"] != "ice-server" {
			t.Fatalf("rel: %+v", l)
		}
	}
	if links[0].Target != "stun:stun.example.com:3478" || len(links[0].Params) != 1 {
		t.Fatalf("stun link: %+v", links[0])
	}
	if links[1].Params["username"] != "alice" || links[1].Params["credential"] != "wonder" || links[1].Params["credential-type"] != "password" {
		t.Fatalf("static TURN link: %+v", links[1])
	}
	for _, l := range links[2:] {
		user, cred := l.Params["username"], l.Params["credential"]
		exp, name, ok := strings.Cut(user, ":")
		if !ok || name != "gw" {
			t.Fatalf("TURN REST username %q", user)
		}
		e, err := strconv.ParseInt(exp, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Unix(e, 0).Sub(before); d < time.Hour-2*time.Second || d > time.Hour+2*time.Second {
			t.Fatalf("expiry %s from now, want the 1h TTL", d)
		}
		mac := hmac.New(sha1.New, []byte(secret))
		mac.Write([]byte(user))
		if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); cred != want {
			t.Fatalf("credential %q, want HMAC-SHA1 %q (coturn use-auth-secret)", cred, want)
		}
	}
	if !strings.HasPrefix(links[3].Target, "turns:") {
		t.Fatalf("order: %+v", links)
	}

	// The 201 of a real POST carries the same Link fields.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub := publishSynth(t, ctx, gw.URL()+"/whip/cam", clientOpts())
	for _, f := range pub.ResponseHeader().Values("Link") {
		if _, err := parseLinkField(f); err != nil {
			t.Fatalf("POST Link %q: %v", f, err)
		}
	}
	if got := len(pub.ResponseHeader().Values("Link")); got != 4 {
		t.Fatalf("POST carried %d Link fields", got)
	}
	if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), "wonder") {
		t.Fatal("a TURN secret reached the log")
	}
}
