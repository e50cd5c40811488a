package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/ingest"
	"stor/internal/logging"
	"stor/internal/node"
	"stor/internal/pipeline"
)

type ingestCmd struct{}

// uploader is one way into stor: a running server's API or a data dir.
type uploader interface {
	// exists reports whether an asset with these bytes is already stored.
	exists(ctx context.Context, sha string) (bool, error)
	// upload ingests one file; unsupported reports a 415.
	upload(ctx context.Context, path, name, sha string) (unsupported bool, err error)
}

type fileJob struct {
	path, name string
	size       int64
}

func (ingestCmd) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("stor ingest", flag.ContinueOnError)
	server := fs.String("server", envOr("STOR_URL", "http://127.0.0.1:8080"), "URL of a running stor (env STOR_URL)")
	token := fs.String("token", os.Getenv("STOR_TOKEN"), "API token with write and read scopes (env STOR_TOKEN)")
	dataDir := fs.String("data-dir", "", "ingest straight into this data dir instead of through a server")
	project := fs.String("project", "", "project for the new assets (default: the server's default)")
	force := fs.Bool("force", false, "ingest files even when their bytes are already stored")
	ignore := fs.Bool("ignore-unsupported", false, "store files of unknown formats too (kind other)")
	conc := fs.Int("concurrency", 4, "files uploaded at once")
	quiet := fs.Bool("quiet", false, "no progress line")
	tusAbove := fs.Int64("tus-threshold", 64<<20, "files larger than this many bytes go through resumable (tus) uploads, resumed by a rerun")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: stor ingest [flags] PATH...\n\nIngests files and directories (recursively). Flags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("ingest: name at least one file or directory")
	}
	files, total, err := collect(fs.Args())
	if err != nil {
		return err
	}

	var up uploader
	if *dataDir != "" {
		cfg := config.Default()
		cfg.DataDir = *dataDir
		n, err := node.Open(ctx, cfg, logging.New(io.Discard, "json", "error"))
		if err != nil {
			return err
		}
		defer n.Close()
		up = &directUploader{n: n, project: *project, ignore: *ignore}
	} else {
		if *token == "" {
			return fmt.Errorf("ingest: give --token (or STOR_TOKEN), or --data-dir to ingest without a server")
		}
		up = &apiUploader{base: strings.TrimRight(*server, "/"), token: *token, project: *project,
			ignore: *ignore, client: &http.Client{Timeout: 0}, run: rand.Text(), tusAbove: *tusAbove, resume: newResumeStore()}
	}

	bar := newProgress(os.Stderr, len(files), total, *quiet)
	var ingested, skipped, unsupported, failed atomic.Int64
	var failMu sync.Mutex
	var failures []string
	jobs := make(chan fileJob)
	var wg sync.WaitGroup
	for range max(1, *conc) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				outcome, err := ingestOne(ctx, up, j, *force)
				switch {
				case err != nil:
					failed.Add(1)
					failMu.Lock()
					failures = append(failures, fmt.Sprintf("%s: %v", j.path, err))
					failMu.Unlock()
				case outcome == "skipped":
					skipped.Add(1)
				case outcome == "unsupported":
					unsupported.Add(1)
				default:
					ingested.Add(1)
				}
				bar.done(j.size)
			}
		}()
	}
	start := time.Now()
	for _, j := range files {
		if ctx.Err() != nil {
			break
		}
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	bar.finish()

	sort.Strings(failures)
	for _, f := range failures {
		fmt.Fprintln(os.Stderr, "failed:", f)
	}
	fmt.Printf("ingested %d, skipped %d already stored, %d unsupported, %d failed (%d files, %s in %s)\n",
		ingested.Load(), skipped.Load(), unsupported.Load(), failed.Load(), len(files),
		human(total), time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		return fmt.Errorf("ingest: interrupted")
	}
	if failed.Load() > 0 {
		return fmt.Errorf("ingest: %d files failed", failed.Load())
	}
	return nil
}

