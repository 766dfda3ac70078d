package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// No Docker engine or cluster runs the tests, so these check what can be
// checked without one: the deploy files agree with the binary (every
// CLISER_ variable is a real setting) and with each other (probes, ports,
// secret keys, volume names), and the image is built the way the docs say.

const repoRoot = "../.."

func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	require.NoError(t, err)
	return string(b)
}

// knownEnv is every CLISER_ variable the binary reads: each flag of each
// subcommand, plus the environment-only secrets and the CLI's address.
func knownEnv() map[string]bool {
	known := map[string]bool{"CLISER_PASSWORD": true, "CLISER_ADMIN_TOKEN": true, "CLISER_ADMIN": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { known[envName(f.Name)] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	return known
}

var envRef = regexp.MustCompile(`CLISER_[A-Z0-9_]+`)

func TestDeployFilesUseOnlyRealSettings(t *testing.T) {
	known := knownEnv()
	files := []string{"Dockerfile", "deploy/compose.yaml"}
	k8s, err := filepath.Glob(filepath.Join(repoRoot, "deploy/k8s/*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, k8s)
	for _, f := range k8s {
		rel, _ := filepath.Rel(repoRoot, f)
		files = append(files, rel)
	}
	for _, f := range files {
		for _, name := range envRef.FindAllString(readRepoFile(t, f), -1) {
			assert.True(t, known[name], "%s uses %s, which no cliser command reads", f, name)
		}
	}
}

func TestDockerfile(t *testing.T) {
	df := readRepoFile(t, "Dockerfile")
	var stages []string
	for _, line := range strings.Split(df, "\n") {
		if strings.HasPrefix(line, "FROM ") {
			stages = append(stages, line)
		}
	}
	require.Len(t, stages, 2, "multi-stage: build, then runtime")
	final := stages[len(stages)-1]
	assert.True(t, strings.Contains(final, "distroless/static") || strings.Contains(final, "scratch"), final)

	user := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindStringSubmatch(df)
	require.NotNil(t, user, "a USER line")
	assert.NotContains(t, []string{"root", "0", "0:0"}, user[1])
	assert.Contains(t, df, "CGO_ENABLED=0", "a static binary")
	assert.Regexp(t, `(?m)^\s*CMD \["/cliser", "health"\]`, df, "HEALTHCHECK in exec form: there is no shell")
	assert.Regexp(t, `(?m)^ENTRYPOINT \["/cliser"\]`, df)
	assert.Regexp(t, `(?m)^CMD \["serve"\]`, df)
	for _, kv := range []string{"CLISER_LISTEN=:7070", "CLISER_ADMIN_LISTEN=:7071", "CLISER_DATA_DIR=/data"} {
		assert.Contains(t, df, kv)
	}

	// The builder's Go is the module's.
	goLine := regexp.MustCompile(`(?m)^go (\S+)`).FindStringSubmatch(readRepoFile(t, "go.mod"))
	require.NotNil(t, goLine)
	assert.Contains(t, df, "ARG GO_VERSION="+goLine[1])
}

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Secrets     []string          `yaml:"secrets"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		Healthcheck map[string]any    `yaml:"healthcheck"`
	} `yaml:"services"`
	Secrets map[string]map[string]string `yaml:"secrets"`
	Volumes map[string]any               `yaml:"volumes"`
}

func TestComposeOneServerThreeAgents(t *testing.T) {
	var c composeFile
	require.NoError(t, yaml.Unmarshal([]byte(readRepoFile(t, "deploy/compose.yaml")), &c))
	server, ok := c.Services["server"]
	require.True(t, ok)
	assert.Contains(t, server.Ports, "7070:7070")
	assert.Contains(t, server.Ports, "127.0.0.1:7071:7071", "the admin API only on the host's loopback")
	assert.Contains(t, server.Volumes, "cliser-data:/data")
	assert.Contains(t, c.Volumes, "cliser-data")

	agents := 0
	for name, s := range c.Services {
		_, plain := s.Environment["CLISER_PASSWORD"]
		assert.False(t, plain, "%s: the password comes from a secret, not the environment", name)
		if pf, ok := s.Environment["CLISER_PASSWORD_FILE"]; ok {
			secret := strings.TrimPrefix(pf, "/run/secrets/")
			assert.Contains(t, s.Secrets, secret, name)
			assert.Contains(t, c.Secrets, secret, name)
		}
		if name == "server" {
			continue
		}
		agents++
		assert.Equal(t, []string{"agent"}, s.Command, name)
		assert.Equal(t, "server:7070", s.Environment["CLISER_SERVER"], name)
		assert.Equal(t, name, s.Environment["CLISER_ID"], name)
		assert.Equal(t, server.Image, s.Image, name)
		assert.Equal(t, true, s.Healthcheck["disable"], "%s: the image's server probe does not apply to an agent", name)
	}
	assert.Equal(t, 3, agents)
}

// k8sObject is the part of a manifest the checks read.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Selector yaml.Node `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				TerminationGracePeriodSeconds int         `yaml:"terminationGracePeriodSeconds"`
				Containers                    []container `yaml:"containers"`
				Volumes                       []struct {
					Name string `yaml:"name"`
					PVC  struct {
						ClaimName string `yaml:"claimName"`
					} `yaml:"persistentVolumeClaim"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type container struct {
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom struct {
			SecretKeyRef struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	LivenessProbe  probe `yaml:"livenessProbe"`
	ReadinessProbe probe `yaml:"readinessProbe"`
	VolumeMounts   []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

func loadK8s(t *testing.T) map[string]k8sObject {
	t.Helper()
	var kust struct {
		Resources []string `yaml:"resources"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(readRepoFile(t, "deploy/k8s/kustomization.yaml")), &kust))
	objs := map[string]k8sObject{}
	for _, res := range kust.Resources {
		dec := yaml.NewDecoder(bytes.NewReader([]byte(readRepoFile(t, "deploy/k8s/"+res))))
		for {
			var o k8sObject
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, res)
			objs[o.Kind+"/"+o.Metadata.Name] = o
		}
	}
	return objs
}

func TestKubernetesManifestsAgree(t *testing.T) {
	objs := loadK8s(t)
	dep, ok := objs["Deployment/cliser"]
	require.True(t, ok, "a Deployment named cliser")
	pod := dep.Spec.Template.Spec
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]

	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if ref := e.ValueFrom.SecretKeyRef; ref.Name != "" {
			secret, ok := objs["Secret/"+ref.Name]
			require.True(t, ok, "secret %s", ref.Name)
			assert.Contains(t, secret.StringData, ref.Key, "%s refers to a key the Secret has", e.Name)
		}
	}
	_, hasPassword := env["CLISER_PASSWORD"]
	assert.True(t, hasPassword, "the password from the Secret")
	assert.Equal(t, ":7070", env["CLISER_LISTEN"])
	assert.Equal(t, 7070, ports["protocol"])
	assert.Equal(t, ":7071", env["CLISER_ADMIN_LISTEN"])
	assert.Equal(t, 7071, ports["admin"], "the probes' port is the admin listener")

	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	assert.Equal(t, "admin", c.LivenessProbe.HTTPGet.Port)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	assert.Equal(t, "admin", c.ReadinessProbe.HTTPGet.Port)

	shutdown, err := time.ParseDuration(env["CLISER_SHUTDOWN_TIMEOUT"])
	require.NoError(t, err)
	assert.Greater(t, time.Duration(pod.TerminationGracePeriodSeconds)*time.Second, shutdown,
		"the kubelet waits longer than the drain may take")

	require.Len(t, c.VolumeMounts, 1)
	assert.Equal(t, env["CLISER_DATA_DIR"], c.VolumeMounts[0].MountPath)
	require.Len(t, pod.Volumes, 1)
	assert.Equal(t, c.VolumeMounts[0].Name, pod.Volumes[0].Name)
	_, ok = objs["PersistentVolumeClaim/"+pod.Volumes[0].PVC.ClaimName]
	assert.True(t, ok, "the volume's claim exists")

	for _, name := range []string{"Service/cliser", "Service/cliser-admin"} {
		svc, ok := objs[name]
		require.True(t, ok, name)
		var sel map[string]string
		require.NoError(t, svc.Spec.Selector.Decode(&sel))
		for k, v := range sel {
			assert.Equal(t, v, dep.Spec.Template.Metadata.Labels[k], "%s selects the pod by %s", name, k)
		}
		for _, p := range svc.Spec.Ports {
			assert.Contains(t, ports, p.TargetPort, "%s targets a named container port", name)
			assert.Equal(t, ports[p.TargetPort], p.Port)
		}
	}
}

// The image's build command (CGO off, as in the Dockerfile) gives a binary
// with no dynamic loader and no shared libraries: it runs on distroless
// static or scratch.
func TestImageBuildIsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	out := filepath.Join(t.TempDir(), "cliser")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=image-test", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	f, err := elf.Open(out)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "a static binary has no interpreter")
	}
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	assert.Empty(t, libs)
}
