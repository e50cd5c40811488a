package uploads

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"stor/internal/api"
	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/ingest"
	"stor/internal/logging"
)

// Fetcher is POST /api/v1/assets/from-url: it connects at once (so that a
// refused address or a remote error answers the request), creates the
// asset in state uploading, answers 202 and downloads in the background
// through Ingester.Receive and Commit. A failed download leaves the asset
// failed with the reason.
type Fetcher struct {
	DB      *catalog.DB
	Ingest  *ingest.Ingester
	API     *api.Server // the asset view
	Log     *slog.Logger
	BaseURL string
	Timeout time.Duration
	Policy  AddrPolicy

	mu     sync.Mutex
	ctx    context.Context // lives as long as the node; set by Start
	cancel context.CancelFunc
	wg     sync.WaitGroup
	client *http.Client
}

// Route is the API route, for api.Server.Extra.
func (f *Fetcher) Route() api.Route {
	return api.Route{Method: "POST", Pattern: "/api/v1/assets/from-url", Scope: auth.ScopeWrite, Handle: f.handle, Limit: api.LimitUpload}
}

// Start lets downloads run until Stop, and fetches again those a stopped
// process left unfinished (from the start: nothing of them was kept).
func (f *Fetcher) Start(ctx context.Context) error {
	f.mu.Lock()
	f.ctx, f.cancel = context.WithCancel(context.WithoutCancel(ctx))
	f.client = f.Policy.Client()
	f.mu.Unlock()
	left, err := catalog.UnfinishedFetches(ctx, f.DB.Writer())
	if err != nil {
		return err
	}
	for _, fe := range left {
		a, err := catalog.GetAsset(ctx, f.DB.Writer(), fe.AssetID)
		if err != nil || a.State != catalog.StateUploading {
			catalog.FinishFetch(ctx, f.DB.Writer(), fe.AssetID)
			continue
		}
		f.Log.Info("fetching again after a restart", "asset_id", a.ID, "url", fe.URL)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			fctx, cancel := context.WithTimeout(f.ctx, f.Timeout)
			defer cancel()
			resp, err := f.get(fctx, fe.URL)
			if err != nil {
				f.fail(a.ID, fe.Actor, err)
				return
			}
			f.download(fctx, resp, a, fe)
		}()
	}
	return nil
}

// Stop cancels running downloads (their assets are fetched again at the
// next start) and waits for them.
func (f *Fetcher) Stop() {
	f.mu.Lock()
	cancel := f.cancel
	f.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	f.wg.Wait()
}

type fromURLRequest struct {
	URL               string `json:"url"`
	Filename          string `json:"filename"`
	Project           string `json:"project"`
	IgnoreUnsupported bool   `json:"ignore_unsupported"`
}

func badRequest(code, msg string) error {
	return &api.Error{Status: http.StatusBadRequest, Code: code, Message: msg}
}

