package metatask

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"stor/internal/catalog"
	"stor/internal/exiftool"
	"stor/internal/logging"
	"stor/internal/pipeline"
	"stor/internal/pronom"
)

// Task names.
const (
	TaskIdentify = "identify"
	TaskMetadata = "metadata"
	TaskText     = "text"
)

// Config tunes the tasks. Zero fields take the defaults noted.
type Config struct {
	// OCRLanguages for tesseract -l, joined with '+'. Default "eng".
	OCRLanguages string
	// OCRMaxPixels: images larger than this are not OCRed (a warning says
	// so). Default 50 megapixels.
	OCRMaxPixels int64
	// ExiftoolTimeout is the pool's per-call timeout; the metadata task's
	// own timeout is derived from it. Default 30s.
	ExiftoolTimeout time.Duration
	// MaxValueBytes bounds one stored tag value (raw or display) and one
	// normalised text field; longer ones are cut at a rune boundary and a
	// warning names them. Default 64 KiB.
	MaxValueBytes int
	// MaxKeywords bounds the keywords kept on the asset. Default 1000.
	MaxKeywords int
	// Pdftotext, Pdftoppm, Pdfinfo, Tesseract are the programs run (paths
	// or names in PATH). Defaults are their names.
	Pdftotext, Pdftoppm, Pdfinfo, Tesseract string
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		OCRLanguages: "eng", OCRMaxPixels: 50_000_000, ExiftoolTimeout: exiftool.DefaultTimeout,
		MaxValueBytes: 64 << 10, MaxKeywords: 1000,
		Pdftotext: "pdftotext", Pdftoppm: "pdftoppm", Pdfinfo: "pdfinfo", Tesseract: "tesseract",
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.OCRLanguages == "" {
		c.OCRLanguages = d.OCRLanguages
	}
	if c.OCRMaxPixels <= 0 {
		c.OCRMaxPixels = d.OCRMaxPixels
	}
	if c.ExiftoolTimeout <= 0 {
		c.ExiftoolTimeout = d.ExiftoolTimeout
	}
	if c.MaxValueBytes <= 0 {
		c.MaxValueBytes = d.MaxValueBytes
	}
	if c.MaxKeywords <= 0 {
		c.MaxKeywords = d.MaxKeywords
	}
	for _, p := range []*[2]*string{{&c.Pdftotext, &d.Pdftotext}, {&c.Pdftoppm, &d.Pdftoppm},
		{&c.Pdfinfo, &d.Pdfinfo}, {&c.Tesseract, &d.Tesseract}} {
		if *p[0] == "" {
			*p[0] = *p[1]
		}
	}
	return c
}

// Tasks returns the identify, metadata and text tasks over the process's
// exiftool pool and PRONOM identifier.
func Tasks(cfg Config, exif *exiftool.Pool, id *pronom.Identifier) []pipeline.Task {
	r := &runner{cfg: cfg.withDefaults(), exif: exif, id: id}
	all := func(*catalog.Asset) bool { return true }
	return []pipeline.Task{
		{Name: TaskIdentify, Applies: all, Required: true, Class: pipeline.Light,
			Timeout: 2 * time.Minute, MaxAttempts: 3, Run: r.identify},
		// The pool's per-call timeout fires first; the task's leaves room
		// for waiting for a free process and for the database.
		{Name: TaskMetadata, Applies: all, Required: true, Class: pipeline.Light,
			Timeout: max(2*r.cfg.ExiftoolTimeout, r.cfg.ExiftoolTimeout+time.Minute), MaxAttempts: 3, Run: r.metadata},
		{Name: TaskText, Applies: HasText, Required: false, Class: pipeline.Heavy,
			TimeoutFor: textTimeout, MaxAttempts: 2, Run: r.text},
	}
}

// identifyWindow is how much of each end of an audio or video file
// Siegfried reads.
const identifyWindow = 8 << 20

type runner struct {
	cfg  Config
	exif *exiftool.Pool
	id   *pronom.Identifier
}

func (r *runner) identify(ctx context.Context, tc *pipeline.TaskContext) error {
	path, err := tc.OriginalFile(ctx)
	if err != nil {
		return err
	}
	var res pronom.Result
	if k := tc.Asset.Kind; k == "video" || k == "audio" {
		// Audio and video containers are known by their first and last
		// bytes; the whole of a 1.4 GB clip cost 9 s of CPU beside the
		// ladder's first segments (docs/benchmarks.md, issue 7).
		res, err = r.id.IdentifyEnds(ctx, path, tc.Asset.Filename, identifyWindow)
	} else {
		res, err = r.id.Identify(ctx, path, tc.Asset.Filename)
	}
	if err != nil {
		return err
	}
	detail, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("identify: %w", err)
	}
	var warnings []string
	if res.ExtensionMismatch {
		warnings = append(warnings, res.ExtensionWarning)
	}
	a := tc.Asset
	return tc.DB().InTx(ctx, func(tx *sql.Tx) error {
		if err := catalog.SetIdentification(ctx, tx, a.ID, res.PUID, res.SignatureVersion, string(detail)); err != nil {
			return err
		}
		if err := catalog.SetWarnings(ctx, tx, a.ID, TaskIdentify, warnings); err != nil {
			return err
		}
		if !res.ExtensionMismatch {
			return nil
		}
		ev, _ := json.Marshal(map[string]string{"puid": res.PUID, "format": res.Format,
			"filename": a.Filename, "warning": res.ExtensionWarning})
		return catalog.AddEvent(ctx, tx, catalog.Event{AssetID: a.ID, Type: "format.extension_mismatch",
			Actor: "system", TxID: logging.TxID(ctx), Detail: string(ev)})
	})
}

