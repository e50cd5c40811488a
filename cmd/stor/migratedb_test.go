package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/node/nodetest"
	"stor/internal/pgtest"
)

func waitReady(t *testing.T, n *nodetest.Node, id string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var a nodetest.Asset
		n.Get(t, "/api/v1/assets/"+id, n.Token, nil).JSON(t, &a)
		if a.State == "ready" {
			return
		}
		if a.State == "failed" || time.Now().After(deadline) {
			t.Fatalf("asset %s: %s", id, a.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func searchIDs(t *testing.T, n *nodetest.Node, q string) []string {
	t.Helper()
	var page struct{ Items []nodetest.Asset }
	n.Get(t, "/api/v1/assets?q="+q, n.Token, nil).JSON(t, &page)
	var ids []string
	for _, a := range page.Items {
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestMigrateDB moves a used SQLite catalog to PostgreSQL: every row
// arrives, the server runs on the copy (assets, bytes, search, tags,
// nested collections, new ingests), a second run is a verified no-op,
// and a target holding other data is refused.
func TestMigrateDB(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dsn := pgtest.URL(t)
	var ids []string
	var before []string
	t.Run("sqlite node", func(t *testing.T) {
		n := nodetest.Start(t, func(c *config.Config) { c.DataDir = dir })
		for i := range 3 {
			a := n.MustUpload(t, n.Token, fmt.Sprintf("harbour-%d.jpg", i), nodetest.JPEG(t, 40, 30, i))
			ids = append(ids, a.ID)
		}
		for _, id := range ids {
			waitReady(t, n, id)
		}
		if r := n.Do(t, "POST", "/api/v1/assets/"+ids[0]+"/tags", n.Token, strings.NewReader(`{"add":["Lighthouse"]}`),
			http.Header{"Content-Type": {"application/json"}}); r.Status != 200 {
			t.Fatalf("tag: %d %s", r.Status, r.Body)
		}
		parent := catalog.Collection{ID: "c-parent", Name: "Parent"}
		child := catalog.Collection{ID: "c-child", Name: "Child", ParentID: "c-parent"}
		for _, c := range []*catalog.Collection{&parent, &child} {
			if err := catalog.CreateCollection(ctx, n.DB.Writer(), c); err != nil {
				t.Fatal(err)
			}
		}
		before = searchIDs(t, n, "harbour")
		// Optional tasks may still run after an asset is ready: let the
		// queue drain, as docs/operations.md asks before migrate-db.
		deadline := time.Now().Add(90 * time.Second)
		for {
			var st struct{ Queued, Running int }
			n.Get(t, "/api/v1/processing", n.Token, nil).JSON(t, &st)
			if st.Queued == 0 && st.Running == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("queue not drained: %+v", st)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	// Refused while the server holds the data dir? (It stopped with the
	// subtest.) Now migrate.
	var out bytes.Buffer
	if err := (&migrateDBCmd{out: &out}).Run(ctx, []string{"--data-dir", dir, "--to", dsn}); err != nil {
		t.Fatalf("migrate-db: %v\n%s", err, out.String())
	}
	t.Logf("migrate-db:\n%s", out.String())
	if !strings.Contains(out.String(), "copied and verified") {
		t.Fatalf("no verification in the output:\n%s", out.String())
	}
	// Again: every table is already complete, nothing is written.
	out.Reset()
	if err := (&migrateDBCmd{out: &out}).Run(ctx, []string{"--data-dir", dir, "--to", dsn}); err != nil {
		t.Fatalf("second run: %v\n%s", err, out.String())
	}
	if strings.Count(out.String(), "(already copied)") < 8 {
		t.Fatalf("second run copied again:\n%s", out.String())
	}

	t.Run("postgres node", func(t *testing.T) {
		n := nodetest.Start(t, func(c *config.Config) { c.DataDir = dir; c.DatabaseURL = dsn })
		if got := searchIDs(t, n, "harbour"); !slices.Equal(got, before) || len(got) != 3 {
			t.Fatalf("search after the move: %v, before %v", got, before)
		}
		if got := searchIDs(t, n, "lighthouse"); !slices.Equal(got, []string{ids[0]}) {
			t.Fatalf("tag search after the move: %v", got)
		}
		for i, id := range ids {
			r := n.Get(t, "/api/v1/assets/"+id+"/original", n.Token, nil)
			if r.Status != 200 || !bytes.Equal(r.Body, nodetest.JPEG(t, 40, 30, i)) {
				t.Fatalf("original of %s: %d, %d bytes", id, r.Status, len(r.Body))
			}
		}
		c, err := catalog.GetCollection(ctx, n.DB.Reader(), "c-child")
		if err != nil || c.ParentID != "c-parent" {
			t.Fatalf("nested collection: %+v %v", c, err)
		}
		// New rows continue the copied sequences.
		a := n.MustUpload(t, n.Token, "after-move.jpg", nodetest.JPEG(t, 40, 30, 99))
		waitReady(t, n, a.ID)
		got, err := catalog.GetAsset(ctx, n.DB.Reader(), a.ID)
		if err != nil || got.Seq <= 3 {
			t.Fatalf("new asset seq %d (%v), want after the copied ones", got.Seq, err)
		}
	})

	// The target now holds rows the source does not: refused.
	out.Reset()
	err := (&migrateDBCmd{out: &out}).Run(ctx, []string{"--data-dir", dir, "--to", dsn})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("non-empty target: %v\n%s", err, out.String())
	}
}
