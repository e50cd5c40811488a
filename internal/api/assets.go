package api

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/ingest"
	"stor/internal/logging"
	"stor/internal/pipeline"
	"stor/internal/storage"
)

// assetJSON is the asset object of API.md.
type assetJSON struct {
	ID              string   `json:"id"`
	Filename        string   `json:"filename"`
	Size            int64    `json:"size"`
	MD5             string   `json:"md5"`
	SHA256          string   `json:"sha256"`
	ContentType     string   `json:"content_type"`
	Kind            string   `json:"kind"`
	Format          string   `json:"format"`
	PRONOM          string   `json:"pronom"`
	State           string   `json:"state"`
	Error           *string  `json:"error"`
	Project         string   `json:"project"`
	Width           *int     `json:"width,omitempty"`
	Height          *int     `json:"height,omitempty"`
	DurationSeconds *float64 `json:"duration_seconds,omitempty"`
	PageCount       *int     `json:"page_count,omitempty"`
	CreatedAt       string   `json:"created_at"`
	UpdatedAt       string   `json:"updated_at"`
	DeletedAt       *string  `json:"deleted_at,omitempty"`
	// PlayableAt: when a video or audio asset first became playable (the
	// first segment of every rung published), before it is ready.
	PlayableAt *string           `json:"playable_at,omitempty"`
	Fixity     fixityJSON        `json:"fixity"`
	Links      map[string]string `json:"links"`
	// Progress of an asset still uploading (fetched from a URL).
	Progress *progressJSON `json:"progress,omitempty"`
	// Normalised descriptive fields (the metadata task), omitted when
	// unknown, and warnings about the file (always a list).
	Title       string        `json:"title,omitempty"`
	Description string        `json:"description,omitempty"`
	Creator     string        `json:"creator,omitempty"`
	Rights      string        `json:"rights,omitempty"`
	Keywords    []string      `json:"keywords,omitempty"`
	CaptureDate string        `json:"capture_date,omitempty"`
	Camera      *cameraJSON   `json:"camera,omitempty"`
	GPS         *gpsJSON      `json:"gps,omitempty"`
	Warnings    []warningJSON `json:"warnings"`
	// Tags (always a list).
	Tags []string `json:"tags"`
	// Custom field values (the project's field schema), always an object.
	Fields map[string]json.RawMessage `json:"fields"`
}

// fixityJSON is the asset's last fixity audit: status ok, failed (a copy
// was corrupt or missing and is not repaired yet) or unchecked.
type fixityJSON struct {
	Status    string  `json:"status"`
	CheckedAt *string `json:"checked_at"`
}

type cameraJSON struct {
	Make  string `json:"make,omitempty"`
	Model string `json:"model,omitempty"`
	Lens  string `json:"lens,omitempty"`
}

type gpsJSON struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

type warningJSON struct {
	Source  string `json:"source"`
	Message string `json:"message"`
}

// progressJSON is how far the fetch of an uploading asset has come.
type progressJSON struct {
	ReceivedBytes int64    `json:"received_bytes"`
	TotalBytes    *int64   `json:"total_bytes"`
	Percent       *float64 `json:"percent"`
	SourceURL     string   `json:"source_url"`
}

// withProgress adds the fetch progress to an uploading asset.
func (s *Server) withProgress(ctx context.Context, v *assetJSON) {
	if v.State != catalog.StateUploading {
		return
	}
	f, err := catalog.GetFetch(ctx, s.DB.Reader(), v.ID)
	if err != nil {
		return
	}
	pr := &progressJSON{ReceivedBytes: f.ReceivedBytes, SourceURL: f.URL}
	if f.TotalBytes > 0 {
		t := f.TotalBytes
		pct := min(100, float64(f.ReceivedBytes)*100/float64(t))
		pr.TotalBytes, pr.Percent = &t, &pct
	}
	v.Progress = pr
}

// AssetView is the asset object of API.md (with the progress of an
// uploading asset), for routes other packages add.
func (s *Server) AssetView(ctx context.Context, a *catalog.Asset) any {
	v, err := s.oneView(ctx, a)
	if err != nil {
		v = s.assetView(a) // fixity then reads unchecked; the rest is right
	}
	s.withProgress(ctx, &v)
	return v
}

