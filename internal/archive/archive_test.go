package archive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stor/internal/archive"
	"stor/internal/bagit"
	"stor/internal/catalog"
	"stor/internal/node/nodetest"
	"stor/internal/premis"
)

func TestBagExportVerifies(t *testing.T) {
	n := nodetest.Start(t)
	ctx := context.Background()
	names := []string{"../../etc/passwd", "Ünïcode name.jpg", "a\\b:c*?.png"}
	var ids []string
	for i, name := range names {
		data := nodetest.JPEG(t, 40+i, 30, i)
		r := n.Do(t, "POST", "/api/v1/assets?project=p&filename="+url.QueryEscape(name), n.Token, bytes.NewReader(data),
			http.Header{"Content-Type": {"application/octet-stream"}})
		if r.Status != http.StatusCreated {
			t.Fatalf("upload: %d %s", r.Status, r.Body)
		}
		ids = append(ids, r.Asset(t).ID)
	}
	assets, err := archive.ProjectAssets(ctx, n.DB, "p")
	if err != nil || len(assets) != 3 {
		t.Fatalf("project assets: %d %v", len(assets), err)
	}
	dir := filepath.Join(t.TempDir(), "bag")
	ex := &archive.Exporter{DB: n.DB, Store: n.Store, Version: "test"}
	if err := ex.Export(ctx, assets, dir, "project p"); err != nil {
		t.Fatal(err)
	}
	rep, err := bagit.Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.PayloadFiles != 3 || rep.TagFiles != 3+6 {
		t.Fatalf("report %+v", rep)
	}
	// Payload names are generated; the client's names live in metadata.
	for _, f := range nodetest.Files(t, filepath.Join(dir, "data")) {
		if strings.Contains(f, "passwd") || strings.Contains(f, "..") || !strings.HasPrefix(f, "originals/") {
			t.Errorf("payload name %q", f)
		}
	}
	for i, id := range ids {
		b, err := os.ReadFile(filepath.Join(dir, "metadata", id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var md archive.Metadata
		if err := json.Unmarshal(b, &md); err != nil {
			t.Fatal(err)
		}
		if md.OriginalName != names[i] || md.Payload != "data/originals/"+id+".jpg" {
			t.Errorf("metadata %+v", md)
		}
		x, err := os.ReadFile(filepath.Join(dir, "metadata", id+".premis.xml"))
		if err != nil {
			t.Fatal(err)
		}
		var root struct{ XMLName xml.Name }
		if err := xml.Unmarshal(x, &root); err != nil || root.XMLName.Space != premis.Namespace {
			t.Fatalf("premis tag file: %v %v", root.XMLName, err)
		}
	}
	manifest, _ := os.ReadFile(filepath.Join(dir, "manifest-sha256.txt"))
	for _, a := range assets {
		if !strings.Contains(string(manifest), a.SHA256+"  data/originals/"+a.ID+".jpg\n") {
			t.Errorf("manifest lacks %s", a.ID)
		}
	}

	// Tampering is caught: a payload byte, a tag file, an extra file.
	tamper := func(name string, fn func(p string)) {
		t.Helper()
		cp := filepath.Join(t.TempDir(), "bag")
		copyDir(t, dir, cp)
		fn(filepath.Join(cp, filepath.FromSlash(name)))
		if _, err := bagit.Verify(cp); !errors.Is(err, bagit.ErrInvalid) {
			t.Errorf("tampered %s: Verify = %v, want ErrInvalid", name, err)
		}
	}
	flip := func(p string) {
		b, _ := os.ReadFile(p)
		b[len(b)/2] ^= 0x80
		os.WriteFile(p, b, 0o640)
	}
	tamper("data/originals/"+ids[1]+".jpg", flip)
	tamper("metadata/"+ids[0]+".json", flip)
	tamper("bag-info.txt", func(p string) { os.WriteFile(p, []byte("Payload-Oxum: 1.1\n"), 0o640) })
	tamper("data/extra.txt", func(p string) { os.WriteFile(p, []byte("x"), 0o640) })
	tamper("data/originals/"+ids[2]+".jpg", func(p string) { os.Remove(p) })

	// A deleted asset is not exported; a non-empty directory is refused.
	if err := ex.Export(ctx, assets, dir, "again"); err == nil {
		t.Error("export into a non-empty directory succeeded")
	}
	n.Do(t, "DELETE", "/api/v1/assets/"+ids[0], n.Token, nil, nil)
	a0, _ := catalog.GetAsset(ctx, n.DB.Reader(), ids[0])
	if err := ex.Export(ctx, []*catalog.Asset{a0}, t.TempDir(), "x"); !errors.Is(err, catalog.ErrConflict) {
		t.Errorf("export of a deleted asset: %v", err)
	}
}

func TestSafeName(t *testing.T) {
	for name, ok := range map[string]bool{
		"originals/a.jpg": true, "../x": false, "a/../b": false, "/abs": false, ".hidden": false,
		"a b": false, "a\\b": false, "": false, "ü": false, "a//b": false,
	} {
		if bagit.SafeName(name) != ok {
			t.Errorf("SafeName(%q) = %v", name, !ok)
		}
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o640)
	})
	if err != nil {
		t.Fatal(err)
	}
}
