package api_test

import (
	"context"
	"database/sql"
	"net/http"
	"slices"
	"testing"

	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/node/nodetest"
)

type searchList struct {
	Items []struct {
		ID   string   `json:"id"`
		Tags []string `json:"tags"`
	} `json:"items"`
	NextCursor *string                   `json:"next_cursor"`
	Facets     map[string]map[string]int `json:"facets"`
}

func search(t *testing.T, n *nodetest.Node, token, query string) searchList {
	t.Helper()
	r := n.Get(t, "/api/v1/assets?"+query, token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET ?%s: %d %s", query, r.Status, r.Body)
	}
	var l searchList
	r.JSON(t, &l)
	return l
}

func (l searchList) ids() []string {
	out := []string{}
	for _, it := range l.Items {
		out = append(out, it.ID)
	}
	return out
}

// TestSearchAPI: q finds words in filename, metadata, tags and text,
// ranked (a page-text hit below field hits); filters and facets; ranked paging; project tokens see only
// their project.
func TestSearchAPI(t *testing.T) { nodetest.EachBackend(t, testSearchAPI) }

func testSearchAPI(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	harbour := n.MustUpload(t, n.Token, "harbour-view.jpg", nodetest.JPEG(t, 8, 8, 1))
	scan := n.MustUpload(t, n.Token, "scan.png", nodetest.PNG(t, 8, 8, 2))
	r := uploadMultipart(t, n, n.Token, "plain.png", nodetest.PNG(t, 8, 8, 3), nil, map[string]string{"project": "p2"})
	if r.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	plain := r.Asset(t)
	w := n.DB.Writer()
	if err := catalog.SetDescriptive(ctx, w, scan.ID, catalog.Descriptive{Title: "Harbour master's ledger",
		CameraMake: "Canon", CameraModel: "Canon EOS R5", CaptureDate: "2020-05-01T10:00:00"}); err != nil {
		t.Fatal(err)
	}
	if err := n.DB.InTx(ctx, func(tx *sql.Tx) error {
		return catalog.ReplaceText(ctx, tx, plain.ID, []catalog.TextPage{{Page: 1, Source: catalog.TextOCR, Text: "tide tables for the harbour"}})
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := catalog.ChangeTags(ctx, w, plain.ID, []string{"maritime"}, nil); err != nil {
		t.Fatal(err)
	}

	ranked := search(t, n, n.Token, "q=harbour").ids()
	if got := ranked; len(got) != 3 || got[2] != plain.ID {
		t.Errorf("ranked q=harbour: %v (title %s, filename %s, text %s)", got, scan.ID, harbour.ID, plain.ID)
	}
	if got := search(t, n, n.Token, "q=harbour&sort=newest").ids(); !slices.Equal(got, []string{plain.ID, scan.ID, harbour.ID}) {
		t.Errorf("newest q=harbour: %v", got)
	}
	if got := search(t, n, n.Token, "q=maritime+tide").ids(); !slices.Equal(got, []string{plain.ID}) {
		t.Errorf("tag and text: %v", got)
	}
	l := search(t, n, n.Token, "tag=Maritime")
	if !slices.Equal(l.ids(), []string{plain.ID}) || !slices.Equal(l.Items[0].Tags, []string{"maritime"}) {
		t.Errorf("tag filter: %+v", l.Items)
	}
	for q, want := range map[string]int{
		"q=harbour&format=png":                      2,
		"q=harbour&project=p2":                      1,
		"camera=canon":                              1,
		"captured_after=2020-01-01":                 1,
		"captured_before=2020-01-01":                0,
		"kind=image&state=stored":                   3,
		"q=harbour&collection=none":                 0,
		"q=%22master%27s+ledger%22":                 1,
		"q=harb*":                                   3,
		"q=nothing-here-at-all":                     0,
		"q=harbour&captured_after=2020-05-01T00:00": 1,
	} {
		if got := search(t, n, n.Token, q).ids(); len(got) != want {
			t.Errorf("?%s: %d results %v, want %d", q, len(got), got, want)
		}
	}
	l = search(t, n, n.Token, "q=harbour&facets=kind,format,project,state,tag")
	if l.Facets["format"]["png"] != 2 || l.Facets["format"]["jpg"] != 1 || l.Facets["kind"]["image"] != 3 ||
		l.Facets["project"]["p2"] != 1 || l.Facets["tag"]["maritime"] != 1 || len(l.Facets["tag"]) != 1 {
		t.Errorf("facets: %v", l.Facets)
	}
	if r := n.Get(t, "/api/v1/assets?facets=colour", n.Token, nil); r.Status != http.StatusBadRequest {
		t.Errorf("unknown facet: %d", r.Status)
	}

	// Ranked paging: offset cursors, every match once, in rank order.
	var paged []string
	next := ""
	for range 5 {
		l := search(t, n, n.Token, "q=harbour&limit=2"+next)
		paged = append(paged, l.ids()...)
		if l.NextCursor == nil {
			break
		}
		next = "&cursor=" + *l.NextCursor
	}
	if !slices.Equal(paged, ranked) {
		t.Errorf("paged: %v", paged)
	}
	// A newest-first cursor is not accepted for a ranked listing.
	l = search(t, n, n.Token, "limit=1")
	if r := n.Get(t, "/api/v1/assets?q=harbour&cursor="+*l.NextCursor, n.Token, nil); r.Status != http.StatusBadRequest {
		t.Errorf("mixed cursor: %d", r.Status)
	}

	// A project token finds only its project's assets.
	p2 := n.NewToken(t, []string{"read"}, "p2")
	if got := search(t, n, p2, "q=harbour&facets=project").ids(); !slices.Equal(got, []string{plain.ID}) {
		t.Errorf("project token: %v", got)
	}
}