func (f *Fetcher) handle(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	f.mu.Lock()
	base := f.ctx
	f.mu.Unlock()
	if base == nil {
		return &api.Error{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: "the fetcher is not running"}
	}
	var req fromURLRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	if err := dec.Decode(&req); err != nil {
		return badRequest("invalid_json", "the body must be a JSON object: "+err.Error())
	}
	u, err := url.Parse(req.URL)
	switch {
	case err != nil || u.Host == "":
		return badRequest("invalid_url", "url must be an absolute http or https URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return badRequest("invalid_url", "only http and https URLs can be fetched")
	}
	project, err := api.UploadProject(p, req.Project)
	if err != nil {
		return err
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 255 {
		return badRequest("invalid_idempotency_key", "Idempotency-Key is at most 255 characters")
	}
	if a, err := f.Ingest.Replay(ctx, p.TokenID, key); err != nil {
		return err
	} else if a != nil {
		w.Header().Set("Idempotent-Replayed", "true")
		api.WriteJSON(w, http.StatusAccepted, f.API.AssetView(ctx, a))
		return nil
	}

	// Connect now, bounded by the fetch timeout; the body is read later.
	fctx, cancel := context.WithTimeout(base, f.Timeout)
	resp, err := f.get(fctx, u.String())
	if err != nil {
		cancel()
		return fetchError(err)
	}
	if max := f.Ingest.MaxSize; resp.ContentLength > max {
		resp.Body.Close()
		cancel()
		return ingest.ErrTooLarge
	}
	filename := req.Filename
	if filename == "" {
		if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
			filename = params["filename"]
		}
	}
	if filename == "" {
		filename = path.Base(resp.Request.URL.Path)
		if filename == "/" || filename == "." {
			filename = resp.Request.URL.Hostname()
		}
	}
	a := &catalog.Asset{
		ID: uuid.Must(uuid.NewV7()).String(), Filename: ingest.CleanFilename(filename),
		ContentType: "application/octet-stream", Kind: "other", State: catalog.StateUploading,
		Project: project, TxID: logging.TxID(ctx),
	}
	fe := &catalog.Fetch{AssetID: a.ID, URL: u.String(), TokenID: p.TokenID, Actor: p.Actor(),
		IgnoreUnsupported: req.IgnoreUnsupported, TotalBytes: max(0, resp.ContentLength)}
	var replayed *catalog.Asset
	err = f.DB.InTx(ctx, func(tx *sql.Tx) error {
		if key != "" {
			err := catalog.ClaimIdempotencyKey(ctx, tx, p.TokenID, key, a.ID)
			if errors.Is(err, catalog.ErrConflict) {
				id, err := catalog.IdempotentAsset(ctx, tx, p.TokenID, key)
				if err == nil {
					replayed, err = catalog.GetAsset(ctx, tx, id)
				}
				return err
			}
			if err != nil {
				return err
			}
		}
		if err := catalog.InsertAsset(ctx, tx, a); err != nil {
			return err
		}
		if err := catalog.InsertFetch(ctx, tx, fe); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"url": fe.URL, "filename": a.Filename})
		return catalog.AddEvent(ctx, tx, catalog.Event{AssetID: a.ID, Type: "fetch_started",
			Actor: p.Actor(), TxID: a.TxID, Detail: string(detail)})
	})
	if err != nil || replayed != nil {
		resp.Body.Close()
		cancel()
		if err != nil {
			return err
		}
		w.Header().Set("Idempotent-Replayed", "true")
		api.WriteJSON(w, http.StatusAccepted, f.API.AssetView(ctx, replayed))
		return nil
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer cancel()
		f.download(fctx, resp, a, fe)
	}()
	w.Header().Set("Location", f.BaseURL+"/api/v1/assets/"+a.ID)
	api.WriteJSON(w, http.StatusAccepted, f.API.AssetView(ctx, a))
	return nil
}

// get connects and returns a 200 response whose body is still to read.
func (f *Fetcher) get(ctx context.Context, rawURL string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadScheme, err)
	}
	req.Header.Set("User-Agent", "stor-fetch/1")
	f.mu.Lock()
	client := f.client
	f.mu.Unlock()
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s answered %s", errRemote, resp.Request.URL.Redacted(), resp.Status)
	}
	return resp, nil
}

var errRemote = errors.New("fetch failed")

// fetchError maps a failed connection to the API error the client sees.
func fetchError(err error) error {
	switch {
	case errors.Is(err, ErrAddressNotAllowed):
		return &api.Error{Status: http.StatusForbidden, Code: "address_not_allowed",
			Message: "the URL leads to an address stor does not fetch from (" + reason(err) + ")", Err: err}
	case errors.Is(err, ErrTooManyRedirects):
		return badRequest("too_many_redirects", "the URL redirected more than 5 times")
	case errors.Is(err, ErrBadScheme):
		return badRequest("invalid_url", reason(err))
	case errors.Is(err, context.DeadlineExceeded):
		return &api.Error{Status: http.StatusGatewayTimeout, Code: "fetch_timeout", Message: "the remote server did not answer in time", Err: err}
	}
	return &api.Error{Status: http.StatusBadGateway, Code: "fetch_failed", Message: reason(err), Err: err}
}

