package catalog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestExpandPrefixes: a long prefix expanded into the OR of its terms
// (expandPrefixes) matches exactly the rows the plain FTS5 prefix does,
// ascending and newest first, on a catalog of many words sharing
// prefixes: stemming edge cases, terms that stemming changes again,
// accents, phrases ending in a prefix, a prefix of more than
// MaxPrefixTerms terms (and one of more than 1,000), terms with long runs
// of instances (the listing seeks past them), deleted rows.
func TestExpandPrefixes(t *testing.T) {
	ctx := context.Background()
	db, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "cat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	words := strings.Fields(`running runner runs run runnings runnel rung
		happiness happy happily happier happiest happen happens happening
		cats cat caress caresses catalog catalogue catalogues cataloguing category categories
		generalization generalizations general generate generated generator generous
		national nationalism nationality relational relate conditional condition conditioned
		agreed agree agreement feed feeding hopping hoping hoped filing filling
		probate probable probably rate rating rational rationale
		electrical electricity electric electrician formalize formality formaliti
		sensitivity sensitive sensible sensibility adjustable adjustment adjusting
		lighthouse lighthouses lightning lighting lightly
		Ångström angstrom Ångströms café cafés cafeteria caféteria naïve naively naïveté
		Über über uber überall résumé resume resumés résumés straße strasse Straßenbahn
		Œuvre oeuvre ØRESUND øresundsbron Ελληνικά ελληνικός Москва московский
		naı̈ve cafe\u0301 CAFÉ 東京タワー 東京駅 ｆｕｌｌｗｉｄｔｈ`)
	// A family of more than 1,000 terms under one prefix, and one of
	// about 40 (expanded: at most MaxPrefixTerms).
	for i := range 1200 {
		words = append(words, fmt.Sprintf("zyxwvu%04d", i))
	}
	for i := range 40 {
		words = append(words, fmt.Sprintf("quokka%c%c", 'a'+i%26, 'a'+i/26))
	}
	// The tokenizer is asset_fts's.
	var def string
	if err := db.Reader().QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'asset_fts'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "tokenize = '"+ftsTokenize+"'") || !strings.Contains(def, "prefix = '2 3 4'") {
		t.Fatalf("asset_fts is %s: ftsTokenize and ftsPrefixLens must match it", def)
	}
	r := rand.New(rand.NewPCG(6, 19))
	w := db.Writer()
	const docs = 3000
	// Every word at least once (rows 1..len(words)).
	for id := 1; id <= docs; id++ {
		pick := func(k int) string {
			var b []string
			for range k {
				// Skewed: some words in hundreds of rows (long instance
				// runs), most in few.
				i := int(float64(len(words)) * r.Float64() * r.Float64() * r.Float64())
				b = append(b, words[i])
			}
			return strings.Join(b, " ")
		}
		body := pick(r.IntN(8))
		if id <= len(words) {
			body += " " + words[id-1]
		}
		if _, err := w.ExecContext(ctx, `INSERT INTO asset_fts (rowid, title, description, body) VALUES (?, ?, ?, ?)`,
			id, pick(1+r.IntN(3)), pick(r.IntN(5)), body); err != nil {
			t.Fatal(err)
		}
	}
	// Deleted rows (FTS5 keeps their terms until segments merge).
	if _, err := w.ExecContext(ctx, `DELETE FROM asset_fts WHERE rowid % 7 = 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `INSERT INTO asset_fts (rowid, title) VALUES (?, 'zyxwvuonlydeleted runnymede lighthousekeeping')`, docs+1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `DELETE FROM asset_fts WHERE rowid = ?`, docs+1); err != nil {
		t.Fatal(err)
	}
	// Phrases to end in a prefix.
	for i, phrase := range []string{"zebra lighthouse", "happy running", "cats categories", "overall Überall strasse",
		"national relational rationale", "naïve café"} {
		if _, err := w.ExecContext(ctx, `INSERT INTO asset_fts (rowid, title) VALUES (?, ?)`, docs+10+i, phrase); err != nil {
			t.Fatal(err)
		}
	}

	match := func(expr, order string) []int64 {
		t.Helper()
		rows, err := db.Reader().QueryContext(ctx, `SELECT rowid FROM asset_fts WHERE asset_fts MATCH ? ORDER BY rowid `+order, expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		defer rows.Close()
		out := []int64{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			out = append(out, id)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	expanded, viaWord := 0, 0 // viaWord: expansions writing a word for a term stemming changes
	for _, q := range []string{
		"running*", "runni*", "runner*", "runnel*", "runnym*", "happi*", "happin*", "happiness*", "happe*",
		"cats*", "caress*", "catalo*", "catalogu*", "catego*", "categories*", "genera*", "generali*",
		"nation*", "nationa*", "relati*", "conditi*", "agree*", "agreed*", "feedi*", "hoppi*", "filin*",
		"probab*", "ration*", "electri*", "formal*", "formali*", "sensit*", "sensib*", "adjust*",
		"lighth*", "lightn*", `"zebra lighth"*`, "zebra-lighth*", `"happy running"*`, "overall-überal*", "relational-ration*", "naïve-caf*", "lighthouse lighth*", `"happy runni"*`, `"cats catego"*`,
		"ångst*", "angst*", "ÅNGSTR*", "cafet*", "caféte*", "naive*", "naïve*", "naïvet*", "über*", "uberal*",
		"résum*", "resume*", "straß*", "strass*", "straßen*", "œuvre*", "oeuvr*", "øresu*", "oresu*",
		"ελληνι*", "москов*", "東京タ*", "ｆｕｌｌｗ*", "fullw*",
		"zyxwvu*", "zyxwvu0*", "zyxwvu01*", "zyxwvu011*", "zyxwvuo*", "quokka*", "quokkab*", "zzzzzz*",
		"runni* happi*", "catalo* -x", "quokka* zyxwvu01*",
	} {
		terms := queryTerms(q)
		x, err := expandPrefixes(ctx, db.Reader(), terms)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if !slices.Equal(x, terms) {
			expanded++
			if j := strings.Join(x, " "); strings.Contains(j, `"lighthouse"`) || strings.Contains(j, `"rationale"`) {
				viaWord++
			}
		}
		for _, order := range []string{"ASC", "DESC"} {
			want, got := match(matchExpr(terms), order), match(matchExpr(x), order)
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: expanded %s: %d rows, plain prefix %d rows", q, order, matchExpr(x), len(got), len(want))
			}
		}
		if testing.Verbose() {
			t.Logf("%-22s %d rows  %.120s", q, len(match(matchExpr(terms), "ASC")), matchExpr(x))
		}
	}
	if expanded < 20 || viaWord < 2 {
		t.Errorf("only %d queries expanded, %d through a word", expanded, viaWord)
	}

	// Terms that stemming changes again are written as a word that
	// stems to them (read from the row), not as the term.
	tok, err := tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, word := range words {
		tt, err := tok.tokens(ctx, []string{word})
		if err != nil {
			t.Fatal(err)
		}
		term := tt[0][0].term
		again, err := tok.tokens(ctx, []string{term})
		if err != nil {
			t.Fatal(err)
		}
		if len(again[0]) != 1 || again[0][0].term != term {
			changed = append(changed, word+"→"+term)
		}
	}
	if len(changed) == 0 {
		t.Fatal("no term in the corpus that stemming changes again: the word path is not tested")
	}
	t.Logf("terms stemming changes again: %v", changed)
}
