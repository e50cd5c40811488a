package av

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"stor/internal/api"
	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/pipeline"
	"stor/internal/storage"
)

// Server serves HLS and the analysis of audio/video assets.
type Server struct {
	DB      *catalog.DB
	Store   storage.Store
	BaseURL string
}

// Routes are added to the API through api.Server.Extra.
func (s *Server) Routes() []api.Route {
	return []api.Route{
		{Method: "GET", Pattern: "/media/{id}/hls/{path...}", Scope: auth.ScopeRead, Handle: s.hls, Signed: true, OpenCORS: true},
		{Method: "GET", Pattern: "/api/v1/assets/{id}/av", Scope: auth.ScopeRead, Handle: s.analysis},
	}
}

// Links are the asset links of audio and video assets.
func (s *Server) Links(a *catalog.Asset) map[string]string {
	if !isAV(a) {
		return nil
	}
	d := s.BaseURL + "/api/v1/assets/" + a.ID + "/derivatives/"
	l := map[string]string{"hls": s.BaseURL + "/media/" + a.ID + "/hls/master.m3u8", "av": s.BaseURL + "/api/v1/assets/" + a.ID + "/av"}
	if isVideo(a) {
		l["poster"], l["thumbnail"], l["mp4"] = d+"poster", d+"thumb-400", d+"mp4"
		l["storyboard"] = d + "storyboard.vtt"
	} else {
		l["waveform"], l["audio"] = d+"waveform.json", d+"audio-access"
	}
	return l
}

func (s *Server) asset(r *http.Request, p *auth.Principal) (*catalog.Asset, error) {
	a, err := catalog.GetAsset(r.Context(), s.DB.Reader(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if !p.SeesProject(a.Project) || a.State == catalog.StateDeleted {
		return nil, fmt.Errorf("asset %s: %w", a.ID, catalog.ErrNotFound)
	}
	return a, nil
}

var hlsPath = regexp.MustCompile(`^(master\.m3u8|(r[0-9a-z]{14}/)?v[0-9]{1,2}/(index\.m3u8|init(_[0-9]{1,2})?\.mp4|seg[0-9]{5,9}\.m4s))$`)

// hls serves the ladder. Playlists still being written (EVENT, no
// ENDLIST) are not cached; finished ones briefly; segments long (their
// ladder version's keys are written once: a reprocess writes a new
// version and switches the master, see PublishMaster). Until master.m3u8
// is published, the live master (rungs with at least one segment) is
// served in its place.
//
// Private assets: child URIs in playlists are relative, and a "token"
// query parameter on the request (a signed URL of /media/{id}/hls/, checked
// by the API before this runs) is carried into every URI of a playlist
// served, so a player needs nothing but the master's URL.
func (s *Server) hls(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.asset(r, p)
	if err != nil {
		return err
	}
	rel := r.PathValue("path")
	if !hlsPath.MatchString(rel) {
		return fmt.Errorf("hls %q: %w", rel, catalog.ErrNotFound)
	}
	key := pipeline.DerivativeKey(a.ID, "hls/"+rel)
	obj, err := s.Store.Stat(r.Context(), key)
	if rel == "master.m3u8" && errors.Is(err, storage.ErrNotExist) {
		key = pipeline.DerivativeKey(a.ID, LiveName)
		obj, err = s.Store.Stat(r.Context(), key)
	}
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", fmt.Sprintf(`"%x-%x"`, obj.ModTime.UnixNano(), obj.Size))
	h.Set("Access-Control-Allow-Origin", "*")
	if strings.HasSuffix(rel, ".m3u8") {
		if obj.Size > 16<<20 {
			return fmt.Errorf("playlist too large: %w", catalog.ErrConflict)
		}
		rc, err := s.Store.Open(r.Context(), key, 0, -1)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		h.Set("Content-Type", "application/vnd.apple.mpegurl")
		live := key == pipeline.DerivativeKey(a.ID, LiveName) ||
			(rel != "master.m3u8" && !bytes.Contains(body, []byte("#EXT-X-ENDLIST")))
		if live {
			h.Set("Cache-Control", "private, no-cache")
		} else {
			h.Set("Cache-Control", "private, max-age=60")
		}
		if tok := r.URL.Query().Get("token"); tok != "" {
			body = withQuery(body, url.Values{"token": {tok}}.Encode())
			h.Del("ETag")
		}
		http.ServeContent(w, r, "", obj.ModTime, bytes.NewReader(body))
		return nil
	}
	if strings.HasSuffix(rel, ".m4s") {
		h.Set("Content-Type", "video/iso.segment")
	} else {
		h.Set("Content-Type", "video/mp4")
	}
	if v, _ := versionOf(rel); v != "" {
		// A version's segments are written once and never replaced.
		h.Set("Cache-Control", "private, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "private, max-age=86400")
	}
	rs := storage.NewReadSeeker(r.Context(), s.Store, key, obj.Size)
	defer rs.Close()
	http.ServeContent(w, r, "", obj.ModTime, rs)
	return nil
}

// withQuery appends a query to every URI of a playlist: the URI lines
// and URI="..." attributes (EXT-X-MAP).
func withQuery(pl []byte, q string) []byte {
	var b bytes.Buffer
	for _, line := range strings.SplitAfter(string(pl), "\n") {
		t := strings.TrimRight(line, "\r\n")
		switch {
		case t == "":
		case !strings.HasPrefix(t, "#"):
			line = t + "?" + q + line[len(t):]
		case strings.Contains(t, `URI="`):
			i := strings.Index(t, `URI="`) + 5
			if j := strings.IndexByte(t[i:], '"'); j >= 0 {
				line = t[:i+j] + "?" + q + t[i+j:] + line[len(t):]
			}
		}
		b.WriteString(line)
	}
	return b.Bytes()
}

// analysis is GET /api/v1/assets/{id}/av: the stored analysis, loudness
// and when the asset became playable.
func (s *Server) analysis(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.asset(r, p)
	if err != nil {
		return err
	}
	v, err := catalog.GetAVAnalysis(r.Context(), s.DB.Reader(), a.ID)
	if err != nil {
		return err
	}
	out := map[string]any{"asset_id": a.ID, "analysis": nil, "loudness": nil, "playable_at": nil}
	if v.Analysis != "" {
		out["analysis"] = json.RawMessage(v.Analysis)
	}
	if v.Loudness != "" {
		out["loudness"] = json.RawMessage(v.Loudness)
	}
	if v.PlayableAt != nil {
		out["playable_at"] = v.PlayableAt.UTC().Format("2006-01-02T15:04:05.999999Z07:00")
	}
	if r.URL.Query().Get("probe") == "1" && v.Probe != "" {
		out["probe"] = json.RawMessage(v.Probe)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-cache")
	return json.NewEncoder(w).Encode(out)
}
