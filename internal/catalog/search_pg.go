package catalog

import (
	"context"
	"fmt"
	"strings"
	"unicode"
)

// PostgresSearch searches the tsvector table asset_search of the
// PostgreSQL migration 0009 (GIN-indexed, kept in sync by triggers): one
// row per asset for its fields (page 0) and one per page of text, like
// SQLite's FTS5 table, so the semantics match: each term must match some
// row of the asset, the asset's score for a term is its best row's, and
// the terms' scores add up.
type PostgresSearch struct{}

var _ Searcher = PostgresSearch{}

// pgRank weighs the classes of migration 0009 ({D, C, B, A}) like
// SQLite's bm25 weights: title 10; filename, keywords, tags 6;
// description, creator 4; rights, camera, custom fields 2 (D on the
// fields row); extracted text 1 (D on page rows).
const pgRank = `ts_rank(CASE WHEN page = 0 THEN '{0.2, 0.4, 0.6, 1.0}'::float4[] ELSE '{0.1, 0.4, 0.6, 1.0}'::float4[] END, doc, tq)`

// tsQuery turns one term of queryTerms ("word", "a phrase", "pre"*) into
// to_tsquery's syntax: its words in sequence (<->), the last one a prefix
// when the term ends in *. Words are letters and digits only, so they
// need no quoting beyond the single quotes.
func tsQuery(term string) string {
	prefix := strings.HasSuffix(term, "*")
	term = strings.TrimSuffix(term, "*")
	term = strings.TrimSuffix(strings.TrimPrefix(term, `"`), `"`)
	term = strings.ReplaceAll(term, `""`, `"`)
	words := strings.FieldsFunc(term, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i, w := range words {
		words[i] = "'" + w + "'"
	}
	q := strings.Join(words, " <-> ")
	if prefix && q != "" {
		q += ":*"
	}
	return q
}

// pgFrom is the FROM clause: assets, joined to the assets matching every
// term (with a score, lower is better, when ranked).
func (f AssetFilter) pgFrom(ranked bool) (string, []any) {
	terms := queryTerms(f.Query)
	if len(terms) == 0 {
		return "assets", nil
	}
	var b strings.Builder
	args := make([]any, 0, len(terms))
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
		if ranked {
			fmt.Fprintf(&b, "(SELECT asset_seq AS s, -max(%s) AS r FROM asset_search, to_tsquery('stor', ?) tq WHERE doc @@ tq GROUP BY asset_seq) t%d", pgRank, i)
		} else {
			fmt.Fprintf(&b, "(SELECT DISTINCT asset_seq AS s, 0 AS r FROM asset_search WHERE doc @@ to_tsquery('stor', ?)) t%d", i)
		}
		if i > 0 {
			fmt.Fprintf(&b, " ON t%d.s = t0.s", i)
		}
		args = append(args, tsQuery(t))
	}
	b.WriteString(") m JOIN assets ON assets.seq = m.s")
	return b.String(), args
}

// Find implements Searcher.
func (PostgresSearch) Find(ctx context.Context, q Querier, f AssetFilter) ([]*Asset, error) {
	where, wargs, ok := f.where(true)
	if !ok {
		return nil, nil
	}
	from, args := f.pgFrom(f.Ranked())
	args = append(args, wargs...)
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 50
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

// Facets implements Searcher.
func (PostgresSearch) Facets(ctx context.Context, q Querier, f AssetFilter, fields []string) (map[string]map[string]int, error) {
	return facets(ctx, q, f, fields, true, f.pgFrom)
}
