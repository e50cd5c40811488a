package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AssetFilter selects assets for listing and search. Zero fields do not
// filter.
type AssetFilter struct {
	Kind, State, Project, Format, SHA256 string
	// Query is full-text search over filename, descriptive fields,
	// keywords, tags, custom fields and extracted text: words (stemmed,
	// case and accent blind), "quoted phrases", and word* prefixes; every
	// term must match somewhere in the asset.
	Query string
	// Newest orders a Query's matches newest first (paged by Before)
	// instead of by rank (paged by Offset).
	Newest bool
	// Tags: the asset has every one of these tags.
	Tags []string
	// Collection: the asset is a member of this collection.
	Collection string
	// CapturedAfter / CapturedBefore bound capture_date (RFC 3339 date or
	// date-time, compared as written): after is inclusive, before is not.
	CapturedAfter, CapturedBefore string
	// Camera matches the camera make (exactly, any case) or a part of the
	// model.
	Camera string
	// Projects, when not nil, limits the listing to these projects (a
	// token bound to one project).
	Projects []string
	// Before is the paging cursor of newest-first listings: only assets
	// with a smaller Seq.
	Before int64
	// Offset is the paging cursor of ranked listings.
	Offset int
	// Cursor is a Page.Next of the same filter (FindPage); it replaces
	// Before and Offset.
	Cursor string
	Limit  int
}

// Ranked reports whether f lists by search rank (and pages by Offset).
func (f AssetFilter) Ranked() bool { return !f.Newest && len(queryTerms(f.Query)) > 0 }

// Searcher is full-text search with filters and facet counts, one per
// database dialect (SQLite FTS5 here; PostgreSQL tsvector later), all
// passing the same tests.
type Searcher interface {
	// Find lists the assets f selects: by rank when f.Ranked(), newest
	// first otherwise.
	Find(ctx context.Context, q Querier, f AssetFilter) ([]*Asset, error)
	// Facets counts the assets f selects (all of them, ignoring paging)
	// by each of fields: kind, format, state, project, tag.
	Facets(ctx context.Context, q Querier, f AssetFilter, fields []string) (map[string]map[string]int, error)
}

// Page is one page of a listing.
type Page struct {
	Assets []*Asset
	// Next is the cursor of the next page (AssetFilter.Cursor), "" after
	// the last.
	Next string
	// Approximate: the listing is ranked but not by bm25, because a term
	// matches too many assets to score them all in time (see FindPage).
	Approximate bool
}

// Pager is a Searcher that pages by opaque cursor and says when its
// ranking is approximate. The API uses it when the Searcher has it.
type Pager interface {
	FindPage(ctx context.Context, q Querier, f AssetFilter) (*Page, error)
}

// FacetCounter is a Searcher that says when facet counts are approximate.
type FacetCounter interface {
	// FacetCounts is Facets; approximate when the selection is larger
	// than the counts could be exact for in time.
	FacetCounts(ctx context.Context, q Querier, f AssetFilter, fields []string) (counts map[string]map[string]int, approximate bool, err error)
}

// ErrCursor is a cursor this server did not give out for this listing.
var ErrCursor = fmt.Errorf("catalog: not a cursor of this listing: %w", ErrInvalid)

// FacetFields are the fields Facets counts by.
var FacetFields = []string{"kind", "format", "state", "project", "tag"}

// Search is the catalog's Searcher.
func (db *DB) Search() Searcher {
	if db.dialect == "postgres" {
		return PostgresSearch{}
	}
	return SQLiteSearch{}
}

// ListAssets is Find of q's database's search: newest first unless f asks
// for ranked search. Deleted assets appear only when f asks for state
// "deleted".
func ListAssets(ctx context.Context, q Querier, f AssetFilter) ([]*Asset, error) {
	if Dialect(q) == "postgres" {
		return PostgresSearch{}.Find(ctx, q, f)
	}
	return SQLiteSearch{}.Find(ctx, q, f)
}

// reindexSearch re-reads an asset's tags, custom fields and text into the
// full-text index (touching filename fires the index trigger of 0012).
func reindexSearch(ctx context.Context, q Querier, assetID string) error {
	if _, err := q.ExecContext(ctx, `UPDATE assets SET filename = filename WHERE id = ?`, assetID); err != nil {
		return fmt.Errorf("catalog: reindex %s: %w", assetID, err)
	}
	return nil
}

