package catalog

import (
	"context"
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
// Costs are bounded like SQLiteSearch's:
//   - the matches of a query are counted in asset_doc's GIN index up to
//     ExactRankMax;
//   - at most ExactRankMax matches: those assets are read by seq, ranked
//     by ts_rank per term (the best row of the asset, terms added) or
//     sorted newest first;
//   - more: the assets are walked newest first (the seq index, or a
//     filter's index) and each is checked in asset_doc by seq, stopping
//     at the page; ranked search is then approximate (Page.Approximate):
//     assets with every term in the title, filename, keywords or tags
//     (weights A and B) first, then the other matches, newest first
//     within each;
//   - facets: counted over the selection when it has at most FacetSample
//     assets, over the newest FacetSample of them (approximate) when it
//     has more. (SQLite keeps counts tables for the unfiltered case; on
//     PostgreSQL every insert would then update the same few counter rows
//     and concurrent ingests would queue on their row locks.)
type PostgresSearch struct {
	// Limits of the paths above; zero takes the default.
	ExactRankMax int // default DefaultExactRankMax
	FacetSample  int // default DefaultFacetSample
}

var (
	_ Searcher     = PostgresSearch{}
	_ Pager        = PostgresSearch{}
	_ FacetCounter = PostgresSearch{}
)

func (s PostgresSearch) limits() PostgresSearch {
	if s.ExactRankMax <= 0 {
		s.ExactRankMax = DefaultExactRankMax
	}
	if s.FacetSample <= 0 {
		s.FacetSample = DefaultFacetSample
	}
	return s
}

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

// estimate is the planner's estimate of the assets whose asset_doc
// matches the tsquery tq (from asset_doc's statistics: the frequencies
// of its commonest lexemes, ANALYZE's most_common_elems). It decides
// whether counting the matches is worth it: counting reads every match
// (the GIN posting lists, then up to ExactRankMax rows), which for a
// word in a fifth of the assets costs more than the whole page.
func estimate(ctx context.Context, q Querier, tq string) (float64, error) {
	var plan string
	if err := q.QueryRowContext(ctx, `EXPLAIN (FORMAT JSON) SELECT 1 FROM asset_doc WHERE doc @@ to_tsquery('stor', ?)`, tq).Scan(&plan); err != nil {
		return 0, fmt.Errorf("catalog: search: estimate: %w", err)
	}
	var p []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		}
	}
	if err := json.Unmarshal([]byte(plan), &p); err != nil || len(p) == 0 {
		return 0, fmt.Errorf("catalog: search: estimate: %q: %v", plan, err)
	}
	return p[0].Plan.Rows, nil
}

// docMatch is the join and condition of the assets whose asset_doc
// matches the first tsquery and, when not is set, not the second. The
// planner chooses by the terms' frequencies (asset_doc's statistics):
// for a frequent term it walks asset_doc's primary key newest first and
// checks each row (a few thousand rows for the first page), for a rare
// one it reads the GIN index's matches and sorts them. Both are bounded
// by the cursor's seq on asset_doc's key.
func docMatch(not bool) string {
	cond := `asset_doc d JOIN assets ON assets.seq = d.seq WHERE d.doc @@ to_tsquery('stor', ?)`
	if not {
		cond += ` AND NOT d.doc @@ to_tsquery('stor', ?)`
	}
	return cond
}

// FindPage implements Pager.
func (s PostgresSearch) FindPage(ctx context.Context, q Querier, f AssetFilter) (*Page, error) {
	s = s.limits()
	c, err := f.cursor()
	if err != nil {
		return nil, err
	}
	where, wargs, ok := f.where(true)
	if !ok {
		return &Page{}, nil
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
		page.Assets, err = findRows(ctx, q, `SELECT `+prefixed("assets.", assetCols)+` FROM assets WHERE `+w+
			` ORDER BY assets.seq DESC LIMIT ?`, append(args, limit)...)
		if err == nil && len(page.Assets) == limit {
			page.Next = strconv.FormatInt(page.Assets[limit-1].Seq, 10)
		}
		return page, err
	}
	all := docQuery(terms, "")
	if c.kind == 'a' {
		return s.approximate(ctx, q, c, terms, where, wargs, limit)
	}
	if !f.Ranked() {
		page.Assets, err = docNewest(ctx, q, false, []any{all}, where, wargs, c.seq, limit)
		if err == nil && len(page.Assets) == limit {
			page.Next = strconv.FormatInt(page.Assets[limit-1].Seq, 10)
		}
		return page, err
	}
	// Ranked: exact when the query has at most ExactRankMax matches.
	// Counting them is skipped when the planner expects many more (its
	// estimate would have to be 4 times too high for the ranking to be
	// approximate where it could have been exact).
	var m []int64
	few, count := false, true
	if c.offset == 0 {
		est, err := estimate(ctx, q, all)
		if err != nil {
			return nil, err
		}
		count = est <= 4*float64(s.ExactRankMax)
	}
	if count {
		if m, err = s.matches(ctx, q, terms, s.ExactRankMax); err != nil {
			return nil, err
		}
		few = len(m) <= s.ExactRankMax
	}
	if !few && c.offset == 0 {
		return s.approximate(ctx, q, cursor{kind: 'a', tier: 1}, terms, where, wargs, limit)
	}
	if few {
		page.Assets, err = s.rankFew(ctx, q, terms, m, where, wargs, limit, c.offset)
		if err == nil && len(page.Assets) == limit {
			page.Next = "o" + strconv.Itoa(c.offset+limit)
		}
		return page, err
	}
	// A later page of a listing that had few matches when it began and
	// has many now: ranked over every match (one join per term).
	var b strings.Builder
	var args []any
	b.WriteString("(SELECT t0.s AS s, ")
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
		args = append(args, tsQuery(t, ""))
		fmt.Fprintf(&b, "(SELECT asset_seq AS s, -max(%s) AS r FROM asset_search, to_tsquery('stor', ?) tq WHERE doc @@ tq GROUP BY asset_seq) t%d", pgRank, i)
		if i > 0 {
			fmt.Fprintf(&b, " ON t%d.s = t0.s", i)
		}
	}
	b.WriteString(") m JOIN assets ON assets.seq = m.s")
	args = append(args, wargs...)
	page.Assets, err = findRows(ctx, q, `SELECT `+prefixed("assets.", assetCols)+` FROM `+b.String()+` WHERE `+where+
		` ORDER BY m.score, assets.seq DESC LIMIT ? OFFSET ?`, append(args, limit, c.offset)...)
	if err == nil && len(page.Assets) == limit {
		page.Next = "o" + strconv.Itoa(c.offset+limit)
	}
	return page, err
}