func ingestOne(ctx context.Context, up uploader, j fileJob, force bool) (string, error) {
	sha, err := hashFile(j.path)
	if err != nil {
		return "", err
	}
	if !force {
		ok, err := up.exists(ctx, sha)
		if err != nil {
			return "", err
		}
		if ok {
			return "skipped", nil
		}
	}
	var unsupported bool
	for attempt := 1; ; attempt++ {
		unsupported, err = up.upload(ctx, j.path, j.name, sha)
		var te *transientError
		if err == nil || !errors.As(err, &te) || attempt == 3 || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(attempt) * time.Second)
	}
	if unsupported {
		return "unsupported", nil
	}
	return "ingested", err
}

// collect walks the paths and returns regular files, skipping dotfiles in
// directories.
func collect(paths []string) ([]fileJob, int64, error) {
	var out []fileJob
	var total int64
	for _, root := range paths {
		fi, err := os.Stat(root)
		if err != nil {
			return nil, 0, fmt.Errorf("ingest: %w", err)
		}
		if !fi.IsDir() {
			out = append(out, fileJob{root, filepath.Base(root), fi.Size()})
			total += fi.Size()
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && p != root {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, fileJob{p, d.Name(), info.Size()})
			total += info.Size()
			return nil
		})
		if err != nil {
			return nil, 0, fmt.Errorf("ingest: %w", err)
		}
	}
	return out, total, nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

type apiUploader struct {
	base, token, project string
	ignore               bool
	client               *http.Client
	// run is random per invocation: a retry within this run is idempotent,
	// but a later run (--force, or after the asset was deleted) makes a
	// new asset instead of replaying the first one.
	run      string
	tusAbove int64 // files above this size go through tus
	resume   *resumeStore
}

func (u *apiUploader) do(req *http.Request) (*http.Response, error) {
	req.Header.Set("Authorization", "Bearer "+u.token)
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, &transientError{err}
	}
	return resp, nil
}

func apiErr(resp *http.Response) error {
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body)
	err := fmt.Errorf("%s: %s", resp.Status, body.Error.Message)
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return &transientError{err}
	}
	return err
}

func (u *apiUploader) exists(ctx context.Context, sha string) (bool, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", u.base+"/api/v1/assets?limit=1&sha256="+sha, nil)
	resp, err := u.do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, apiErr(resp)
	}
	var list struct{ Items []json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return false, err
	}
	return len(list.Items) > 0, nil
}

func (u *apiUploader) upload(ctx context.Context, path, name, sha string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	if u.tusAbove > 0 && fi.Size() > u.tusAbove {
		return u.tusUpload(ctx, f, fi, path, name, sha)
	}
	q := url.Values{"sha256": {sha}}
	if u.project != "" {
		q.Set("project", u.project)
	}
	if u.ignore {
		q.Set("ignore_unsupported", "1")
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", u.base+"/api/v1/assets?"+q.Encode(), f)
	req.ContentLength = fi.Size()
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-Stor-Priority", "bulk")
	req.Header.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	// The same file retried in this run must not make a second asset.
	key := sha256.Sum256([]byte(path + "\x00" + sha))
	req.Header.Set("Idempotency-Key", "ingest-"+u.run+"-"+hex.EncodeToString(key[:16]))
	resp, err := u.do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated, http.StatusOK:
		io.Copy(io.Discard, resp.Body)
		return false, nil
	case http.StatusUnsupportedMediaType:
		return true, nil
	}
	return false, apiErr(resp)
}

type directUploader struct {
	n       *node.Node
	project string
	ignore  bool
}

func (u *directUploader) exists(ctx context.Context, sha string) (bool, error) {
	list, err := catalog.ListAssets(ctx, u.n.DB.Reader(), catalog.AssetFilter{SHA256: sha, Limit: 1})
	return len(list) > 0, err
}

func (u *directUploader) upload(ctx context.Context, path, name, sha string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	project := u.project
	if project == "" {
		project = "default"
	}
	_, err = u.n.Ingest.Ingest(ctx, f, ingest.Meta{
		Filename: name, Project: project, IgnoreUnsupported: u.ignore, ExpectSHA256: sha,
		Actor: "cli", TxID: "cli-" + sha[:12], Priority: pipeline.PriorityBulk,
	})
	if errors.Is(err, ingest.ErrUnsupportedFormat) {
		return true, nil
	}
	return false, err
}
