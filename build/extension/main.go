// Command extension assembles the browser extension (extension/) for loading unpacked and
// zips it for publishing, reproducibly:
//
//	go run ./build/extension -src extension -out dist/extension -zip dist/x.zip -version V \
//	    -mtime UNIX [HASHES.json ...]
//
// It copies the sources, sets the manifest's version, draws the state icons, and ships the
// given release hashes files (the build's own, and published ones) in releases/.
package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

var sourceFiles = []string{"manifest.json", "background.js", "content.js", "verify.js", "popup.html", "popup.js", "popup.css"}

var iconColors = map[string]color.NRGBA{
	"verified": {0x1b, 0x7f, 0x3b, 0xff},
	"mismatch": {0xc6, 0x28, 0x28, 0xff},
	"unknown":  {0x75, 0x75, 0x75, 0xff},
}

func main() {
	src := flag.String("src", "extension", "extension sources")
	out := flag.String("out", "", "folder to write the unpacked extension to (emptied first)")
	zipOut := flag.String("zip", "", "zip to write")
	version := flag.String("version", "", "extension version (the plugin's)")
	mtime := flag.Int64("mtime", -1, "time of every zip entry, Unix seconds")
	flag.Parse()
	if *out == "" || *zipOut == "" || *version == "" || *mtime < 0 {
		fail("usage: extension -src DIR -out DIR -zip FILE -version V -mtime UNIX [HASHES.json ...]")
	}
	files, err := assemble(*src, *version, flag.Args())
	if err != nil {
		fail(err.Error())
	}
	if err := writeDir(*out, files); err != nil {
		fail(err.Error())
	}
	z, err := zipFiles(files, time.Unix(*mtime, 0).UTC())
	if err != nil {
		fail(err.Error())
	}
	if err := os.WriteFile(*zipOut, z, 0o644); err != nil {
		fail(err.Error())
	}
}

func assemble(src, version string, hashes []string) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, name := range sourceFiles {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return nil, err
		}
		files[name] = b
	}
	var man map[string]any
	if err := json.Unmarshal(files["manifest.json"], &man); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	// Chrome wants 1-4 dot-separated integers: drop a pre-release suffix.
	man["version"] = strings.SplitN(version, "-", 2)[0]
	man["version_name"] = version
	mb, err := json.MarshalIndent(man, "", "    ")
	if err != nil {
		return nil, err
	}
	files["manifest.json"] = append(mb, '\n')

	for state, c := range iconColors {
		for _, size := range []int{16, 32, 48, 128} {
			var buf bytes.Buffer
			if err := png.Encode(&buf, lockIcon(size, c)); err != nil {
				return nil, err
			}
			files[fmt.Sprintf("icons/%s-%d.png", state, size)] = buf.Bytes()
		}
	}

	var names []string
	for _, h := range hashes {
		b, err := os.ReadFile(h)
		if err != nil {
			return nil, err
		}
		var j struct {
			Format string `json:"format"`
		}
		if err := json.Unmarshal(b, &j); err != nil || j.Format != "org.mme2ee.release-hashes/1" {
			return nil, fmt.Errorf("%s is not a release hashes file", h)
		}
		name := filepath.Base(h)
		if _, dup := files["releases/"+name]; dup {
			continue
		}
		files["releases/"+name] = b
		names = append(names, name)
	}
	sort.Strings(names)
	idx, err := json.MarshalIndent(map[string]any{"files": names}, "", "  ")
	if err != nil {
		return nil, err
	}
	files["releases/index.json"] = append(idx, '\n')
	return files, nil
}

// lockIcon draws a padlock in the state's colour on a transparent square.
func lockIcon(size int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	s := float64(size)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			fx, fy := (float64(x)+0.5)/s, (float64(y)+0.5)/s
			body := fx >= 0.15 && fx <= 0.85 && fy >= 0.45 && fy <= 0.95
			dx, dy := fx-0.5, fy-0.45
			r := dx*dx + dy*dy
			shackle := fy <= 0.45 && r <= 0.31*0.31 && r >= 0.19*0.19
			legs := fy > 0.45 && fy < 0.5 && ((fx >= 0.19 && fx <= 0.31) || (fx >= 0.69 && fx <= 0.81))
			if body || shackle || legs {
				img.SetNRGBA(x, y, c)
			}
		}
	}
	return img
}

func writeDir(out string, files map[string][]byte) error {
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	for name, b := range files {
		p := filepath.Join(out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func zipFiles(files map[string][]byte, mtime time.Time) ([]byte, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		h := &zip.FileHeader{Name: n, Method: zip.Deflate, Modified: mtime}
		h.SetMode(fs.FileMode(0o644))
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(files[n]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "extension:", msg)
	os.Exit(1)
}
