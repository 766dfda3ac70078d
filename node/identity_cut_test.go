package node_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/protocol"
)

// identity.db cut under the running server (truncate, `> identity.db`, a
// copy over it that went wrong): bbolt reads its pages through a memory
// map, and the next write read a page past the file's end, a SIGBUS no
// recover catches; the process died, and every client with it. Now the
// write is refused, the server serves on, enforcing the credentials it
// holds in memory, and /readyz says why.
func TestIdentityFileCutUnderTheServerIsRefusedNotACrash(t *testing.T) {
	dir := t.TempDir()
	n := nodetest.Start(t, node.WithDataDir(dir))
	api, err := admin.NewClient("http://"+n.AdminAddr(), "", 5*time.Second)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cred, err := api.CreateCredential(ctx, "cut-1", "")
	require.NoError(t, err)
	live := testkit.Dial(t, n.Addr())
	live.Send("110 " + cred.Secret + "\n120 cut-1\n")
	live.Expect("110 password")
	live.Expect("120 id")
	require.True(t, strings.HasPrefix(live.ReadLine(), "140 "))

	require.NoError(t, os.Truncate(filepath.Join(dir, "identity.db"), 0))
	_, err = api.CreateCredential(ctx, "cut-2", "")
	require.Error(t, err, "a write to the cut file")
	assert.Contains(t, err.Error(), "cut while cliser ran")

	rec, err := api.Get(ctx, "cut-1")
	require.NoError(t, err)
	assert.True(t, rec.CStatus, "the live session stays")
	for _, tc := range []struct{ pw, want string }{
		{cred.Secret, "140 "},
		{nodetest.Password, "190 " + protocol.ReasonAuthFailed.String()},
	} {
		c := testkit.Dial(t, n.Addr())
		c.Send("110 " + tc.pw + "\n120 cut-1\n")
		c.Expect("110 password")
		c.Expect("120 id")
		assert.True(t, strings.HasPrefix(c.ReadLine(), tc.want), "the credential is still enforced from memory")
	}

	resp, err := http.Get("http://" + n.AdminAddr() + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	var ready map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&ready))
	assert.Contains(t, ready["identity"], "cut while cliser ran", "/readyz says it")
}
