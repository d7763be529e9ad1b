package browser

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The page scripts' pure functions (SDP munging, error words, Retry-After,
// Link, sdpfrag, codec preference, formatting) checked in the browser that
// runs them, against a recorded Chromium offer.
func TestScriptFunctions(t *testing.T) {
	chromium := requireIsolation(t)
	gw := startGateway(t, nil)
	b := startBrowser(t, chromium)
	units, err := os.ReadFile(filepath.Join("testdata", "units.js"))
	if err != nil {
		t.Fatal(err)
	}
	offer, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdp", "chromium-156-whep.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	arg, _ := json.Marshal(string(offer))
	// The dashboard page: its module runs once on load, so importing it
	// again returns the same instance instead of running it on a page
	// without its elements.
	page := b.newTab("dashboard", gw.URL()+"/")
	res, err := eval[struct {
		Checks   int
		Failures []string
	}](page, "("+string(units)+")("+string(arg)+")")
	if err != nil {
		t.Fatalf("run units.js: %v", err)
	}
	if res.Checks < 25 {
		t.Errorf("units.js ran %d checks; it stopped early", res.Checks)
	}
	for _, f := range res.Failures {
		t.Error(f)
	}
	t.Logf("%d checks", res.Checks)
}
