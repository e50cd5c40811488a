package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"stor/internal/config"
	"stor/internal/node/nodetest"
)

// TestTags: tags on one asset, in bulk by ids and by a search query,
// found by search and the tag filter, with "tagged" events.
func TestTags(t *testing.T) { nodetest.EachBackend(t, testTags) }

func testTags(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	a := n.MustUpload(t, n.Token, "boat-one.jpg", nodetest.JPEG(t, 8, 8, 1))
	b := n.MustUpload(t, n.Token, "boat-two.png", nodetest.PNG(t, 8, 8, 2))
	c := n.MustUpload(t, n.Token, "train.png", nodetest.PNG(t, 8, 8, 3))

	r := doJSON(t, n, "POST", "/api/v1/assets/"+a.ID+"/tags", n.Token, `{"add": ["Harbour", " archive ", "harbour"]}`)
	var got editedAsset
	r.JSON(t, &got)
	if r.Status != http.StatusOK || !slices.Equal(got.Tags, []string{"Harbour", "archive"}) {
		t.Fatalf("tag one: %d %s", r.Status, r.Body)
	}
	r = doJSON(t, n, "POST", "/api/v1/tags", n.Token, `{"query": {"q": "boat"}, "add": ["vessel"], "remove": ["archive"]}`)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"matched":2`) || !strings.Contains(string(r.Body), `"changed":2`) {
		t.Fatalf("bulk by query: %d %s", r.Status, r.Body)
	}
	r = doJSON(t, n, "POST", "/api/v1/tags", n.Token, `{"ids": ["`+b.ID+`", "`+c.ID+`"], "add": ["colour"]}`)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"matched":2`) {
		t.Fatalf("bulk by ids: %d %s", r.Status, r.Body)
	}
	if r := doJSON(t, n, "POST", "/api/v1/tags", n.Token, `{"ids": ["nope"], "add": ["x"]}`); r.Status != http.StatusNotFound {
		t.Errorf("unknown id: %d", r.Status)
	}
	if r := doJSON(t, n, "POST", "/api/v1/tags", n.Token, `{"add": ["x"]}`); r.Status != http.StatusBadRequest {
		t.Errorf("neither ids nor query: %d", r.Status)
	}
	reader := n.NewToken(t, []string{"read"}, "")
	if r := doJSON(t, n, "POST", "/api/v1/assets/"+a.ID+"/tags", reader, `{"add": ["x"]}`); r.Status != http.StatusForbidden {
		t.Errorf("read token tags: %d", r.Status)
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	for q, want := range map[string][]string{
		"tag=vessel":             sorted(a.ID, b.ID),
		"tag=vessel&tag=colour":  {b.ID},
		"tag=archive":            {},
		"q=vessel":               sorted(a.ID, b.ID),
		"q=harbour":              {a.ID},
		"q=colour&kind=image":    sorted(b.ID, c.ID),
		"tag=HARBOUR&q=boat+one": {a.ID},
	} {
		ids := search(t, n, n.Token, q).ids()
		slices.Sort(ids)
		if !slices.Equal(ids, want) {
			t.Errorf("?%s: %v, want %v", q, ids, want)
		}
	}
	l := search(t, n, n.Token, "facets=tag")
	if l.Facets["tag"]["vessel"] != 2 || l.Facets["tag"]["colour"] != 2 || l.Facets["tag"]["Harbour"] != 1 {
		t.Errorf("tag facets: %v", l.Facets)
	}
	ev := string(n.Get(t, "/api/v1/assets/"+a.ID+"/events", n.Token, nil).Body)
	if strings.Count(ev, `"tagged"`) != 2 || !strings.Contains(ev, `"removed":["archive"]`) {
		t.Errorf("events: %s", ev)
	}
}
