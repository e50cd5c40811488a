package presentation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/node/nodetest"
)

// schema compiles the IIIF Presentation 3.0 JSON schema in testdata.
func schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/iiif_3_0.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("iiif_3_0.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("iiif_3_0.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, name string, body []byte) map[string]any {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s is not valid IIIF Presentation 3.0: %v\n%s", name, err, body)
	}
	var m map[string]any
	json.Unmarshal(body, &m)
	return m
}

func insert(t *testing.T, n *nodetest.Node, a *catalog.Asset) {
	t.Helper()
	a.Size, a.MD5, a.SHA256, a.BlobKey, a.State, a.Project, a.TxID = 1, "m", "s"+a.ID, "k"+a.ID, catalog.StateReady, "default", "tx"
	if err := catalog.InsertAsset(context.Background(), n.DB.Writer(), a); err != nil {
		t.Fatal(err)
	}
}

// TestManifests: manifests of an image (with its image service), a
// document's pages, a video, an audio file, a collection and a nested
// IIIF Collection all validate against the Presentation 3.0 schema.
func TestManifests(t *testing.T) {
	ctx := context.Background()
	sch := schema(t)
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	w := n.DB.Writer()
	img := n.MustUpload(t, n.Token, "quay.jpg", nodetest.JPEG(t, 64, 48, 1))
	if err := catalog.UpdateAssetInfo(ctx, w, img.ID, catalog.AssetInfo{Width: 64, Height: 48}); err != nil {
		t.Fatal(err)
	}
	if err := catalog.SetDescriptive(ctx, w, img.ID, catalog.Descriptive{Title: "The quay", Creator: "Ada",
		Rights: "https://creativecommons.org/licenses/by/4.0/", Keywords: []string{"harbour"}, CaptureDate: "2021-06-15T14:30:00"}); err != nil {
		t.Fatal(err)
	}
	doc := &catalog.Asset{ID: "doc-1", Filename: "minutes.pdf", ContentType: "application/pdf", Kind: "document", Format: "pdf"}
	insert(t, n, doc)
	for _, p := range []string{"page-0002.jpg", "page-0001.jpg"} {
		if err := catalog.PutDerivative(ctx, w, &catalog.Derivative{AssetID: doc.ID, Name: p, BlobKey: "d/" + p,
			ContentType: "image/jpeg", Width: 850, Height: 1100, Size: 1, Task: "pages"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := catalog.SetDescriptive(ctx, w, doc.ID, catalog.Descriptive{Rights: "© 1931 Harbour Board"}); err != nil {
		t.Fatal(err)
	}
	vid := &catalog.Asset{ID: "vid-1", Filename: "launch.mp4", ContentType: "video/mp4", Kind: "video", Format: "mp4",
		Width: 1280, Height: 720, DurationSeconds: 12.5}
	insert(t, n, vid)
	aud := &catalog.Asset{ID: "aud-1", Filename: "foghorn.wav", ContentType: "audio/wav", Kind: "audio", Format: "wav",
		DurationSeconds: 3.25}
	insert(t, n, aud)
	bare := &catalog.Asset{ID: "bare-1", Filename: "notes.xyz", ContentType: "application/octet-stream", Kind: "other", Format: "xyz"}
	insert(t, n, bare)

	get := func(path string) []byte {
		t.Helper()
		r := n.Get(t, path, n.Token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/ld+json") {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		return r.Body
	}
	m := validate(t, sch, "image manifest", get("/iiif/3/"+img.ID+"/manifest.json"))
	body := string(get("/iiif/3/" + img.ID + "/manifest.json"))
	for _, want := range []string{`"type":"ImageService3"`, `"id":"` + n.URL + `/iiif/3/` + img.ID + `"`,
		`"rights":"http://creativecommons.org/licenses/by/4.0/"`, `"label":{"none":["The quay"]}`, `"thumbnail"`, `"Ada"`} {
		if !strings.Contains(body, want) {
			t.Errorf("image manifest lacks %s", want)
		}
	}
	if items := m["items"].([]any); len(items) != 1 {
		t.Errorf("image canvases: %d", len(items))
	}
	m = validate(t, sch, "document manifest", get("/iiif/3/doc-1/manifest.json"))
	items := m["items"].([]any)
	if len(items) != 2 || !strings.Contains(mustJSON(items[0]), "page-0001.jpg") {
		t.Errorf("document canvases: %s", mustJSON(items))
	}
	if !strings.Contains(mustJSON(m["requiredStatement"]), "Harbour Board") {
		t.Errorf("rights text: %v", m["requiredStatement"])
	}
	m = validate(t, sch, "video manifest", get("/iiif/3/vid-1/manifest.json"))
	if s := mustJSON(m["items"]); !strings.Contains(s, `"duration":12.5`) || !strings.Contains(s, `"type":"Video"`) || !strings.Contains(s, "hls/master.m3u8") {
		t.Errorf("video canvas: %s", s)
	}
	m = validate(t, sch, "audio manifest", get("/iiif/3/aud-1/manifest.json"))
	if s := mustJSON(m["items"]); !strings.Contains(s, `"duration":3.25`) || !strings.Contains(s, `"type":"Sound"`) {
		t.Errorf("audio canvas: %s", s)
	}
	if r := n.Get(t, "/iiif/3/bare-1/manifest.json", n.Token, nil); r.Status != http.StatusNotFound {
		t.Errorf("nothing to show: %d", r.Status)
	}
	other := n.NewToken(t, []string{"read"}, "elsewhere")
	if r := n.Get(t, "/iiif/3/"+img.ID+"/manifest.json", other, nil); r.Status != http.StatusNotFound {
		t.Errorf("other project: %d", r.Status)
	}
	// The asset JSON links its manifest.
	if a := n.Get(t, "/api/v1/assets/"+img.ID, n.Token, nil).Asset(t); a.Links["manifest"] != n.URL+"/iiif/3/"+img.ID+"/manifest.json" {
		t.Errorf("links: %v", a.Links)
	}

	// Collections: a manifest of the members in order, and a IIIF
	// Collection of the children and its own manifest.
	mk := func(body string) string {
		r := n.Do(t, "POST", "/api/v1/collections", n.Token, strings.NewReader(body), http.Header{"Content-Type": {"application/json"}})
		var c struct{ ID string }
		r.JSON(t, &c)
		return c.ID
	}
	top := mk(`{"name": "Harbour archive"}`)
	child := mk(`{"name": "Films", "parent_id": "` + top + `"}`)
	n.Do(t, "PUT", "/api/v1/collections/"+top+"/members", n.Token,
		strings.NewReader(`{"ids": ["doc-1", "`+img.ID+`", "bare-1"]}`), http.Header{"Content-Type": {"application/json"}})
	n.Do(t, "PUT", "/api/v1/collections/"+child+"/members", n.Token,
		strings.NewReader(`{"ids": ["vid-1", "aud-1"]}`), http.Header{"Content-Type": {"application/json"}})
	m = validate(t, sch, "collection manifest", get("/iiif/3/collections/"+top+"/manifest.json"))
	if items := m["items"].([]any); len(items) != 3 {
		t.Errorf("collection canvases: %d (2 pages + 1 image)", len(items))
	}
	validate(t, sch, "child collection manifest", get("/iiif/3/collections/"+child+"/manifest.json"))
	m = validate(t, sch, "IIIF collection", get("/iiif/3/collections/"+top+"/collection.json"))
	if s := mustJSON(m["items"]); !strings.Contains(s, child+"/collection.json") || !strings.Contains(s, top+"/manifest.json") {
		t.Errorf("collection items: %s", s)
	}

	// The schema does reject a broken manifest (a canvas with no size).
	broken := strings.Replace(string(get("/iiif/3/"+img.ID+"/manifest.json")), `"height":48,`, ``, -1)
	broken = strings.Replace(broken, `"width":64,`, ``, -1)
	inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(broken))
	if err := sch.Validate(inst); err == nil {
		t.Errorf("a canvas without width and height passed the schema:\n%s", broken)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
