// Command bundle packs the staged plugin directory into a reproducible tar.gz and writes the
// release hashes beside it (docs/design.md §12):
//
//	go run ./build/bundle -stage dist/<id> -out dist/<id>-<version>.tar.gz \
//	    -hashes dist/<id>-<version>.hashes.json -mtime <unix seconds> [-commit SHA]
//
// The archive depends only on the staged files' contents and executable bits: names sorted,
// owner and group 0 with no names, every mtime the given time (the commit's), modes normalised,
// and a gzip header without name or time.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Hashes is dist/<id>-<version>.hashes.json; its layout is specified in docs/design.md §12.2.
type Hashes struct {
	Format     string            `json:"format"`
	PluginID   string            `json:"plugin_id"`
	Version    string            `json:"version"`
	Commit     string            `json:"commit"`
	CommitTime string            `json:"commit_time"`
	Tarball    Tarball           `json:"tarball"`
	Files      map[string]string `json:"files"`
	Webapp     Webapp            `json:"webapp"`
}

// Tarball names the archive and its digest.
type Tarball struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Webapp describes what the server serves under /static/plugins/<id>/.
type Webapp struct {
	BundleFile string            `json:"bundle_file"`
	FNV1a64    string            `json:"fnv1a64"`
	ServedName string            `json:"served_name"`
	BundlePath string            `json:"bundle_path"`
	Files      map[string]string `json:"files"`
}

const hashesFormat = "org.mme2ee.release-hashes/1"

type entry struct {
	name string // path inside the archive, slash-separated, without the leading "<id>/"
	dir  bool
	exec bool
	data []byte
}

func main() {
	stage := flag.String("stage", "", "staged plugin directory (its base name is the plugin id)")
	out := flag.String("out", "", "tar.gz to write")
	hashesOut := flag.String("hashes", "", "hashes JSON to write")
	mtime := flag.Int64("mtime", -1, "modification time of every entry, Unix seconds (the commit time)")
	commit := flag.String("commit", "", "source commit, recorded in the hashes")
	flag.Parse()
	if *stage == "" || *out == "" || *hashesOut == "" || *mtime < 0 || flag.NArg() != 0 {
		fail("usage: bundle -stage DIR -out FILE.tar.gz -hashes FILE.json -mtime UNIX [-commit SHA]")
	}
	if err := run(*stage, *out, *hashesOut, time.Unix(*mtime, 0).UTC(), *commit); err != nil {
		fail(err.Error())
	}
}

func run(stage, out, hashesOut string, mtime time.Time, commit string) error {
	var man struct {
		ID      string `json:"id"`
		Version string `json:"version"`
		Webapp  *struct {
			BundlePath string `json:"bundle_path"`
		} `json:"webapp"`
	}
	raw, err := os.ReadFile(filepath.Join(stage, "plugin.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		return fmt.Errorf("plugin.json: %w", err)
	}
	if man.ID == "" || filepath.Base(stage) != man.ID {
		return fmt.Errorf("stage directory must be named after the plugin id %q", man.ID)
	}
	entries, err := collect(stage)
	if err != nil {
		return err
	}
	archive, err := pack(man.ID, entries, mtime)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, archive, 0o644); err != nil {
		return err
	}

	h := Hashes{
		Format:     hashesFormat,
		PluginID:   man.ID,
		Version:    man.Version,
		Commit:     commit,
		CommitTime: mtime.Format(time.RFC3339),
		Tarball:    Tarball{Name: filepath.Base(out), Size: int64(len(archive)), SHA256: sha(archive)},
		Files:      map[string]string{},
	}
	for _, e := range entries {
		if !e.dir {
			h.Files[man.ID+"/"+e.name] = sha(e.data)
		}
	}
	if man.Webapp != nil && man.Webapp.BundlePath != "" {
		h.Webapp, err = webapp(man.ID, man.Webapp.BundlePath, entries)
		if err != nil {
			return err
		}
	}
	js, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(hashesOut, append(js, '\n'), 0o644)
}

// webapp mirrors the server's UnpackWebappBundle (server/public plugin/environment.go): it
// serves every file of the bundle's directory under /static/plugins/<id>/ and renames the
// bundle to <id>_<hex FNV-1a 64 of its bytes>_bundle.js; ClientManifest (model/manifest.go)
// publishes that as bundle_path "/static/<id>/<name>".
func webapp(id, bundlePath string, entries []entry) (Webapp, error) {
	bundlePath = path.Clean(bundlePath)
	dir, file := path.Dir(bundlePath), path.Base(bundlePath)
	w := Webapp{BundleFile: file, Files: map[string]string{}}
	found := false
	for _, e := range entries {
		if e.dir || !strings.HasPrefix(e.name, dir+"/") {
			continue
		}
		rel := strings.TrimPrefix(e.name, dir+"/")
		w.Files[rel] = sha(e.data)
		if rel == file {
			found = true
			f := fnv.New64a()
			f.Write(e.data)
			w.FNV1a64 = hex.EncodeToString(f.Sum(nil))
		}
	}
	if !found {
		return w, fmt.Errorf("webapp bundle %s is not in the stage", bundlePath)
	}
	w.ServedName = fmt.Sprintf("%s_%s_bundle.js", id, w.FNV1a64)
	w.BundlePath = "/static/" + id + "/" + w.ServedName
	return w, nil
}

func collect(stage string) ([]entry, error) {
	var entries []entry
	err := filepath.WalkDir(stage, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(stage, p)
		if err != nil || rel == "." {
			return err
		}
		e := entry{name: filepath.ToSlash(rel), dir: d.IsDir()}
		if !e.dir {
			if !d.Type().IsRegular() {
				return fmt.Errorf("%s: only regular files and directories can be packed", p)
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			e.exec = info.Mode().Perm()&0o100 != 0
			if e.data, err = os.ReadFile(p); err != nil {
				return err
			}
		}
		entries = append(entries, e)
		return nil
	})
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, err
}

func pack(id string, entries []entry, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	// gzip -n: no file name, no time in the header.
	gz.Header = gzip.Header{OS: 255}
	tw := tar.NewWriter(gz)
	all := append([]entry{{name: "", dir: true}}, entries...)
	for _, e := range all {
		hdr := &tar.Header{
			Name:    path.Join(id, e.name),
			ModTime: mtime,
			Format:  tar.FormatPAX,
		}
		switch {
		case e.dir:
			hdr.Typeflag, hdr.Mode, hdr.Name = tar.TypeDir, 0o755, hdr.Name+"/"
		case e.exec:
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o755, int64(len(e.data))
		default:
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, int64(len(e.data))
		}
		if len(hdr.Name) < 100 {
			hdr.Format = tar.FormatUSTAR
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "bundle:", msg)
	os.Exit(1)
}
