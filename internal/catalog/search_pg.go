package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// PostgresSearch searches with the tsvector tables of the PostgreSQL
// migrations: asset_search (0009: a row per asset for its fields, page 0,
// and one per page of text, weighted like SQLite's bm25 columns) for
// exact ranking, and asset_doc (0017: the same words, one row per asset,
// GIN-indexed) for matching, capped counts and newest-first walks. Each
// term must match somewhere in the asset, like SQLite's FTS5 table.
//
// Costs are bounded like SQLiteSearch's, with plans chosen from the
// planner's estimates (asset_doc's statistics: the frequencies of its
// commonest lexemes), not from counting, which reads every match:
//   - newest first: docSeqs walks asset_doc's primary key newest first
//     and checks each row when the terms are frequent (a few thousand
//     rows for a page), or reads the GIN index's matches and sorts them
//     when they are rare;
//   - ranked: when the estimate is at most twice ExactRankMax the
//     matches' postings are counted in the GIN index; ExactRankMax or
//     fewer are ranked by ts_rank per term (the best row of the asset,
//     terms added) in one pass over their asset_search rows, read by
//     asset_search's own GIN index for one term, and only then looked
//     up in assets, best first, until the page is full;
//   - more: ranked search is approximate (Page.Approximate): assets with
//     every term in the title, filename, keywords or tags (weights A and
//     B) first, then the other matches, newest first within each (each
//     tier listed like newest first);
//   - facets: counted over the selection when it has at most FacetSample
//     assets, over a sample of FacetSample of them (approximate) when it
//     has more: the first a search's GIN index or a tag's index gives,
//     otherwise the newest. (SQLite keeps counts tables for the unfiltered case; on
//     PostgreSQL every insert would then update the same few counter rows
//     and concurrent ingests would queue on their row locks.)
type PostgresSearch struct {
	// Limits of the paths above; zero takes the default.
	ExactRankMax int // default DefaultExactRankMax
	FacetSample  int // default DefaultFacetSample
	// Plan forces docSeqs' plan: "walk" (asset_doc newest first) or
	// "index" (the GIN matches, sorted); "" chooses by the estimates.
	// For tests: both must list the same assets.
	Plan string
}

var (
	_ Searcher     = PostgresSearch{}
	_ Pager        = PostgresSearch{}
	_ FacetCounter = PostgresSearch{}
)

func (s PostgresSearch) limits() PostgresSearch {
	if s.ExactRankMax <= 0 {
		s.ExactRankMax = DefaultPGExactRankMax
	}
	if s.FacetSample <= 0 {
		s.FacetSample = DefaultFacetSample
	}
	return s
}

// DefaultPGExactRankMax is PostgreSQL's ExactRankMax: ts_rank over the
// asset_search rows of every match costs more than SQLite's bm25 over its
// FTS5 index. At 1M assets, 2,000 instead of 3,000 took the ranked 3- and
// 4-letter prefixes from 34-49 ms to 11-25 ms wall p99 (more of them are
// ordered approximately: docs/benchmarks.md, session 6).
const DefaultPGExactRankMax = 2000

// pgRank weighs the classes of migration 0009 ({D, C, B, A}) like
// SQLite's bm25 weights: title 10; filename, keywords, tags 6;
// description, creator 4; rights, camera, custom fields 2 (D on the
// fields row); extracted text 1 (D on page rows).
const pgRank = `ts_rank(CASE WHEN page = 0 THEN '{0.2, 0.4, 0.6, 1.0}'::float4[] ELSE '{0.1, 0.4, 0.6, 1.0}'::float4[] END, doc, tq)`