// WriteJSON sends v with status, for routes other packages add.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (s *Server) assetView(a *catalog.Asset) assetJSON {
	self := s.BaseURL + "/api/v1/assets/" + a.ID
	v := assetJSON{
		ID: a.ID, Filename: a.Filename, Size: a.Size, MD5: a.MD5, SHA256: a.SHA256,
		ContentType: a.ContentType, Kind: a.Kind, Format: a.Format, PRONOM: a.PRONOM, State: a.State,
		Project: a.Project, CreatedAt: rfc3339(a.CreatedAt), UpdatedAt: rfc3339(a.UpdatedAt),
		Links:  map[string]string{"self": self, "original": self + "/original"},
		Fixity: fixityJSON{Status: catalog.FixityUnchecked}, Tags: []string{},
		Fields: map[string]json.RawMessage{},
	}
	if s.Links != nil {
		for k, l := range s.Links(a) {
			if _, taken := v.Links[k]; !taken {
				v.Links[k] = l
			}
		}
	}
	if a.Error != "" {
		v.Error = &a.Error
	}
	if a.Width > 0 {
		v.Width, v.Height = &a.Width, &a.Height
	}
	if a.DurationSeconds > 0 {
		v.DurationSeconds = &a.DurationSeconds
	}
	if a.PageCount > 0 {
		v.PageCount = &a.PageCount
	}
	if a.DeletedAt != nil {
		d := rfc3339(*a.DeletedAt)
		v.DeletedAt = &d
	}
	if a.PlayableAt != nil {
		p := rfc3339(*a.PlayableAt)
		v.PlayableAt = &p
	}
	describe(&v, a)
	return v
}

// assetViews is assetView with each asset's fixity read in one query.
func (s *Server) assetViews(ctx context.Context, as ...*catalog.Asset) ([]assetJSON, error) {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	st, err := catalog.FixityStatuses(ctx, s.DB.Reader(), ids)
	if err != nil {
		return nil, err
	}
	tags, err := catalog.TagsOf(ctx, s.DB.Reader(), ids)
	if err != nil {
		return nil, err
	}
	custom, err := catalog.CustomValues(ctx, s.DB.Reader(), ids)
	if err != nil {
		return nil, err
	}
	out := make([]assetJSON, len(as))
	for i, a := range as {
		out[i] = s.assetView(a)
		out[i].Tags = tags[a.ID]
		if out[i].Tags == nil {
			out[i].Tags = []string{}
		}
		if c := custom[a.ID]; c != nil {
			out[i].Fields = c
		}
		if f := st[a.ID]; f.Status != catalog.FixityUnchecked {
			at := rfc3339(f.CheckedAt)
			out[i].Fixity = fixityJSON{Status: f.Status, CheckedAt: &at}
		}
	}
	return out, nil
}

// oneView is assetViews of one asset.
func (s *Server) oneView(ctx context.Context, a *catalog.Asset) (assetJSON, error) {
	v, err := s.assetViews(ctx, a)
	if err != nil {
		return assetJSON{}, err
	}
	return v[0], nil
}