func (r *runner) metadata(ctx context.Context, tc *pipeline.TaskContext) error {
	path, err := tc.OriginalFile(ctx)
	if err != nil {
		return err
	}
	a := tc.Asset
	var warnings []string
	m, err := r.exif.Extract(ctx, path)
	switch {
	case err == nil:
	case errors.Is(err, exiftool.ErrTimeout):
		return pipeline.Permanentf("exiftool did not finish reading the file within %s (its process was killed): %w",
			r.cfg.ExiftoolTimeout, err)
	case errors.Is(err, exiftool.ErrOutputTooLarge):
		// Degrade: the file stays usable, its metadata is not kept.
		m = &exiftool.Metadata{Groups: map[string]map[string]exiftool.Value{}}
		warnings = append(warnings, "metadata not stored: exiftool's output for this file exceeds the size bound")
	case errors.Is(err, exiftool.ErrBadPath), errors.Is(err, exiftool.ErrBadOutput):
		return pipeline.Permanent(err)
	default:
		var te *exiftool.ToolError
		if errors.As(err, &te) {
			return pipeline.Permanent(err)
		}
		return err // process died, pool busy, context: retry
	}
	if m.Error != "" {
		warnings = append(warnings, "exiftool: "+m.Error)
	}
	for i, w := range m.Warnings {
		if i == 20 {
			warnings = append(warnings, fmt.Sprintf("exiftool: %d more warnings", len(m.Warnings)-20))
			break
		}
		warnings = append(warnings, "exiftool: "+w)
	}
	cut := r.bound(m)
	if len(cut) > 0 {
		warnings = append(warnings, fmt.Sprintf("%d tag values longer than %d bytes were cut: %s",
			len(cut), r.cfg.MaxValueBytes, strings.Join(firstN(cut, 5), ", ")))
	}
	groups, err := json.Marshal(m.Groups)
	if err != nil {
		return pipeline.Permanentf("metadata: encoding the tags: %w", err)
	}
	norm, err := json.Marshal(m.Normalized)
	if err != nil {
		return pipeline.Permanentf("metadata: encoding the normalised fields: %w", err)
	}
	n := m.Normalized
	return tc.DB().InTx(ctx, func(tx *sql.Tx) error {
		if err := catalog.PutMetadata(ctx, tx, &catalog.AssetMetadata{AssetID: a.ID, Groups: groups,
			Normalized: norm, Warnings: m.Warnings, Error: m.Error}); err != nil {
			return err
		}
		if err := catalog.SetDescriptive(ctx, tx, a.ID, Descriptive(n)); err != nil {
			return err
		}
		if err := catalog.FillAssetInfo(ctx, tx, a.ID, catalog.AssetInfo{Width: n.Width, Height: n.Height,
			DurationSeconds: n.Duration, PageCount: n.PageCount}); err != nil {
			return err
		}
		return catalog.SetWarnings(ctx, tx, a.ID, TaskMetadata, warnings)
	})
}

// bound cuts over-long strings in the dump and the normalised fields (a
// 10 MB XMP packet must not become a 10 MB title in every listing) and
// returns the names of the tags it cut.
func (r *runner) bound(m *exiftool.Metadata) []string {
	limit := r.cfg.MaxValueBytes
	var cut []string
	for g, tags := range m.Groups {
		for k, v := range tags {
			raw, c1 := cutAny(v.Raw, limit)
			disp, c2 := cutString(v.Display, limit)
			if c1 || c2 {
				tags[k] = exiftool.Value{Raw: raw, Display: disp}
				cut = append(cut, g+"/"+k)
			}
		}
	}
	n := &m.Normalized
	for _, p := range []*string{&n.Title, &n.Description, &n.Creator, &n.Rights, &n.Make, &n.Model, &n.Lens} {
		*p, _ = cutString(*p, limit)
	}
	if len(n.Keywords) > r.cfg.MaxKeywords {
		n.Keywords = n.Keywords[:r.cfg.MaxKeywords]
	}
	for i := range n.Keywords {
		n.Keywords[i], _ = cutString(n.Keywords[i], 1024)
	}
	sortStrings(cut)
	return cut
}

func cutString(s string, limit int) (string, bool) {
	if len(s) <= limit {
		return s, false
	}
	i := limit
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + fmt.Sprintf(" … (cut: %d bytes)", len(s)), true
}

// cutAny bounds a decoded JSON value: every string in it, and lists to
// 10,000 entries.
func cutAny(v any, limit int) (any, bool) {
	switch t := v.(type) {
	case string:
		return cutString(t, limit)
	case []any:
		cut := false
		if len(t) > 10000 {
			t, cut = t[:10000], true
		}
		for i := range t {
			var c bool
			t[i], c = cutAny(t[i], limit)
			cut = cut || c
		}
		return t, cut
	case map[string]any:
		cut := false
		for k, x := range t {
			var c bool
			t[k], c = cutAny(x, limit)
			cut = cut || c
		}
		return t, cut
	}
	return v, false
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], "…")
}