// tsQuery turns one term of queryTerms ("word", "a phrase", "pre"*) into
// to_tsquery's syntax: its words in sequence (<->), the last one a prefix
// when the term ends in *, each restricted to weights when given ("AB").
// Words are letters and digits only, so they need no quoting beyond the
// single quotes.
func tsQuery(term, weights string) string {
	prefix := strings.HasSuffix(term, "*")
	term = strings.TrimSuffix(term, "*")
	term = strings.TrimSuffix(strings.TrimPrefix(term, `"`), `"`)
	term = strings.ReplaceAll(term, `""`, `"`)
	words := strings.FieldsFunc(term, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i, w := range words {
		flags := weights
		if prefix && i == len(words)-1 {
			flags = "*" + flags
		}
		words[i] = "'" + w + "'"
		if flags != "" {
			words[i] += ":" + flags
		}
	}
	return strings.Join(words, " <-> ")
}

// docQuery is the tsquery of every term (for asset_doc, one row per
// asset), each restricted to weights when given.
func docQuery(terms []string, weights string) string {
	parts := make([]string, 0, len(terms))
	for _, t := range terms {
		if q := tsQuery(t, weights); q != "" {
			parts = append(parts, "("+q+")")
		}
	}
	return strings.Join(parts, " & ")
}

// maxCameras bounds the distinct (make, model) pairs cameras reads: a
// catalogue with more answers a camera filter with its plain condition.
const maxCameras = 2000

// where is f.where for PostgreSQL, a camera filter turned into the
// (make, model) pairs it matches (cameras), so that the index of
// migration 0020 on (make, model, capture_date) reads only their assets
// in a capture range: the plain condition (a make in any case or a part
// of the model) is no index condition, and half a year of a million
// assets was 25,000 index entries tested one by one (or 14,000 rows
// walked newest first). ok is false when nothing can match.
func (s PostgresSearch) where(ctx context.Context, q Querier, f AssetFilter) (string, []any, bool, error) {
	if f.Camera == "" {
		w, args, ok := f.where(true)
		return w, args, ok, nil
	}
	pairs, complete, err := cameras(ctx, q, f.Camera)
	if err != nil {
		return "", nil, false, err
	}
	if !complete {
		w, args, ok := f.where(true)
		return w, args, ok, nil
	}
	if len(pairs) == 0 {
		return "", nil, false, nil
	}
	f.Camera = ""
	w, args, ok := f.where(true)
	if !ok {
		return "", nil, false, nil
	}
	// The makes and the models as index conditions (their cross product),
	// the pairs themselves when that product has more.
	var makes, models []string
	for _, p := range pairs {
		if !slices.Contains(makes, p[0]) {
			makes = append(makes, p[0])
		}
		if !slices.Contains(models, p[1]) {
			models = append(models, p[1])
		}
	}
	w += " AND coalesce(assets.camera_make, '') = ANY(?::text[]) AND coalesce(assets.camera_model, '') = ANY(?::text[])"
	args = append(args, makes, models)
	if len(makes)*len(models) > len(pairs) {
		// = ANY of an array of rows: a filter on the index's entries (an
		// IN list of rows becomes an OR of index scans and a heap read).
		w += " AND (coalesce(assets.camera_make, ''), coalesce(assets.camera_model, '')) = ANY(ARRAY[" +
			strings.Repeat("ROW(?::text, ?::text), ", len(pairs)-1) + "ROW(?::text, ?::text)])"
		for _, p := range pairs {
			args = append(args, p[0], p[1])
		}
	}
	return w, args, true, nil
}

// cameras returns the distinct (make, model) pairs of the catalogue (NULL
// as empty strings) that the camera filter camera matches: a make equal in any case,
// or a model containing it. The pairs are read by skipping through the
// index of migration 0020 (one probe per pair: a catalogue has few
// cameras). complete is false when it has more than maxCameras.
func cameras(ctx context.Context, q Querier, camera string) (pairs [][2]string, complete bool, err error) {
	rows, err := q.QueryContext(ctx, `WITH RECURSIVE p(m, mo, n) AS (
		(SELECT coalesce(camera_make, ''), coalesce(camera_model, ''), 1 FROM assets ORDER BY 1, 2 LIMIT 1)
		UNION ALL
		SELECT x.m, x.mo, p.n + 1 FROM p, LATERAL (SELECT coalesce(a.camera_make, '') AS m, coalesce(a.camera_model, '') AS mo
			FROM assets a WHERE (coalesce(a.camera_make, ''), coalesce(a.camera_model, '')) > (p.m, p.mo) ORDER BY 1, 2 LIMIT 1) x
		WHERE p.n <= ?)
		SELECT m, mo, n, lower(m) = lower(?) OR mo ILIKE ? ESCAPE '\' FROM p`, maxCameras, camera, "%"+escapeLike(camera)+"%")
	if err != nil {
		return nil, false, fmt.Errorf("catalog: search: cameras: %w", err)
	}
	defer rows.Close()
	complete = true
	for rows.Next() {
		var p [2]string
		var n int
		var match bool
		if err := rows.Scan(&p[0], &p[1], &n, &match); err != nil {
			return nil, false, fmt.Errorf("catalog: search: cameras: %w", err)
		}
		if n > maxCameras {
			complete = false
		}
		if match {
			pairs = append(pairs, p)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("catalog: search: cameras: %w", err)
	}
	return pairs, complete, nil
}

// Find implements Searcher.
func (s PostgresSearch) Find(ctx context.Context, q Querier, f AssetFilter) ([]*Asset, error) {
	p, err := s.FindPage(ctx, q, f)
	if err != nil {
		return nil, err
	}
	return p.Assets, nil
}

// matches returns the seqs of the assets whose asset_doc matches every
// term, at most max+1 of them (so more than max means "many").
func (s PostgresSearch) matches(ctx context.Context, q Querier, terms []string, max int) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq FROM asset_doc WHERE doc @@ to_tsquery('stor', ?) LIMIT ?`,
		docQuery(terms, ""), max+1)
	if err != nil {
		return nil, fmt.Errorf("catalog: search: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, fmt.Errorf("catalog: search: %w", err)
		}
		out = append(out, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: search: %w", err)
	}
	return out, nil
}

// seqArray is seqs as a PostgreSQL bigint[] literal.
func seqArray(seqs []int64) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range seqs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(s, 10))
	}
	b.WriteByte('}')
	return b.String()
}

// estimate is the planner's estimates for listing the assets whose
// asset_doc matches the tsquery tq and where: how many match tq (term)
// and how many of those also match where (all), from asset_doc's
// statistics (ANALYZE's most_common_elems: the frequencies of its
// commonest lexemes) and the assets'. Counting instead would read every
// match (a GIN posting list, then each row), which for a word in a fifth
// of the assets costs more than the whole page.
func estimate(ctx context.Context, q Querier, src docSrc, tq, where string, wargs []any) (term, all float64, err error) {
	var plan string
	expr, targs := src.query(tq)
	if err := q.QueryRowContext(ctx, `EXPLAIN (FORMAT JSON) SELECT 1 FROM `+src.table+` d JOIN assets ON assets.seq = d.seq WHERE d.doc @@ `+expr+` AND `+where,
		append(targs, wargs...)...).Scan(&plan); err != nil {
		return 0, 0, fmt.Errorf("catalog: search: estimate: %w", err)
	}
	type node struct {
		Relation string  `json:"Relation Name"`
		Rows     float64 `json:"Plan Rows"`
		Plans    []node
	}
	var p []struct{ Plan node }
	if err := json.Unmarshal([]byte(plan), &p); err != nil || len(p) == 0 {
		return 0, 0, fmt.Errorf("catalog: search: estimate: %q: %v", plan, err)
	}
	term = -1
	var find func(n node)
	find = func(n node) {
		if n.Relation == src.table && term < 0 {
			term = n.Rows
		}
		for _, c := range n.Plans {
			find(c)
		}
	}
	find(p[0].Plan)
	all = p[0].Plan.Rows
	return max(term, all), all, nil
}

// postings counts the entries of asset_doc's GIN index that match the
// tsquery tq (every match, more for a phrase, whose entries are
// candidates): the actual rows of a bitmap index scan, by EXPLAIN
// ANALYZE of a query that reads one row. Reading the posting lists is
// cheap; counting the matches by their rows reads a page each. ok is
// false when q cannot begin a transaction (for SET LOCAL: with sequential
// scans the planner reads the table for the first row).
func postings(ctx context.Context, q Querier, tq string) (n float64, ok bool, err error) {
	b, can := q.(interface {
		BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
	})
	if !can {
		return 0, false, nil
	}
	tx, err := b.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, false, fmt.Errorf("catalog: search: postings: %w", err)
	}
	defer tx.Rollback()
	var plan string
	if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		return 0, false, fmt.Errorf("catalog: search: postings: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) SELECT 1 FROM asset_doc WHERE doc @@ to_tsquery('stor', ?) LIMIT 1`,
		tq).Scan(&plan); err != nil {
		return 0, false, fmt.Errorf("catalog: search: postings: %w", err)
	}
	type node struct {
		Type  string  `json:"Node Type"`
		Index string  `json:"Index Name"`
		Rows  float64 `json:"Actual Rows"`
		Plans []node
	}
	var p []struct{ Plan node }
	if err := json.Unmarshal([]byte(plan), &p); err != nil || len(p) == 0 {
		return 0, false, fmt.Errorf("catalog: search: postings: %q: %v", plan, err)
	}
	var find func(nd node) bool
	find = func(nd node) bool {
		if nd.Type == "Bitmap Index Scan" && nd.Index == "asset_doc_doc" {
			n = nd.Rows
			return true
		}
		return slices.ContainsFunc(nd.Plans, find)
	}
	return n, find(p[0].Plan), nil
}

