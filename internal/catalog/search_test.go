package catalog_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"stor/internal/catalog"
	"stor/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// backends are the databases every shared test runs on.
var backends = []string{"sqlite", "postgres"}

// eachDB runs fn as a subtest on a fresh catalog of each backend.
func eachDB(t *testing.T, fn func(t *testing.T, db *catalog.DB)) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) { fn(t, openDB(t, b)) })
	}
}

func openDB(t *testing.T, backend string) *catalog.DB {
	t.Helper()
	var db *catalog.DB
	var err error
	if backend == "postgres" {
		db, err = catalog.OpenPostgres(context.Background(), pgtest.URL(t))
	} else {
		db, err = catalog.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "cat.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func addAsset(t *testing.T, db *catalog.DB, id, filename, kind, format, project string) *catalog.Asset {
	t.Helper()
	a := &catalog.Asset{ID: id, Filename: filename, Size: 1, MD5: "m", SHA256: "s" + id, BlobKey: "k" + id,
		ContentType: "application/octet-stream", Kind: kind, Format: format, State: catalog.StateReady,
		Project: project, TxID: "tx"}
	if err := catalog.InsertAsset(context.Background(), db.Writer(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

func ids(as []*catalog.Asset) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func find(t *testing.T, db *catalog.DB, f catalog.AssetFilter) []string {
	t.Helper()
	list, err := db.Search().Find(context.Background(), db.Reader(), f)
	if err != nil {
		t.Fatal(err)
	}
	return ids(list)
}

// TestSearchSources finds assets by words in each place the index reads,
// follows every write path, and ranks a title hit above a text hit.
func TestSearchSources(t *testing.T) { eachDB(t, testSearchSources) }

func testSearchSources(t *testing.T, db *catalog.DB) {
	ctx := context.Background()
	w := db.Writer()
	addAsset(t, db, "a1", "IMG_4711_harbour.jpg", "image", "jpeg", "p1")
	addAsset(t, db, "a2", "scan.pdf", "document", "pdf", "p1")
	addAsset(t, db, "a3", "clip.mp4", "video", "mp4", "p2")
	addAsset(t, db, "a4", "other.jpg", "image", "jpeg", "p2")

	if err := catalog.SetDescriptive(ctx, w, "a1", catalog.Descriptive{Title: "Lighthouse at dusk",
		Creator: "Ada Lovelace", Keywords: []string{"coast", "Seefahrt"}, CameraMake: "Canon",
		CameraModel: "Canon EOS 5D Mark IV", CaptureDate: "2021-06-15T14:30:00+02:00"}); err != nil {
		t.Fatal(err)
	}
	if err := catalog.SetDescriptive(ctx, w, "a4", catalog.Descriptive{Description: "A lighthouse keeper",
		CameraMake: "NIKON CORPORATION", CameraModel: "NIKON D850", CaptureDate: "2019-01-02T10:00:00"}); err != nil {
		t.Fatal(err)
	}
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		return catalog.ReplaceText(ctx, tx, "a2", []catalog.TextPage{
			{Page: 1, Source: catalog.TextLayer, Text: "Minutes of the harbour board"},
			{Page: 2, Source: catalog.TextLayer, Text: "The lighthouse was repainted in Ångström white"},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := catalog.ChangeTags(ctx, w, "a3", []string{"Festival", "drone"}, nil); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		q    string
		want []string
	}{
		{"harbour", []string{"a1", "a2"}}, // filename, text
		{"4711", []string{"a1"}},          // filename token
		{"lovelace", []string{"a1"}},      // creator
		{"seefahrt", []string{"a1"}},      // keyword
		{"festival", []string{"a3"}},      // tag
		{"angstrom", []string{"a2"}},      // text, accents folded
		{"lighthouses", []string{"a1", "a2", "a4"}},
		{"eos", []string{"a1"}},                      // camera
		{"lighthouse harbour", []string{"a1", "a2"}}, // terms on different rows of one asset
		{`"harbour board"`, []string{"a2"}},
		{"light*", []string{"a1", "a2", "a4"}},
		{"nothingmatches", []string{}},
	} {
		got := find(t, db, catalog.AssetFilter{Query: c.q})
		g, wnt := slices.Clone(got), slices.Clone(c.want)
		slices.Sort(g)
		slices.Sort(wnt)
		if !slices.Equal(g, wnt) {
			t.Errorf("q=%q: got %v, want %v", c.q, got, c.want)
		}
	}
	// Rank: title beats description beats page text.
	if got := find(t, db, catalog.AssetFilter{Query: "lighthouse"}); !slices.Equal(got, []string{"a1", "a4", "a2"}) {
		t.Errorf("ranked: %v", got)
	}
	// Newest first on request, and without a query.
	if got := find(t, db, catalog.AssetFilter{Query: "lighthouse", Newest: true}); !slices.Equal(got, []string{"a4", "a2", "a1"}) {
		t.Errorf("newest: %v", got)
	}

	// Writes re-index: tag removed, text replaced, metadata re-run,
	// filename unchanged.
	if _, _, err := catalog.ChangeTags(ctx, w, "a3", nil, []string{"FESTIVAL"}); err != nil {
		t.Fatal(err)
	}
	if got := find(t, db, catalog.AssetFilter{Query: "festival"}); len(got) != 0 {
		t.Errorf("removed tag still found: %v", got)
	}
	if got := find(t, db, catalog.AssetFilter{Query: "drone"}); !slices.Equal(got, []string{"a3"}) {
		t.Errorf("kept tag: %v", got)
	}
	if err := catalog.SetDescriptive(ctx, w, "a3", catalog.Descriptive{Title: "Parade"}); err != nil {
		t.Fatal(err)
	}
	if got := find(t, db, catalog.AssetFilter{Query: "parade drone"}); !slices.Equal(got, []string{"a3"}) {
		t.Errorf("tags survive a metadata write: %v", got)
	}
	if err := db.InTx(ctx, func(tx *sql.Tx) error {
		return catalog.ReplaceText(ctx, tx, "a2", []catalog.TextPage{{Page: 1, Source: catalog.TextOCR, Text: "ferry timetable"}})
	}); err != nil {
		t.Fatal(err)
	}
	if got := find(t, db, catalog.AssetFilter{Query: "angstrom"}); len(got) != 0 {
		t.Errorf("replaced text still found: %v", got)
	}
	if got := find(t, db, catalog.AssetFilter{Query: "ferry"}); !slices.Equal(got, []string{"a2"}) {
		t.Errorf("new text: %v", got)
	}
	// A deleted asset is not listed (state filter), and a purged row leaves the index.
	if err := catalog.SetAssetState(ctx, w, "a2", catalog.StateDeleted, ""); err != nil {
		t.Fatal(err)
	}
	if got := find(t, db, catalog.AssetFilter{Query: "ferry"}); len(got) != 0 {
		t.Errorf("deleted asset found: %v", got)
	}
	if _, err := w.ExecContext(ctx, `DELETE FROM assets WHERE id = 'a2'`); err != nil {
		t.Fatal(err)
	}
	var n int
	if db.Dialect() == "postgres" {
		if err := w.QueryRowContext(ctx, `SELECT count(*) FROM asset_search WHERE doc @@ to_tsquery('stor', 'ferry')`).Scan(&n); err != nil || n != 0 {
			t.Errorf("purged asset left %d index rows (%v)", n, err)
		}
		if err := w.QueryRowContext(ctx, `SELECT count(*) FROM asset_search s WHERE NOT EXISTS
			(SELECT 1 FROM assets a WHERE a.seq = s.asset_seq)`).Scan(&n); err != nil || n != 0 {
			t.Errorf("index rows without an asset: %d (%v)", n, err)
		}
		// asset_tier (0020) follows asset_doc, kind and project.
		if _, err := w.ExecContext(ctx, `UPDATE assets SET project = 'p9', kind = 'video' WHERE id = 'a3'`); err != nil {
			t.Fatal(err)
		}
		if err := w.QueryRowContext(ctx, `SELECT count(*) FROM asset_doc d FULL JOIN asset_tier t ON t.seq = d.seq
			LEFT JOIN assets a ON a.seq = d.seq
			WHERE t.doc IS DISTINCT FROM stor_tier_doc(d.doc, a.kind, a.project)`).Scan(&n); err != nil || n != 0 {
			t.Errorf("asset_tier rows out of step with asset_doc and assets: %d (%v)", n, err)
		}
		if got := find(t, db, catalog.AssetFilter{Query: "parade", Project: "p9", Kind: "video"}); !slices.Equal(got, []string{"a3"}) {
			t.Errorf("moved asset by its new project: %v", got)
		}
		return
	}
	if err := w.QueryRowContext(ctx, `SELECT count(*) FROM asset_fts WHERE asset_fts MATCH 'ferry'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("purged asset left %d index rows (%v)", n, err)
	}
	if err := w.QueryRowContext(ctx, `INSERT INTO asset_fts(asset_fts, rank) VALUES('integrity-check', 1)`).Err(); err != nil {
		t.Errorf("index integrity: %v", err)
	}
}

// TestSearchFiltersFacets checks each filter and that facets count the
// selection.
func TestSearchFiltersFacets(t *testing.T) { eachDB(t, testSearchFiltersFacets) }

func testSearchFiltersFacets(t *testing.T, db *catalog.DB) {
	ctx := context.Background()
	w := db.Writer()
	for i := range 12 {
		kind, format := "image", "jpeg"
		switch i % 3 {
		case 1:
			kind, format = "image", "png"
		case 2:
			kind, format = "video", "mp4"
		}
		project := "p1"
		if i >= 8 {
			project = "p2"
		}
		id := fmt.Sprintf("a%02d", i)
		addAsset(t, db, id, fmt.Sprintf("river-%02d.bin", i), kind, format, project)
		d := catalog.Descriptive{CaptureDate: fmt.Sprintf("2020-%02d-10T12:00:00", i+1)}
		if i%2 == 0 {
			d.CameraMake, d.CameraModel = "Canon", "Canon EOS R5"
		} else {
			d.CameraMake, d.CameraModel = "FUJIFILM", "X-T4"
		}
		if err := catalog.SetDescriptive(ctx, w, id, d); err != nil {
			t.Fatal(err)
		}
		if i < 5 {
			if _, _, err := catalog.ChangeTags(ctx, w, id, []string{"keep"}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := w.ExecContext(ctx, `INSERT INTO collections (id, name, created_at, updated_at) VALUES ('c1', 'C', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"a01", "a02", "a09"} {
		if _, err := w.ExecContext(ctx, `INSERT INTO collection_members VALUES ('c1', ?, ?)`, id, i); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		f    catalog.AssetFilter
		want int
	}{
		{catalog.AssetFilter{}, 12},
		{catalog.AssetFilter{Query: "river"}, 12},
		{catalog.AssetFilter{Kind: "video"}, 4},
		{catalog.AssetFilter{Format: "png"}, 4},
		{catalog.AssetFilter{Project: "p2"}, 4},
		{catalog.AssetFilter{Tags: []string{"KEEP"}}, 5},
		{catalog.AssetFilter{Collection: "c1"}, 3},
		{catalog.AssetFilter{CapturedAfter: "2020-03-01", CapturedBefore: "2020-06-10"}, 3}, // Mar, Apr, May
		{catalog.AssetFilter{CapturedBefore: "2020-02-10T12:00:01"}, 2},
		{catalog.AssetFilter{Camera: "canon"}, 6},
		{catalog.AssetFilter{Camera: "x-t4"}, 6},
		{catalog.AssetFilter{Query: "river", Kind: "image", Tags: []string{"keep"}, Camera: "Canon"}, 2}, // a00, a04
		{catalog.AssetFilter{Projects: []string{}}, 0},
	} {
		if got := find(t, db, c.f); len(got) != c.want {
			t.Errorf("%+v: %d assets %v, want %d", c.f, len(got), got, c.want)
		}
	}
	fc, err := db.Search().Facets(ctx, db.Reader(), catalog.AssetFilter{Query: "river", Project: "p1"}, catalog.FacetFields)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int{
		"kind": {"image": 6, "video": 2}, "format": {"jpeg": 3, "png": 3, "mp4": 2},
		"state": {"ready": 8}, "project": {"p1": 8}, "tag": {"keep": 5},
	}
	if fmt.Sprint(fc) != fmt.Sprint(want) {
		t.Errorf("facets %v, want %v", fc, want)
	}
	if _, err := db.Search().Facets(ctx, db.Reader(), catalog.AssetFilter{}, []string{"colour"}); err == nil {
		t.Error("unknown facet accepted")
	}
	// Paging: ranked by offset, newest by seq, no overlap.
	seen := map[string]bool{}
	for off := 0; off < 12; off += 5 {
		for _, id := range find(t, db, catalog.AssetFilter{Query: "river", Offset: off, Limit: 5}) {
			if seen[id] {
				t.Errorf("offset %d repeats %s", off, id)
			}
			seen[id] = true
		}
	}
	if len(seen) != 12 {
		t.Errorf("paged through %d of 12", len(seen))
	}
	// Full pages come from the one-term fast path, the last from the
	// general one: the same order as one big page.
	var paged []string
	for off := 0; off < 12; off += 4 {
		paged = append(paged, find(t, db, catalog.AssetFilter{Query: "river", Offset: off, Limit: 4})...)
	}
	if all := find(t, db, catalog.AssetFilter{Query: "river", Limit: 13}); !slices.Equal(paged, all) {
		t.Errorf("paged %v, one page %v", paged, all)
	}
}

// searcher is the search of db's backend with its limits set.
type searcher interface {
	catalog.Searcher
	catalog.Pager
	catalog.FacetCounter
}

// limited is db's search with ExactRankMax and FacetSample set (0: the
// default).
func limited(db *catalog.DB, exactRankMax, facetSample int) searcher {
	if db.Search() == (catalog.PostgresSearch{}) {
		return catalog.PostgresSearch{ExactRankMax: exactRankMax, FacetSample: facetSample}
	}
	return catalog.SQLiteSearch{ExactRankMax: exactRankMax, FacetSample: facetSample}
}

// pageAll pages through f with s by cursor and returns every id.
func pageAll(t *testing.T, db *catalog.DB, s catalog.Pager, f catalog.AssetFilter) (ids []string, approximate bool) {
	t.Helper()
	f.Cursor = ""
	for range 100 {
		p, err := s.FindPage(context.Background(), db.Reader(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Assets {
			ids = append(ids, a.ID)
		}
		approximate = approximate || p.Approximate
		if p.Next == "" {
			return ids, approximate
		}
		f.Cursor = p.Next
	}
	t.Fatal("paging does not end")
	return nil, false
}

// TestSearchApproximateRanking: a term matching more than ExactRankMax
// assets is ranked by tiers (every term in a primary column first, newest
// first within each), flagged, and pages by keyset without repeats.
func TestSearchApproximateRanking(t *testing.T) { eachDB(t, testSearchApproximateRanking) }

func testSearchApproximateRanking(t *testing.T, db *catalog.DB) {
	ctx := context.Background()
	w := db.Writer()
	// a0..a7 oldest to newest; river in the title of the even ones, in
	// the description or text of the odd ones; a8 has no river.
	for i := range 9 {
		id := fmt.Sprintf("a%d", i)
		addAsset(t, db, id, fmt.Sprintf("file%d.jpg", i), "image", "jpeg", "p1")
		var d catalog.Descriptive
		switch {
		case i == 8:
			d.Title = "Mountain"
		case i%2 == 0:
			d.Title = "River bank"
		case i == 3:
			d.Title = "Bank"
		default:
			d.Description = "Down by the river bank"
		}
		if err := catalog.SetDescriptive(ctx, w, id, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.InTx(ctx, func(tx *sql.Tx) error {
		return catalog.ReplaceText(ctx, tx, "a3", []catalog.TextPage{{Page: 1, Source: catalog.TextOCR, Text: "minutes"}, {Page: 2, Source: catalog.TextOCR, Text: "the river"}})
	}); err != nil {
		t.Fatal(err)
	}
	exact := limited(db, 0, 0)
	approx := limited(db, 3, 0)
	got, ap := pageAll(t, db, approx, catalog.AssetFilter{Query: "river", Limit: 3})
	want := []string{"a6", "a4", "a2", "a0", "a7", "a5", "a3", "a1"}
	if !slices.Equal(got, want) || !ap {
		t.Errorf("approximate: %v (flag %v), want %v", got, ap, want)
	}
	// Two terms, one in a primary column only for a2 and a6 ("bank" is
	// everywhere, "river" as above): tiers by both terms.
	if err := catalog.SetDescriptive(ctx, w, "a4", catalog.Descriptive{Title: "River", Description: "bank"}); err != nil {
		t.Fatal(err)
	}
	got, _ = pageAll(t, db, approx, catalog.AssetFilter{Query: "river bank", Limit: 2})
	if want := []string{"a6", "a2", "a0", "a7", "a5", "a4", "a3", "a1"}; !slices.Equal(got, want) {
		t.Errorf("two terms approximate: %v, want %v", got, want)
	}
	// Below the limit: bm25, not flagged, the same set.
	got, ap = pageAll(t, db, exact, catalog.AssetFilter{Query: "river", Limit: 3})
	if g := slices.Sorted(slices.Values(got)); !slices.Equal(g, []string{"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"}) || ap {
		t.Errorf("exact: %v (flag %v)", got, ap)
	}
	// Filters apply in both tiers.
	if err := catalog.SetAssetState(ctx, w, "a6", catalog.StateDeleted, ""); err != nil {
		t.Fatal(err)
	}
	got, _ = pageAll(t, db, approx, catalog.AssetFilter{Query: "river", Limit: 50})
	if want := []string{"a4", "a2", "a0", "a7", "a5", "a3", "a1"}; !slices.Equal(got, want) {
		t.Errorf("approximate without the deleted: %v, want %v", got, want)
	}
	// Cursors of another listing are refused.
	for _, c := range []struct {
		f   catalog.AssetFilter
		cur string
	}{
		{catalog.AssetFilter{Query: "river"}, "12"},
		{catalog.AssetFilter{}, "o50"},
		{catalog.AssetFilter{Query: "river"}, "a3.5"},
		{catalog.AssetFilter{Query: "river"}, "x"},
	} {
		c.f.Cursor = c.cur
		if _, err := approx.FindPage(ctx, db.Reader(), c.f); !errors.Is(err, catalog.ErrCursor) {
			t.Errorf("cursor %q on %+v: %v", c.cur, c.f, err)
		}
	}
}

// TestSearchPlansAgree: the plans chosen by set and range sizes (members
// first or walking the assets; capture index or walking) list the same
// assets in the same order.
func TestSearchPlansAgree(t *testing.T) { eachDB(t, testSearchPlansAgree) }

func testSearchPlansAgree(t *testing.T, db *catalog.DB) {
	ctx := context.Background()
	w := db.Writer()
	if _, err := w.ExecContext(ctx, `INSERT INTO collections (id, name, created_at, updated_at) VALUES ('c1', 'C', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		id := fmt.Sprintf("a%02d", i)
		addAsset(t, db, id, fmt.Sprintf("pier-%02d.jpg", i), "image", "jpeg", "p1")
		d := catalog.Descriptive{CaptureDate: fmt.Sprintf("2020-%02d-01T00:00:00", 1+i%12), CameraMake: "Canon"}
		if i%4 == 0 {
			d.Title = "Harbour pier"
		}
		if err := catalog.SetDescriptive(ctx, w, id, d); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, _, err := catalog.ChangeTags(ctx, w, id, []string{"boats"}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if i%5 == 0 {
			if _, err := w.ExecContext(ctx, `INSERT INTO collection_members VALUES ('c1', ?, ?)`, id, i); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := 30; i < 36; i++ {
		// Another project and kind (filters of tier 1 on PostgreSQL).
		id := fmt.Sprintf("a%02d", i)
		addAsset(t, db, id, fmt.Sprintf("pier-%02d.mp4", i), "video", "mp4", "p2")
		if err := catalog.SetDescriptive(ctx, w, id, catalog.Descriptive{Title: "Harbour pier"}); err != nil {
			t.Fatal(err)
		}
	}
	var small, walk, few catalog.Pager = catalog.SQLiteSearch{SmallSet: 1000, WideRange: 1000},
		catalog.SQLiteSearch{SmallSet: 1, WideRange: 1}, catalog.SQLiteSearch{ExactRankMax: 1, SmallSet: 1000}
	if db.Search() == (catalog.PostgresSearch{}) {
		// The GIN index's matches sorted, or asset_doc walked newest
		// first and each row checked.
		small, walk, few = catalog.PostgresSearch{Plan: "index"}, catalog.PostgresSearch{Plan: "walk"}, catalog.PostgresSearch{ExactRankMax: 1}
	}
	for _, f := range []catalog.AssetFilter{
		{Tags: []string{"boats"}},
		{Collection: "c1"},
		{Tags: []string{"boats"}, Collection: "c1"},
		{CapturedAfter: "2020-03-01", CapturedBefore: "2020-06-01"},
		{CapturedAfter: "2020-03-01", Camera: "canon"},
		{Query: "harbour", Tags: []string{"boats"}},
		{Query: "pier", Collection: "c1", Newest: true},
		{Query: "pier", Tags: []string{"boats"}},
		{Query: "harbour", Project: "p1"},
		{Query: "pier", Kind: "image", Project: "p1"},
		{Query: "harbour pier", Kind: "video"},
		{Query: "harb*", Project: "p2"},
	} {
		f.Limit = 2
		a, _ := pageAll(t, db, small, f)
		b, _ := pageAll(t, db, walk, f)
		c, _ := pageAll(t, db, few, f)
		if len(a) == 0 || !slices.Equal(a, b) {
			t.Errorf("%+v: members first %v, walking %v", f, a, b)
		}
		if !f.Ranked() && !slices.Equal(a, c) {
			t.Errorf("%+v: %v, then %v", f, a, c)
		}
		if f.Ranked() && !slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(c))) {
			t.Errorf("%+v: exact %v, approximate %v", f, a, c)
		}
		if db.Search() == (catalog.PostgresSearch{}) {
			// Approximate tiers (and newest first) by either plan.
			w, _ := pageAll(t, db, catalog.PostgresSearch{ExactRankMax: 1, Plan: "walk"}, f)
			i, _ := pageAll(t, db, catalog.PostgresSearch{ExactRankMax: 1, Plan: "index"}, f)
			if !slices.Equal(w, c) || !slices.Equal(i, c) {
				t.Errorf("%+v: walking %v, from the index %v, chosen %v", f, w, i, c)
			}
		}
	}
}

// facetTruth counts by brute force what facets of f must say, for
// filters on kind/format/state/project only.
func facetTruth(t *testing.T, db *catalog.DB, project string) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	cond := "a.state <> 'deleted'"
	if project != "" {
		cond += " AND a.project = '" + project + "'"
	}
	for _, field := range catalog.FacetFields {
		out[field] = map[string]int{}
		query := `SELECT a.` + field + `, count(*) FROM assets a WHERE ` + cond + ` GROUP BY 1`
		if field == "tag" {
			query = `SELECT lower(t.tag), count(*) FROM asset_tags t JOIN assets a ON a.id = t.asset_id WHERE ` + cond + ` GROUP BY 1`
		}
		rows, err := db.Reader().Query(query)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v string
			var n int
			if err := rows.Scan(&v, &n); err != nil {
				t.Fatal(err)
			}
			out[field][v] = n
		}
		rows.Close()
	}
	return out
}

func lowerTags(m map[string]map[string]int) map[string]map[string]int {
	tags := map[string]int{}
	for k, v := range m["tag"] {
		tags[strings.ToLower(k)] += v
	}
	m["tag"] = tags
	return m
}

// TestFacetCountsMaintained: the counts tables follow inserts, tag
// changes, state and project changes and deletions, in the writing
// transaction; and a large selection's counts are a flagged sample.
func TestFacetCountsMaintained(t *testing.T) { eachDB(t, testFacetCountsMaintained) }

func testFacetCountsMaintained(t *testing.T, db *catalog.DB) {
	ctx := context.Background()
	w := db.Writer()
	s := limited(db, 0, 0)
	check := func(step string) {
		t.Helper()
		for _, project := range []string{"", "p1", "p2"} {
			got, approx, err := s.FacetCounts(ctx, db.Reader(), catalog.AssetFilter{Project: project}, catalog.FacetFields)
			if err != nil {
				t.Fatal(err)
			}
			if want := facetTruth(t, db, project); fmt.Sprint(lowerTags(got)) != fmt.Sprint(want) || approx {
				t.Errorf("%s, project %q: facets %v (approximate %v), want %v", step, project, got, approx, want)
			}
		}
	}
	for i := range 10 {
		kind, format, project := "image", "jpeg", "p1"
		if i%3 == 0 {
			kind, format = "video", "mp4"
		}
		if i >= 6 {
			project = "p2"
		}
		addAsset(t, db, fmt.Sprintf("a%d", i), fmt.Sprintf("dock%d.bin", i), kind, format, project)
	}
	check("inserted")
	for i, tags := range [][]string{{"Boat"}, {"boat", "sail"}, {"sail"}, {"BOAT"}, nil, {"rope"}} {
		if _, _, err := catalog.ChangeTags(ctx, w, fmt.Sprintf("a%d", i), tags, nil); err != nil {
			t.Fatal(err)
		}
	}
	check("tagged")
	if _, _, err := catalog.ChangeTags(ctx, w, "a1", nil, []string{"BOAT"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := catalog.ChangeTags(ctx, w, "a1", []string{"boat"}, nil); err != nil { // again, other case
		t.Fatal(err)
	}
	if _, _, err := catalog.ChangeTags(ctx, w, "a5", nil, []string{"rope"}); err != nil {
		t.Fatal(err)
	}
	check("untagged")
	for _, id := range []string{"a0", "a2"} {
		if err := catalog.SetAssetState(ctx, w, id, catalog.StateDeleted, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := catalog.SetAssetState(ctx, w, "a3", catalog.StateFailed, "broken"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `UPDATE assets SET project = 'p2', kind = 'document', format = 'pdf' WHERE id = 'a1'`); err != nil {
		t.Fatal(err)
	}
	check("state, project and kind changed")
	if _, err := w.ExecContext(ctx, `DELETE FROM assets WHERE id IN ('a3', 'a5')`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `DELETE FROM asset_tags WHERE asset_id IN ('a3', 'a5')`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `DELETE FROM asset_tags WHERE asset_id = 'a1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `DELETE FROM assets WHERE id = 'a1'`); err != nil {
		t.Fatal(err)
	}
	check("purged")
	// Deleted assets are counted under state=deleted.
	got, _, err := s.FacetCounts(ctx, db.Reader(), catalog.AssetFilter{State: catalog.StateDeleted}, []string{"state", "tag"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(lowerTags(got)) != fmt.Sprint(map[string]map[string]int{"state": {"deleted": 2}, "tag": {"boat": 1, "sail": 1}}) {
		t.Errorf("deleted: %v", got)
	}

	// Other filters count the selection: exactly up to FacetSample, a
	// flagged sample beyond.
	for _, c := range []struct {
		s      searcher
		f      catalog.AssetFilter
		approx bool
		total  int
	}{
		{limited(db, 0, 0), catalog.AssetFilter{Query: "dock*"}, false, 5},
		{limited(db, 0, 4), catalog.AssetFilter{Query: "dock*"}, true, 4},
		{limited(db, 0, 4), catalog.AssetFilter{Query: "dock4"}, false, 1},
		{limited(db, 0, 0), catalog.AssetFilter{Tags: []string{"sail"}, State: catalog.StateDeleted}, false, 1},
		{limited(db, 0, 2), catalog.AssetFilter{CapturedBefore: "3000"}, false, 0},
		{limited(db, 0, 3), catalog.AssetFilter{Query: "dock*", Project: "p2"}, true, 3},
		{limited(db, 0, 4), catalog.AssetFilter{Query: "dock*", Project: "p2"}, false, 4},
		// No filter: SQLite's counts tables are exact; PostgreSQL counts
		// the newest FacetSample.
		{limited(db, 0, 3), catalog.AssetFilter{}, db.Search() == (catalog.PostgresSearch{}), map[bool]int{true: 3, false: 5}[db.Search() == (catalog.PostgresSearch{})]},
	} {
		got, approx, err := c.s.FacetCounts(ctx, db.Reader(), c.f, []string{"kind", "project"})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, n := range got["kind"] {
			total += n
		}
		if approx != c.approx || total != c.total {
			t.Errorf("%+v: %v approximate %v, want %d assets, approximate %v", c.f, got, approx, c.total, c.approx)
		}
	}
}

// TestSearchPrefix: word* searches by 2 letters and more on both
// backends (SQLite's prefix indexes of 2, 3 and 4 letters, longer ones
// merged), the last word of a phrase; a 1-letter prefix is the word.
func TestSearchPrefix(t *testing.T) { eachDB(t, testSearchPrefix) }

func testSearchPrefix(t *testing.T, db *catalog.DB) {
	ctx := context.Background()
	for i, title := range []string{"Harbour lights", "Harpsichord recital", "Hat factory", "Habitat survey",
		"Plan Z", "Zebra crossing", "Ångström unit"} {
		id := fmt.Sprintf("p%d", i+1)
		addAsset(t, db, id, "file.bin", "image", "jpeg", "p1")
		if err := catalog.SetDescriptive(ctx, db.Writer(), id, catalog.Descriptive{Title: title}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"ha*", []string{"p1", "p2", "p3", "p4"}}, // 2 letters
		{"har*", []string{"p1", "p2"}},            // 3
		{"harp*", []string{"p2"}},                 // 4
		{"harbo*", []string{"p1"}},                // 5: no prefix index
		{"HABIT*", []string{"p4"}},
		{"z*", []string{"p5"}},           // 1 letter: the word z
		{"plan-z*", []string{"p5"}},      // a phrase whose last word is 1 letter
		{"zeb*", []string{"p6"}},         //
		{"zebra cross*", []string{"p6"}}, // prefix and word
		{"zebra-cro*", []string{"p6"}},   // a phrase ending in a prefix
		{"hat-fac*", []string{"p3"}},     //
		{"ång*", []string{"p7"}},         // accents folded
		{"har* lights", []string{"p1"}},  //
		{"hx*", []string{}},              //
		{"*", []string{}},                // no word
		// Longer than SQLite's prefix indexes: expanded into terms.
		{"harbou*", []string{"p1"}},
		{"harpsic*", []string{"p2"}},
		{"zebra-cross*", []string{"p6"}},
		{"harbou* lights", []string{"p1"}},
		{"harbouz*", []string{}},
	} {
		for _, newest := range []bool{false, true} {
			got := find(t, db, catalog.AssetFilter{Query: c.q, Newest: newest})
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("q=%q newest=%v: got %v, want %v", c.q, newest, got, c.want)
			}
		}
		// Approximate ranking (tiers), paged, and facets, with the
		// limits at 1.
		got, _ := pageAll(t, db, limited(db, 1, 1), catalog.AssetFilter{Query: c.q, Limit: 1})
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("q=%q approximate: got %v, want %v", c.q, got, c.want)
		}
		counts, _, err := limited(db, 1, 100).FacetCounts(ctx, db.Reader(), catalog.AssetFilter{Query: c.q}, []string{"project"})
		if err != nil {
			t.Fatal(err)
		}
		if n := counts["project"]["p1"]; n != len(c.want) {
			t.Errorf("q=%q facets: %d in p1, want %d", c.q, n, len(c.want))
		}
	}
}

// TestSearchMigration0018 runs migration 0018 (the FTS5 table rebuilt
// with prefix indexes) again on a populated catalog, as an upgrade does:
// everything stays findable and the triggers keep indexing.
func TestSearchMigration0018(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, "sqlite")
	w := db.Writer()
	addAsset(t, db, "m1", "harbour.jpg", "image", "jpeg", "p1")
	addAsset(t, db, "m2", "scan.pdf", "document", "pdf", "p1")
	if err := catalog.SetDescriptive(ctx, w, "m1", catalog.Descriptive{Title: "Lighthouse", CameraMake: "Canon"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := catalog.ChangeTags(ctx, w, "m1", []string{"festival"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.InTx(ctx, func(tx *sql.Tx) error {
		return catalog.ReplaceText(ctx, tx, "m2", []catalog.TextPage{{Page: 1, Source: catalog.TextLayer, Text: "ferry timetable"}})
	}); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("migrations/sqlite/0018_search_prefix.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, string(body)); err != nil {
		t.Fatal(err)
	}
	var def string
	if err := w.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'asset_fts'`).Scan(&def); err != nil ||
		!strings.Contains(def, "prefix = '2 3 4'") {
		t.Errorf("asset_fts: %q (%v)", def, err)
	}
	addAsset(t, db, "m3", "ferryman.tif", "image", "tiff", "p1")
	if _, _, err := catalog.ChangeTags(ctx, w, "m2", []string{"festival"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"lighthouse", []string{"m1"}},
		{"canon", []string{"m1"}},
		{"festival", []string{"m1", "m2"}},
		{"ferry", []string{"m2"}},
		{"ferr*", []string{"m2", "m3"}},
		{"fe*", []string{"m1", "m2", "m3"}},
		{"harbour", []string{"m1"}},
	} {
		got := find(t, db, catalog.AssetFilter{Query: c.q})
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("q=%q: got %v, want %v", c.q, got, c.want)
		}
	}
	// bm25 weights kept.
	if err := w.QueryRowContext(ctx, `SELECT v FROM asset_fts_config WHERE k = 'rank'`).Scan(&def); err != nil || !strings.Contains(def, "bm25(6.0, 10.0") {
		t.Errorf("rank: %q (%v)", def, err)
	}
	if _, err := w.ExecContext(ctx, `INSERT INTO asset_fts(asset_fts, rank) VALUES('integrity-check', 1)`); err != nil {
		t.Errorf("index integrity: %v", err)
	}
}

// A camera filter matches a make in any case or a part of a model, also
// where the other field is empty; PostgreSQL resolves it to the (make,
// model) pairs it matches, whose makes × models may hold pairs it does
// not match.
func TestSearchCameraPairs(t *testing.T) { eachDB(t, testSearchCameraPairs) }

func testSearchCameraPairs(t *testing.T, db *catalog.DB) {
	ctx := context.Background()
	cams := [][2]string{
		{"Canon", "Canon EOS R5"},        // c00
		{"Leica", "Canon-mount adapter"}, // c01: "canon" by its model
		{"", "Canon PowerShot"},          // c02: no make
		{"CANON", ""},                    // c03: no model
		{"Canon", "Canon-mount adapter"}, // c04
		{"Leica", "Canon EOS R5"},        // c05: the model, not the make
		{"Leica", "M11"},                 // c06: no
		{"", ""},                         // c07: no camera
		{"Canon%", "X"},                  // c08: not "canon" (LIKE escapes)
	}
	for i, c := range cams {
		id := fmt.Sprintf("c%02d", i)
		addAsset(t, db, id, id+".jpg", "image", "jpeg", "p1")
		d := catalog.Descriptive{CaptureDate: fmt.Sprintf("2020-%02d-10T12:00:00", i+1), CameraMake: c[0], CameraModel: c[1]}
		if err := catalog.SetDescriptive(ctx, db.Writer(), id, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		f    catalog.AssetFilter
		want string
	}{
		{catalog.AssetFilter{Camera: "canon"}, "[c05 c04 c03 c02 c01 c00]"},
		{catalog.AssetFilter{Camera: "leica"}, "[c06 c05 c01]"},
		{catalog.AssetFilter{Camera: "m11", CapturedAfter: "2020-01-01", CapturedBefore: "2021-01-01"}, "[c06]"},
		{catalog.AssetFilter{Camera: "canon", CapturedAfter: "2020-02-01", CapturedBefore: "2020-05-01"}, "[c03 c02 c01]"},
		{catalog.AssetFilter{Camera: "Canon%"}, "[c08]"},
		{catalog.AssetFilter{Camera: "nikon"}, "[]"},
		{catalog.AssetFilter{Camera: "canon", Query: "c04"}, "[c04]"},
	} {
		if got := fmt.Sprint(find(t, db, c.f)); got != c.want {
			t.Errorf("%+v: %s, want %s", c.f, got, c.want)
		}
	}
}

// TestSearchRankFewPaths: few matches are ranked the same whichever way
// they were found: counted by their postings and ranked straight from
// their asset_search rows (one term), or from the assets matching every
// term (several), or listed first (PostgreSQL, when the search runs in a
// transaction, which cannot count postings); page by page (a later page
// ranks again without counting) and with filters. And a tag's facets,
// read from its members, count what the filter selects.
func TestSearchRankFewPaths(t *testing.T) { eachDB(t, testSearchRankFewPaths) }

func testSearchRankFewPaths(t *testing.T, db *catalog.DB) {
	ctx := context.Background()
	w := db.Writer()
	for i := range 14 {
		id := fmt.Sprintf("a%02d", i)
		kind, project := "image", "p1"
		if i%3 == 0 {
			kind = "video"
		}
		if i >= 9 {
			project = "p2"
		}
		addAsset(t, db, id, fmt.Sprintf("quay-%02d.bin", i), kind, "x", project)
		d := catalog.Descriptive{Description: "old stone quay"}
		switch i % 4 {
		case 0:
			d.Title = "Quay at dusk"
		case 1:
			d.Keywords = []string{"quay", "dusk"}
		case 2:
			d.Description = "dusk"
		}
		if err := catalog.SetDescriptive(ctx, w, id, d); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, _, err := catalog.ChangeTags(ctx, w, id, []string{"tide"}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if i == 5 {
			if err := db.InTx(ctx, func(tx *sql.Tx) error {
				return catalog.ReplaceText(ctx, tx, id, []catalog.TextPage{{Page: 1, Source: catalog.TextOCR, Text: "quay and stone at dusk"}})
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := catalog.SetAssetState(ctx, w, "a04", catalog.StateDeleted, ""); err != nil {
		t.Fatal(err)
	}
	s := limited(db, 0, 0)
	pages := func(q catalog.Querier, f catalog.AssetFilter) []string {
		t.Helper()
		var out []string
		f.Cursor = ""
		for range 100 {
			p, err := s.FindPage(ctx, q, f)
			if err != nil {
				t.Fatal(err)
			}
			if p.Approximate {
				t.Errorf("%+v: approximate", f)
			}
			for _, a := range p.Assets {
				out = append(out, a.ID)
			}
			if p.Next == "" {
				return out
			}
			f.Cursor = p.Next
		}
		t.Fatal("paging does not end")
		return nil
	}
	for _, f := range []catalog.AssetFilter{
		{Query: "quay"},
		{Query: "dusk"},
		{Query: "qua*"},
		{Query: "quay dusk"},
		{Query: `"stone quay"`},
		{Query: "dusk", Kind: "image"},
		{Query: "quay", Project: "p2"},
		{Query: "quay dusk", Tags: []string{"tide"}},
		{Query: "qua*", Kind: "video", Project: "p1"},
	} {
		f.Limit = 3
		direct := pages(db.Reader(), f)
		tx, err := db.Reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		listed := pages(tx, f)
		tx.Rollback()
		f.Limit = 50
		one := pages(db.Reader(), f)
		if len(direct) == 0 || !slices.Equal(direct, listed) || !slices.Equal(direct, one) {
			t.Errorf("%+v: counted %v, listed %v, one page %v", f, direct, listed, one)
		}
		if slices.Contains(direct, "a04") {
			t.Errorf("%+v: the deleted asset in %v", f, direct)
		}
	}
	// A title match ranks above a description-only one.
	if got := pages(db.Reader(), catalog.AssetFilter{Query: "quay", Limit: 50}); len(got) != 13 || !strings.HasSuffix(got[0], "0") && !strings.HasSuffix(got[0], "8") && !strings.HasSuffix(got[0], "2") {
		t.Errorf("quay ranked: %v", got)
	}
	fc, approx, err := s.FacetCounts(ctx, db.Reader(), catalog.AssetFilter{Tags: []string{"TIDE"}, Project: "p1"}, catalog.FacetFields)
	if err != nil {
		t.Fatal(err)
	}
	// Tagged in p1: a00, a02, a06, a08 (and a04, deleted).
	want := map[string]map[string]int{
		"kind": {"image": 2, "video": 2}, "format": {"x": 4}, "state": {"ready": 4},
		"project": {"p1": 4}, "tag": {"tide": 4},
	}
	if fmt.Sprint(fc) != fmt.Sprint(want) || approx {
		t.Errorf("tag facets %v (approximate %v), want %v", fc, approx, want)
	}
}