// SQLiteSearch searches with the FTS5 table asset_fts of migration 0012
// (one row per asset, rowid = seq, kept in sync by triggers) and counts
// facets from the counts tables of 0012 when the filter allows.
//
// Costs are bounded at any catalogue size:
//   - newest first (with or without a query): FTS5 or the seq index
//     streams matches newest first and stops at the page;
//   - ranked: bm25 over every match when each term matches at most
//     ExactRankMax assets (probed with a capped count); otherwise an
//     approximate order that streams like newest first: assets with every
//     term in filename, title, creator, keywords or tags first, then the
//     other matches, newest first within each (Page.Approximate);
//   - facets: exact from the counts tables when the filter is only
//     kind/format/state/project; otherwise counted over the selection
//     when it has at most FacetSample assets, and over FacetSample of
//     them (approximate) when it has more.
type SQLiteSearch struct {
	// Limits of the paths above; zero takes the default (tests set them
	// low to reach every path with few assets).
	ExactRankMax int // default DefaultExactRankMax
	FacetSample  int // default DefaultFacetSample
	SmallSet     int // default DefaultSmallSet
	WideRange    int // default DefaultWideRange
}

func (s SQLiteSearch) limits() SQLiteSearch {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&s.ExactRankMax, DefaultExactRankMax)
	def(&s.FacetSample, DefaultFacetSample)
	def(&s.SmallSet, DefaultSmallSet)
	def(&s.WideRange, DefaultWideRange)
	return s
}

var (
	_ Searcher     = SQLiteSearch{}
	_ Pager        = SQLiteSearch{}
	_ FacetCounter = SQLiteSearch{}
)

const (
	// DefaultExactRankMax is the most assets a term may match for bm25
	// ranking (bm25 reads every match of every term).
	DefaultExactRankMax = 3000
	// DefaultFacetSample is the most assets facets count one by one.
	DefaultFacetSample = 1000
	// DefaultSmallSet: a collection or tag with at most this many members
	// is read member by member (and sorted) instead of walking the
	// assets newest first.
	DefaultSmallSet = 2000
	// DefaultWideRange: a capture-date range holding more assets than
	// this is checked while walking the assets newest first instead of
	// read by the capture-date index (and sorted).
	DefaultWideRange = 20000
)

// bm25 column weights: filename, title, description, creator, keywords,
// tags, other (rights, camera, custom fields), body (extracted text).
const ftsRank = `bm25(asset_fts, 6.0, 10.0, 4.0, 4.0, 6.0, 6.0, 2.0, 1.0)`

// primaryCols are the columns whose hits come first in approximate
// ranking (the heaviest bm25 weights).
const primaryCols = `{filename title creator keywords tags}`

// MinPrefix is the fewest letters or digits a prefix search (word*)
// needs: a shorter one is searched as the word itself. A 1-letter prefix
// would read the index of every word it starts (a twentieth of them);
// 2, 3 and 4 letters read one prefix index each (SQLite migration 0018).
const MinPrefix = 2

