package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"stor/internal/pipeline"
)

// TestOpenAPICoversRoutes: every route the server has is documented with
// its method, and the document documents nothing the server lacks.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	routes := map[string]bool{}
	// Every optional part present, so that all of this package's routes show.
	full := &Server{Processing: (*pipeline.Pipeline)(nil), Metrics: http.NotFoundHandler()}
	for _, rt := range full.Routes() {
		op := strings.ToLower(rt.Method)
		routes[op+" "+rt.Pattern] = true
		if _, ok := doc.Paths[rt.Pattern][op]; !ok {
			t.Errorf("openapi.json lacks %s %s", rt.Method, rt.Pattern)
		}
	}
	for path, ops := range doc.Paths {
		for op := range ops {
			if op != "parameters" && !routes[op+" "+path] {
				t.Errorf("openapi.json documents %s %s, which the server does not route", op, path)
			}
		}
	}
}