// visibleAsset loads an asset the principal may see; any other is 404, so
// a token of another project cannot learn that it exists.
func (s *Server) visibleAsset(r *http.Request, p *auth.Principal) (*catalog.Asset, error) {
	a, err := catalog.GetAsset(r.Context(), s.DB.Reader(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if !p.SeesProject(a.Project) {
		return nil, fmt.Errorf("asset %s: %w", a.ID, catalog.ErrNotFound)
	}
	return a, nil
}

const defaultProject = "default"

// uploadProject decides the project of an upload for principal p.
func uploadProject(p *auth.Principal, asked string) (string, error) {
	switch {
	case asked == "" && p.Project != "":
		return p.Project, nil
	case asked == "":
		return defaultProject, nil
	case !p.SeesProject(asked):
		return "", &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "this token may not upload to project " + strconv.Quote(asked)}
	case len(asked) > 200 || strings.ContainsFunc(asked, func(r rune) bool { return r < 0x20 }):
		return "", badRequest("invalid_project", "project names are at most 200 printable characters")
	}
	return asked, nil
}

func (s *Server) createAsset(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	if r.ContentLength > s.MaxBody+1<<20 {
		return ingest.ErrTooLarge
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.MaxBody+1<<20)
	meta := ingest.Meta{
		IdempotencyKey: r.Header.Get("Idempotency-Key"), TokenID: p.TokenID,
		Actor: p.Actor(), TxID: logging.TxID(ctx),
	}
	if len(meta.IdempotencyKey) > 255 {
		return badRequest("invalid_idempotency_key", "Idempotency-Key is at most 255 characters")
	}
	if a, err := s.Ingest.Replay(ctx, meta.TokenID, meta.IdempotencyKey); err != nil {
		return err
	} else if a != nil {
		v, err := s.oneView(ctx, a)
		if err != nil {
			return err
		}
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, http.StatusCreated, v)
		return nil
	}
	if err := headerDigests(r.Header, &meta); err != nil {
		return err
	}
	var err error
	if meta.Priority, err = parsePriority(firstNonEmpty(r.URL.Query().Get("priority"), r.Header.Get("X-Stor-Priority"))); err != nil {
		return err
	}

	var sp *ingest.Spooled
	var project string
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		if sp, project, err = s.receiveMultipart(r, &meta); err != nil {
			return err
		}
	} else {
		q := r.URL.Query()
		meta.Filename = dispositionFilename(r.Header.Get("Content-Disposition"))
		if meta.Filename == "" {
			meta.Filename = q.Get("filename")
		}
		if meta.Filename == "" {
			return badRequest("missing_filename", `send multipart/form-data with a "file" field, or a raw body with Content-Disposition: attachment; filename="..."`)
		}
		project = q.Get("project")
		meta.IgnoreUnsupported = truthy(q.Get("ignore_unsupported"))
		if err := formDigests(q.Get("md5"), q.Get("sha256"), &meta); err != nil {
			return err
		}
		if sp, err = s.Ingest.Receive(r.Body, meta.ExpectMD5 != ""); err != nil {
			return err
		}
	}
	if meta.Project, err = uploadProject(p, project); err != nil {
		sp.Remove()
		return err
	}
	res, err := s.Ingest.Commit(ctx, sp, meta)
	if err != nil {
		return err
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	v, err := s.oneView(ctx, res.Asset)
	if err != nil {
		return err
	}
	w.Header().Set("Location", s.BaseURL+"/api/v1/assets/"+res.Asset.ID)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// receiveMultipart streams the "file" part straight to the spool (never
// into memory) and reads the small fields around it, in any order.
func (s *Server) receiveMultipart(r *http.Request, meta *ingest.Meta) (sp *ingest.Spooled, project string, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", badRequest("invalid_multipart", err.Error())
	}
	defer func() {
		if err != nil && sp != nil {
			sp.Remove()
			sp = nil
		}
	}()
	var md5Field, shaField string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return sp, "", badRequest("invalid_multipart", err.Error())
		}
		name := part.FormName()
		if name == "file" {
			if sp != nil {
				return sp, "", badRequest("too_many_files", "send one file per request")
			}
			// Not part.FileName(): it strips directories, and the name is data.
			meta.Filename = dispositionFilename(part.Header.Get("Content-Disposition"))
			if err := partDigest(part.Header, meta); err != nil {
				return sp, "", err
			}
			// An md5 field after the file is checked against the
			// spooled file in Commit.
			if sp, err = s.Ingest.Receive(part, meta.ExpectMD5 != "" || md5Field != ""); err != nil {
				return nil, "", err
			}
			continue
		}
		val, err := io.ReadAll(io.LimitReader(part, 4096))
		if err != nil {
			return sp, "", badRequest("invalid_multipart", err.Error())
		}
		switch name {
		case "project":
			project = string(val)
		case "md5":
			md5Field = string(val)
		case "sha256":
			shaField = string(val)
		case "ignore_unsupported":
			meta.IgnoreUnsupported = truthy(string(val))
		case "priority":
			if meta.Priority, err = parsePriority(string(val)); err != nil {
				return sp, "", err
			}
		case "filename":
			if meta.Filename == "" {
				meta.Filename = string(val)
			}
		}
	}
	if sp == nil {
		return nil, "", badRequest("missing_file", `the multipart body has no "file" field`)
	}
	if err := formDigests(md5Field, shaField, meta); err != nil {
		return sp, "", err
	}
	return sp, project, nil
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// dispositionFilename returns the raw filename (or filename*) parameter.
func dispositionFilename(cd string) string {
	if cd == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(cd)
	if err != nil {
		return ""
	}
	return params["filename"]
}

