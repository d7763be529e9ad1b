package docker

import (
	"bufio"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// buildContext copies the repository into a fresh directory as `docker
// build .` sends it: without what .dockerignore excludes. The build stage's
// commands then run there, so a file the build needs and the context leaves
// out (an embedded file under testdata, say) fails here as it would in
// Docker.
func buildContext(t *testing.T, root string) string {
	t.Helper()
	patterns := dockerignore(t, filepath.Join(root, ".dockerignore"))
	dir := t.TempDir()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if ignored(patterns, rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		dst := filepath.Join(dir, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case d.Type().IsRegular():
			return copyFile(path, dst)
		}
		return nil // symlinks and the like: the repository has none the build needs
	})
	if err != nil {
		t.Fatalf("build context: %v", err)
	}
	return dir
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// dockerignore reads the patterns; exceptions ("!") are refused, since
// ignored does not implement them.
func dockerignore(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.TrimSpace(sc.Text())
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		if strings.HasPrefix(p, "!") {
			t.Fatalf(".dockerignore exception %q: not understood by this check", p)
		}
		out = append(out, strings.Trim(filepath.ToSlash(filepath.Clean(p)), "/"))
	}
	return out
}

// ignored applies Docker's rule: a pattern is matched against the whole
// path relative to the context, segment by segment (filepath.Match), "**"
// standing for any number of segments; a matched directory takes its
// contents with it.
func ignored(patterns []string, rel string) bool {
	segs := strings.Split(rel, "/")
	return slices.ContainsFunc(patterns, func(p string) bool { return matchSegs(strings.Split(p, "/"), segs) })
}

func matchSegs(pat, segs []string) bool {
	switch {
	case len(pat) == 0:
		return len(segs) == 0
	case pat[0] == "**":
		for i := 0; i <= len(segs); i++ {
			if matchSegs(pat[1:], segs[i:]) {
				return true
			}
		}
		return false
	case len(segs) == 0:
		return false
	}
	ok, err := filepath.Match(pat[0], segs[0])
	return err == nil && ok && matchSegs(pat[1:], segs[1:])
}

// checkBuildPackages: every pkg-config module the cgo code asks for is
// provided, on this Debian machine, by a package that the build stage
// installs with apt-get. A library added to the transcoder without its -dev
// package in the Dockerfile fails here, not in `docker build`.
func checkBuildPackages(t *testing.T, root string, build stage) {
	t.Helper()
	installed := aptInstalled(build)
	for _, mod := range cgoPkgConfig(t, root) {
		out, err := exec.Command("pkg-config", "--variable=pcfiledir", mod).Output()
		if err != nil {
			t.Errorf("pkg-config cannot find %s on this machine: %v", mod, err)
			continue
		}
		pc := filepath.Join(strings.TrimSpace(string(out)), mod+".pc")
		pkg, err := packageOf(pc)
		if err != nil {
			t.Errorf("%s: %v", mod, err)
			continue
		}
		if !slices.Contains(installed, pkg) {
			t.Errorf("the build needs %s from package %s, which the build stage does not install (it installs %v)", mod, pkg, installed)
		}
	}
}

// cgoPkgConfig lists the modules of the "#cgo pkg-config:" lines of the
// non-test Go files.
func cgoPkgConfig(t *testing.T, root string) []string {
	t.Helper()
	var mods []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "#cgo pkg-config:"); ok {
				for _, m := range strings.Fields(rest) {
					if !slices.Contains(mods, m) {
						mods = append(mods, m)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) == 0 {
		t.Fatal("no #cgo pkg-config line found: the transcoder's libraries are unchecked")
	}
	return mods
}

// aptInstalled lists the packages a stage's RUN lines apt-get install.
func aptInstalled(s stage) []string {
	var installed []string
	for _, run := range s.all("RUN") {
		words := strings.Fields(strings.NewReplacer("&&", " && ", "\\", " ").Replace(run))
		for i := 0; i+1 < len(words); i++ {
			if words[i] != "apt-get" || words[i+1] != "install" {
				continue
			}
			for _, w := range words[i+2:] {
				if w == "&&" || w == ";" {
					break
				}
				if !strings.HasPrefix(w, "-") {
					installed = append(installed, w)
				}
			}
		}
	}
	return installed
}
