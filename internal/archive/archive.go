// Package archive exports assets as BagIt 1.0 bags: each original under a
// generated safe name (data/originals/<asset id>.<format>; the client's
// filename is never a path, it is kept in the metadata), and per asset a
// metadata JSON and its PREMIS history as tag files.
package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"stor/internal/bagit"
	"stor/internal/catalog"
	"stor/internal/premis"
	"stor/internal/storage"
)

// Exporter writes bags from the catalog and the primary store.
type Exporter struct {
	DB      *catalog.DB
	Store   storage.Store
	Version string
}

// Metadata is the per-asset JSON tag file.
type Metadata struct {
	ID           string `json:"id"`
	OriginalName string `json:"original_filename"`
	Payload      string `json:"payload"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"`
	MD5          string `json:"md5"`
	ContentType  string `json:"content_type"`
	Kind         string `json:"kind"`
	Format       string `json:"format"`
	PRONOM       string `json:"pronom"`
	Project      string `json:"project"`
	State        string `json:"state"`
	CreatedAt    string `json:"created_at"`
	Fixity       struct {
		Status    string  `json:"status"`
		CheckedAt *string `json:"checked_at"`
	} `json:"fixity"`
}

// ProjectAssets lists a project's live assets, oldest first.
func ProjectAssets(ctx context.Context, db *catalog.DB, project string) ([]*catalog.Asset, error) {
	var out []*catalog.Asset
	f := catalog.AssetFilter{Project: project, Limit: 1000}
	for {
		list, err := catalog.ListAssets(ctx, db.Reader(), f)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
		if len(list) < f.Limit {
			break
		}
		f.Before = list[len(list)-1].Seq
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// safeExt is the asset's format as a file extension, or "bin".
func safeExt(format string) string {
	if format == "" || len(format) > 10 {
		return "bin"
	}
	for _, r := range format {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return "bin"
		}
	}
	return format
}

// Export writes a bag of assets into dir (which must not exist or be
// empty). Each original is checked against its sha256 as it is copied.
func (e *Exporter) Export(ctx context.Context, assets []*catalog.Asset, dir, identifier string) error {
	if len(assets) == 0 {
		return fmt.Errorf("archive: no assets to export: %w", catalog.ErrNotFound)
	}
	bag, err := bagit.Create(dir)
	if err != nil {
		return err
	}
	for _, a := range assets {
		if a.State == catalog.StateDeleted {
			return fmt.Errorf("archive: asset %s is deleted: %w", a.ID, catalog.ErrConflict)
		}
		name := "originals/" + a.ID + "." + safeExt(a.Format)
		rc, err := e.Store.Open(ctx, a.BlobKey, 0, -1)
		if err != nil {
			return fmt.Errorf("archive: original of %s: %w", a.ID, err)
		}
		sum, _, err := bag.AddPayload(name, rc)
		rc.Close()
		if err != nil {
			return err
		}
		if sum != a.SHA256 {
			return fmt.Errorf("archive: original of %s has sha256 %s, expected %s (run stor fixity audit --asset %s)",
				a.ID, sum, a.SHA256, a.ID)
		}
		md := Metadata{ID: a.ID, OriginalName: a.Filename, Payload: "data/" + name, Size: a.Size, SHA256: a.SHA256,
			MD5: a.MD5, ContentType: a.ContentType, Kind: a.Kind, Format: a.Format, PRONOM: a.PRONOM,
			Project: a.Project, State: a.State, CreatedAt: a.CreatedAt.UTC().Format(time.RFC3339Nano)}
		fs, err := catalog.GetFixityStatus(ctx, e.DB.Reader(), a.ID)
		if err != nil {
			return err
		}
		md.Fixity.Status = fs.Status
		if fs.Status != catalog.FixityUnchecked {
			t := fs.CheckedAt.Format(time.RFC3339Nano)
			md.Fixity.CheckedAt = &t
		}
		js, _ := json.MarshalIndent(md, "", "  ")
		if err := bag.AddTag("metadata/"+a.ID+".json", append(js, '\n')); err != nil {
			return err
		}
		rec, err := premis.Load(ctx, e.DB.Reader(), a, e.Version)
		if err != nil {
			return err
		}
		var x bytes.Buffer
		if err := premis.Write(&x, rec); err != nil {
			return err
		}
		if err := bag.AddTag("metadata/"+a.ID+".premis.xml", x.Bytes()); err != nil {
			return err
		}
	}
	desc := fmt.Sprintf("stor export of %d asset(s)", len(assets))
	return bag.Finish([][2]string{
		{"Bag-Software-Agent", "stor " + e.Version},
		{"Bagging-Date", time.Now().UTC().Format("2006-01-02")},
		{"External-Identifier", strings.Map(func(r rune) rune {
			if r < 0x20 {
				return ' '
			}
			return r
		}, identifier)},
		{"External-Description", desc},
	})
}
