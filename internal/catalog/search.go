package catalog

import (
	"context"
	"fmt"
	"strings"
	"unicode"
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

// SQLiteSearch searches with the FTS5 table asset_fts of migration 0009
// (kept in sync by triggers): one row per asset for its fields and one
// per page of text, so each term is matched per asset (the best row's
// bm25) and the terms' scores are summed.
type SQLiteSearch struct{}

var _ Searcher = SQLiteSearch{}

// bm25 column weights: filename, title, description, creator, keywords,
// tags, other (rights, camera, custom fields), body (extracted text).
const ftsRank = `bm25(asset_fts, 6.0, 10.0, 4.0, 4.0, 6.0, 6.0, 2.0, 1.0)`

// queryTerms splits a user query into FTS5 terms: "phrases" and words,
// each quoted for FTS5, a trailing * kept as a prefix search. Terms with
// no letter or digit are dropped.
func queryTerms(q string) []string {
	var out []string
	add := func(t string, prefix bool) {
		if !strings.ContainsFunc(t, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
			return
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

// matchSQL is a subquery (s = asset seq, score, lower is better) of the
// assets matching every term; unranked (score 0) it skips bm25 and the
// per-asset minimum.
func matchSQL(terms []string, ranked bool) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, len(terms))
	b.WriteString("SELECT t0.s AS s, ")
	for i := range terms {
		if i > 0 {
			b.WriteString(" + ")
		}
		fmt.Fprintf(&b, "t%d.r", i)
	}
	b.WriteString(" AS score FROM ")
	for i, t := range terms {
		if i > 0 {
			b.WriteString(" JOIN ")
		}
		if ranked {
			fmt.Fprintf(&b, "(SELECT s, min(r) AS r FROM (SELECT rowid >> 20 AS s, %s AS r FROM asset_fts WHERE asset_fts MATCH ? LIMIT -1) GROUP BY s) t%d", ftsRank, i)
		} else {
			fmt.Fprintf(&b, "(SELECT DISTINCT rowid >> 20 AS s, 0 AS r FROM asset_fts WHERE asset_fts MATCH ?) t%d", i)
		}
		if i > 0 {
			fmt.Fprintf(&b, " ON t%d.s = t0.s", i)
		}
		args = append(args, t)
	}
	return b.String(), args
}

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

// from is the FROM clause: assets, joined to the matches when there is a
// query (scored when ranked).
func (f AssetFilter) from(ranked bool) (string, []any) {
	terms := queryTerms(f.Query)
	if len(terms) == 0 {
		return "assets", nil
	}
	m, args := matchSQL(terms, ranked)
	return "(" + m + ") m JOIN assets ON assets.seq = m.s", args
}

// Find implements Searcher.
func (SQLiteSearch) Find(ctx context.Context, q Querier, f AssetFilter) ([]*Asset, error) {
	where, wargs, ok := f.where(false)
	if !ok {
		return nil, nil
	}
	from, args := f.from(f.Ranked())
	args = append(args, wargs...)
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	terms := queryTerms(f.Query)
	if f.Ranked() && len(terms) == 1 {
		// One term: rank within FTS5's best rows first (ORDER BY rank
		// LIMIT keeps a heap instead of grouping every match). Exact when
		// the page fills: any asset outside those rows scores worse.
		top := (f.Offset+limit)*3 + 100
		args := append([]any{terms[0], top}, wargs...)
		list, err := findRows(ctx, q, `SELECT `+prefixed("assets.", assetCols)+` FROM (SELECT s, min(r) AS score FROM
			(SELECT rowid >> 20 AS s, rank AS r FROM asset_fts WHERE asset_fts MATCH ? ORDER BY rank LIMIT ?) GROUP BY s) m
			JOIN assets ON assets.seq = m.s WHERE `+where+` ORDER BY m.score, assets.seq DESC LIMIT ? OFFSET ?`,
			append(args, limit, f.Offset)...)
		if err != nil || len(list) == limit {
			return list, err
		}
	}
	order := " ORDER BY assets.seq DESC LIMIT ?"
	if f.Ranked() {
		order = " ORDER BY m.score, assets.seq DESC LIMIT ? OFFSET ?"
		args = append(args, limit, f.Offset)
	} else {
		if f.Before > 0 {
			where += " AND assets.seq < ?"
			args = append(args, f.Before)
		}
		args = append(args, limit)
	}
	return findRows(ctx, q, `SELECT `+prefixed("assets.", assetCols)+` FROM `+from+` WHERE `+where+order, args...)
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
func (SQLiteSearch) Facets(ctx context.Context, q Querier, f AssetFilter, fields []string) (map[string]map[string]int, error) {
	return facets(ctx, q, f, fields, false, f.from)
}

// facets counts by each field, the assets from from(false) (the FROM
// clause of the dialect, unranked) that f's where selects.
func facets(ctx context.Context, q Querier, f AssetFilter, fields []string, pg bool,
	from func(ranked bool) (string, []any)) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	where, wargs, ok := f.where(pg)
	for _, field := range fields {
		counts := map[string]int{}
		out[field] = counts
		if !ok {
			continue
		}
		from, args := from(false)
		args = append(args, wargs...)
		var query string
		switch field {
		case "kind", "format", "state", "project":
			query = `SELECT assets.` + field + `, count(*) FROM ` + from + ` WHERE ` + where + ` GROUP BY 1`
		case "tag":
			query = `SELECT min(tg.tag), count(*) FROM ` + from + ` JOIN asset_tags tg ON tg.asset_id = assets.id WHERE ` +
				where + ` GROUP BY tg.tag ORDER BY 2 DESC, 1 LIMIT 100`
		default:
			return nil, fmt.Errorf("catalog: facet %q: %w", field, ErrInvalid)
		}
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, fmt.Errorf("catalog: facets: %w", err)
		}
		for rows.Next() {
			var v string
			var n int
			if err := rows.Scan(&v, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("catalog: facets: %w", err)
			}
			counts[v] = n
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("catalog: facets: %w", err)
		}
	}
	return out, nil
}