// queryTerms splits a user query into FTS5 terms: "phrases" and words,
// each quoted for FTS5, a trailing * kept as a prefix search (of the
// term's last word, when it has MinPrefix letters or digits). Terms with
// no letter or digit are dropped. Both backends parse queries here
// (PostgreSQL's tsQuery reads these terms).
func queryTerms(q string) []string {
	var out []string
	wordRune := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	add := func(t string, prefix bool) {
		if !strings.ContainsFunc(t, wordRune) {
			return
		}
		if prefix {
			// The prefix is the last word: the run of letters and digits
			// at the end of t (both backends split words there).
			notWord := func(r rune) bool { return !wordRune(r) }
			t = strings.TrimRightFunc(t, notWord)
			last := t
			if i := strings.LastIndexFunc(t, notWord); i >= 0 {
				_, w := utf8.DecodeRuneInString(t[i:])
				last = t[i+w:]
			}
			prefix = utf8.RuneCountInString(last) >= MinPrefix
		}
		term := `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
		if prefix {
			term += "*"
		}
		out = append(out, term)
	}
	for q = strings.TrimSpace(q); q != ""; q = strings.TrimSpace(q) {
		if q[0] == '"' {
			end := strings.IndexByte(q[1:], '"')
			if end < 0 {
				end = len(q) - 1
			}
			add(q[1:1+end], false)
			q = q[min(len(q), end+2):]
			continue
		}
		end := strings.IndexFunc(q, unicode.IsSpace)
		if end < 0 {
			end = len(q)
		}
		w := q[:end]
		q = q[end:]
		prefix := strings.HasSuffix(w, "*")
		add(strings.TrimRight(w, "*"), prefix)
	}
	return out
}

// matchExpr is the FTS5 expression of every term (one row per asset, so
// AND is per asset).
func matchExpr(terms []string) string { return strings.Join(terms, " AND ") }

// where is f's conditions on the assets table (named assets).
func (f AssetFilter) where(pg bool) (string, []any, bool) {
	if strings.TrimSpace(f.Query) != "" && len(queryTerms(f.Query)) == 0 {
		return "", nil, false // a query of no words matches nothing
	}
	var where []string
	var args []any
	add := func(cond string, v ...any) { where = append(where, cond); args = append(args, v...) }
	if f.State != "" {
		add("assets.state = ?", f.State)
	} else {
		add("assets.state <> ?", StateDeleted)
	}
	if f.Kind != "" {
		add("assets.kind = ?", f.Kind)
	}
	if f.Format != "" {
		add("assets.format = ?", f.Format)
	}
	if f.Project != "" {
		add("assets.project = ?", f.Project)
	}
	if f.SHA256 != "" {
		add("assets.sha256 = ?", strings.ToLower(f.SHA256))
	}
	for _, t := range f.Tags {
		add("EXISTS (SELECT 1 FROM asset_tags t WHERE t.asset_id = assets.id AND t.tag = ?)", t)
	}
	if f.Collection != "" {
		add("EXISTS (SELECT 1 FROM collection_members cm WHERE cm.asset_id = assets.id AND cm.collection_id = ?)", f.Collection)
	}
	if f.CapturedAfter != "" {
		add("assets.capture_date >= ?", f.CapturedAfter)
	}
	if f.CapturedBefore != "" {
		add("assets.capture_date < ?", f.CapturedBefore)
	}
	if f.Camera != "" && pg {
		add("(lower(assets.camera_make) = lower(?) OR assets.camera_model ILIKE ? ESCAPE '\\')", f.Camera, "%"+escapeLike(f.Camera)+"%")
	} else if f.Camera != "" {
		add("(assets.camera_make = ? COLLATE NOCASE OR assets.camera_model LIKE ? ESCAPE '\\')", f.Camera, "%"+escapeLike(f.Camera)+"%")
	}
	if f.Projects != nil {
		if len(f.Projects) == 0 {
			return "", nil, false
		}
		add("assets.project IN (?"+strings.Repeat(",?", len(f.Projects)-1)+")", anySlice(f.Projects)...)
	}
	return strings.Join(where, " AND "), args, true
}

func (f AssetFilter) limit() int {
	if f.Limit <= 0 || f.Limit > 1000 {
		return 50
	}
	return f.Limit
}

// cursor is a parsed AssetFilter.Cursor (or Before/Offset): seq for
// newest first ("123"), offset for bm25 ("o50"), tier and seq for
// approximate ranking ("a1.123": tier 1 below seq 123; seq 0 = from the
// top of the tier).
type cursor struct {
	kind   byte // 'n', 'o', 'a'
	seq    int64
	offset int
	tier   int
}

func (f AssetFilter) cursor() (cursor, error) {
	c := f.Cursor
	switch {
	case c == "" && f.Ranked():
		return cursor{kind: 'o', offset: f.Offset}, nil
	case c == "":
		return cursor{kind: 'n', seq: f.Before}, nil
	case f.Ranked() && c[0] == 'o':
		n, err := strconv.Atoi(c[1:])
		if err != nil || n <= 0 {
			return cursor{}, ErrCursor
		}
		return cursor{kind: 'o', offset: n}, nil
	case f.Ranked() && c[0] == 'a':
		t, s, ok := strings.Cut(c[1:], ".")
		tier, err1 := strconv.Atoi(t)
		seq, err2 := strconv.ParseInt(s, 10, 64)
		if !ok || err1 != nil || err2 != nil || tier < 1 || tier > 2 || seq < 0 {
			return cursor{}, ErrCursor
		}
		return cursor{kind: 'a', tier: tier, seq: seq}, nil
	case !f.Ranked():
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			return cursor{}, ErrCursor
		}
		return cursor{kind: 'n', seq: n}, nil
	}
	return cursor{}, ErrCursor
}

// Find implements Searcher.
func (s SQLiteSearch) Find(ctx context.Context, q Querier, f AssetFilter) ([]*Asset, error) {
	p, err := s.FindPage(ctx, q, f)
	if err != nil {
		return nil, err
	}
	return p.Assets, nil
}

// FindPage implements Pager.
func (s SQLiteSearch) FindPage(ctx context.Context, q Querier, f AssetFilter) (*Page, error) {
	s = s.limits()
	c, err := f.cursor()
	if err != nil {
		return nil, err
	}
	where, wargs, ok := f.where(false)
	if !ok {
		return &Page{}, nil
	}
	limit := f.limit()
	terms := queryTerms(f.Query)
	// Streamed and counted reads take long prefixes expanded; bm25
	// ranks the terms as written (an OR of terms scores differently
	// from their prefix, and bm25 only runs on few matches).
	xterms, err := expandPrefixes(ctx, q, terms)
	if err != nil {
		return nil, err
	}
	page := &Page{}
	if !f.Ranked() {
		p, err := s.plan(ctx, q, f)
		if err != nil {
			return nil, err
		}
		page.Assets, err = streamNewest(ctx, q, p, matchExpr(xterms), where, wargs, c.seq, limit)
		if err == nil && len(page.Assets) == limit {
			page.Next = strconv.FormatInt(page.Assets[limit-1].Seq, 10)
		}
		return page, err
	}
	if c.kind == 'o' && c.offset == 0 {
		// A first page: rank by bm25 if every term is rare enough.
		for _, t := range xterms {
			var n int
			if err := q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM asset_fts WHERE asset_fts MATCH ? LIMIT ?)`,
				t, s.ExactRankMax+1).Scan(&n); err != nil {
				return nil, fmt.Errorf("catalog: search: %w", err)
			}
			if n > s.ExactRankMax {
				c = cursor{kind: 'a', tier: 1}
				break
			}
		}
	}
	if c.kind == 'o' {
		page.Assets, err = findRows(ctx, q, `SELECT `+prefixed("assets.", assetCols)+`
			FROM asset_fts CROSS JOIN assets ON assets.seq = asset_fts.rowid
			WHERE asset_fts MATCH ? AND `+where+` ORDER BY asset_fts.rank, assets.seq DESC LIMIT ? OFFSET ?`,
			append(append([]any{matchExpr(terms)}, wargs...), limit, c.offset)...)
		if err == nil && len(page.Assets) == limit {
			page.Next = "o" + strconv.Itoa(c.offset+limit)
		}
		return page, err
	}
	// Approximate ranking: tier 1 has every term in a primary column,
	// tier 2 the other matches; newest first within each.
	page.Approximate = true
	all := "(" + matchExpr(xterms) + ")"
	tiers := [3]string{2: all + " NOT " + primaryCols + " : " + all, 1: primaryCols + " : " + all}
	p, err := s.plan(ctx, q, f)
	if err != nil {
		return nil, err
	}
	seq := c.seq
	for tier := c.tier; tier <= 2 && len(page.Assets) < limit; tier++ {
		list, err := streamNewest(ctx, q, p, tiers[tier], where, wargs, seq, limit-len(page.Assets))
		if err != nil {
			return nil, err
		}
		page.Assets = append(page.Assets, list...)
		if len(page.Assets) == limit {
			page.Next = "a" + strconv.Itoa(tier) + "." + strconv.FormatInt(page.Assets[limit-1].Seq, 10)
		}
		seq = 0
	}
	return page, nil
}