// docSrc is a tsvector table docSeqs reads: asset_doc (every word of an
// asset) or asset_tier (its primary words and filter lexemes), and lex,
// a tsquery of filter lexemes (filterLexemes) every match must have too.
type docSrc struct {
	table string
	lex   string
}

// query is the SQL of the tsquery of the words tq (to_tsquery's syntax)
// and src's filter lexemes, and its arguments.
func (src docSrc) query(tq string) (string, []any) {
	if src.lex == "" {
		return "to_tsquery('stor', ?)", []any{tq}
	}
	return "(to_tsquery('stor', ?) && ?::tsquery)", []any{tq, src.lex}
}

// filterLexemes is the tsquery of asset_tier's lexemes for f's kind and
// project ('kind:image' & 'project:p1'), "" when it has neither.
func filterLexemes(f AssetFilter) string {
	var parts []string
	for _, l := range []struct{ name, v string }{{"kind", f.Kind}, {"project", f.Project}} {
		if l.v != "" {
			v := strings.ReplaceAll(strings.ReplaceAll(l.name+":"+l.v, `\`, `\\`), "'", "''")
			parts = append(parts, "'"+v+"'")
		}
	}
	return strings.Join(parts, " & ")
}

// walkPerMatch is how many rows walking asset_doc newest first may check
// for each match the GIN index would read instead: checking a row in a
// walk reads the pages in order (about 9 rows a page), reading a match
// is a random page and, for the sort, every match before the first.
const walkPerMatch = 30

// docSeqs returns, newest first, the seqs of up to limit assets below hi
// (0: from the newest) whose asset_doc matches the tsquery targs[0] (and,
// when not is set, not targs[1]) and which match where. share is the part
// of the planner's estimates (estimate's; it does not tell weights apart)
// expected to match: 1 for every match, less for a tier of weights.
//
// It chooses between two plans by the estimates: walking asset_doc's
// primary key newest first and checking each row (about limit × assets /
// matches rows; cheap for frequent terms: a few µs a row), or reading the
// GIN index's matches, every one, and sorting them (cheap for rare
// terms). The planner makes this choice badly here (it walks for words
// it estimates at a thousand matches: half a million rows when the word
// is rarer still), so the SQL leaves it none: a function call
// (ts_match_vq) is not indexable, and an order by an expression
// (d.seq + 0) is not the index's. A walk is bounded (8 times the rows it
// should need); the rest, when the estimate was wrong, is read from the
// GIN index.
func (s PostgresSearch) docSeqs(ctx context.Context, q Querier, src docSrc, not bool, targs []string, where string, wargs []any, hi int64, limit int, share, known float64) ([]int64, error) {
	term, all, err := estimate(ctx, q, src, targs[0], where, wargs)
	if err != nil {
		return nil, err
	}
	var qargs []any // the tsqueries' arguments
	for _, t := range targs {
		_, a := src.query(t)
		qargs = append(qargs, a...)
	}
	if known > 0 && term > 0 {
		// Counted (postings): the filter's share from the estimates.
		term, all = known, known*all/term
	}
	var total float64
	var top int64
	if err := q.QueryRowContext(ctx, `SELECT greatest(reltuples, 0)::float8, (SELECT coalesce(max(seq), 0) + 1 FROM `+src.table+`) FROM pg_class WHERE oid = ?::regclass`, src.table).Scan(&total, &top); err != nil {
		return nil, fmt.Errorf("catalog: search: %w", err)
	}
	if hi <= 0 || hi > top {
		hi = top
	}
	walkRows := float64(limit) * total / max(all*share, 1)
	var out []int64
	run := func(query string, args ...any) error {
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("catalog: search: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				return fmt.Errorf("catalog: search: %w", err)
			}
			out = append(out, seq)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("catalog: search: %w", err)
		}
		return nil
	}
	match := func(fn bool) string {
		m := func(i int) string {
			expr, _ := src.query(targs[i])
			if fn {
				return "ts_match_vq(d.doc, " + expr + ")"
			}
			return "d.doc @@ " + expr
		}
		c := m(0)
		if not {
			c += " AND NOT " + m(1)
		}
		return c
	}
	walk := walkRows <= walkPerMatch*term*share && total > 0
	switch s.Plan {
	case "walk":
		walk = true
	case "index":
		walk = false
	}
	if walk {
		lo := max(hi-int64(8*walkRows)-int64(limit), 0)
		// assets.seq = d.seq + 0: asset_doc is walked, assets looked up
		// (no merge join walking both).
		if err := run(`SELECT d.seq FROM `+src.table+` d JOIN assets ON assets.seq = d.seq + 0 WHERE `+match(true)+
			` AND d.seq >= ? AND d.seq < ? AND `+where+` ORDER BY d.seq DESC LIMIT ?`,
			append(append(slices.Clone(qargs), lo, hi), append(slices.Clone(wargs), limit)...)...); err != nil {
			return nil, err
		}
		if len(out) == limit || lo == 0 {
			return out, nil
		}
		hi = lo
	}
	// The matches sorted first, then looked up in assets newest first
	// until the page is full (not every match looked up before sorting).
	err = run(`SELECT s.k FROM (SELECT d.seq + 0 AS k FROM `+src.table+` d WHERE `+match(false)+
		` AND d.seq < ? ORDER BY 1 DESC OFFSET 0) s JOIN assets ON assets.seq = s.k WHERE `+where+` ORDER BY s.k DESC LIMIT ?`,
		append(append(slices.Clone(qargs), hi), append(slices.Clone(wargs), limit-len(out))...)...)
	return out, err
}

// FindPage implements Pager.
func (s PostgresSearch) FindPage(ctx context.Context, q Querier, f AssetFilter) (*Page, error) {
	s = s.limits()
	c, err := f.cursor()
	if err != nil {
		return nil, err
	}
	where, wargs, ok, err := s.where(ctx, q, f)
	if err != nil || !ok {
		return &Page{}, err
	}
	limit := f.limit()
	terms := queryTerms(f.Query)
	page := &Page{}
	if len(terms) == 0 {
		w, args := where, slices.Clone(wargs)
		if c.seq > 0 {
			w += " AND assets.seq < ?"
			args = append(args, c.seq)
		}
		query := `SELECT ` + prefixed("assets.", assetCols) + ` FROM assets WHERE ` + w + ` ORDER BY assets.seq DESC LIMIT ?`
		if f.Camera != "" {
			// The seqs first (index only: the matches of a capture range
			// and a camera are sorted by seq, not every row read).
			query = `SELECT ` + assetCols + ` FROM assets WHERE seq = ANY(ARRAY(SELECT assets.seq FROM assets WHERE ` + w +
				` ORDER BY assets.seq DESC LIMIT ?)) ORDER BY seq DESC`
		}
		page.Assets, err = findRows(ctx, q, query, append(args, limit)...)
		if err == nil && len(page.Assets) == limit {
			page.Next = strconv.FormatInt(page.Assets[limit-1].Seq, 10)
		}
		return page, err
	}
	all := docQuery(terms, "")
	if c.kind == 'a' {
		return s.approximate(ctx, q, c, f, terms, where, wargs, limit, 0)
	}
	if !f.Ranked() {
		page.Assets, err = s.docNewest(ctx, q, docSrc{table: "asset_doc"}, false, []string{all}, where, wargs, c.seq, limit, 1, 0)
		if err == nil && len(page.Assets) == limit {
			page.Next = strconv.FormatInt(page.Assets[limit-1].Seq, 10)
		}
		return page, err
	}
	// Ranked: exact when the query has at most ExactRankMax matches.
	// Counting them is skipped when the planner expects twice as many
	// (asset_doc's statistics keep the frequencies of its 1,000 commonest
	// lexemes: within a few percent for those; a query of several words
	// assumes they are independent).
	if c.offset > 0 {
		// A later page of a listing that had few matches when it began:
		// ranked again over every match (more now if assets were added).
		cand, cargs := rankCandidates(terms)
		page.Assets, err = s.rankFew(ctx, q, terms, cand, cargs, where, wargs, limit, c.offset)
		if err == nil && len(page.Assets) == limit {
			page.Next = "o" + strconv.Itoa(c.offset+limit)
		}
		return page, err
	}
	est, _, err := estimate(ctx, q, docSrc{table: "asset_doc"}, all, "true", nil)
	if err != nil {
		return nil, err
	}
	var known float64
	var cand string
	var cargs []any
	if est <= 2*float64(s.ExactRankMax) {
		// The planner does not know prefixes and lexemes outside its
		// statistics (1,201 at 1M): count their postings first
		// (reading each match's row to count it cost more than the
		// page when there are many).
		n, ok, err := postings(ctx, q, all)
		if err != nil {
			return nil, err
		}
		switch {
		case ok && n <= float64(s.ExactRankMax):
			// Few: ranked straight from their asset_search rows, not
			// listed first (reading every match's asset_doc row and
			// assets row before ranking was most of the time).
			cand, cargs = rankCandidates(terms)
		case ok:
			known = max(n, 1)
		default:
			// No postings count (q is a transaction): the matches, up
			// to ExactRankMax + 1.
			m, err := s.matches(ctx, q, terms, s.ExactRankMax)
			if err != nil {
				return nil, err
			}
			if len(m) <= s.ExactRankMax {
				cand, cargs = "asset_seq = ANY(?::bigint[])", []any{seqArray(m)}
			}
		}
	}
	if cand == "" {
		return s.approximate(ctx, q, cursor{kind: 'a', tier: 1}, f, terms, where, wargs, limit, known)
	}
	page.Assets, err = s.rankFew(ctx, q, terms, cand, cargs, where, wargs, limit, 0)
	if err == nil && len(page.Assets) == limit {
		page.Next = "o" + strconv.Itoa(limit)
	}
	return page, err
}

// rankCandidates is the condition on asset_search rows that rankFew
// ranks when the matches of terms are known to be few: for one term its
// own rows (asset_search's GIN index: an asset matches when one of its
// rows does, which is also all rankFew needs of it), for more the rows of
// the assets whose asset_doc matches them all.
func rankCandidates(terms []string) (string, []any) {
	if len(terms) == 1 {
		return "doc @@ tq0", nil
	}
	return "asset_seq = ANY(ARRAY(SELECT seq FROM asset_doc WHERE doc @@ to_tsquery('stor', ?)))", []any{docQuery(terms, "")}
}

// rankFew ranks the assets of the asset_search rows that match cand
// (rankCandidates, or a list of seqs), bm25-like by ts_rank: each term's
// best row of the asset, the terms added, in one pass over the rows.
// Every term must match one row of the asset (a phrase spanning two rows
// matches asset_doc, not the asset). The ranked matches are sorted before
// any assets row is read, and those read in that order until the page is
// full with the filter's (not every match looked up).
func (s PostgresSearch) rankFew(ctx context.Context, q Querier, terms []string, cand string, cargs []any, where string, wargs []any, limit, offset int) ([]*Asset, error) {
	var score, having, from strings.Builder
	var args []any
	for i, t := range terms {
		tq := "tq" + strconv.Itoa(i)
		if i > 0 {
			score.WriteString(" + ")
			having.WriteString(" AND ")
		}
		rank := strings.ReplaceAll(pgRank, "tq)", tq+")")
		fmt.Fprintf(&score, "(-max(%s) FILTER (WHERE doc @@ %s))", rank, tq)
		fmt.Fprintf(&having, "bool_or(doc @@ %s)", tq)
		fmt.Fprintf(&from, ", to_tsquery('stor', ?) %s", tq)
		args = append(args, tsQuery(t, ""))
	}
	args = append(append(append(args, cargs...), wargs...), limit, offset)
	return findRows(ctx, q, `SELECT `+prefixed("assets.", assetCols)+` FROM (SELECT asset_seq AS s, `+score.String()+
		` AS score FROM asset_search`+from.String()+` WHERE `+cand+` GROUP BY asset_seq HAVING `+having.String()+
		` ORDER BY 2, 1 DESC) m JOIN assets ON assets.seq = m.s WHERE `+where+` ORDER BY m.score, m.s DESC LIMIT ? OFFSET ?`, args...)
}

// docNewest lists, newest first, up to limit assets below seq (0: from
// the newest) found by docSeqs.
func (s PostgresSearch) docNewest(ctx context.Context, q Querier, src docSrc, not bool, targs []string, where string, wargs []any, seq int64, limit int, share, known float64) ([]*Asset, error) {
	seqs, err := s.docSeqs(ctx, q, src, not, targs, where, wargs, seq, limit, share, known)
	if err != nil || len(seqs) == 0 {
		return nil, err
	}
	return findRows(ctx, q, `SELECT `+assetCols+` FROM assets WHERE seq = ANY(?::bigint[]) ORDER BY seq DESC`, seqArray(seqs))
}

// approximate lists the matches of terms in two tiers from cursor c:
// every term in a primary column (weights A, B) first, then the others,
// newest first within each.
func (s PostgresSearch) approximate(ctx context.Context, q Querier, c cursor, f AssetFilter, terms []string, where string, wargs []any, limit int, known float64) (*Page, error) {
	page := &Page{Approximate: true}
	all, primary := docQuery(terms, ""), docQuery(terms, "AB")
	// Tier 1 from asset_tier (migration 0020: the primary words only,
	// with the kind and project as lexemes, its own statistics); tier 2
	// from asset_doc, whose estimates do not tell weights apart: about
	// two thirds of a word's matches have it in no primary column (the
	// benchmark's data).
	tiers := [3]struct {
		src   docSrc
		not   bool
		args  []string
		share float64
		known float64
	}{
		1: {docSrc{table: "asset_tier", lex: filterLexemes(f)}, false, []string{all}, 1, 0},
		2: {docSrc{table: "asset_doc"}, true, []string{all, primary}, 2.0 / 3, known},
	}
	seq := c.seq
	for tier := c.tier; tier <= 2 && len(page.Assets) < limit; tier++ {
		t := tiers[tier]
		list, err := s.docNewest(ctx, q, t.src, t.not, t.args, where, wargs, seq, limit-len(page.Assets), t.share, t.known)
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

// Facets implements Searcher.
func (s PostgresSearch) Facets(ctx context.Context, q Querier, f AssetFilter, fields []string) (map[string]map[string]int, error) {
	out, _, err := s.FacetCounts(ctx, q, f, fields)
	return out, err
}

// FacetCounts implements FacetCounter: the selection's first FacetSample
// assets counted one by one; approximate when it has more. The sample is
// read from the selection's most selective side: a search's matches from
// asset_doc (in the order its GIN index's bitmap reads them: by table
// block, about oldest first), a tag's members from asset_tags, otherwise
// the assets newest first. (Newest first for a search or a tag walked
// tens of thousands of rows for a word or a tag in a few percent of the
// assets: 40-100 ms.)
func (s PostgresSearch) FacetCounts(ctx context.Context, q Querier, f AssetFilter, fields []string) (map[string]map[string]int, bool, error) {
	s = s.limits()
	out, err := facetMap(fields)
	if err != nil {
		return nil, false, err
	}
	if len(fields) == 0 {
		return out, false, nil
	}
	terms := queryTerms(f.Query)
	var tag string
	if len(terms) == 0 && len(f.Tags) > 0 {
		tag = f.Tags[0]
		f.Tags = f.Tags[1:]
	}
	where, args, ok, err := s.where(ctx, q, f)
	if err != nil || !ok {
		return out, false, err
	}
	cols := `assets.kind, assets.format, assets.state, assets.project,
		(SELECT string_agg(tag::text, chr(31)) FROM asset_tags WHERE asset_id = assets.id)`
	var query string
	switch {
	case len(terms) > 0:
		query = `SELECT ` + cols + ` FROM asset_doc d JOIN assets ON assets.seq = d.seq WHERE d.doc @@ to_tsquery('stor', ?) AND ` + where + ` LIMIT ?`
		args = append([]any{docQuery(terms, "")}, args...)
	case tag != "":
		// Each member looked up (OFFSET 0: not merged into a join that
		// reads the assets in id order).
		query = `SELECT ` + cols + ` FROM asset_tags ft CROSS JOIN LATERAL (SELECT * FROM assets WHERE assets.id = ft.asset_id AND ` + where +
			` OFFSET 0) assets WHERE ft.tag = ? LIMIT ?`
		args = append(args, tag)
	default:
		query = `SELECT ` + cols + ` FROM assets WHERE ` + where + ` ORDER BY assets.seq DESC LIMIT ?`
	}
	rows, err := q.QueryContext(ctx, query, append(args, s.FacetSample+1)...)
	if err != nil {
		return nil, false, fmt.Errorf("catalog: facets: %w", err)
	}
	approximate, err := countSample(rows, out, s.FacetSample)
	if err != nil {
		return nil, false, err
	}
	topTags(out)
	return out, approximate, nil
}
