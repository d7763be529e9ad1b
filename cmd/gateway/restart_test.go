package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

// TestAPICamerasSurviveRestart runs the real binary with a config file
// twice. In the first run a camera is added over the control API and one of
// the file's cameras is removed; after SIGTERM and a new start the added
// camera is pulled again (a WHEP viewer gets its video) and the removed one
// stays removed, from wishgate-sources.json next to the config file.
func TestAPICamerasSurviveRestart(t *testing.T) {
	cam := testutil.StartCamera(t, testutil.EncodeH264(t, "320x240", 25, 2, "keyint=25:min-keyint=25:scenecut=0"), 25, testutil.CameraOptions{})
	bin := testutil.BuildGateway(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "wishgate.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf("sources: [\"filecam=%s#transport=tcp\"]\n", cam.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	defer http.DefaultClient.CloseIdleConnections()

	first := testutil.StartGatewayProcess(t, bin, append(loopbackArgs(t), "--config", cfgPath)...)
	base := first.URL
	api(t, http.MethodPut, base+"/api/v1/sources/site/yard", `{"url":"`+cam.URL+`","transport":"tcp"}`, http.StatusCreated)
	api(t, http.MethodDelete, base+"/api/v1/sources/filecam", "", http.StatusNoContent)
	if err := first.Terminate(30 * time.Second); err != nil {
		t.Fatalf("first run exited with %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "wishgate-sources.json")); err != nil {
		t.Fatalf("no state file next to the config: %v", err)
	}

	second := testutil.StartGatewayProcess(t, bin, append(loopbackArgs(t), "--config", cfgPath)...)
	base = second.URL
	// Restored before the listeners open.
	api(t, http.MethodGet, base+"/api/v1/sources/site/yard", "", http.StatusOK)
	api(t, http.MethodGet, base+"/api/v1/sources/filecam", "", http.StatusNotFound)
	var st struct{ State string }
	for st.State != "live" {
		select {
		case <-ctx.Done():
			t.Fatalf("the restored camera's stream is %q", st.State)
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get(base + "/api/v1/streams/site/yard")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusOK {
			err = json.NewDecoder(resp.Body).Decode(&st)
		} else if resp.StatusCode != http.StatusNotFound {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		resp.Body.Close()
		if err != nil {
			t.Fatalf("GET the restored camera's stream: %v", err)
		}
	}
	viewer, err := client.Play(ctx, base+"/whep/site/yard", client.PlayOptions{})
	if err != nil {
		t.Fatalf("play the restored camera: %v", err)
	}
	defer viewer.Close()
	for viewer.Received(webrtc.RTPCodecTypeVideo).Packets < 50 {
		select {
		case <-ctx.Done():
			t.Fatalf("the restored camera sent %d video packets", viewer.Received(webrtc.RTPCodecTypeVideo).Packets)
		case <-time.After(20 * time.Millisecond):
		}
	}
	var src struct{ State string }
	if err := json.Unmarshal(api(t, http.MethodGet, base+"/api/v1/sources/site/yard", "", http.StatusOK), &src); err != nil || src.State != "playing" {
		t.Errorf("restored camera: source state %q (%v)", src.State, err)
	}
	viewer.Close()
	if err := second.Terminate(30 * time.Second); err != nil {
		t.Fatalf("second run exited with %v", err)
	}
}

// api sends one control API request and checks its status.
func api(t *testing.T, method, url, body string, want int) []byte {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, b, want)
	}
	return b
}