// rankFew ranks the few matches m of terms (bm25-like, by ts_rank: each
// term's best row of the asset, the terms added) in one pass over their
// asset_search rows. Every term must match one row of the asset (a phrase
// spanning two rows matches asset_doc, not the asset).
func (s PostgresSearch) rankFew(ctx context.Context, q Querier, terms []string, m []int64, where string, wargs []any, limit, offset int) ([]*Asset, error) {
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
	args = append(args, seqArray(m))
	args = append(args, wargs...)
	return findRows(ctx, q, `SELECT `+prefixed("assets.", assetCols)+` FROM (SELECT asset_seq AS s, `+score.String()+
		` AS score FROM asset_search`+from.String()+` WHERE asset_seq = ANY(?::bigint[]) GROUP BY asset_seq HAVING `+having.String()+
		`) m JOIN assets ON assets.seq = m.s WHERE `+where+` ORDER BY m.score, assets.seq DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
}

// docNewest lists, newest first, up to limit assets below seq (0: from
// the newest) matching docMatch(not) (its tsqueries in targs) and where.
func docNewest(ctx context.Context, q Querier, not bool, targs []any, where string, wargs []any, seq int64, limit int) ([]*Asset, error) {
	w, args := docMatch(not)+" AND "+where, append(slices.Clone(targs), wargs...)
	if seq > 0 {
		// On both keys: the planner does not carry a range across the
		// join.
		w += " AND d.seq < ? AND assets.seq < ?"
		args = append(args, seq, seq)
	}
	return findRows(ctx, q, `SELECT `+prefixed("assets.", assetCols)+` FROM `+w+
		` ORDER BY d.seq DESC LIMIT ?`, append(args, limit)...)
}

// approximate lists the matches of terms in two tiers from cursor c:
// every term in a primary column (weights A, B) first, then the others,
// newest first within each.
func (s PostgresSearch) approximate(ctx context.Context, q Querier, c cursor, terms []string, where string, wargs []any, limit int) (*Page, error) {
	page := &Page{Approximate: true}
	all, primary := docQuery(terms, ""), docQuery(terms, "AB")
	tiers := [3]struct {
		not  bool
		args []any
	}{1: {false, []any{primary}}, 2: {true, []any{all, primary}}}
	seq := c.seq
	for tier := c.tier; tier <= 2 && len(page.Assets) < limit; tier++ {
		list, err := docNewest(ctx, q, tiers[tier].not, tiers[tier].args, where, wargs, seq, limit-len(page.Assets))
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
// assets, newest first, counted one by one; approximate when it has more.
func (s PostgresSearch) FacetCounts(ctx context.Context, q Querier, f AssetFilter, fields []string) (map[string]map[string]int, bool, error) {
	s = s.limits()
	out := map[string]map[string]int{}
	for _, field := range fields {
		if !slices.Contains(FacetFields, field) {
			return nil, false, fmt.Errorf("catalog: facet %q: %w", field, ErrInvalid)
		}
		out[field] = map[string]int{}
	}
	where, args, ok := f.where(true)
	if !ok || len(fields) == 0 {
		return out, false, nil
	}
	from, order := "assets WHERE ", "assets.seq"
	if terms := queryTerms(f.Query); len(terms) > 0 {
		// The newest matches: the planner walks asset_doc newest first
		// for frequent terms, reads the GIN index for rare ones.
		from, order = docMatch(false)+" AND ", "d.seq"
		args = append([]any{docQuery(terms, "")}, args...)
	}
	rows, err := q.QueryContext(ctx, `SELECT a.kind, a.format, a.state, a.project,
		(SELECT string_agg(tag::text, chr(31)) FROM asset_tags WHERE asset_id = a.id)
		FROM (SELECT assets.id, assets.kind, assets.format, assets.state, assets.project FROM `+from+where+
		` ORDER BY `+order+` DESC LIMIT ?) a`, append(args, s.FacetSample+1)...)
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
