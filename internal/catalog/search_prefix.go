package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Long prefixes on SQLite (issue 6).
//
// FTS5 reads a prefix (word*) from a prefix index only when the prefix,
// as the tokenizer leaves it (case-folded, accents removed, porter
// stemmed), has 2, 3 or 4 characters (migration 0018's prefix = '2 3 4').
// A longer one merges, in full and before the first row, the doclists of
// every indexed term it starts; newest first (rowid DESC) that merge is
// ~20× slower still. A prefix of a frequent word took seconds at a
// million assets.
//
// expandPrefixes rewrites such a prefix into the OR of the terms it
// starts, listed from the fts5vocab table asset_fts_vocab (migration
// 0019): FTS5 streams an OR of terms by rowid like one term, so newest
// first stops at the page. The expansion matches exactly the assets the
// prefix does, given that FTS5 stems the words of a query too:
//   - the prefix is stemmed as FTS5 stems it, by the same tokenizer in a
//     private in-memory SQLite database (ftsTokenizer);
//   - each term is written as a query word FTS5 stems back to that term:
//     the term itself when stemming leaves it unchanged, else the word an
//     indexed asset has at the term's first position (read from the
//     row's stored column and tokenized without stemming), checked;
//   - a prefix that starts more than MaxPrefixTerms terms, or a term for
//     which no such word is found, keeps the plain prefix.
//
// Listing a prefix's terms costs a seek per term (~0.5 ms), except that
// seeking past a frequent term walks that term's doclist pages (FTS5 has
// term keys only on pages where a term starts): 10–30 ms for the
// commonest words at a million assets, still far less than merging them.

// MaxPrefixTerms is the most terms a long prefix is expanded into; a
// prefix starting more is searched as a plain FTS5 prefix.
const MaxPrefixTerms = 64

// ftsPrefixLens are the prefix lengths (in characters, after stemming)
// that asset_fts has a prefix index for (migration 0018).
var ftsPrefixLens = [...]int{2, 3, 4}

// ftsTokenize is asset_fts's tokenizer (migrations 0012 and 0018).
const ftsTokenize = `porter unicode61 remove_diacritics 2`

// vocabRun: after this many instances of one term in a row the term
// listing seeks past the term instead of reading its instances.
const vocabRun = 8

// ftsToken is one token of a text as FTS5 indexes it.
type ftsToken struct {
	word string // case-folded, accents removed (unicode61)
	term string // word as indexed: porter-stemmed
}

// ftsTokenizer tokenizes text with asset_fts's tokenizer, in an
// in-memory database of its own: the catalog's read connections are
// query_only (not even TEMP tables), and the writer is for writes.
type ftsTokenizer struct {
	mu    sync.Mutex
	db    *sql.DB
	cache map[string][]ftsToken // of short texts (a pure function)
}

// tokenCache: how many short texts (up to tokenCacheLen bytes) the
// tokenizer remembers; the cache is emptied when full.
const (
	tokenCache    = 4096
	tokenCacheLen = 64
)

// tokenizer is the process's ftsTokenizer, opened on first use.
var tokenizer = sync.OnceValues(func() (*ftsTokenizer, error) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		return nil, fmt.Errorf("catalog: tokenizer: %w", err)
	}
	// One connection, kept: an in-memory database lives as long as it.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	return &ftsTokenizer{db: db, cache: map[string][]ftsToken{}}, nil
})

// tokenizerTables are the tokenizer's tables, created before each use
// if missing (a connection database/sql replaced starts empty).
const tokenizerTables = `CREATE VIRTUAL TABLE IF NOT EXISTS stemmed USING fts5 (t, tokenize = '` + ftsTokenize + `');
	CREATE VIRTUAL TABLE IF NOT EXISTS stemmed_v USING fts5vocab (stemmed, instance);
	CREATE VIRTUAL TABLE IF NOT EXISTS words USING fts5 (t, tokenize = 'unicode61 remove_diacritics 2');
	CREATE VIRTUAL TABLE IF NOT EXISTS words_v USING fts5vocab (words, instance);`

