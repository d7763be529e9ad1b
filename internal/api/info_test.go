package api_test

import (
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/testutil"
)

func TestInfo(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	r := call(t, "GET", a.URL()+"/api/v1/info", nil)
	if r.Status != 200 {
		t.Fatalf("info: %d %s", r.Status, r.Body)
	}
	info := decode[struct {
		Version   string            `json:"version"`
		Commit    string            `json:"commit"`
		Go        string            `json:"go"`
		StartedAt time.Time         `json:"started_at"`
		URLs      map[string]string `json:"urls"`
	}](t, r)
	if info.Version == "" || info.Commit == "" || info.Go != runtime.Version() || time.Since(info.StartedAt) > time.Minute {
		t.Errorf("info %+v", info)
	}
	_, rtspPort, _ := net.SplitHostPort(a.RTSPAddr().String())
	want := map[string]string{
		"whip": a.URL() + "/whip/{name}",
		"whep": a.URL() + "/whep/{name}",
		"rtsp": "rtsp://" + net.JoinHostPort("127.0.0.1", rtspPort) + "/{name}",
	}
	for k, v := range want {
		if info.URLs[k] != v {
			t.Errorf("urls[%s] = %q, want %q", k, info.URLs[k], v)
		}
	}
	if _, ok := info.URLs["rtsps"]; ok {
		t.Error("an rtsps URL with RTSPS off")
	}
}
