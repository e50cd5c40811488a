package av_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"os/exec"
	"path"
	"strings"
	"testing"
	"time"
)

// A private video plays through a signed URL alone: ffprobe, given only
// the master's URL (no Authorization header, no cookie), reads every
// playlist and segment, because the token rides along in each child URI.
func TestHLSThroughSignedURL(t *testing.T) {
	n := startNode(t)
	src := gen(t, "clip.mp4", append(testsrc(2, "320x180", 15), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")...)
	id := upload(t, n, "clip.mp4", src)
	if a := waitDone(t, n, id, 2*time.Minute); a.State != "ready" {
		t.Fatalf("state %s", a.State)
	}
	reader := n.NewToken(t, []string{"read"}, "")
	body, _ := json.Marshal(map[string]string{"what": "hls", "expires_in": "5m"})
	r := n.Do(t, "POST", "/api/v1/assets/"+id+"/signed-url", reader, bytes.NewReader(body), http.Header{"Content-Type": {"application/json"}})
	if r.Status != http.StatusOK {
		t.Fatalf("signed-url: %d %s", r.Status, r.Body)
	}
	var s struct{ URL, Token string }
	r.JSON(t, &s)
	if !strings.HasPrefix(s.URL, n.URL+"/media/"+id+"/hls/master.m3u8?token=") {
		t.Fatalf("url %s", s.URL)
	}
	// Without the token the media is private.
	if r := n.Get(t, "/media/"+id+"/hls/master.m3u8", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("master without credentials: %d", r.Status)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_programs", s.URL).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("ffprobe through the signed URL: %v %s", err, msg)
	}
	var p probed
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	if d := fdur(p); math.Abs(d-2) > 0.1 || len(p.Programs) == 0 {
		t.Fatalf("duration %.3f, %d programs", d, len(p.Programs))
	}
	// Every URI of the child playlist carries the token.
	q := url.Values{"token": {s.Token}}.Encode()
	m := n.Get(t, "/media/"+id+"/hls/master.m3u8?"+q, "", nil)
	// The audio rendition (EXT-X-MEDIA URI="…") carries it too, and
	// ffprobe, with the token alone, got the sound in every program.
	if _, after, ok := strings.Cut(string(m.Body), `#EXT-X-MEDIA:TYPE=AUDIO`); !ok ||
		!strings.Contains(strings.SplitN(after, "\n", 2)[0], "?token="+url.QueryEscape(s.Token)+`"`) {
		t.Errorf("master's audio rendition without the token:\n%s", m.Body)
	}
	for i, prog := range p.Programs {
		audio := false
		for _, st := range prog.Streams {
			audio = audio || st.CodecType == "audio"
		}
		if !audio {
			t.Errorf("program %d read through the signed URL has no audio", i)
		}
	}
	pl := n.Get(t, "/media/"+id+"/hls/"+masterURIs(t, m.Body)[0]+"?"+q, "", nil)
	if pl.Status != http.StatusOK {
		t.Fatalf("child playlist: %d %s", pl.Status, pl.Body)
	}
	for _, line := range strings.Split(string(pl.Body), "\n") {
		uri := ""
		if line != "" && !strings.HasPrefix(line, "#") {
			uri = line
		} else if _, after, ok := strings.Cut(line, `URI="`); ok {
			uri, _, _ = strings.Cut(after, `"`)
		}
		if uri != "" && !strings.Contains(uri, "token="+url.QueryEscape(s.Token)) {
			t.Errorf("child URI without the token: %q", uri)
		}
	}
	// Child playlists, init segments and media segments all check the
	// token: a tampered or expired one is refused on each (query and
	// /s/TOKEN/ path forms), a valid one opens each, and a viewer of
	// another project gets 404s, as for an asset that does not exist.
	// The rung's directory as the master names it (hls/rVERSION/v0/ since
	// ladders are versioned).
	rung := strings.SplitN(masterURIs(t, m.Body)[0], "?", 2)[0]
	rungDir := "/media/" + id + "/hls/" + path.Dir(rung) + "/"
	var children []string
	for _, line := range strings.Split(string(pl.Body), "\n") {
		uri := ""
		if line != "" && !strings.HasPrefix(line, "#") {
			uri = line
		} else if _, after, ok := strings.Cut(line, `URI="`); ok {
			uri, _, _ = strings.Cut(after, `"`)
		}
		if uri != "" {
			u, err := url.Parse(uri)
			if err != nil {
				t.Fatal(err)
			}
			children = append(children, rungDir+strings.TrimPrefix(u.Path, "/"))
		}
		if len(children) >= 2 { // the init segment and the first media segment
			break
		}
	}
	children = append([]string{"/media/" + id + "/hls/" + rung}, children...)
	if len(children) < 3 {
		t.Fatalf("child playlist names too little: %q", children)
	}
	parts := strings.Split(s.Token, ".")
	sig := []byte(parts[len(parts)-1])
	sig[0] = map[bool]byte{true: 'B', false: 'A'}[sig[0] == 'A']
	parts[len(parts)-1] = string(sig)
	tampered := strings.Join(parts, ".")
	expired := n.API.Signer.Sign("/media/"+id+"/hls/", time.Now().Add(-time.Minute))
	otherVideo := n.API.Signer.Sign("/media/00000000-0000-0000-0000-000000000000/hls/", time.Now().Add(time.Hour))
	otherProject := n.NewToken(t, []string{"read"}, "elsewhere")
	for _, c := range children {
		if strings.Contains(c, "..") || strings.Contains(c, "?") {
			t.Fatalf("odd child URI %q", c)
		}
		for _, k := range []struct {
			name, tok string
			status    int
			code      string
		}{{"valid", s.Token, 200, ""}, {"tampered", tampered, 401, "signature_invalid"}, {"expired", expired, 401, "signature_expired"},
			{"another asset's", otherVideo, 403, "signature_wrong_path"}} {
			for _, form := range []string{c + "?" + url.Values{"token": {k.tok}}.Encode(), "/s/" + url.PathEscape(k.tok) + c} {
				r := n.Get(t, form, "", nil)
				if r.Status != k.status || (k.code != "" && r.ErrorCode(t) != k.code) {
					t.Errorf("%s token on %s: %d %s", k.name, form, r.Status, r.Body)
				}
			}
		}
		if r := n.Get(t, c, otherProject, nil); r.Status != http.StatusNotFound {
			t.Errorf("%s as a viewer of another project: %d, want 404", c, r.Status)
		}
		if r := n.Get(t, c, "", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d, want 401", c, r.Status)
		}
	}
	// The token covers this asset's HLS only.
	if r := n.Get(t, "/api/v1/assets/"+id+"/original?"+q, "", nil); r.Status != http.StatusForbidden || r.ErrorCode(t) != "signature_wrong_path" {
		t.Fatalf("hls token on the original: %d %s", r.Status, r.Body)
	}
}