// reason is the innermost useful text of an error.
func reason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if i := strings.Index(s, ErrAddressNotAllowed.Error()+": "); i >= 0 {
		return s[i+len(ErrAddressNotAllowed.Error())+2:]
	}
	return s
}

// progressReader counts bytes for the progress figure.
type progressReader struct {
	r io.Reader
	n atomic.Int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n.Add(int64(n))
	if err == io.ErrUnexpectedEOF {
		// A body cut short of its Content-Length. Returned bare, the
		// spool's io.ReadFull would take it for a normal end.
		err = fmt.Errorf("the connection closed after %d bytes: %w", p.n.Load(), errTruncated)
	}
	return n, err
}

var errTruncated = errors.New("download cut short")

// download reads the body through Ingester.Receive (spool and hash) and
// commits into the uploading asset row; progress is written every second.
func (f *Fetcher) download(ctx context.Context, resp *http.Response, a *catalog.Asset, fe *catalog.Fetch) {
	defer resp.Body.Close()
	pr := &progressReader{r: resp.Body}
	done := make(chan struct{})
	var tick sync.WaitGroup
	tick.Add(1)
	go func() {
		defer tick.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				catalog.FetchProgress(ctx, f.DB.Writer(), a.ID, pr.n.Load(), max(0, resp.ContentLength))
			}
		}
	}()
	sp, err := f.Ingest.Receive(pr, false)
	close(done)
	tick.Wait()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (after %s)", ctx.Err(), f.Timeout)
		}
		f.fail(a.ID, fe.Actor, err)
		return
	}
	if resp.ContentLength > 0 && sp.Size != resp.ContentLength {
		sp.Remove()
		f.fail(a.ID, fe.Actor, fmt.Errorf("%w: %d of %d bytes", errTruncated, sp.Size, resp.ContentLength))
		return
	}
	catalog.FetchProgress(ctx, f.DB.Writer(), a.ID, sp.Size, sp.Size)
	_, err = f.Ingest.Commit(ctx, sp, ingest.Meta{
		Filename: a.Filename, Project: a.Project, IgnoreUnsupported: fe.IgnoreUnsupported,
		TokenID: fe.TokenID, Actor: fe.Actor, TxID: a.TxID, AssetID: a.ID,
	})
	if err != nil {
		f.fail(a.ID, fe.Actor, err)
		return
	}
	if err := catalog.FinishFetch(context.WithoutCancel(ctx), f.DB.Writer(), a.ID); err != nil {
		f.Log.Error("finish fetch", "asset_id", a.ID, "err", err)
	}
}

// fail leaves the asset failed with the reason (unless it was deleted
// meanwhile) and the fetch finished. A download cut by Stop is left to
// be fetched again at the next start.
func (f *Fetcher) fail(id, actor string, cause error) {
	if errors.Is(cause, context.Canceled) {
		return
	}
	ctx := context.Background()
	msg := "fetch failed: " + reason(cause)
	if errors.Is(cause, ingest.ErrTooLarge) {
		msg = "fetch failed: the download exceeds the maximum upload size"
	}
	err := f.DB.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := catalog.FailUploadingAsset(ctx, tx, id, msg); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]string{"error": msg})
		if err := catalog.AddEvent(ctx, tx, catalog.Event{AssetID: id, Type: "fetch_failed", Actor: actor,
			TxID: "fetch-" + id, Detail: string(detail)}); err != nil {
			return err
		}
		return catalog.FinishFetch(ctx, tx, id)
	})
	if err != nil {
		f.Log.Error("record failed fetch", "asset_id", id, "err", err)
	}
	f.Log.Info("fetch failed", "asset_id", id, "err", cause)
}
