package api

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/ingest"
	"stor/internal/logging"
	"stor/internal/storage"
)

// Direct browser-to-S3 uploads: presigned multipart under
// /api/v1/uploads/s3, in the shapes of Uppy's Companion S3 protocol
// (@uppy/aws-s3 with companionEndpoint = BASE/api/v1/uploads), so the
// bytes go from the browser to the bucket and stor only signs.
//
// stor chooses the object key (uploads/s3/UUID); the key a client sends
// back is only checked against it. On complete, stor reads the object back
// and hashes it itself (size, SHA-256, MD5), identifies the format from its
// first bytes, copies it server-side to the original's content-addressed
// key, removes the upload object, and ingests it like any other upload.

// S3UploadPrefix is where direct uploads land before they are verified.
const S3UploadPrefix = "uploads/s3/"

func (s *Server) multipartStore() (storage.MultipartUploader, error) {
	mu, ok := s.Store.(storage.MultipartUploader)
	if !ok {
		return nil, &Error{Status: http.StatusNotImplemented, Code: "not_available",
			Message: "direct uploads need an S3 store (STOR_S3_ENDPOINT, STOR_S3_BUCKET); use /uploads/ (tus) or POST /api/v1/assets"}
	}
	return mu, nil
}

// ownUpload is the S3 store and the upload of the path's {upload} if p
// started it and the ?key= the client echoes is the one stor gave;
// anything else is 404.
func (s *Server) ownUpload(r *http.Request, p *auth.Principal) (storage.MultipartUploader, *catalog.S3Upload, error) {
	mu, err := s.multipartStore()
	if err != nil {
		return nil, nil, err
	}
	u, err := catalog.GetS3Upload(r.Context(), s.DB.Reader(), r.PathValue("upload"))
	if err != nil {
		return nil, nil, err
	}
	// Only its creator, and only while it still sees the upload's project
	// (a user moved to another project since): otherwise it does not exist.
	if u.TokenID != p.TokenID || u.Actor != p.Actor() || !p.SeesProject(u.Project) {
		return nil, nil, fmt.Errorf("s3 upload: %w", catalog.ErrNotFound)
	}
	if k := r.URL.Query().Get("key"); k != "" && k != u.Key {
		return nil, nil, fmt.Errorf("s3 upload: the key is not this upload's: %w", catalog.ErrNotFound)
	}
	return mu, u, nil
}

func (s *Server) presignExpiry() time.Duration {
	if s.S3PartURLExpiry > 0 {
		return s.S3PartURLExpiry
	}
	return 15 * time.Minute
}

