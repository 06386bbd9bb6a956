// Package pgtest gives tests the PostgreSQL server with pgvector that
// .ci/pgvector.sh starts, named by the DSN in the environment variable Env.
package pgtest

import (
	"os"
	"testing"
)

// Env names the environment variable holding the test server's DSN.
const Env = "RAGVSFT_PG_DSN"

// DSN returns the test server's DSN. Without one it skips the test, or, in
// CI (CI set and not "false"), fails it: a server that did not start must
// not pass as skipped tests.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(Env)
	if dsn == "" {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" {
			t.Fatalf("CI=%s but %s is not set: .ci/pgvector.sh should have started PostgreSQL", ci, Env)
		}
		t.Skipf("no PostgreSQL: set %s to a server with pgvector (source .ci/pgvector.sh starts one)", Env)
	}
	return dsn
}