// expect records one expected checksum, refusing two that disagree.
func expect(dst *string, v string) error {
	if *dst != "" && !strings.EqualFold(*dst, v) {
		return badRequest("checksum_mismatch", "the request names two different checksums")
	}
	*dst = v
	return nil
}

func formDigests(md5v, shav string, meta *ingest.Meta) error {
	if md5v != "" {
		h, err := ingest.ParseMD5(md5v)
		if err != nil {
			return err
		}
		if err := expect(&meta.ExpectMD5, h); err != nil {
			return err
		}
	}
	if shav != "" {
		h, err := ingest.ParseSHA256(shav)
		if err != nil {
			return err
		}
		if err := expect(&meta.ExpectSHA256, h); err != nil {
			return err
		}
	}
	return nil
}

func partDigest(h interface{ Get(string) string }, meta *ingest.Meta) error {
	return formDigests(h.Get("Content-MD5"), "", meta)
}

// headerDigests reads Content-MD5 (base64), Digest (RFC 3230:
// "sha-256=b64, md5=b64") and Repr-Digest (RFC 9530: "sha-256=:b64:").
func headerDigests(h http.Header, meta *ingest.Meta) error {
	if v := h.Get("Content-MD5"); v != "" {
		if err := formDigests(v, "", meta); err != nil {
			return err
		}
	}
	for _, hdr := range []string{"Digest", "Repr-Digest"} {
		for _, item := range strings.Split(h.Get(hdr), ",") {
			alg, val, ok := strings.Cut(strings.TrimSpace(item), "=")
			if !ok {
				continue
			}
			val = strings.Trim(strings.TrimSpace(val), ":")
			var err error
			switch strings.ToLower(alg) {
			case "sha-256":
				err = formDigests("", val, meta)
			case "md5":
				err = formDigests(val, "", meta)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Server) getAsset(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	v, err := s.oneView(r.Context(), a)
	if err != nil {
		return err
	}
	s.withProgress(r.Context(), &v)
	writeJSON(w, http.StatusOK, v)
	return nil
}

// searchFilter reads the search and filter parameters of GET
// /api/v1/assets (also the "query" of bulk tagging).
func searchFilter(q url.Values, p *auth.Principal) catalog.AssetFilter {
	f := catalog.AssetFilter{
		Kind: q.Get("kind"), State: q.Get("state"), Project: q.Get("project"), Format: q.Get("format"),
		SHA256: q.Get("sha256"), Query: q.Get("q"), Tags: q["tag"], Collection: q.Get("collection"),
		CapturedAfter: q.Get("captured_after"), CapturedBefore: q.Get("captured_before"), Camera: q.Get("camera"),
		Newest: q.Get("sort") == "newest",
	}
	if p.Project != "" {
		f.Projects = []string{p.Project}
	}
	return f
}

func (s *Server) listAssets(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q := r.URL.Query()
	f := searchFilter(q, p)
	switch q.Get("sort") {
	case "", "newest", "relevance":
	default:
		return badRequest("invalid_sort", "sort is relevance (the default with q) or newest")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return badRequest("invalid_limit", "limit is a number from 1 to 1000")
		}
		f.Limit = n
	} else {
		f.Limit = 50
	}
	// Cursors are the catalog's (Page.Next), base64url.
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || len(b) == 0 {
			return badRequest("invalid_cursor", "cursor is not one this server gave out")
		}
		f.Cursor = string(b)
	}
	search := s.DB.Search()
	var facets map[string]map[string]int
	facetsApprox := false
	if v := q.Get("facets"); v != "" {
		fields := strings.Split(v, ",")
		for _, field := range fields {
			if !slices.Contains(catalog.FacetFields, field) {
				return badRequest("invalid_facets", "facets is a comma-separated list of "+strings.Join(catalog.FacetFields, ", "))
			}
		}
		var err error
		if fc, ok := search.(catalog.FacetCounter); ok {
			facets, facetsApprox, err = fc.FacetCounts(r.Context(), s.DB.Reader(), f, fields)
		} else {
			facets, err = search.Facets(r.Context(), s.DB.Reader(), f, fields)
		}
		if err != nil {
			return err
		}
	}
	page, err := findPage(r.Context(), search, s.DB.Reader(), f)
	if errors.Is(err, catalog.ErrCursor) {
		return badRequest("invalid_cursor", "cursor is not one this server gave out")
	}
	if err != nil {
		return err
	}
	items, err := s.assetViews(r.Context(), page.Assets...)
	if err != nil {
		return err
	}
	var next *string
	if page.Next != "" {
		c := base64.RawURLEncoding.EncodeToString([]byte(page.Next))
		next = &c
	}
	body := map[string]any{"items": items, "next_cursor": next}
	if page.Approximate {
		body["order_approximate"] = true
	}
	if facets != nil {
		body["facets"] = facets
		if facetsApprox {
			body["facets_approximate"] = true
		}
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// findPage is one page of a listing: by the Searcher's own cursors when
// it is a catalog.Pager, else by Before (newest first) or Offset (ranked)
// cursors.
func findPage(ctx context.Context, search catalog.Searcher, q catalog.Querier, f catalog.AssetFilter) (*catalog.Page, error) {
	if p, ok := search.(catalog.Pager); ok {
		return p.FindPage(ctx, q, f)
	}
	if c := f.Cursor; c != "" {
		var err error
		if off, ok := strings.CutPrefix(c, "o"); ok && f.Ranked() {
			f.Offset, err = strconv.Atoi(off)
			if f.Offset <= 0 {
				err = catalog.ErrCursor
			}
		} else if !f.Ranked() {
			f.Before, err = strconv.ParseInt(c, 10, 64)
			if f.Before <= 0 {
				err = catalog.ErrCursor
			}
		} else {
			err = catalog.ErrCursor
		}
		if err != nil {
			return nil, catalog.ErrCursor
		}
	}
	list, err := search.Find(ctx, q, f)
	if err != nil {
		return nil, err
	}
	page := &catalog.Page{Assets: list}
	if len(list) == f.Limit {
		page.Next = strconv.FormatInt(list[len(list)-1].Seq, 10)
		if f.Ranked() {
			page.Next = "o" + strconv.Itoa(f.Offset+len(list))
		}
	}
	return page, nil
}

func (s *Server) getOriginal(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	if a.State == catalog.StateDeleted {
		return &Error{Status: http.StatusNotFound, Code: "deleted", Message: "the asset was deleted"}
	}
	if truthy(r.URL.Query().Get("embed")) {
		return s.serveEmbedded(w, r, a)
	}
	obj, err := s.Store.Stat(r.Context(), a.BlobKey)
	if err != nil {
		return fmt.Errorf("original of %s: %w", a.ID, err)
	}
	h := w.Header()
	h.Set("ETag", `"`+a.SHA256+`"`)
	h.Set("Content-Type", a.ContentType)
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	// Uploaded HTML or SVG must never run as a page of ours.
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	disp := "inline"
	if truthy(r.URL.Query().Get("download")) {
		disp = "attachment"
	}

	h.Set("Content-Disposition", contentDisposition(disp, a.Filename))
	if s.redirectPresigned(w, r, a.BlobKey, contentDisposition(disp, a.Filename), a.ContentType) ||
		s.accelRedirect(w, a.BlobKey) {
		return nil
	}
	rs := storage.NewReadSeeker(r.Context(), s.Store, a.BlobKey, obj.Size)
	defer rs.Close()
	http.ServeContent(w, r, "", a.CreatedAt, rs)
	return nil
}

// redirectPresigned answers an authorized download with a 302 to a
// short-lived presigned URL of the store (S3 with STOR_S3_PRESIGN), so the
// bytes skip stor. It reports false (serve the bytes here) when presigning
// is off or fails.
func (s *Server) redirectPresigned(w http.ResponseWriter, r *http.Request, key, disposition, contentType string) bool {
	ps, ok := s.Store.(storage.Presigner)
	if s.PresignExpiry <= 0 || !ok {
		return false
	}
	u, err := ps.PresignGet(r.Context(), key, s.PresignExpiry, disposition, contentType)
	if err != nil {
		if s.Log != nil {
			s.Log.WarnContext(r.Context(), "presigning a download failed; serving it", "key", key, "err", err)
		}
		return false
	}
	h := w.Header()
	h.Del("ETag")
	h.Set("Cache-Control", "private, no-store")
	http.Redirect(w, r, u, http.StatusFound)
	return true
}

// accelRedirect answers an authorized download of a local file with an
// empty 200 carrying X-Accel-Redirect (STOR_ACCEL_REDIRECT), so nginx
// sends the file itself from an internal location aliased to the disk
// store's root (Range, sendfile). The headers set so far (Content-Type,
// Content-Disposition, Cache-Control) go with it; a download rate that
// applies becomes X-Accel-Limit-Rate. It reports false (serve the bytes
// here) when off or when the store has no local files.
func (s *Server) accelRedirect(w http.ResponseWriter, key string) bool {
	if s.AccelRedirect == "" {
		return false
	}
	if _, ok := s.Store.(storage.Localizer); !ok {
		return false
	}
	if storage.CheckKey(key) != nil {
		return false
	}
	h := w.Header()
	h.Set("X-Accel-Redirect", (&url.URL{Path: s.AccelRedirect + key}).EscapedPath())
	if bps := downloadRate(w); bps > 0 {
		h.Set("X-Accel-Limit-Rate", strconv.FormatInt(bps, 10))
	}
	w.WriteHeader(http.StatusOK)
	return true
}

// contentDisposition quotes a filename safely: an ASCII fallback with
// anything odd replaced, and the exact name in RFC 5987 filename*.
func contentDisposition(disp, name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f || r == '"' || r == '\\' || r == '/' {
			return '_'
		}
		return r
	}, name)
	if len(ascii) > 200 {
		ascii = ascii[:200]
	}
	v := disp + `; filename="` + ascii + `"`
	if ascii != name {
		// The fallback lost something (a quote, a slash, a non-ASCII
		// character, the length): the exact name goes in filename*.
		v += "; filename*=UTF-8''" + rfc5987(name)
	}
	return v
}

// rfc5987 percent-encodes s as an RFC 5987 ext-value: every byte outside
// attr-char is %XX, so the result is plain ASCII with no quotes, spaces or
// control characters.
func rfc5987(s string) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}

