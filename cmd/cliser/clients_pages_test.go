package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
)

// A fleet larger than a page: `clients list` prints the first 100 and says
// on stderr how to get the next page or all; following the hint and --all
// each reach every record exactly once.
func TestCLIListPagesByDefault(t *testing.T) {
	cliEnv(t)
	s := startOpsServer(t, "")
	const fleet = 130
	for i := range fleet {
		opsConnect(t, s.srv.Addr(), opsPassword, fmt.Sprintf("pg-%03d", i))
	}

	out, stderr, err := runCLI(t, "clients", "list", "--admin", s.admin)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 1+defaultListLimit, "a header and one page")
	assert.True(t, strings.HasPrefix(lines[defaultListLimit], "pg-099 "), lines[defaultListLimit])
	hint := strings.TrimSpace(stderr)
	m := regexp.MustCompile(`^more clients: the next page is --cursor (\S+); --all lists every one$`).FindStringSubmatch(hint)
	require.NotNil(t, m, hint)
	cursor := m[1]

	out, stderr, err = runCLI(t, "clients", "list", "--admin", s.admin, "--cursor", cursor)
	require.NoError(t, err)
	rest := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, rest, 1+fleet-defaultListLimit)
	assert.True(t, strings.HasPrefix(rest[1], "pg-100 "), rest[1])
	assert.Empty(t, stderr, "the last page has no hint")

	out, stderr, err = runCLI(t, "clients", "list", "--admin", s.admin, "--all", "--page-size", "7", "-o", "json")
	require.NoError(t, err)
	all := decodeJSON[admin.ListResponse](t, out)
	require.Len(t, all.Clients, fleet)
	assert.Empty(t, all.Next)
	assert.Empty(t, stderr)
	for i, r := range all.Clients {
		assert.Equal(t, fmt.Sprintf("pg-%03d", i), r.CID)
	}

	out, _, err = runCLI(t, "clients", "list", "--admin", s.admin, "--limit", "10", "-o", "json")
	require.NoError(t, err)
	page := decodeJSON[admin.ListResponse](t, out)
	assert.Len(t, page.Clients, 10)
	assert.NotEmpty(t, page.Next, "-o json gives the cursor as next")
}