// createS3Upload: POST /api/v1/uploads/s3/multipart {filename, type,
// metadata} → {uploadId, key}.
func (s *Server) createS3Upload(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	mu, err := s.multipartStore()
	if err != nil {
		return err
	}
	var body struct {
		Filename string            `json:"filename"`
		Type     string            `json:"type"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	name := body.Filename
	if name == "" {
		name = body.Metadata["name"]
	}
	if name == "" {
		return badRequest("missing_filename", `send {"filename": "...", "type": "..."}`)
	}
	project, err := uploadProject(p, body.Metadata["project"])
	if err != nil {
		return err
	}
	ct := body.Type
	if len(ct) > 200 || strings.ContainsFunc(ct, func(r rune) bool { return r < 0x20 }) {
		ct = ""
	}
	key := S3UploadPrefix + uuid.NewString()
	id, err := mu.CreateMultipart(r.Context(), key, ct)
	if err != nil {
		return err
	}
	u := &catalog.S3Upload{UploadID: id, Key: key, Filename: ingest.CleanFilename(name), ContentType: ct,
		Project: project, TokenID: p.TokenID, Actor: p.Actor()}
	if err := catalog.InsertS3Upload(r.Context(), s.DB.Writer(), u); err != nil {
		mu.AbortMultipart(context.WithoutCancel(r.Context()), key, id)
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"uploadId": id, "key": key})
	return nil
}

// signS3Part: GET /api/v1/uploads/s3/multipart/{upload}/{part}?key=
// → {url, expires} (seconds).
func (s *Server) signS3Part(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	mu, u, err := s.ownUpload(r, p)
	if err != nil {
		return err
	}
	if u.State != catalog.S3UploadOpen {
		return &Error{Status: http.StatusConflict, Code: "upload_finished", Message: "the upload is " + u.State}
	}
	part, err := strconv.Atoi(r.PathValue("part"))
	if err != nil || part < 1 || part > 10000 {
		return badRequest("invalid_part_number", "the part number is 1 to 10000")
	}
	exp := s.presignExpiry()
	url, err := mu.PresignPart(r.Context(), u.Key, u.UploadID, part, exp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"url": url, "expires": int(exp.Seconds())})
	return nil
}

// listS3Parts: GET /api/v1/uploads/s3/multipart/{upload}?key= →
// [{PartNumber, Size, ETag}], to resume.
func (s *Server) listS3Parts(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	mu, u, err := s.ownUpload(r, p)
	if err != nil {
		return err
	}
	parts, err := mu.ListParts(r.Context(), u.Key, u.UploadID)
	if err != nil {
		return s3UploadErr(err)
	}
	out := make([]map[string]any, 0, len(parts))
	for _, pt := range parts {
		out = append(out, map[string]any{"PartNumber": pt.Number, "Size": pt.Size, "ETag": pt.ETag})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// abortS3Upload: DELETE /api/v1/uploads/s3/multipart/{upload}?key=.
func (s *Server) abortS3Upload(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	mu, u, err := s.ownUpload(r, p)
	if err != nil {
		return err
	}
	if u.State == catalog.S3UploadCompleted {
		return &Error{Status: http.StatusConflict, Code: "upload_finished", Message: "the upload is completed"}
	}
	if err := mu.AbortMultipart(r.Context(), u.Key, u.UploadID); err != nil {
		return err
	}
	if _, err := catalog.FinishS3Upload(r.Context(), s.DB.Writer(), u.UploadID, catalog.S3UploadAborted, ""); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{})
	return nil
}

func s3UploadErr(err error) error {
	if errors.Is(err, storage.ErrNoSuchUpload) {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such upload (finished or aborted)"}
	}
	return err
}

// completeS3Upload: POST /api/v1/uploads/s3/multipart/{upload}/complete?key=
// {parts: [{PartNumber, ETag}]} → {location, key, asset}.
func (s *Server) completeS3Upload(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	mu, u, err := s.ownUpload(r, p)
	if err != nil {
		return err
	}
	if u.State == catalog.S3UploadCompleted && u.AssetID != "" {
		// A retried complete: answer as the first one did.
		a, err := catalog.GetAsset(ctx, s.DB.Reader(), u.AssetID)
		if err != nil {
			return err
		}
		return s.writeCompleted(w, r, a)
	}
	if u.State != catalog.S3UploadOpen {
		return &Error{Status: http.StatusConflict, Code: "upload_finished", Message: "the upload is " + u.State}
	}
	var body struct {
		Parts []struct {
			PartNumber int    `json:"PartNumber"`
			ETag       string `json:"ETag"`
		} `json:"parts"`
	}
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if len(body.Parts) == 0 {
		return badRequest("missing_parts", `send {"parts": [{"PartNumber": 1, "ETag": "..."}]}`)
	}
	parts := make([]storage.Part, len(body.Parts))
	for i, pt := range body.Parts {
		parts[i] = storage.Part{Number: pt.PartNumber, ETag: pt.ETag}
	}
	if err := mu.CompleteMultipart(ctx, u.Key, u.UploadID, parts); err != nil {
		if _, serr := s.Store.Stat(ctx, u.Key); serr != nil { // not a retry of a complete that worked
			return &Error{Status: http.StatusBadRequest, Code: "upload_incomplete", Message: "S3 refused to complete the upload: " + err.Error()}
		}
	}
	a, err := s.ingestS3Upload(ctx, u, p)
	// The object under the upload key is no longer needed either way: it
	// was copied to the original's key, or it was refused.
	s.Store.Delete(context.WithoutCancel(ctx), u.Key)
	if err != nil {
		catalog.FinishS3Upload(context.WithoutCancel(ctx), s.DB.Writer(), u.UploadID, catalog.S3UploadAborted, "")
		return err
	}
	if _, err := catalog.FinishS3Upload(ctx, s.DB.Writer(), u.UploadID, catalog.S3UploadCompleted, a.ID); err != nil {
		return err
	}
	return s.writeCompleted(w, r, a)
}

func (s *Server) writeCompleted(w http.ResponseWriter, r *http.Request, a *catalog.Asset) error {
	v, err := s.oneView(r.Context(), a)
	if err != nil {
		return err
	}
	loc := s.BaseURL + "/api/v1/assets/" + a.ID
	w.Header().Set("Location", loc)
	writeJSON(w, http.StatusOK, map[string]any{"location": loc, "key": a.BlobKey, "asset": v})
	return nil
}

// ingestS3Upload reads the completed object back, hashes it, and ingests
// it under the key stor verified.
func (s *Server) ingestS3Upload(ctx context.Context, u *catalog.S3Upload, p *auth.Principal) (*catalog.Asset, error) {
	obj, err := s.Store.Stat(ctx, u.Key)
	if err != nil {
		return nil, err
	}
	if s.MaxBody > 0 && obj.Size > s.MaxBody {
		return nil, ingest.ErrTooLarge
	}
	rc, err := s.Store.Open(ctx, u.Key, 0, -1)
	if err != nil {
		return nil, err
	}
	sh := sha256.New()
	head := &headBuffer{max: ingest.HeadSize}
	sinks := []io.Writer{sh, head}
	var m5 hash.Hash
	if s.Ingest.HashMD5(false) {
		m5 = md5.New()
		sinks = append(sinks, m5)
	}
	n, err := io.Copy(io.MultiWriter(sinks...), rc)
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("reading back the upload: %w", err)
	}
	if n != obj.Size {
		return nil, fmt.Errorf("reading back the upload: %d bytes, S3 says %d", n, obj.Size)
	}
	c := ingest.Checked{Size: n, SHA256: hex.EncodeToString(sh.Sum(nil)), Head: head.b}
	if m5 != nil {
		c.MD5 = hex.EncodeToString(m5.Sum(nil))
	}
	meta := ingest.Meta{Filename: u.Filename, Project: u.Project, TokenID: p.TokenID, Actor: p.Actor(), TxID: logging.TxID(ctx)}
	res, err := s.Ingest.CommitObject(ctx, c, meta, func(ctx context.Context, key string) error {
		cp, ok := s.Store.(storage.Copier)
		if !ok {
			return errors.New("the store cannot copy objects")
		}
		if err := cp.Copy(ctx, u.Key, key); err != nil {
			return fmt.Errorf("ingest: store original: %w", err)
		}
		// The copy must be what was hashed: same size at least (S3 copies
		// are server-side; fixity audits re-hash later).
		if o, err := s.Store.Stat(ctx, key); err != nil || o.Size != n {
			return fmt.Errorf("ingest: the copied original is not the upload (%v)", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res.Asset, nil
}

type headBuffer struct {
	b   []byte
	max int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// SweepS3Uploads aborts direct uploads started before now-age and never
// completed: their rows, and any unfinished multipart upload under
// S3UploadPrefix S3 still holds (one whose row never got written). It
// returns how many it aborted.
func SweepS3Uploads(ctx context.Context, db *catalog.DB, store storage.Store, age time.Duration) (int, error) {
	mu, ok := store.(storage.MultipartUploader)
	if !ok {
		return 0, nil
	}
	before := time.Now().Add(-age)
	stale, err := catalog.StaleS3Uploads(ctx, db.Reader(), before)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, u := range stale {
		if err := mu.AbortMultipart(ctx, u.Key, u.UploadID); err != nil {
			errs = append(errs, err)
			continue
		}
		store.Delete(ctx, u.Key) // completed on S3 but never ingested
		if ok, err := catalog.FinishS3Upload(ctx, db.Writer(), u.UploadID, catalog.S3UploadAborted, ""); err != nil {
			errs = append(errs, err)
		} else if ok {
			n++
		}
	}
	pending, err := mu.PendingUploads(ctx, S3UploadPrefix)
	if err != nil {
		return n, errors.Join(append(errs, err)...)
	}
	for _, pu := range pending {
		if pu.Initiated.After(before) {
			continue
		}
		if err := mu.AbortMultipart(ctx, pu.Key, pu.UploadID); err != nil {
			errs = append(errs, err)
			continue
		}
		if ok, _ := catalog.FinishS3Upload(ctx, db.Writer(), pu.UploadID, catalog.S3UploadAborted, ""); !ok {
			n++ // no row was open for it: an orphan
		}
	}
	return n, errors.Join(errs...)
}
