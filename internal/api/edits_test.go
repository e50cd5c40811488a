package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/node/nodetest"
)

func doJSON(t *testing.T, n *nodetest.Node, method, path, token, body string) *nodetest.Response {
	t.Helper()
	return n.Do(t, method, path, token, strings.NewReader(body), http.Header{"Content-Type": {"application/json"}})
}

type editedAsset struct {
	ID       string                     `json:"id"`
	Title    string                     `json:"title"`
	Creator  string                     `json:"creator"`
	Keywords []string                   `json:"keywords"`
	Fields   map[string]json.RawMessage `json:"fields"`
	Tags     []string                   `json:"tags"`
}

// TestEditAsset: PATCH edits descriptive and custom fields, validates
// them against the project's schema (errors name the field), records an
// "edited" event per change, is searchable, and wins over a re-run of
// the metadata extraction.
func TestEditAsset(t *testing.T) { nodetest.EachBackend(t, testEditAsset) }

func testEditAsset(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	a := n.MustUpload(t, n.Token, "photo.jpg", nodetest.JPEG(t, 8, 8, 1))
	if err := catalog.SetDescriptive(ctx, n.DB.Writer(), a.ID, catalog.Descriptive{Title: "IMG 0001", Creator: "Camera Owner"}); err != nil {
		t.Fatal(err)
	}
	writer := n.NewToken(t, []string{"read", "write"}, "")
	if r := doJSON(t, n, "PUT", "/api/v1/projects/default/fields", writer, `{"fields": []}`); r.Status != http.StatusForbidden {
		t.Errorf("schema without admin: %d", r.Status)
	}
	r := doJSON(t, n, "PUT", "/api/v1/projects/default/fields", n.Token, `{"fields": [
		{"name": "year", "type": "number"}, {"name": "verified", "type": "boolean"},
		{"name": "acquired", "type": "date"}, {"name": "shelf", "type": "string"},
		{"name": "condition", "type": "enum", "choices": ["good", "fair", "poor"]}]}`)
	if r.Status != http.StatusOK {
		t.Fatalf("schema: %d %s", r.Status, r.Body)
	}
	if r := doJSON(t, n, "PUT", "/api/v1/projects/default/fields", n.Token, `{"fields": [{"name": "x", "type": "colour"}]}`); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `\"x\"`) {
		t.Errorf("bad schema: %d %s", r.Status, r.Body)
	}

	r = doJSON(t, n, "PATCH", "/api/v1/assets/"+a.ID, writer, `{"title": "Quayside in winter", "keywords": ["snow", "quay"],
		"fields": {"year": 1931, "condition": "fair", "verified": true, "acquired": "1990-04-01", "shelf": "B12"}}`)
	if r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	// Metadata out carries the edited fields: the XMP sidecar and an
	// embedded download (never the stored original).
	if x := n.Get(t, "/api/v1/assets/"+a.ID+"/metadata.xmp", n.Token, nil); x.Status != http.StatusOK ||
		!strings.Contains(string(x.Body), "Quayside in winter") || !strings.Contains(string(x.Body), "Camera Owner") {
		t.Errorf("sidecar after edit: %d %s", x.Status, x.Body)
	}
	if e := n.Get(t, "/api/v1/assets/"+a.ID+"/original?embed=1", n.Token, nil); e.Status != http.StatusOK ||
		!strings.Contains(string(e.Body), "Quayside in winter") {
		t.Errorf("embedded download after edit: %d, %d bytes", e.Status, len(e.Body))
	}
	var got editedAsset
	r.JSON(t, &got)
	if got.Title != "Quayside in winter" || got.Creator != "Camera Owner" || !slices.Equal(got.Keywords, []string{"snow", "quay"}) ||
		string(got.Fields["year"]) != "1931" || string(got.Fields["condition"]) != `"fair"` || string(got.Fields["verified"]) != "true" {
		t.Errorf("patched: %+v", got)
	}
	for body, field := range map[string]string{
		`{"fields": {"year": "nineteen"}}`:      "year",
		`{"fields": {"condition": "mint"}}`:     "condition",
		`{"fields": {"acquired": "last week"}}`: "acquired",
		`{"fields": {"verified": "yes"}}`:       "verified",
		`{"fields": {"colour": "red"}}`:         "colour",
		`{"title": 5}`:                          "title",
		`{"keywords": "snow"}`:                  "keywords",
		`{"width": 5}`:                          "width",
	} {
		r := doJSON(t, n, "PATCH", "/api/v1/assets/"+a.ID, writer, body)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `\"`+field+`\"`) {
			t.Errorf("%s: %d %s (want 400 naming %q)", body, r.Status, r.Body, field)
		}
	}
	// A token of another project does not see the asset.
	other := n.NewToken(t, []string{"read", "write"}, "elsewhere")
	if r := doJSON(t, n, "PATCH", "/api/v1/assets/"+a.ID, other, `{"title": "x"}`); r.Status != http.StatusNotFound {
		t.Errorf("other project: %d", r.Status)
	}
	// Clearing a value and an unchanged value.
	if r := doJSON(t, n, "PATCH", "/api/v1/assets/"+a.ID, writer, `{"title": "Quayside in winter", "fields": {"shelf": null}}`); r.Status != http.StatusOK {
		t.Fatalf("patch 2: %d %s", r.Status, r.Body)
	}

	// Events: one per changed field, with actor, old and new.
	var events struct {
		Items []struct {
			Type   string          `json:"type"`
			Actor  string          `json:"actor"`
			Detail json.RawMessage `json:"detail"`
		} `json:"items"`
	}
	n.Get(t, "/api/v1/assets/"+a.ID+"/events", n.Token, nil).JSON(t, &events)
	var edits []catalog.Change
	for _, e := range events.Items {
		if e.Type != "edited" {
			continue
		}
		if !strings.HasPrefix(e.Actor, "token:") {
			t.Errorf("actor %q", e.Actor)
		}
		var c catalog.Change
		if err := json.Unmarshal(e.Detail, &c); err != nil {
			t.Fatalf("detail %s: %v", e.Detail, err)
		}
		edits = append(edits, c)
	}
	byField := map[string]string{}
	for _, c := range edits {
		byField[c.Field] = string(c.Old) + " -> " + string(c.New)
	}
	want := map[string]string{
		"title": `"IMG 0001" -> "Quayside in winter"`, "keywords": `null -> ["snow","quay"]`,
		"year": "null -> 1931", "condition": `null -> "fair"`, "verified": "null -> true",
		"acquired": `null -> "1990-04-01"`, "shelf": `"B12" -> null`,
	}
	if len(edits) != 8 {
		t.Errorf("%d edited events, want 8: %v", len(edits), byField)
	}
	for f, w := range want {
		if byField[f] != w {
			t.Errorf("event for %s: %q, want %q", f, byField[f], w)
		}
	}

	// Searchable by edited and custom values.
	for _, q := range []string{"quayside", "snow", "fair"} {
		if ids := search(t, n, n.Token, "q="+q).ids(); !slices.Equal(ids, []string{a.ID}) {
			t.Errorf("q=%s: %v", q, ids)
		}
	}
	// The metadata task runs again: the edited title and keywords stay,
	// the extracted creator is updated.
	if err := catalog.SetDescriptive(ctx, n.DB.Writer(), a.ID, catalog.Descriptive{Title: "IMG 0001", Creator: "New Owner", Keywords: []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	n.Get(t, "/api/v1/assets/"+a.ID, n.Token, nil).JSON(t, &got)
	if got.Title != "Quayside in winter" || got.Creator != "New Owner" || !slices.Equal(got.Keywords, []string{"snow", "quay"}) {
		t.Errorf("after re-extraction: %+v", got)
	}
	if ids := search(t, n, n.Token, "q=quayside+fair").ids(); !slices.Equal(ids, []string{a.ID}) {
		t.Errorf("search after re-extraction: %v", ids)
	}
}
