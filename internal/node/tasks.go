package node

import (
	"errors"
	"fmt"
	"path/filepath"

	"stor/internal/av"
	"stor/internal/config"
	"stor/internal/doctask"
	"stor/internal/exiftool"
	"stor/internal/imagetask"
	"stor/internal/metatask"
	"stor/internal/pipeline"
	"stor/internal/pronom"
	"stor/internal/vips"
)

// Tools are the engines started once per process and shared by the tasks
// and the routes; Open starts them, Close stops them (but libvips, see
// Node.Close).
type Tools struct {
	Vips   *vips.Engine       // libvips, with this node's pixel limit
	Exif   *exiftool.Pool     // long-lived exiftool processes
	PRONOM *pronom.Identifier // siegfried with embedded signatures, warmed
	Office *doctask.Converter // warm LibreOffice, started at its first document
}

// Tasks lists the processing tasks this build runs, after the built-in
// "analyze". Each media feature adds its tasks here.
func Tasks(cfg config.Config, tools Tools) []pipeline.Task {
	var ts []pipeline.Task
	ts = append(ts, metatask.Tasks(metaConfig(cfg), tools.Exif, tools.PRONOM)...)
	ts = append(ts, imagetask.Tasks(imageConfig(cfg), tools.Vips)...)
	ts = append(ts, av.Tasks(av.Options{})...)
	ts = append(ts, doctask.Tasks(docConfig(cfg), tools.Vips, tools.Office)...)
	// OCR reads the image renditions when there are any, and records its
	// warnings beside the metadata task's: it runs after both.
	for i := range ts {
		if ts[i].Name == metatask.TaskText {
			// Office documents are read through their PDF rendition.
			ts[i].After = []string{metatask.TaskMetadata, imagetask.TaskAccess, imagetask.TaskThumbnails, doctask.TaskOfficePDF}
		}
	}
	return ts
}

// imageConfig is the image tasks' part of the configuration.
func imageConfig(cfg config.Config) imagetask.Config {
	ic := imagetask.DefaultConfig()
	ic.MaxPixels = cfg.MaxImagePixels
	ic.ThumbSizes = cfg.ThumbnailSizes
	ic.ThumbQuality = cfg.ThumbnailQuality
	ic.PyramidMinSize = cfg.PyramidMinSize
	return ic
}

// docConfig is the document tasks' part of the configuration.
func docConfig(cfg config.Config) doctask.Config {
	dc := doctask.DefaultConfig()
	dc.ThumbSizes = cfg.ThumbnailSizes
	return dc
}

// metaConfig is the metadata, identification and text tasks' part of the
// configuration.
func metaConfig(cfg config.Config) metatask.Config {
	mc := metatask.DefaultConfig()
	mc.OCRLanguages = cfg.OCRLanguages
	mc.ExiftoolTimeout = cfg.ExiftoolTimeout
	return mc
}

// openTools starts the per-process engines.
func openTools(cfg config.Config) (Tools, error) {
	var t Tools
	var err error
	// libvips starts once per process; a second Open (tests, the ingest
	// command) gets another Engine with its own pixel limit.
	if t.Vips, err = vips.Startup(vips.Config{MaxPixels: cfg.MaxImagePixels}); err != nil {
		return t, fmt.Errorf("image engine: %w", err)
	}
	t.Exif, err = exiftool.NewPool(exiftool.Config{Size: cfg.ExiftoolProcesses, Timeout: cfg.ExiftoolTimeout,
		Binary: cfg.ExiftoolBinary, TempDir: filepath.Join(cfg.DataDir, "tmp")})
	if err != nil {
		return t, fmt.Errorf("metadata: %w", err)
	}
	if t.PRONOM, err = pronom.New(); err != nil {
		t.Close()
		return t, fmt.Errorf("identification: %w", err)
	}
	t.Office, err = doctask.NewConverter(doctask.ConverterConfig{ProfileDir: filepath.Join(cfg.DataDir, "tmp", "office-profile"),
		Pool: cfg.OfficeConverters})
	if err != nil {
		t.Close()
		return t, fmt.Errorf("office: %w", err)
	}
	return t, nil
}

// Close stops the engines.
func (t Tools) Close() error {
	var err error
	if t.Office != nil {
		err = t.Office.Close()
	}
	if t.Exif != nil {
		err = errors.Join(err, t.Exif.Close())
	}
	return err
}
