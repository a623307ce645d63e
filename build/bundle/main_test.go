package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func stage(t *testing.T, root string, mode os.FileMode) string {
	t.Helper()
	dir := filepath.Join(root, "org.example.p")
	files := map[string]string{
		"plugin.json":                `{"id":"org.example.p","version":"1.0.0","webapp":{"bundle_path":"webapp/dist/main.js"}}`,
		"webapp/dist/main.js":        "a",
		"webapp/dist/chunk.1.js":     "chunk",
		"server/dist/plugin-linux-x": "ELF",
		"assets/icon.svg":            "<svg/>",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		m := mode
		if filepath.Base(name) == "plugin-linux-x" {
			m |= 0o100
		}
		if err := os.WriteFile(p, []byte(body), m); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, m); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func build(t *testing.T, root string, mode os.FileMode) ([]byte, Hashes) {
	t.Helper()
	out, hashes := filepath.Join(root, "p.tar.gz"), filepath.Join(root, "p.json")
	if err := run(stage(t, root, mode), out, hashes, time.Unix(1700000000, 0).UTC(), "abc"); err != nil {
		t.Fatal(err)
	}
	archive, _ := os.ReadFile(out)
	raw, _ := os.ReadFile(hashes)
	var h Hashes
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return archive, h
}

// Two stages in different folders, with different permissions and file times: the same bytes.
func TestArchiveIsReproducible(t *testing.T) {
	a, ha := build(t, t.TempDir(), 0o644)
	time.Sleep(1100 * time.Millisecond)
	b, hb := build(t, filepath.Join(t.TempDir(), "a", "longer", "path"), 0o600)
	if !bytes.Equal(a, b) {
		t.Fatal("the two archives differ")
	}
	if ha.Tarball.SHA256 != hb.Tarball.SHA256 || ha.Tarball.SHA256 != sha(a) {
		t.Fatal("tarball hash")
	}

	// gzip header: no name, no time (gzip -n).
	zr, err := gzip.NewReader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Fatalf("gzip header has name %q time %v", zr.Name, zr.ModTime)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" || !hdr.ModTime.Equal(time.Unix(1700000000, 0)) {
			t.Fatalf("%s: owner %d/%d %q/%q time %v", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname, hdr.ModTime)
		}
		want := int64(0o644)
		if hdr.Typeflag == tar.TypeDir || hdr.Name == "org.example.p/server/dist/plugin-linux-x" {
			want = 0o755
		}
		if hdr.Mode != want {
			t.Fatalf("%s: mode %o, want %o", hdr.Name, hdr.Mode, want)
		}
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Fatalf("names not sorted: %q before %q", names[i-1], names[i])
		}
	}
	if names[0] != "org.example.p/" {
		t.Fatalf("first entry %q", names[0])
	}
}

// FNV-1a 64 of "a" is af63dc4c8601ec8c (the published test vector); the served name and
// bundle_path follow the server's UnpackWebappBundle and ClientManifest.
func TestHashesNameTheBundleAsTheServer(t *testing.T) {
	_, h := build(t, t.TempDir(), 0o644)
	f := fnv.New64a()
	f.Write(nil)
	if hex.EncodeToString(f.Sum(nil)) != "cbf29ce484222325" {
		t.Fatal("FNV-1a 64 offset basis")
	}
	if h.Webapp.FNV1a64 != "af63dc4c8601ec8c" || h.Webapp.ServedName != "org.example.p_af63dc4c8601ec8c_bundle.js" ||
		h.Webapp.BundlePath != "/static/org.example.p/org.example.p_af63dc4c8601ec8c_bundle.js" {
		t.Fatalf("webapp: %+v", h.Webapp)
	}
	// SHA-256("a")
	if h.Webapp.Files["main.js"] != "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb" || len(h.Webapp.Files) != 2 {
		t.Fatalf("webapp files: %v", h.Webapp.Files)
	}
	if len(h.Files) != 5 || h.Files["org.example.p/webapp/dist/chunk.1.js"] != sha([]byte("chunk")) {
		t.Fatalf("files: %v", h.Files)
	}
	if h.Format != hashesFormat || h.PluginID != "org.example.p" || h.Version != "1.0.0" || h.Commit != "abc" || h.CommitTime != "2023-11-14T22:13:20Z" {
		t.Fatalf("header: %+v", h)
	}
}

func TestStageMustBeNamedAfterThePlugin(t *testing.T) {
	root := t.TempDir()
	dir := stage(t, root, 0o644)
	other := filepath.Join(root, "other")
	if err := os.Rename(dir, other); err != nil {
		t.Fatal(err)
	}
	if err := run(other, filepath.Join(root, "x.tar.gz"), filepath.Join(root, "x.json"), time.Unix(0, 0), ""); err == nil {
		t.Fatal("accepted a stage not named after the plugin id")
	}
}
