package imagetask

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"stor/internal/catalog"
	"stor/internal/pipeline"
	"stor/internal/proc"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// previewTags are the embedded JPEGs ExifTool can extract from camera RAW
// files, roughly largest first (JpgFromRaw is full size in CR2/NEF/RW2).
var previewTags = []string{"JpgFromRaw", "PreviewImage", "ThumbnailImage"}

// rawSource makes a decodable stand-in for the camera RAW at orig in a
// temp dir (see the package documentation) and returns its path.
func (r *runner) rawSource(ctx context.Context, tc *pipeline.TaskContext, orig string) (string, error) {
	dir, err := tc.TempDir()
	if err != nil {
		return "", err
	}
	// One ExifTool run returns the RAW's orientation and its previews
	// (base64 in the JSON).
	args := []string{"-j", "-b", "-n", "-Orientation"}
	for _, t := range previewTags {
		args = append(args, "-"+t)
	}
	out, err := proc.Run(ctx, r.cfg.ExifTool, append(args, "--", orig)...)
	if err != nil {
		return "", fmt.Errorf("raw: read previews: %w", err)
	}
	var meta []map[string]any
	if err := json.Unmarshal(out, &meta); err != nil || len(meta) != 1 {
		return "", fmt.Errorf("raw: exiftool output: %w", errors.Join(err, errors.New("not one object")))
	}
	orientation := 1
	if v, ok := meta[0]["Orientation"].(float64); ok && v >= 1 && v <= 8 {
		orientation = int(v)
	}
	var best []byte
	for _, t := range previewTags {
		s, _ := meta[0][t].(string)
		if b64, ok := strings.CutPrefix(s, "base64:"); ok {
			if b, err := base64.StdEncoding.DecodeString(b64); err == nil && len(b) > len(best) {
				best = b
			}
		}
	}

	var preview string // a usable but small preview, the last resort
	if best != nil {
		p := filepath.Join(dir, "preview.jpg")
		if err := os.WriteFile(p, best, 0o600); err != nil {
			return "", fmt.Errorf("raw: %w", err)
		}
		in, err := r.eng.Probe(p)
		if err == nil {
			if in.Orientation <= 1 && orientation > 1 {
				if _, err := proc.Run(ctx, r.cfg.ExifTool, "-q", "-q", "-overwrite_original", "-n",
					"-Orientation="+strconv.Itoa(orientation), "--", p); err != nil {
					return "", fmt.Errorf("raw: orient preview: %w", err)
				}
			}
			if max(in.Width, in.Height) >= r.cfg.MinPreview {
				return p, nil
			}
			preview = p
		}
	}

	decoded := filepath.Join(dir, "decoded.tif")
	derr := r.dcraw(ctx, orig, decoded)
	if derr == nil {
		return decoded, nil
	}
	if ctx.Err() != nil {
		return "", derr
	}
	if preview != "" {
		tc.Log.WarnContext(ctx, "dcraw cannot decode this RAW; using its small preview", "err", derr)
		return preview, nil
	}
	return "", pipeline.Permanentf("no embedded preview and dcraw cannot decode this %s: %w", tc.Asset.Format, derr)
}

// dcraw decodes a RAW to an 8-bit TIFF at dst with the camera's white
// balance; dcraw also applies the orientation.
func (r *runner) dcraw(ctx context.Context, orig, dst string) error {
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("raw: %w", err)
	}
	defer f.Close()
	cmd := proc.Command(ctx, r.cfg.DCRaw, "-c", "-w", "-T", orig)
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("dcraw: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	if fi, err := f.Stat(); err != nil || fi.Size() == 0 {
		return errors.New("dcraw: no output")
	}
	return f.Close()
}

// noRendererReason is recorded for formats with no decoder.
const noRendererReason = "no decoder for Zeiss ZVI; metadata only"

// noRenderer records, once, that the asset gets no image derivatives.
func noRenderer(ctx context.Context, tc *pipeline.TaskContext) error {
	return tc.DB().InTx(ctx, func(tx *sql.Tx) error {
		evs, err := catalog.ListEvents(ctx, tx, tc.Asset.ID)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.Type == "no_renderer" {
				return nil
			}
		}
		detail, _ := json.Marshal(map[string]string{"reason": noRendererReason, "format": tc.Asset.Format})
		return catalog.AddEvent(ctx, tx, catalog.Event{AssetID: tc.Asset.ID, Type: "no_renderer",
			Actor: "system", Detail: string(detail)})
	})
}
