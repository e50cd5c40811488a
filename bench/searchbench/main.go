// Command searchbench measures search and filtered listing on a catalog
// of synthetic assets (issue 6), not in CI:
//
//	go run ./bench/searchbench [-backend sqlite|postgres] [-n 1000000] [-runs 300] [-peer 100]
//
// It fills a catalog (SQLite, or PostgreSQL 15 started on loopback in a
// kept data directory, or -dsn) with n assets of realistic shape:
// Zipf-distributed words in titles, descriptions and keywords, creators,
// cameras, capture dates, kinds and formats, projects, tags on a third,
// and a text page on one in twenty (~120 words). The filled catalog is
// kept, keyed by backend and n, and reused by the next run. Then it
// times, through the backend's catalog.Searcher (FindPage, FacetCounts),
// each query shape -runs times with random words and prints wall
// p50/p95/p99/max, CPU p50/p99 (the querying thread, plus the PostgreSQL
// backend process), the share of approximate answers, and the index
// size; and, as the peer, plain full-text queries on the same data (the
// sqlite3 CLI with FTS5, or textbook tsvector queries in PostgreSQL).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"stor/internal/catalog"
	"stor/internal/proc"
)

func main() {
	n := flag.Int("n", 1_000_000, "assets")
	runs := flag.Int("runs", 300, "runs per query shape")
	backend := flag.String("backend", "sqlite", "catalog backend: sqlite or postgres")
	dir := flag.String("dir", "", "where the filled catalog is kept between runs (default ${XDG_CACHE_HOME:-~/.cache}/stor/searchbench/BACKEND-nN; /var/tmp/stor/... for PostgreSQL as root)")
	dbPath := flag.String("db", "", "SQLite catalog file (default DIR/catalog.db)")
	dsn := flag.String("dsn", "", "postgres:// URL of an existing database to fill and measure instead of starting PostgreSQL in DIR")
	reuse := flag.Bool("reuse", true, "reuse the catalog in DIR (an interrupted fill continues); false starts afresh")
	timeout := flag.Duration("timeout", 5*time.Second, "a query running longer is stopped (and printed; counted at its time)")
	optimize := flag.Bool("optimize", false, "after a fill: merge the FTS5 index and ANALYZE (SQLite; the server does neither); PostgreSQL always gets VACUUM ANALYZE after its bulk load (what autovacuum does after one)")
	peer := flag.Int("peer", 100, "queries per shape of the peer: the sqlite3 CLI with plain FTS5, or plain tsvector queries in PostgreSQL (0: none)")
	only := flag.String("only", "", "run only the query shapes whose name contains this")
	slow := flag.Duration("slow", 0, "print each query whose CPU time exceeds this (0: none), to find a shape's tail")
	query := flag.String("query", "", "add a shape: this query, ranked (and its facets), to look at one query's times (with -only query:)")
	repeat := flag.Int("repeat", 0, "with -slow: run each slow query this many times more and print their times")
	flag.Parse()
	ctx := context.Background()
	if *dir == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		if *backend == "postgres" && os.Geteuid() == 0 {
			// The server runs as the postgres user, who cannot enter
			// root's home.
			cache = "/var/tmp"
		}
		*dir = filepath.Join(cache, "stor", "searchbench", fmt.Sprintf("%s-n%d", *backend, *n))
	}
	if *dbPath == "" {
		*dbPath = filepath.Join(*dir, "catalog.db")
	}
	fmt.Printf("searchbench: backend %s, %d assets, catalog in %s\n", *backend, *n, *dir)
	var db *catalog.DB
	var err error
	switch *backend {
	case "sqlite":
		if !*reuse {
			os.RemoveAll(filepath.Dir(*dbPath))
		}
		os.MkdirAll(filepath.Dir(*dbPath), 0o755)
		// Opening runs the pending migrations: on a catalog filled by an
		// older stor this is the upgrade's cost at start (0018 rebuilds
		// the FTS5 index).
		t := time.Now()
		db, err = catalog.OpenSQLite(ctx, *dbPath)
		fmt.Printf("opened (pending migrations included) in %s\n", time.Since(t).Round(time.Millisecond))
	case "postgres":
		if *dsn == "" {
			if !*reuse {
				os.RemoveAll(*dir)
			}
			srv, err := startPG(ctx, *dir)
			if err != nil {
				log.Fatal(err)
			}
			defer srv.stop()
			*dsn = srv.dsn
		}
		// Opening runs the pending migrations (their cost at an upgrade).
		t := time.Now()
		db, err = catalog.OpenPostgres(ctx, *dsn)
		fmt.Printf("opened (pending migrations included) in %s\n", time.Since(t).Round(time.Millisecond))
	default:
		log.Fatalf("-backend %q: sqlite or postgres", *backend)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	pg := *backend == "postgres"
	vocab := makeVocab(rand.New(rand.NewPCG(1, 2)), 20000)
	var have int
	db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM assets`).Scan(&have)
	// A resumed fill (-reuse) draws new assets, not the first ones again.
	r := rand.New(rand.NewPCG(1, 3+uint64(have)))
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1))
	word := func() string { return vocab[zipf.Uint64()] }
	words := func(k int) string {
		ws := make([]string, k)
		for i := range ws {
			ws[i] = word()
		}
		return strings.Join(ws, " ")
	}
	if have < *n || (pg && !pgIndexed(ctx, db)) {
		start := time.Now()
		if pg {
			// Bulk load: the search index is built afterwards in one pass
			// (as the migrations do for an existing catalogue), not by the
			// per-row triggers.
			if err := pgTriggers(ctx, db, false); err != nil {
				log.Fatal(err)
			}
		}
		if err := fill(ctx, db, r, *n-have, have, word, words); err != nil {
			log.Fatal(err)
		}
		how := "indexing by trigger included"
		if pg {
			if err := pgBuildIndex(ctx, db); err != nil {
				log.Fatal(err)
			}
			how = "the search index built in bulk after the load"
		}
		el := time.Since(start)
		fmt.Printf("filled %d assets in %s (%.0f/s, %s)\n", *n-have, el.Round(time.Second), float64(*n-have)/el.Seconds(), how)
		if *optimize {
			// SQLite: merge the FTS5 index into one segment and gather
			// planner statistics; PostgreSQL: VACUUM ANALYZE (merges the
			// GIN pending lists, sets the visibility map). What a quiet
			// night's maintenance would leave; autovacuum does the
			// PostgreSQL part by itself.
			t := time.Now()
			stmts := []string{`INSERT INTO asset_fts(asset_fts) VALUES('optimize')`, `ANALYZE`}
			if pg {
				stmts = nil
			}
			for _, st := range stmts {
				if _, err := db.Writer().ExecContext(ctx, st); err != nil {
					log.Fatal(err)
				}
			}
			fmt.Printf("optimize: %s\n", time.Since(t).Round(time.Second))
		}
	}
	if pg {
		pgSize(ctx, db)
	} else {
		size(ctx, db, *dbPath)
	}
	// One connection, so that its PostgreSQL backend's CPU time can be
	// read around each query.
	db.Reader().SetMaxOpenConns(1)
	db.Reader().SetMaxIdleConns(1)

	// Measure a warm server: the catalog in memory, as it is on a server
	// that has been answering for a while (PostgreSQL: pg_prewarm into
	// shared buffers, by the measured connection: a backend's first touch
	// of each shared buffer page is a page fault, ~50,000 for a query of
	// 1,000 matches in a fresh backend, as in a server's pooled
	// connections after a while; SQLite: the file read into the page
	// cache).
	t0 := time.Now()
	if pg {
		if err := pgPrewarm(ctx, db); err != nil {
			log.Fatal(err)
		}
	} else if f, err := os.Open(*dbPath); err == nil {
		io.Copy(io.Discard, f)
		f.Close()
	}
	fmt.Printf("warmed in %s\n", time.Since(t0).Round(time.Second))
	backendPID := 0
	if pg {
		if err := db.Reader().QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&backendPID); err != nil {
			log.Fatal(err)
		}
	}
	timed := func(f func()) (wall, cpu time.Duration) {
		c0 := procCPU(backendPID)
		wall, cpu = timedThread(f)
		if pg {
			cpu += procCPU(backendPID) - c0
		}
		return wall, cpu
	}

	s := db.Search().(interface {
		catalog.Pager
		catalog.FacetCounter
	})
	var q catalog.Querier = db.Reader()
	tr := &tracer{db: db.Reader(), pid: backendPID}
	if *slow > 0 {
		q = tr
	}
	rare := func() string { return vocab[1000+r.IntN(len(vocab)-1000)] }
	common := func() string { return vocab[r.IntN(50)] }
	type shape struct {
		name   string
		f      func() catalog.AssetFilter
		facets bool // time FacetCounts (all fields) instead of FindPage
		page2  bool // time the second page (the first page's cursor)
	}
	shapes := []shape{
		{name: "newest 50 (no filter)", f: func() catalog.AssetFilter { return catalog.AssetFilter{Limit: 50} }},
		{name: "newest 50, page 2 (cursor)", page2: true, f: func() catalog.AssetFilter { return catalog.AssetFilter{Limit: 50} }},
		{name: "filtered listing: kind+project, newest 50", f: func() catalog.AssetFilter {
			return catalog.AssetFilter{Kind: kinds[r.IntN(len(kinds))].kind, Project: projects[r.IntN(len(projects))], Limit: 50}
		}},
		{name: "filtered listing: tag, newest 50", f: func() catalog.AssetFilter {
			return catalog.AssetFilter{Tags: []string{tags[r.IntN(len(tags))]}, Limit: 50}
		}},
		{name: "filtered listing: capture range + camera", f: func() catalog.AssetFilter {
			y := 2005 + r.IntN(20)
			return catalog.AssetFilter{CapturedAfter: fmt.Sprintf("%d-01-01", y), CapturedBefore: fmt.Sprintf("%d-07-01", y),
				Camera: cameras[r.IntN(len(cameras))][0], Limit: 50}
		}},
		{name: "search: 1 rare word, ranked 50", f: func() catalog.AssetFilter { return catalog.AssetFilter{Query: rare(), Limit: 50} }},
		{name: "search: 1 Zipf word, ranked 50", f: func() catalog.AssetFilter { return catalog.AssetFilter{Query: word(), Limit: 50} }},
		{name: "search: 1 Zipf word, ranked 50, page 2", page2: true, f: func() catalog.AssetFilter { return catalog.AssetFilter{Query: word(), Limit: 50} }},
		{name: "search: 2 Zipf words, ranked 50", f: func() catalog.AssetFilter {
			return catalog.AssetFilter{Query: word() + " " + word(), Limit: 50}
		}},
		{name: "search: 1 common word (top 50), ranked 50", f: func() catalog.AssetFilter { return catalog.AssetFilter{Query: common(), Limit: 50} }},
		{name: "search: Zipf word + kind + project, ranked 50", f: func() catalog.AssetFilter {
			return catalog.AssetFilter{Query: word(), Kind: "image", Project: projects[r.IntN(len(projects))], Limit: 50}
		}},
		{name: "search: Zipf word, newest 50", f: func() catalog.AssetFilter { return catalog.AssetFilter{Query: word(), Newest: true, Limit: 50} }},
		{name: "search: 2 Zipf words, newest 50", f: func() catalog.AssetFilter {
			return catalog.AssetFilter{Query: word() + " " + word(), Newest: true, Limit: 50}
		}},
		{name: "search: prefix, 3 letters of a Zipf word*, ranked 50", f: func() catalog.AssetFilter {
			return catalog.AssetFilter{Query: word()[:3] + "*", Limit: 50}
		}},
		{name: "search: prefix, 5 letters of a rare word*, ranked 50", f: func() catalog.AssetFilter {
			w := rare()
			return catalog.AssetFilter{Query: w[:min(5, len(w))] + "*", Limit: 50}
		}},
		{name: "search: prefix, 3 letters*, newest 50", f: func() catalog.AssetFilter {
			return catalog.AssetFilter{Query: word()[:3] + "*", Newest: true, Limit: 50}
		}},
		{name: "search: prefix, 4 letters of a Zipf word*, ranked 50", f: func() catalog.AssetFilter {
			return catalog.AssetFilter{Query: word()[:4] + "*", Limit: 50}
		}},
		{name: "search: prefix, 4 letters*, newest 50", f: func() catalog.AssetFilter {
			return catalog.AssetFilter{Query: word()[:4] + "*", Newest: true, Limit: 50}
		}},
		{name: "search: prefix, 6 letters of a Zipf word*, newest 50", f: func() catalog.AssetFilter {
			w := word()
			return catalog.AssetFilter{Query: w[:min(6, len(w))] + "*", Newest: true, Limit: 50}
		}},
		{name: "search: prefix, 6 letters of a Zipf word*, ranked 50", f: func() catalog.AssetFilter {
			w := word()
			return catalog.AssetFilter{Query: w[:min(6, len(w))] + "*", Limit: 50}
		}},
		{name: "search: prefix, 2 letters*, newest 50", f: func() catalog.AssetFilter {
			return catalog.AssetFilter{Query: word()[:2] + "*", Newest: true, Limit: 50}
		}},
		{name: "facets (5 fields), no filter", facets: true, f: func() catalog.AssetFilter { return catalog.AssetFilter{} }},
		{name: "facets (5 fields), kind+project", facets: true, f: func() catalog.AssetFilter {
			return catalog.AssetFilter{Kind: kinds[r.IntN(len(kinds))].kind, Project: projects[r.IntN(len(projects))]}
		}},
		{name: "facets (5 fields), tag filter", facets: true, f: func() catalog.AssetFilter {
			return catalog.AssetFilter{Tags: []string{tags[r.IntN(len(tags))]}}
		}},
		{name: "facets (5 fields), Zipf word search", facets: true, f: func() catalog.AssetFilter { return catalog.AssetFilter{Query: word()} }},
		{name: "facets (5 fields), rare word search", facets: true, f: func() catalog.AssetFilter { return catalog.AssetFilter{Query: rare()} }},
	}
	if *query != "" {
		shapes = append(shapes,
			shape{name: "query: " + *query, f: func() catalog.AssetFilter { return catalog.AssetFilter{Query: *query, Limit: 50} }},
			shape{name: "query: " + *query + " (facets)", facets: true, f: func() catalog.AssetFilter { return catalog.AssetFilter{Query: *query} }})
	}
	fmt.Printf("\nload: %s\n", loadavg())
	fmt.Printf("\nwall time and CPU time (the querying thread's RUSAGE_THREAD, plus the PostgreSQL backend's), %d runs per shape; approx = share of runs\n", *runs)
	fmt.Printf("with an approximate order (ranked) or approximate counts (facets)\n\n")
	fmt.Printf("%-44s %9s %9s %9s %9s | %9s %9s | %6s\n", "query", "p50", "p95", "p99", "max", "cpu p50", "cpu p99", "approx")
	for _, sh := range shapes {
		if *only != "" && !strings.Contains(sh.name, *only) {
			continue
		}
		var ds, cs []time.Duration
		approx := 0
		for range *runs {
			f := sh.f()
			if sh.page2 {
				p, err := s.FindPage(ctx, q, f)
				if err != nil {
					log.Fatal(err)
				}
				if p.Next == "" {
					continue
				}
				f.Cursor = p.Next
			}
			// run is one query of the shape, with the timeout; a timeout is
			// printed and counted at its time, another error is fatal.
			run := func() (ap bool) {
				qctx, cancel := context.WithTimeout(ctx, *timeout)
				defer cancel()
				var err error
				if sh.facets {
					_, ap, err = s.FacetCounts(qctx, q, f, catalog.FacetFields)
				} else {
					var p *catalog.Page
					p, err = s.FindPage(qctx, q, f)
					ap = err == nil && p.Approximate
				}
				if err != nil && qctx.Err() != nil {
					fmt.Printf("  timed out after %s: %+v\n", *timeout, f)
					return false
				}
				if err != nil {
					log.Fatal(err)
				}
				return ap
			}
			var ap bool
			tr.reset()
			d, c := timed(func() { ap = run() })
			ds, cs = append(ds, d), append(cs, c)
			if *slow > 0 && c > *slow {
				fmt.Printf("  slow: cpu %s wall %s: %+v\n", c.Round(100*time.Microsecond), d.Round(100*time.Microsecond), f)
				tr.print(time.Now())
				// The same query again: is the tail the query's or the run's?
				for range *repeat {
					d, c := timed(func() { run() })
					fmt.Printf("    again: cpu %s wall %s\n", c.Round(100*time.Microsecond), d.Round(100*time.Microsecond))
				}
			}
			if ap {
				approx++
			}
		}
		report(sh.name, ds, cs, approx)
	}
	if *peer > 0 && pg {
		pgPeerRun(ctx, db, *peer, word, timed)
	} else if *peer > 0 {
		peerRun(ctx, *dbPath, *peer, word)
	}
	// Ratios against the peer (same run, same data).
	fmt.Println()
	for _, pr := range [][2]string{
		{"search: 1 Zipf word, ranked 50", "1 Zipf word, bm25 ORDER BY rank LIMIT 50"},
		{"search: 1 Zipf word, ranked 50", "1 Zipf word, ORDER BY ts_rank LIMIT 50"},
		{"search: Zipf word, newest 50", "1 Zipf word, ORDER BY rowid DESC LIMIT 50"},
		{"search: Zipf word, newest 50", "1 Zipf word, ORDER BY seq DESC LIMIT 50"},
		{"search: prefix, 6 letters of a Zipf word*, newest 50", "6 letters*, ORDER BY rowid DESC LIMIT 50"},
	} {
		ours, ok1 := results[pr[0]]
		var peer [2]time.Duration
		ok2 := false
		for name, v := range results {
			if strings.HasPrefix(name, "peer") && strings.HasSuffix(name, pr[1]) {
				peer, ok2 = v, true
			}
		}
		if ok1 && ok2 && ours[0] > 0 && ours[1] > 0 {
			fmt.Printf("ratio peer/stor %-32s vs peer %-44s wall p99 %5.1fx, CPU p99 %5.1fx\n", pr[0], pr[1],
				float64(peer[0])/float64(ours[0]), float64(peer[1])/float64(ours[1]))
		}
	}
	fmt.Printf("\nload: %s\n", loadavg())
}

// timedThread runs f on a locked OS thread and returns its wall and
// thread CPU time (the machine is shared: CPU time shows the query's own
// cost; on PostgreSQL the backend's CPU time is added).
func timedThread(f func()) (wall, cpu time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var a, b syscall.Rusage
	syscall.Getrusage(rusageThread, &a)
	t := time.Now()
	f()
	wall = time.Since(t)
	syscall.Getrusage(rusageThread, &b)
	us := func(r syscall.Rusage) int64 {
		return r.Utime.Sec*1e6 + int64(r.Utime.Usec) + r.Stime.Sec*1e6 + int64(r.Stime.Usec)
	}
	return wall, time.Duration(us(b)-us(a)) * time.Microsecond
}

const rusageThread = 1 // RUSAGE_THREAD (Linux)

func pct(ds []time.Duration, f float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(f*float64(len(ds))))]
}

// results holds each reported row's wall p99 and CPU p99, by name.
var results = map[string][2]time.Duration{}

func report(name string, ds, cs []time.Duration, approx int) {
	if len(ds) > 0 {
		defer func() { results[name] = [2]time.Duration{pct(ds, 0.99), pct(cs, 0.99)} }()
	}
	if len(ds) == 0 {
		fmt.Printf("%-44s (no runs)\n", name)
		return
	}
	slices.Sort(ds)
	slices.Sort(cs)
	fmt.Printf("%-44s %9s %9s %9s %9s | %9s %9s | %5.0f%%\n", name, ms(pct(ds, 0.50)), ms(pct(ds, 0.95)), ms(pct(ds, 0.99)),
		ms(ds[len(ds)-1]), ms(pct(cs, 0.50)), ms(pct(cs, 0.99)), 100*float64(approx)/float64(len(ds)))
}

// peerRun times plain FTS5 queries of the same kind in the sqlite3 CLI
// (C SQLite) on the same database: exact bm25 (ORDER BY rank LIMIT 50,
// every match scored) and newest first (ORDER BY rowid DESC LIMIT 50),
// n Zipf words each, wall time as the CLI's .timer reports it.
func peerRun(ctx context.Context, dbPath string, n int, word func() string) {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		fmt.Printf("\npeer: sqlite3 CLI not installed (%v)\n", err)
		return
	}
	for _, c := range []struct{ name, sql string }{
		{"peer sqlite3 CLI: 1 Zipf word, bm25 ORDER BY rank LIMIT 50", "SELECT rowid FROM asset_fts WHERE asset_fts MATCH '%s' ORDER BY rank LIMIT 50;"},
		{"peer sqlite3 CLI: 1 Zipf word, ORDER BY rowid DESC LIMIT 50", "SELECT rowid FROM asset_fts WHERE asset_fts MATCH '%s' ORDER BY rowid DESC LIMIT 50;"},
		// The plain FTS5 prefix our expansion replaces (a prefix longer
		// than the prefix indexes: every term's doclist merged).
		{"peer sqlite3 CLI: 6 letters*, ORDER BY rowid DESC LIMIT 50", "SELECT rowid FROM asset_fts WHERE asset_fts MATCH '%s' ORDER BY rowid DESC LIMIT 50;"},
	} {
		var script strings.Builder
		script.WriteString(".timer on\n.output /dev/null\n")
		for range n {
			w := `"` + word() + `"`
			if strings.HasPrefix(c.name, "peer sqlite3 CLI: 6 letters") {
				w = w[:min(7, len(w)-1)] + `"*`
			}
			fmt.Fprintf(&script, c.sql+"\n", w)
		}
		cmd := proc.Command(ctx, "sqlite3", "-readonly", dbPath)
		cmd.Stdin = strings.NewReader(script.String())
		out, err := cmd.CombinedOutput()
		if err != nil {
			fmt.Printf("%s: %v: %s\n", c.name, err, out)
			continue
		}
		var ds, cs []time.Duration
		for _, line := range strings.Split(string(out), "\n") {
			var real, user, sys float64
			if _, err := fmt.Sscanf(line, "Run Time: real %f user %f sys %f", &real, &user, &sys); err == nil {
				ds = append(ds, time.Duration(real*float64(time.Second)))
				cs = append(cs, time.Duration((user+sys)*float64(time.Second)))
			}
		}
		report(c.name, ds, cs, 0)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func size(ctx context.Context, db *catalog.DB, path string) {
	var fts, all int64
	err := db.Reader().QueryRowContext(ctx, `SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'asset_fts%'`).Scan(&fts)
	db.Reader().QueryRowContext(ctx, `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&all)
	if err != nil {
		fmt.Printf("database %.0f MiB (dbstat unavailable: %v)\n", float64(all)/(1<<20), err)
		return
	}
	fmt.Printf("database %.0f MiB, of which the FTS5 index %.0f MiB\n", float64(all)/(1<<20), float64(fts)/(1<<20))
}

var (
	kinds = []struct{ kind, format, ct string }{
		{"image", "jpg", "image/jpeg"}, {"image", "jpg", "image/jpeg"}, {"image", "jpg", "image/jpeg"},
		{"image", "tif", "image/tiff"}, {"image", "png", "image/png"}, {"raw", "cr2", "image/x-canon-cr2"},
		{"document", "pdf", "application/pdf"}, {"video", "mp4", "video/mp4"}, {"audio", "wav", "audio/wav"},
	}
	projects = []string{"default", "museum", "archive", "press", "library", "web", "science", "events"}
	tags     = []string{"harbour", "portrait", "landscape", "review", "published", "restricted", "conservation",
		"exhibition-2024", "donated", "needs-caption", "highlights", "duplicate"}
	cameras = [][2]string{{"Canon", "Canon EOS 5D Mark IV"}, {"Canon", "Canon EOS R5"}, {"NIKON CORPORATION", "NIKON D850"},
		{"SONY", "ILCE-7RM3"}, {"FUJIFILM", "X-T4"}, {"Apple", "iPhone 13 Pro"}, {"Phase One", "IQ4 150MP"}}
	creators = []string{"Ada Lovelace", "Mary Anning", "Eadweard Muybridge", "Julia Margaret Cameron", "Studio Archive",
		"Anonymous", "Photographic Unit", "J. Smith", "K. Tanaka", "M. Okafor"}
)

// makeVocab builds pronounceable pseudo-words.
func makeVocab(r *rand.Rand, n int) []string {
	cons, vow := "bcdfghklmnprstvwz", "aeiou"
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		var b strings.Builder
		for range 2 + r.IntN(3) {
			b.WriteByte(cons[r.IntN(len(cons))])
			b.WriteByte(vow[r.IntN(len(vow))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

func fill(ctx context.Context, db *catalog.DB, r *rand.Rand, n, offset int, word func() string, words func(int) string) error {
	const batch = 5000
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for done := 0; done < n; done += batch {
		// Multi-row INSERTs of up to 400 assets (a round trip per
		// statement: a loaded machine makes round trips slow).
		var assets, tagRows [][]any
		type text struct {
			id   string
			page catalog.TextPage
		}
		var texts []text
		for i := done; i < min(n, done+batch); i++ {
			seq := offset + i
			id := fmt.Sprintf("%08x-0000-7000-8000-%012x", seq, seq)
			k := kinds[r.IntN(len(kinds))]
			cam := cameras[r.IntN(len(cameras))]
			kw, _ := json.Marshal(strings.Fields(words(1 + r.IntN(5))))
			var desc any
			if r.IntN(2) == 0 {
				desc = words(8 + r.IntN(25))
			}
			created := base.Add(time.Duration(seq) * time.Second)
			capture := time.Date(2005+r.IntN(20), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), 0, 0, time.UTC)
			filename := fmt.Sprintf("%s_%05d_%s.%s", strings.ToUpper(word()[:3]), r.IntN(100000), word(), k.format)
			assets = append(assets, []any{id, filename, 1 + r.IntN(50<<20), "md5", fmt.Sprintf("%064x", seq), "blobs/" + id,
				k.ct, k.kind, k.format, catalog.StateReady, projects[r.IntN(len(projects))], "tx",
				created.UnixMicro(), created.UnixMicro(), words(2 + r.IntN(5)), desc, creators[r.IntN(len(creators))],
				"http://rightsstatements.org/vocab/InC/1.0/", string(kw), capture.Format("2006-01-02T15:04:05"), cam[0], cam[1]})
			if r.IntN(3) == 0 {
				seen := map[string]bool{}
				for range 1 + r.IntN(3) {
					if t := tags[r.IntN(len(tags))]; !seen[t] {
						seen[t] = true
						tagRows = append(tagRows, []any{id, t})
					}
				}
			}
			if r.IntN(20) == 0 {
				texts = append(texts, text{id, catalog.TextPage{Page: 1, Source: catalog.TextOCR, Text: words(80 + r.IntN(80))}})
			}
		}
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if err := insertRows(ctx, tx, `INSERT INTO assets (id, filename, size, md5, sha256, blob_key, content_type,
				kind, format, state, project, txid, created_at, updated_at, title, description, creator, rights, keywords,
				capture_date, camera_make, camera_model) VALUES `, "", assets, 400); err != nil {
				return err
			}
			if err := insertRows(ctx, tx, `INSERT INTO asset_tags (asset_id, tag) VALUES `, " ON CONFLICT DO NOTHING", tagRows, 1000); err != nil {
				return err
			}
			for _, t := range texts {
				if err := catalog.ReplaceText(ctx, tx, t.id, []catalog.TextPage{t.page}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if (done/batch)%10 == 0 {
			fmt.Fprintf(os.Stderr, "\r%d/%d", done+batch, n)
		}
	}
	fmt.Fprintln(os.Stderr)
	return nil
}

// insertRows inserts rows with one statement per chunk of them.
func insertRows(ctx context.Context, tx *sql.Tx, insert, tail string, rows [][]any, chunk int) error {
	for len(rows) > 0 {
		part := rows[:min(chunk, len(rows))]
		rows = rows[len(part):]
		var b strings.Builder
		b.WriteString(insert)
		var args []any
		for i, row := range part {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?" + strings.Repeat(",?", len(row)-1) + ")")
			args = append(args, row...)
		}
		b.WriteString(tail)
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("fill: %w", err)
		}
	}
	return nil
}