func (s *Server) deleteAsset(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	if a.State != catalog.StateDeleted {
		ctx := r.Context()
		err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
			if err := catalog.SetAssetState(ctx, tx, a.ID, catalog.StateDeleted, ""); err != nil {
				return err
			}
			if err := catalog.AddEvent(ctx, tx, catalog.Event{AssetID: a.ID, Type: "deleted", Actor: p.Actor(),
				TxID: logging.TxID(ctx), Detail: `{"from":"` + a.State + `"}`}); err != nil {
				return err
			}
			if s.Events == nil {
				return nil
			}
			gone := *a
			gone.State = catalog.StateDeleted
			return s.Events.Emit(ctx, tx, catalog.EventAssetDeleted, &gone, map[string]any{"from": a.State, "actor": p.Actor()})
		})
		s.Access.Forget()
		if err != nil {
			return err
		}
		if a, err = catalog.GetAsset(ctx, s.DB.Writer(), a.ID); err != nil {
			return err
		}
	}
	v, err := s.oneView(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

type eventJSON struct {
	Type      string          `json:"type"`
	Actor     string          `json:"actor"`
	TxID      string          `json:"txid"`
	Detail    json.RawMessage `json:"detail"`
	CreatedAt string          `json:"created_at"`
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	evs, err := catalog.ListEvents(r.Context(), s.DB.Reader(), a.ID)
	if err != nil {
		return err
	}
	items := make([]eventJSON, 0, len(evs))
	for _, e := range evs {
		items = append(items, eventJSON{e.Type, e.Actor, e.TxID, json.RawMessage(e.Detail), rfc3339(e.CreatedAt)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// parsePriority reads "interactive" (the default) or "bulk": a bulk
// ingest's processing yields to interactive uploads.
func parsePriority(v string) (int, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "interactive":
		return pipeline.PriorityInteractive, nil
	case "bulk":
		return pipeline.PriorityBulk, nil
	}
	return 0, badRequest("invalid_priority", "priority is interactive or bulk")
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// UploadProject decides the project of an upload for p (the rules of
// POST /api/v1/assets), for doors other packages add.
func UploadProject(p *auth.Principal, asked string) (string, error) { return uploadProject(p, asked) }