// tokens splits each of texts into its tokens, in order.
func (t *ftsTokenizer) tokens(ctx context.Context, texts []string) ([][]ftsToken, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([][]ftsToken, len(texts))
	var todo []int
	for i, s := range texts {
		if toks, ok := t.cache[s]; ok {
			out[i] = toks
		} else {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return out, nil
	}
	miss := make([]string, len(todo))
	for j, i := range todo {
		miss[j] = texts[i]
	}
	got, err := t.tokenize(ctx, miss)
	if err != nil {
		return nil, err
	}
	if len(t.cache)+len(todo) > tokenCache {
		clear(t.cache)
	}
	for j, i := range todo {
		out[i] = got[j]
		if len(texts[i]) <= tokenCacheLen {
			t.cache[texts[i]] = got[j]
		}
	}
	return out, nil
}

// tokenize is tokens in the database (t.mu held).
func (t *ftsTokenizer) tokenize(ctx context.Context, texts []string) ([][]ftsToken, error) {
	if _, err := t.db.ExecContext(ctx, tokenizerTables); err != nil {
		return nil, fmt.Errorf("catalog: tokenize: %w", err)
	}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("catalog: tokenize: %w", err)
	}
	defer tx.Rollback() // nothing is kept
	for i, s := range texts {
		for _, table := range []string{"stemmed", "words"} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (rowid, t) VALUES (?, ?)`, i+1, s); err != nil {
				return nil, fmt.Errorf("catalog: tokenize: %w", err)
			}
		}
	}
	out := make([][]ftsToken, len(texts))
	for _, table := range []string{"stemmed_v", "words_v"} {
		rows, err := tx.QueryContext(ctx, `SELECT doc, offset, term FROM `+table)
		if err != nil {
			return nil, fmt.Errorf("catalog: tokenize: %w", err)
		}
		for rows.Next() {
			var doc, off int
			var term string
			if err := rows.Scan(&doc, &off, &term); err != nil {
				rows.Close()
				return nil, fmt.Errorf("catalog: tokenize: %w", err)
			}
			if doc < 1 || doc > len(texts) || off < 0 || off > 1<<20 {
				rows.Close()
				return nil, fmt.Errorf("catalog: tokenize: token %d:%d out of range", doc, off)
			}
			toks := out[doc-1]
			for len(toks) <= off {
				toks = append(toks, ftsToken{})
			}
			if table == "stemmed_v" {
				toks[off].term = term
			} else {
				toks[off].word = term
			}
			out[doc-1] = toks
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("catalog: tokenize: %w", err)
		}
	}
	return out, nil
}

// expandPrefixes returns terms (of queryTerms) with each prefix term
// that FTS5 would merge (no prefix index for its stemmed length) written
// as the OR of the terms it starts, when there are at most
// MaxPrefixTerms of them. The result matches the same assets.
func expandPrefixes(ctx context.Context, q Querier, terms []string) ([]string, error) {
	var out []string
	for i, term := range terms {
		if !strings.HasSuffix(term, "*") {
			continue
		}
		x, err := expandPrefix(ctx, q, term)
		if err != nil {
			return nil, err
		}
		if x != term {
			if out == nil {
				out = append([]string(nil), terms...)
			}
			out[i] = x
		}
	}
	if out == nil {
		return terms, nil
	}
	return out, nil
}

// vocabTerm is a term of asset_fts and its first instance.
type vocabTerm struct {
	term, col string
	doc       int64
	offset    int
}

// expandPrefix is expandPrefixes for one term, `"text"*`.
func expandPrefix(ctx context.Context, q Querier, term string) (string, error) {
	text := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(term, `"`), `"*`), `""`, `"`)
	// Stemming never lengthens a word: a last word of at most 4 letters
	// (as queryTerms counts them) is read from a prefix index, or is 1
	// letter (merged, as before), without asking the tokenizer.
	last := text
	if i := strings.LastIndexFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }); i >= 0 {
		_, w := utf8.DecodeRuneInString(text[i:])
		last = text[i+w:]
	}
	if utf8.RuneCountInString(last) <= ftsPrefixLens[len(ftsPrefixLens)-1] {
		return term, nil
	}
	tok, err := tokenizer()
	if err != nil {
		return "", err
	}
	toks, err := tok.tokens(ctx, []string{text})
	if err != nil {
		return "", err
	}
	phrase := toks[0]
	if len(phrase) == 0 {
		return term, nil
	}
	for _, t := range phrase {
		if t.word == "" || t.term == "" {
			return term, nil // not one token per position: leave it to FTS5
		}
	}
	prefix := phrase[len(phrase)-1].term
	for _, n := range ftsPrefixLens {
		if utf8.RuneCountInString(prefix) == n {
			return term, nil // read from a prefix index
		}
	}
	found, err := prefixTerms(ctx, q, prefix, MaxPrefixTerms)
	if err != nil || len(found) == 0 || len(found) > MaxPrefixTerms {
		// None: the prefix merges nothing. Too many: as before.
		return term, err
	}
	words, ok, err := queryWords(ctx, q, tok, found)
	if err != nil || !ok {
		return term, err
	}
	var lead strings.Builder
	for _, t := range phrase[:len(phrase)-1] {
		lead.WriteString(t.word)
		lead.WriteByte(' ')
	}
	alts := make([]string, len(words))
	for i, w := range words {
		alts[i] = `"` + lead.String() + w + `"`
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return "(" + strings.Join(alts, " OR ") + ")", nil
}

