//go:build integration

package integration

import (
	"database/sql"
	"testing"

	_ "github.com/lib/pq"
	"github.com/stretchr/testify/require"
)

// checkKV reads the plugin's KV row straight from the database, to prove the layout the
// original plugin used (its users' data keeps working).
func (w *world) checkKV(t *testing.T, key string, check func(value []byte)) {
	t.Helper()
	if w.e.dsn == "" {
		t.Fatal("MM_DSN is not set")
	}
	db, err := sql.Open("postgres", w.e.dsn)
	require.NoError(t, err)
	defer db.Close()
	var value []byte
	err = db.QueryRow(`SELECT pvalue FROM pluginkeyvaluestore WHERE pluginid = $1 AND pkey = $2`, w.e.pluginID, key).Scan(&value)
	require.NoError(t, err, "KV key %s", key)
	check(value)
}
