package api

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/logging"
)

type tagChange struct {
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
}

// tagAsset changes one asset's tags in tx and records a "tagged" event
// when something changed.
func tagAsset(ctx context.Context, tx *sql.Tx, id string, c tagChange, actor string) (bool, error) {
	added, removed, err := catalog.ChangeTags(ctx, tx, id, c.Add, c.Remove)
	if err != nil || len(added)+len(removed) == 0 {
		return false, err
	}
	detail, err := json.Marshal(map[string][]string{"added": append([]string{}, added...), "removed": append([]string{}, removed...)})
	if err != nil {
		return false, fmt.Errorf("api: tag event: %w", err)
	}
	return true, catalog.AddEvent(ctx, tx, catalog.Event{AssetID: id, Type: "tagged", Actor: actor,
		TxID: logging.TxID(ctx), Detail: string(detail)})
}

// postAssetTags: POST /api/v1/assets/{id}/tags {"add": [...], "remove": [...]}.
func (s *Server) postAssetTags(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	var c tagChange
	if err := readJSON(w, r, &c); err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tagAsset(ctx, tx, a.ID, c, p.Actor())
		return err
	}); err != nil {
		return err
	}
	if a, err = catalog.GetAsset(ctx, s.DB.Writer(), a.ID); err != nil {
		return err
	}
	v, err := s.oneView(ctx, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// postTags: POST /api/v1/tags {"ids": [...] | "query": {search params},
// "add": [...], "remove": [...]} changes the tags of many assets.
func (s *Server) postTags(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		tagChange
		IDs   []string          `json:"ids"`
		Query map[string]string `json:"query"`
	}
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if (req.IDs == nil) == (req.Query == nil) {
		return badRequest("invalid", "give either ids or query")
	}
	ctx := r.Context()
	matched, changed := 0, 0
	apply := func(ids []string) error {
		return s.DB.InTx(ctx, func(tx *sql.Tx) error {
			for _, id := range ids {
				ok, err := tagAsset(ctx, tx, id, req.tagChange, p.Actor())
				if err != nil {
					return err
				}
				if ok {
					changed++
				}
			}
			return nil
		})
	}
	if req.IDs != nil {
		var ids []string
		for _, id := range req.IDs {
			a, err := catalog.GetAsset(ctx, s.DB.Reader(), id)
			if err != nil || !p.SeesProject(a.Project) || a.State == catalog.StateDeleted {
				return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such asset: " + id}
			}
			ids = append(ids, a.ID)
		}
		matched = len(ids)
		if err := apply(ids); err != nil {
			return err
		}
	} else {
		vals := url.Values{}
		for k, v := range req.Query {
			vals.Set(k, v)
		}
		f := searchFilter(vals, p)
		f.Newest, f.Limit = true, 500
		// Collect first: tagging changes what a query on tags matches.
		var ids []string
		for {
			list, err := s.DB.Search().Find(ctx, s.DB.Reader(), f)
			if err != nil {
				return err
			}
			for _, a := range list {
				ids = append(ids, a.ID)
			}
			if len(list) < f.Limit {
				break
			}
			f.Before = list[len(list)-1].Seq
		}
		matched = len(ids)
		for start := 0; start < len(ids); start += 500 {
			if err := apply(ids[start:min(len(ids), start+500)]); err != nil {
				return err
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]int{"matched": matched, "changed": changed})
	return nil
}
