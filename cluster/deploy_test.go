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

// The Kubernetes example is not applied in tests (no cluster here): its
// StatefulSet must give each pod its name as node id and join NATS, and
// kustomize must build it when kubectl is on PATH.
func TestClusterK8sIsConsistent(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "cluster-k8s", "statefulset.yaml"))
	require.NoError(t, err)
	var sts struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Replicas int `yaml:"replicas"`
			Template struct {
				Spec struct {
					Containers []struct {
						Env []struct {
							Name      string `yaml:"name"`
							Value     string `yaml:"value"`
							ValueFrom struct {
								FieldRef struct {
									FieldPath string `yaml:"fieldPath"`
								} `yaml:"fieldRef"`
							} `yaml:"valueFrom"`
						} `yaml:"env"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &sts))
	assert.Equal(t, "StatefulSet", sts.Kind)
	assert.Equal(t, 3, sts.Spec.Replicas)
	require.Len(t, sts.Spec.Template.Spec.Containers, 1)
	env := map[string]string{}
	for _, e := range sts.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
		if e.ValueFrom.FieldRef.FieldPath != "" {
			env[e.Name] = "fieldRef:" + e.ValueFrom.FieldRef.FieldPath
		}
	}
	assert.Equal(t, "fieldRef:metadata.name", env["CLISER_NODE_ID"])
	assert.True(t, strings.HasPrefix(env["CLISER_CLUSTER"], "nats://"), env["CLISER_CLUSTER"])
	assert.Equal(t, "3", env["CLISER_CLUSTER_REPLICAS"])
	_, hasDataDir := env["CLISER_DATA_DIR"]
	assert.False(t, hasDataDir, "cluster mode keeps no records in /data")

	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("kubectl not on PATH: the kustomize build is skipped")
		return
	}
	out, err := exec.Command(kubectl, "kustomize", filepath.Join("..", "deploy", "cluster-k8s")).CombinedOutput()
	require.NoError(t, err, "kubectl kustomize: %s", out)
	for _, kind := range []string{"kind: StatefulSet", "kind: Secret", "name: cliser-admin", "name: cliser-nodes"} {
		assert.Contains(t, string(out), kind)
	}
}