// streamNewest lists the assets matching expr (all when "") and where,
// below seq (when > 0), newest first, reading first what is cheapest
// (plan): a small collection's or tag's members, else the FTS5 matches
// (by descending rowid = seq, stopping at the page), else the assets by
// seq or by capture date.
func streamNewest(ctx context.Context, q Querier, p plan, expr, where string, wargs []any, seq int64, limit int) ([]*Asset, error) {
	var args []any
	from, order := "assets", "assets.seq"
	if expr != "" {
		if p.driver != "" {
			from = "assets CROSS JOIN asset_fts"
			where = "asset_fts.rowid = assets.seq AND asset_fts MATCH ? AND " + where
		} else {
			from, order = "asset_fts CROSS JOIN assets ON assets.seq = asset_fts.rowid", "asset_fts.rowid"
			where = "asset_fts MATCH ? AND " + where
		}
		args = append(args, expr)
	}
	if p.driver != "" {
		from = p.driver + " CROSS JOIN " + from
		where = p.driverWhere + " AND " + where
		args = append(slices.Clip(p.driverArgs), args...)
	} else if expr == "" && p.wideCapture {
		// Most assets are in the range: walk seq and stop at the page
		// rather than sort the range.
		where = strings.ReplaceAll(where, "assets.capture_date", "+assets.capture_date")
	}
	args = append(args, wargs...)
	if seq > 0 {
		where += " AND " + order + " < ?"
		args = append(args, seq)
	}
	args = append(args, limit)
	// Sort seqs only, then read the page's rows.
	return findRows(ctx, q, `SELECT `+assetCols+` FROM assets WHERE seq IN (SELECT assets.seq FROM `+from+` WHERE `+where+
		` ORDER BY `+order+` DESC LIMIT ?) ORDER BY seq DESC`, args...)
}

