package catalog

import (
	"context"
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

// docIn is a condition on assets: its asset_doc matches the first
// tsquery and, when not is set, not the second, in a window of seqs (the
// last two arguments: from, inclusive, to, exclusive).
func docIn(not bool) string {
	cond := `d.doc @@ to_tsquery('stor', ?)`
	if not {
		cond += ` AND NOT d.doc @@ to_tsquery('stor', ?)`
	}
	return `assets.seq IN (SELECT d.seq FROM asset_doc d WHERE ` + cond + ` AND d.seq >= ? AND d.seq < ?)`
}

// firstWindow is the seqs the first window of a walk covers; each next
// one is four times as wide.
const firstWindow = 20000

// windows lists, newest first, up to limit assets below seq (0: from the
// newest) matching cond (docIn's, its window arguments last) and the
// rest of the listing (list): window by window of seqs, each four times
// as wide as the last, so that a query matching many assets reads few of
// its matches and one matching few reads every match in a few windows.
func windows(ctx context.Context, q Querier, cond string, cargs []any, seq int64, limit int,
	list func(cond string, cargs []any, seq int64, limit int) ([]*Asset, error)) ([]*Asset, error) {
	hi := seq
	if hi <= 0 {
		if err := q.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) + 1 FROM assets`).Scan(&hi); err != nil {
			return nil, fmt.Errorf("catalog: search: %w", err)
		}
	}
	var out []*Asset
	for w := int64(firstWindow); hi > 0 && len(out) < limit; w *= 4 {
		lo := max(hi-w, 0)
		got, err := list(cond, append(slices.Clip(cargs), lo, hi), hi, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
		hi = lo
	}
	return out, nil
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
	// newest lists the assets of where (and cond) below seq, newest first.
	newest := func(cond string, cargs []any, seq int64, limit int) ([]*Asset, error) {
		w, args := where, slices.Clone(wargs)
		if cond != "" {
			w = cond + " AND " + w
			args = append(slices.Clone(cargs), args...)
		}
		if seq > 0 {
			w += " AND assets.seq < ?"
			args = append(args, seq)
		}
		return findRows(ctx, q, `SELECT `+prefixed("assets.", assetCols)+` FROM assets WHERE `+w+
			` ORDER BY assets.seq DESC LIMIT ?`, append(args, limit)...)
	}
	if len(terms) == 0 {
		page.Assets, err = newest("", nil, c.seq, limit)
		if err == nil && len(page.Assets) == limit {
			page.Next = strconv.FormatInt(page.Assets[limit-1].Seq, 10)
		}
		return page, err
	}
	all := docQuery(terms, "")
	if c.kind == 'a' {
		return s.approximate(ctx, q, c, terms, limit, newest)
	}
	m, err := s.matches(ctx, q, terms, s.ExactRankMax)
	if err != nil {
		return nil, err
	}
	few := len(m) <= s.ExactRankMax
	if !f.Ranked() {
		if few {
			page.Assets, err = newest("assets.seq = ANY(?::bigint[])", []any{seqArray(m)}, c.seq, limit)
		} else {
			page.Assets, err = windows(ctx, q, docIn(false), []any{all}, c.seq, limit, newest)
		}
		if err == nil && len(page.Assets) == limit {
			page.Next = strconv.FormatInt(page.Assets[limit-1].Seq, 10)
		}
		return page, err
	}
	if !few && c.offset == 0 {
		return s.approximate(ctx, q, cursor{kind: 'a', tier: 1}, terms, limit, newest)
	}
	// bm25-like ranking by ts_rank: each term's best row per asset, the
	// terms added; over the few matches (or, for a later page of a listing
	// that had few when it began, over every match).
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
		restrict := ""
		args = append(args, tsQuery(t, ""))
		if few {
			restrict = "asset_seq = ANY(?::bigint[]) AND "
			args = append(args, seqArray(m))
		}
		fmt.Fprintf(&b, "(SELECT asset_seq AS s, -max(%s) AS r FROM asset_search, to_tsquery('stor', ?) tq WHERE %sdoc @@ tq GROUP BY asset_seq) t%d", pgRank, restrict, i)
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

// approximate lists the matches of terms in two tiers from cursor c:
// every term in a primary column (weights A, B) first, then the others,
// newest first within each.
func (s PostgresSearch) approximate(ctx context.Context, q Querier, c cursor, terms []string, limit int,
	newest func(cond string, cargs []any, seq int64, limit int) ([]*Asset, error)) (*Page, error) {
	page := &Page{Approximate: true}
	all, primary := docQuery(terms, ""), docQuery(terms, "AB")
	tiers := [3]struct {
		cond string
		args []any
	}{1: {docIn(false), []any{primary}}, 2: {docIn(true), []any{all, primary}}}
	seq := c.seq
	for tier := c.tier; tier <= 2 && len(page.Assets) < limit; tier++ {
		list, err := windows(ctx, q, tiers[tier].cond, tiers[tier].args, seq, limit-len(page.Assets), newest)
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
	many := false // the selection is larger than the sample
	if terms := queryTerms(f.Query); len(terms) > 0 {
		m, err := s.matches(ctx, q, terms, s.FacetSample)
		if err != nil {
			return nil, false, err
		}
		if len(m) <= s.FacetSample {
			where = "assets.seq = ANY(?::bigint[]) AND " + where
			args = append([]any{seqArray(m)}, args...)
		} else {
			// Many: the newest matches, from the GIN index window by
			// window until the sample is full.
			hi, sample := int64(0), m[:0]
			if err := q.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) + 1 FROM assets`).Scan(&hi); err != nil {
				return nil, false, fmt.Errorf("catalog: facets: %w", err)
			}
			for w := int64(firstWindow); hi > 0 && len(sample) <= s.FacetSample; w *= 4 {
				lo := max(hi-w, 0)
				rows, err := q.QueryContext(ctx, `SELECT seq FROM asset_doc WHERE doc @@ to_tsquery('stor', ?) AND seq >= ? AND seq < ?`,
					docQuery(terms, ""), lo, hi)
				if err != nil {
					return nil, false, fmt.Errorf("catalog: facets: %w", err)
				}
				for rows.Next() {
					var seq int64
					if err := rows.Scan(&seq); err != nil {
						rows.Close()
						return nil, false, fmt.Errorf("catalog: facets: %w", err)
					}
					sample = append(sample, seq)
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return nil, false, fmt.Errorf("catalog: facets: %w", err)
				}
				hi = lo
			}
			many = hi > 0 // some matches were not read
			where = "assets.seq = ANY(?::bigint[]) AND " + where
			args = append([]any{seqArray(sample)}, args...)
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT assets.kind, assets.format, assets.state, assets.project,
		(SELECT string_agg(tag::text, chr(31)) FROM asset_tags WHERE asset_id = assets.id)
		FROM assets WHERE `+where+` ORDER BY assets.seq DESC LIMIT ?`, append(args, s.FacetSample+1)...)
	if err != nil {
		return nil, false, fmt.Errorf("catalog: facets: %w", err)
	}
	approximate, err := countSample(rows, out, s.FacetSample)
	if err != nil {
		return nil, false, err
	}
	topTags(out)
	return out, approximate || many, nil
}
