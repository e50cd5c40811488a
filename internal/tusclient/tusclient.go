// Package tusclient is a small tus 1.0 client (creation, offset, chunked
// PATCH, termination, concatenation) for `stor ingest` and tests. tusd has
// no Go client and the Go ones around are unmaintained; this is ~200 lines.
package tusclient

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Client talks to one tus endpoint.
type Client struct {
	Endpoint string // e.g. http://host/uploads/
	Header   http.Header
	HTTP     *http.Client
}

// Error is a refusal by the server.
type Error struct {
	Status int
	Body   string
	Header http.Header
}

func (e *Error) Error() string {
	return fmt.Sprintf("tus: %d %s: %s", e.Status, http.StatusText(e.Status), strings.TrimSpace(e.Body))
}

// ErrGone is an upload the server no longer has (404, 410).
var ErrGone = errors.New("tus: upload not found or expired")

func (c *Client) httpc() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) do(req *http.Request) (*http.Response, error) {
	for k, v := range c.Header {
		req.Header[k] = v
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	return c.httpc().Do(req)
}

func refusal(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Status: resp.StatusCode, Body: string(b), Header: resp.Header}
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		return fmt.Errorf("%w: %w", ErrGone, e)
	}
	return e
}

// EncodeMetadata builds an Upload-Metadata header.
func EncodeMetadata(md map[string]string) string {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+" "+base64.StdEncoding.EncodeToString([]byte(md[k])))
	}
	return strings.Join(parts, ",")
}

// Create makes an upload of size bytes and returns its URL. concat is ""
// or "partial"; use CreateFinal for the final upload of a concatenation.
func (c *Client) Create(ctx context.Context, size int64, md map[string]string, concat string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Upload-Length", strconv.FormatInt(size, 10))
	if len(md) > 0 {
		req.Header.Set("Upload-Metadata", EncodeMetadata(md))
	}
	if concat != "" {
		req.Header.Set("Upload-Concat", concat)
	}
	resp, err := c.do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", refusal(resp)
	}
	return c.resolve(resp.Header.Get("Location"))
}

// CreateFinal concatenates finished partial uploads; the response's
// headers (the asset id) are returned.
func (c *Client) CreateFinal(ctx context.Context, parts []string, md map[string]string) (string, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint, nil)
	if err != nil {
		return "", nil, err
	}
	req.Header.Set("Upload-Concat", "final;"+strings.Join(parts, " "))
	if len(md) > 0 {
		req.Header.Set("Upload-Metadata", EncodeMetadata(md))
	}
	resp, err := c.do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", nil, refusal(resp)
	}
	loc, err := c.resolve(resp.Header.Get("Location"))
	return loc, resp.Header, err
}

func (c *Client) resolve(loc string) (string, error) {
	if loc == "" {
		return "", fmt.Errorf("tus: no Location in the creation response")
	}
	base, err := url.Parse(c.Endpoint)
	if err != nil {
		return "", err
	}
	u, err := base.Parse(loc)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Offset asks (HEAD) how many bytes the server has, and the length.
func (c *Client) Offset(ctx context.Context, uploadURL string) (offset, length int64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, uploadURL, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := c.do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return 0, 0, refusal(resp)
	}
	offset, err = strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("tus: bad Upload-Offset %q", resp.Header.Get("Upload-Offset"))
	}
	length, _ = strconv.ParseInt(resp.Header.Get("Upload-Length"), 10, 64)
	return offset, length, nil
}

// Patch sends n bytes of body at offset and returns the new offset and the
// response headers (the last PATCH carries the asset id).
func (c *Client) Patch(ctx context.Context, uploadURL string, offset int64, body io.Reader, n int64) (int64, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, uploadURL, body)
	if err != nil {
		return 0, nil, err
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	resp, err := c.do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return 0, resp.Header, refusal(resp)
	}
	off, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		return 0, resp.Header, fmt.Errorf("tus: bad Upload-Offset %q", resp.Header.Get("Upload-Offset"))
	}
	return off, resp.Header, nil
}

// Terminate deletes an upload.
func (c *Client) Terminate(ctx context.Context, uploadURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, uploadURL, nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return refusal(resp)
	}
	return nil
}

// Upload sends r (an io.ReaderAt of size bytes) to uploadURL from offset
// in chunks of chunk bytes, and returns the headers of the last PATCH.
// progress, when set, is told each new offset.
func (c *Client) Upload(ctx context.Context, uploadURL string, r io.ReaderAt, offset, size, chunk int64, progress func(int64)) (http.Header, error) {
	var last http.Header
	for offset < size {
		n := min(chunk, size-offset)
		next, h, err := c.Patch(ctx, uploadURL, offset, io.NewSectionReader(r, offset, n), n)
		if err != nil {
			return h, err
		}
		if next <= offset {
			return h, fmt.Errorf("tus: no progress at offset %d", offset)
		}
		offset, last = next, h
		if progress != nil {
			progress(offset)
		}
	}
	return last, nil
}