// plan is how a newest-first listing reads (streamNewest).
type plan struct {
	driver, driverWhere string
	driverArgs          []any
	wideCapture         bool
}

// plan probes the sizes that decide it: capped counts on indexes.
func (s SQLiteSearch) plan(ctx context.Context, q Querier, f AssetFilter) (plan, error) {
	count := func(query string, args ...any) (int, error) {
		var n int
		if err := q.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
			return 0, fmt.Errorf("catalog: search plan: %w", err)
		}
		return n, nil
	}
	if f.Collection != "" {
		n, err := count(`SELECT count(*) FROM (SELECT 1 FROM collection_members WHERE collection_id = ? LIMIT ?)`, f.Collection, s.SmallSet+1)
		if err != nil || n <= s.SmallSet {
			return plan{driver: "collection_members dr", driverWhere: "dr.asset_id = assets.id AND dr.collection_id = ?",
				driverArgs: []any{f.Collection}}, err
		}
	}
	for _, t := range f.Tags {
		n, err := count(`SELECT count(*) FROM (SELECT 1 FROM asset_tags WHERE tag = ? LIMIT ?)`, t, s.SmallSet+1)
		if err != nil || n <= s.SmallSet {
			return plan{driver: "asset_tags dr", driverWhere: "dr.asset_id = assets.id AND dr.tag = ?",
				driverArgs: []any{t}}, err
		}
	}
	if f.CapturedAfter != "" || f.CapturedBefore != "" {
		after, before := f.CapturedAfter, f.CapturedBefore
		if before == "" {
			before = "\U0010FFFF"
		}
		n, err := count(`SELECT count(*) FROM (SELECT 1 FROM assets WHERE capture_date >= ? AND capture_date < ? LIMIT ?)`,
			after, before, s.WideRange+1)
		return plan{wideCapture: n > s.WideRange}, err
	}
	return plan{}, nil
}

func findRows(ctx context.Context, q Querier, query string, args ...any) ([]*Asset, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: list assets: %w", err)
	}
	defer rows.Close()
	var out []*Asset
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: list assets: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: list assets: %w", err)
	}
	return out, nil
}

// Facets implements Searcher.
func (s SQLiteSearch) Facets(ctx context.Context, q Querier, f AssetFilter, fields []string) (map[string]map[string]int, error) {
	out, _, err := s.FacetCounts(ctx, q, f, fields)
	return out, err
}

// facetMap is an empty count map for each of fields, all of which must
// be FacetFields.
func facetMap(fields []string) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	for _, field := range fields {
		if !slices.Contains(FacetFields, field) {
			return nil, fmt.Errorf("catalog: facet %q: %w", field, ErrInvalid)
		}
		out[field] = map[string]int{}
	}
	return out, nil
}

// maxTagFacets is how many tags the tag facet lists (the most used).
const maxTagFacets = 100