// prefixTerms lists the terms of asset_fts that start with prefix, each
// with its first instance, up to max+1 of them: instance by instance,
// seeking past a term with more than vocabRun instances.
func prefixTerms(ctx context.Context, q Querier, prefix string, max int) ([]vocabTerm, error) {
	// Terms compare as bytes; UTF-8 has no byte 0xff, so every term
	// starting with prefix sorts below prefix + 0xff.
	upper := prefix + "\xff"
	var out []vocabTerm
	from := prefix
	for {
		rows, err := q.QueryContext(ctx, `SELECT term, doc, col, offset FROM asset_fts_vocab WHERE term >= ? AND term < ?`, from, upper)
		if err != nil {
			return nil, fmt.Errorf("catalog: prefix terms: %w", err)
		}
		seek, run := false, 0
		for rows.Next() {
			var v vocabTerm
			if err := rows.Scan(&v.term, &v.doc, &v.col, &v.offset); err != nil {
				rows.Close()
				return nil, fmt.Errorf("catalog: prefix terms: %w", err)
			}
			if !strings.HasPrefix(v.term, prefix) {
				continue
			}
			if len(out) > 0 && out[len(out)-1].term == v.term {
				if run++; run >= vocabRun {
					seek = true
					break
				}
				continue
			}
			out, run = append(out, v), 1
			if len(out) > max {
				break
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("catalog: prefix terms: %w", err)
		}
		if !seek || len(out) > max {
			return out, nil
		}
		// The next term: fts5vocab seeks to a lower bound (>=) but reads
		// through a strict one (>) instance by instance. Terms hold no
		// control characters (unicode61 separates words at them), so the
		// next term after t is at least t + "\x01".
		from = out[len(out)-1].term + "\x01"
	}
}

// queryWords finds for each term a word that FTS5 tokenizes into
// exactly that term: the term itself when stemming leaves it as it is,
// else the word at the term's first instance. ok is false when a term
// has none.
func queryWords(ctx context.Context, q Querier, tok *ftsTokenizer, terms []vocabTerm) ([]string, bool, error) {
	texts := make([]string, len(terms))
	for i, t := range terms {
		texts[i] = t.term
	}
	toks, err := tok.tokens(ctx, texts)
	if err != nil {
		return nil, false, err
	}
	words := make([]string, len(terms))
	var redo []int
	for i, t := range terms {
		if len(toks[i]) == 1 && toks[i][0].term == t.term {
			words[i] = t.term
		} else {
			redo = append(redo, i)
		}
	}
	if len(redo) == 0 {
		return words, true, nil
	}
	// Stemming changes these terms: read the word each was indexed from.
	var texts2, cands []string
	for _, i := range redo {
		t := terms[i]
		if !ftsColumn[t.col] {
			return nil, false, nil
		}
		var s sql.NullString
		err := q.QueryRowContext(ctx, `SELECT `+t.col+` FROM asset_fts WHERE rowid = ?`, t.doc).Scan(&s)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, nil // deleted since
		} else if err != nil {
			return nil, false, fmt.Errorf("catalog: prefix terms: %w", err)
		}
		texts2 = append(texts2, s.String)
	}
	colToks, err := tok.tokens(ctx, texts2)
	if err != nil {
		return nil, false, err
	}
	for j, i := range redo {
		off := terms[i].offset
		if off >= len(colToks[j]) || colToks[j][off].term != terms[i].term || colToks[j][off].word == "" {
			return nil, false, nil
		}
		cands = append(cands, colToks[j][off].word)
	}
	// Check: each word, as a query word, is its term.
	check, err := tok.tokens(ctx, cands)
	if err != nil {
		return nil, false, err
	}
	for j, i := range redo {
		if len(check[j]) != 1 || check[j][0].term != terms[i].term {
			return nil, false, nil
		}
		words[i] = cands[j]
	}
	return words, true, nil
}

// ftsColumn: the columns of asset_fts.
var ftsColumn = map[string]bool{
	"filename": true, "title": true, "description": true, "creator": true,
	"keywords": true, "tags": true, "other": true, "body": true,
}
