package api_test

import (
	"os"
	"testing"

	"stor/internal/pgtest"
)

// TestMain stops the PostgreSQL server that the tests on that backend
// started (nodetest.EachBackend, STOR_TEST_BACKEND=postgres).
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
