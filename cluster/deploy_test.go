package cluster_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The compose example is not brought up in tests (no container runtime
// here); this checks that its parts agree with each other and that
// HAProxy accepts its configuration.
func TestClusterComposeIsConsistent(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "cluster-compose.yaml"))
	require.NoError(t, err)
	var doc struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))

	var natsServers, nodes, ids []string
	for name, svc := range doc.Services {
		switch {
		case strings.HasPrefix(name, "nats-"):
			natsServers = append(natsServers, name)
		case strings.HasPrefix(name, "cliser-"):
			nodes = append(nodes, name)
			ids = append(ids, svc.Environment["CLISER_NODE_ID"])
			assert.Equal(t, "nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222", svc.Environment["CLISER_CLUSTER"], name)
			assert.Equal(t, "3", svc.Environment["CLISER_CLUSTER_REPLICAS"], name)
		}
	}
	sort.Strings(natsServers)
	sort.Strings(nodes)
	sort.Strings(ids)
	assert.Equal(t, []string{"nats-1", "nats-2", "nats-3"}, natsServers)
	assert.Equal(t, []string{"cliser-1", "cliser-2", "cliser-3"}, nodes)
	assert.Equal(t, nodes, ids, "node ids are fixed and unique")

	cfgPath := filepath.Join("..", "deploy", "cluster-haproxy.cfg")
	cfg, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	backends := regexp.MustCompile(`(?m)^\s*server \S+ (\S+):7070 `).FindAllStringSubmatch(string(cfg), -1)
	var targets []string
	for _, m := range backends {
		targets = append(targets, m[1])
	}
	sort.Strings(targets)
	assert.Equal(t, nodes, targets, "HAProxy balances over every node")

	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Log("haproxy not on PATH: its configuration check is skipped")
		return
	}
	// The node names resolve only inside compose.
	local := regexp.MustCompile(`cliser-[0-9]:7070`).ReplaceAllString(string(cfg), "127.0.0.1:7070")
	tmp := filepath.Join(t.TempDir(), "haproxy.cfg")
	require.NoError(t, os.WriteFile(tmp, []byte(local), 0o600))
	out, err := exec.Command(haproxy, "-c", "-f", tmp).CombinedOutput()
	require.NoError(t, err, "haproxy -c: %s", out)
}