// FacetCounts implements FacetCounter.
func (s SQLiteSearch) FacetCounts(ctx context.Context, q Querier, f AssetFilter, fields []string) (map[string]map[string]int, bool, error) {
	s = s.limits()
	out, err := facetMap(fields)
	if err != nil {
		return nil, false, err
	}
	where, wargs, ok := f.where(false)
	if !ok || len(fields) == 0 {
		return out, false, nil
	}
	add := func(rows interface {
		Next() bool
		Scan(...any) error
		Err() error
		Close() error
	}) error {
		defer rows.Close()
		for rows.Next() {
			var field, v string
			var n int
			if err := rows.Scan(&field, &v, &n); err != nil {
				return err
			}
			if n > 0 && out[field] != nil {
				out[field][v] += n
			}
		}
		return rows.Err()
	}
	approximate := false
	if len(queryTerms(f.Query)) == 0 && f.SHA256 == "" && len(f.Tags) == 0 && f.Collection == "" &&
		f.CapturedAfter == "" && f.CapturedBefore == "" && f.Camera == "" {
		// Only columns of the counts tables: exact, from them.
		cw := strings.ReplaceAll(where, "assets.", "c.")
		var parts []string
		var args []any
		for _, field := range fields {
			if field == "tag" {
				parts = append(parts, `SELECT 'tag', min(c.tag), sum(c.n) FROM asset_tag_counts c WHERE `+cw+` GROUP BY c.tag`)
			} else {
				parts = append(parts, `SELECT '`+field+`', c.`+field+`, sum(c.n) FROM asset_counts c WHERE `+cw+` GROUP BY 2`)
			}
			args = append(args, wargs...)
		}
		rows, err := q.QueryContext(ctx, strings.Join(parts, " UNION ALL "), args...)
		if err == nil {
			err = add(rows)
		}
		if err != nil {
			return nil, false, fmt.Errorf("catalog: facets: %w", err)
		}
	} else {
		// Count the first FacetSample assets of the selection, read from
		// its most selective side: the full-text matches, a tag's or a
		// collection's members, or the assets.
		var args []any
		from := "assets"
		switch terms := queryTerms(f.Query); {
		case len(terms) > 0:
			xterms, err := expandPrefixes(ctx, q, terms)
			if err != nil {
				return nil, false, err
			}
			from = "asset_fts CROSS JOIN assets ON assets.seq = asset_fts.rowid"
			where = "asset_fts MATCH ? AND " + where
			args = append(args, matchExpr(xterms))
		case len(f.Tags) > 0:
			from = "asset_tags ft CROSS JOIN assets ON assets.id = ft.asset_id"
			where = "ft.tag = ? AND " + where
			args = append(args, f.Tags[0])
		case f.Collection != "":
			from = "collection_members fc CROSS JOIN assets ON assets.id = fc.asset_id"
			where = "fc.collection_id = ? AND " + where
			args = append(args, f.Collection)
		}
		args = append(args, wargs...)
		args = append(args, s.FacetSample+1)
		// Counted here: cheaper than a GROUP BY per field in SQL.
		rows, err := q.QueryContext(ctx, `SELECT assets.kind, assets.format, assets.state, assets.project,
			(SELECT group_concat(tag, char(31)) FROM asset_tags WHERE asset_id = assets.id)
			FROM `+from+` WHERE `+where+` LIMIT ?`, args...)
		if err != nil {
			return nil, false, fmt.Errorf("catalog: facets: %w", err)
		}
		if approximate, err = countSample(rows, out, s.FacetSample); err != nil {
			return nil, false, err
		}
	}
	topTags(out)
	return out, approximate, nil
}

// countSample counts rows of (kind, format, state, project, tags joined
// by U+001F) into out's fields, up to sample rows; approximate when
// there were more.
func countSample(rows *sql.Rows, out map[string]map[string]int, sample int) (approximate bool, err error) {
	defer rows.Close()
	seen, tagName := 0, map[string]string{}
	for rows.Next() {
		if seen++; seen > sample {
			return true, nil
		}
		var v [4]string
		var tags sql.NullString
		if err := rows.Scan(&v[0], &v[1], &v[2], &v[3], &tags); err != nil {
			return false, fmt.Errorf("catalog: facets: %w", err)
		}
		for i, field := range [4]string{"kind", "format", "state", "project"} {
			if m := out[field]; m != nil {
				m[v[i]]++
			}
		}
		if m := out["tag"]; m != nil && tags.String != "" {
			for _, t := range strings.Split(tags.String, "\x1f") {
				// One entry per tag in any case (the smallest spelling).
				k := strings.ToLower(t)
				if name, ok := tagName[k]; !ok || t < name {
					m[t] += m[name]
					delete(m, name)
					tagName[k] = t
				}
				m[tagName[k]]++
			}
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("catalog: facets: %w", err)
	}
	return false, nil
}

// topTags keeps the maxTagFacets most used tags of out["tag"].
func topTags(out map[string]map[string]int) {
	if tags := out["tag"]; len(tags) > maxTagFacets {
		type tc struct {
			tag string
			n   int
		}
		var all []tc
		for t, n := range tags {
			all = append(all, tc{t, n})
		}
		slices.SortFunc(all, func(a, b tc) int {
			if a.n != b.n {
				return b.n - a.n
			}
			return strings.Compare(a.tag, b.tag)
		})
		out["tag"] = map[string]int{}
		for _, t := range all[:maxTagFacets] {
			out["tag"][t.tag] = t.n
		}
	}
}
