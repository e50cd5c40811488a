// Command metadata compares three ways of reading the metadata of N small
// JPEGs with ExifTool: the stor pool (internal/exiftool, long-lived
// -stay_open processes), one exiftool process per file, and one exiftool
// batch run over all files. All three use the same tag options
// (-j -l -G0:1 -a -use MWG).
//
//	go run ./bench/metadata -n 1000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"stor/internal/exiftool"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/metadata:", err)
		os.Exit(1)
	}
}

var exifArgs = []string{"-j", "-l", "-G0:1", "-a", "-use", "MWG"}

func run() error {
	n := flag.Int("n", 1000, "number of JPEGs")
	size := flag.Int("pool", 2, "pool size for the concurrent pool run")
	perFileMax := flag.Int("perfile", 0, "time per-file runs on this many files only and extrapolate (0: all)")
	dir := flag.String("dir", "", "work directory (default: a new temp dir, removed after)")
	flag.Parse()

	if *dir == "" {
		d, err := os.MkdirTemp("", "stor-bench-metadata-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	start := time.Now()
	files, err := generate(*dir, *n)
	if err != nil {
		return err
	}
	fmt.Printf("generated %d JPEGs in %s (%s)\n", len(files), time.Since(start).Round(time.Millisecond), *dir)
	ctx := context.Background()

	// 1. Pool, one process, calls one after another (same work shape as
	// the batch: one process, sequential).
	pool1, err := timePool(ctx, files, 1, 1)
	if err != nil {
		return err
	}
	// 2. Pool of size N with N workers (how stor runs it).
	poolN, err := timePool(ctx, files, *size, *size)
	if err != nil {
		return err
	}
	// 3. One exiftool process per file.
	sample := files
	if *perFileMax > 0 && *perFileMax < len(files) {
		sample = files[:*perFileMax]
	}
	start = time.Now()
	for _, f := range sample {
		cmd := exec.Command("exiftool", append(append([]string(nil), exifArgs...), f)...)
		cmd.Stdout = io.Discard
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("exiftool %s: %w", f, err)
		}
	}
	perFile := time.Since(start) * time.Duration(len(files)) / time.Duration(len(sample))
	// 4. One exiftool batch over all files.
	start = time.Now()
	cmd := exec.Command("exiftool", append(append([]string(nil), exifArgs...), files...)...)
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("exiftool batch: %w", err)
	}
	batch := time.Since(start)

	per := func(d time.Duration) string {
		return fmt.Sprintf("%8.2f ms/file", float64(d.Microseconds())/1000/float64(len(files)))
	}
	fmt.Printf("\n%d files\n", len(files))
	fmt.Printf("pool size 1, sequential       %10s %s\n", pool1.Round(time.Millisecond), per(pool1))
	fmt.Printf("pool size %d, %d workers         %10s %s\n", *size, *size, poolN.Round(time.Millisecond), per(poolN))
	note := ""
	if len(sample) != len(files) {
		note = fmt.Sprintf(" (extrapolated from %d files)", len(sample))
	}
	fmt.Printf("exiftool per file             %10s %s%s\n", perFile.Round(time.Millisecond), per(perFile), note)
	fmt.Printf("exiftool one batch            %10s %s\n", batch.Round(time.Millisecond), per(batch))
	fmt.Printf("\nper-file / pool(1)  = %6.1fx  (goal >= 10x)\n", float64(perFile)/float64(pool1))
	fmt.Printf("pool(1) / batch     = %6.2fx  (goal <= 1.2x)\n", float64(pool1)/float64(batch))
	fmt.Printf("per-file / pool(%d)  = %6.1fx\n", *size, float64(perFile)/float64(poolN))
	fmt.Printf("pool(%d) / batch     = %6.2fx\n", *size, float64(poolN)/float64(batch))
	return nil
}

// generate makes one JPEG with vips, tags it, copies it n times and gives
// every copy its own title with a single exiftool run.
func generate(dir string, n int) ([]string, error) {
	base := filepath.Join(dir, "base.jpg")
	if out, err := exec.Command("vips", "black", base+"[Q=85]", "320", "240", "--bands", "3").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("vips: %w: %s", err, out)
	}
	tagArgs := []string{"-q", "-overwrite_original",
		"-EXIF:Make=Canon", "-EXIF:Model=EOS R5", "-EXIF:Artist=Bench",
		"-EXIF:DateTimeOriginal=2024:01:02 03:04:05", "-EXIF:OffsetTimeOriginal=+01:00",
		"-EXIF:GPSLatitude=48.85", "-EXIF:GPSLatitudeRef=N", "-EXIF:GPSLongitude=2.29", "-EXIF:GPSLongitudeRef=E",
		"-IPTC:Keywords=bench", "-XMP-dc:Subject=bench", base}
	if out, err := exec.Command("exiftool", tagArgs...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("exiftool tag: %w: %s", err, out)
	}
	data, err := os.ReadFile(base)
	if err != nil {
		return nil, err
	}
	imgDir := filepath.Join(dir, "img")
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		return nil, err
	}
	files := make([]string, n)
	for i := range n {
		files[i] = filepath.Join(imgDir, fmt.Sprintf("img%05d.jpg", i))
		if err := os.WriteFile(files[i], data, 0o644); err != nil {
			return nil, err
		}
	}
	if out, err := exec.Command("exiftool", "-q", "-overwrite_original", "-XMP-dc:Title<${FileName}", imgDir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("exiftool titles: %w: %s", err, out)
	}
	return files, nil
}

func timePool(ctx context.Context, files []string, size, workers int) (time.Duration, error) {
	p, err := exiftool.NewPool(exiftool.Config{Size: size})
	if err != nil {
		return 0, err
	}
	defer p.Close()
	// Warm every process (Perl start and module loading happen once per
	// process, as in a running server).
	var wg sync.WaitGroup
	for range size {
		wg.Go(func() { _, _ = p.Extract(ctx, files[0]) })
	}
	wg.Wait()

	start := time.Now()
	next := make(chan string)
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for f := range next {
				m, err := p.Extract(ctx, f)
				if err == nil && m.Normalized.Title != filepath.Base(f) {
					err = fmt.Errorf("%s: title %q", f, m.Normalized.Title)
				}
				if err != nil {
					select {
					case errs <- err:
					default: // keep the first errors only, keep draining
					}
				}
			}
		})
	}
	for _, f := range files {
		next <- f
	}
	close(next)
	wg.Wait()
	d := time.Since(start)
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	return d, nil
}
