package api_test

import (
	"net/http"
	"slices"
	"testing"

	"stor/internal/config"
	"stor/internal/node/nodetest"
)

type collection struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	ParentID    *string `json:"parent_id"`
	MemberCount int     `json:"member_count"`
}

// TestCollections: create, rename, nest (no cycles), order members, an
// asset in several, the collection filter, delete.
func TestCollections(t *testing.T) { nodetest.EachBackend(t, testCollections) }

func testCollections(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	a := n.MustUpload(t, n.Token, "a.jpg", nodetest.JPEG(t, 8, 8, 1))
	b := n.MustUpload(t, n.Token, "b.png", nodetest.PNG(t, 8, 8, 2))
	c := n.MustUpload(t, n.Token, "c.png", nodetest.PNG(t, 8, 8, 3))
	create := func(body string) collection {
		t.Helper()
		r := doJSON(t, n, "POST", "/api/v1/collections", n.Token, body)
		if r.Status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", body, r.Status, r.Body)
		}
		var col collection
		r.JSON(t, &col)
		return col
	}
	top := create(`{"name": "Harbour"}`)
	sub := create(`{"name": "Boats", "parent_id": "` + top.ID + `"}`)
	if sub.ParentID == nil || *sub.ParentID != top.ID {
		t.Errorf("nested: %+v", sub)
	}
	if r := doJSON(t, n, "POST", "/api/v1/collections", n.Token, `{"name": ""}`); r.Status != http.StatusBadRequest {
		t.Errorf("no name: %d", r.Status)
	}
	// Members in the order given; an asset in two collections.
	r := doJSON(t, n, "PUT", "/api/v1/collections/"+top.ID+"/members", n.Token, `{"ids": ["`+c.ID+`", "`+a.ID+`", "`+b.ID+`"]}`)
	if r.Status != http.StatusOK {
		t.Fatalf("members: %d %s", r.Status, r.Body)
	}
	var members searchList
	r.JSON(t, &members)
	if !slices.Equal(members.ids(), []string{c.ID, a.ID, b.ID}) {
		t.Errorf("order: %v", members.ids())
	}
	doJSON(t, n, "PUT", "/api/v1/collections/"+sub.ID+"/members", n.Token, `{"ids": ["`+a.ID+`"]}`)
	r = doJSON(t, n, "PUT", "/api/v1/collections/"+top.ID+"/members", n.Token, `{"ids": ["`+b.ID+`", "`+c.ID+`", "`+a.ID+`"]}`)
	r.JSON(t, &members)
	if !slices.Equal(members.ids(), []string{b.ID, c.ID, a.ID}) {
		t.Errorf("reordered: %v", members.ids())
	}
	if r := doJSON(t, n, "PUT", "/api/v1/collections/"+top.ID+"/members", n.Token, `{"ids": ["nope"]}`); r.Status != http.StatusBadRequest {
		t.Errorf("unknown member: %d", r.Status)
	}
	if got := search(t, n, n.Token, "collection="+sub.ID).ids(); !slices.Equal(got, []string{a.ID}) {
		t.Errorf("collection filter: %v", got)
	}
	// Rename; a cycle is refused; move to the top.
	r = doJSON(t, n, "PATCH", "/api/v1/collections/"+sub.ID, n.Token, `{"name": "Ships"}`)
	var got collection
	r.JSON(t, &got)
	if r.Status != http.StatusOK || got.Name != "Ships" || got.MemberCount != 1 {
		t.Errorf("rename: %d %s", r.Status, r.Body)
	}
	if r := doJSON(t, n, "PATCH", "/api/v1/collections/"+top.ID, n.Token, `{"parent_id": "`+sub.ID+`"}`); r.Status != http.StatusBadRequest {
		t.Errorf("cycle: %d %s", r.Status, r.Body)
	}
	var list struct{ Items []collection }
	n.Get(t, "/api/v1/collections?parent_id="+top.ID, n.Token, nil).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != sub.ID {
		t.Errorf("children: %+v", list.Items)
	}
	if r := doJSON(t, n, "PATCH", "/api/v1/collections/"+sub.ID, n.Token, `{"parent_id": null}`); r.Status != http.StatusOK {
		t.Errorf("move to top: %d", r.Status)
	}
	n.Get(t, "/api/v1/collections", n.Token, nil).JSON(t, &list)
	if len(list.Items) != 2 {
		t.Errorf("top level: %+v", list.Items)
	}
	// Another project's token sees neither a default-project collection's
	// members nor can add its assets.
	other := n.NewToken(t, []string{"read", "write"}, "elsewhere")
	own := doJSON(t, n, "POST", "/api/v1/collections", other, `{"name": "Mine"}`)
	var mine collection
	own.JSON(t, &mine)
	if r := doJSON(t, n, "PUT", "/api/v1/collections/"+mine.ID+"/members", other, `{"ids": ["`+a.ID+`"]}`); r.Status != http.StatusBadRequest {
		t.Errorf("foreign asset: %d", r.Status)
	}
	if r := n.Get(t, "/api/v1/collections/"+mine.ID, n.Token, nil); r.Status != http.StatusOK {
		t.Errorf("admin sees it: %d", r.Status)
	}
	// Delete: members stay assets, children move to the top.
	if r := n.Do(t, "DELETE", "/api/v1/collections/"+top.ID, n.Token, nil, nil); r.Status != http.StatusNoContent {
		t.Errorf("delete: %d", r.Status)
	}
	if r := n.Get(t, "/api/v1/collections/"+top.ID, n.Token, nil); r.Status != http.StatusNotFound {
		t.Errorf("deleted: %d", r.Status)
	}
	if r := n.Get(t, "/api/v1/assets/"+a.ID, n.Token, nil); r.Status != http.StatusOK {
		t.Errorf("member asset: %d", r.Status)
	}
}
