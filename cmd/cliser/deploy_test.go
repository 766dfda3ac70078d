package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// These check the deploy files without an engine or a cluster: they agree
// with the binary (every CLISER_ variable is a real setting) and with each
// other (probes, ports, secret keys, volume names), and the image recipe is
// the one the docs describe. e2e's TestContainerImage builds and runs it.

const repoRoot = "../.."

func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	require.NoError(t, err)
	return string(b)
}

var envRef = regexp.MustCompile(`CLISER_[A-Z0-9_]+`)

// composeKnobs are compose.yaml's host-side variables: they choose the
// image and the published ports, and never reach cliser.
var composeKnobs = map[string]bool{"CLISER_IMAGE": true, "CLISER_PUBLISH": true, "CLISER_PUBLISH_ADMIN": true}

// knownEnv (env_unknown.go) is what the binary reads, the same set its
// start-up warning holds the environment to.
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
			if f == "deploy/compose.yaml" && composeKnobs[name] {
				continue
			}
			assert.True(t, known[name], "%s uses %s, which no cliser command reads", f, name)
		}
	}
}

// The one image recipe: FROM scratch around what `make image` staged, so
// it builds offline; the runtime settings are today's.
func TestDockerfile(t *testing.T) {
	df := readRepoFile(t, "Dockerfile")
	from := regexp.MustCompile(`(?m)^FROM .*$`).FindAllString(df, -1)
	assert.Equal(t, []string{"FROM scratch"}, from, "one stage, no base image to pull")
	assert.NotRegexp(t, `(?m)^RUN `, df, "scratch has no shell to RUN in")
	for _, line := range []string{
		"COPY cliser /cliser",
		"COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
		"COPY --chown=65532:65532 data /data",
		"USER 65532:65532",
		"STOPSIGNAL SIGTERM",
		"EXPOSE 7070 7071",
		`ENTRYPOINT ["/cliser"]`,
		`CMD ["serve"]`,
	} {
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(line)+`$`, df)
	}
	assert.Regexp(t, `(?m)^\s*CMD \["/cliser", "health"\]`, df, "HEALTHCHECK in exec form: there is no shell")
	for _, kv := range []string{"CLISER_LISTEN=:7070", "CLISER_ADMIN_LISTEN=:7071", "CLISER_DATA_DIR=/data"} {
		assert.Contains(t, df, kv)
	}

	// make image stages exactly what the recipe copies, from a static build.
	mk := readRepoFile(t, "Makefile")
	assert.Regexp(t, `(?m)^\tCGO_ENABLED=0 \$\(GO\) build .* -o \$\(BIN\)/cliser \./cmd/cliser$`, mk)
	for _, staged := range []string{"$(BIN)/image/cliser", "$(BIN)/image/ca-certificates.crt", "$(BIN)/image/data"} {
		assert.Contains(t, mk, staged)
	}
	assert.Contains(t, mk, "--format docker", "podman keeps HEALTHCHECK only in the docker format")
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
	var ports []string
	for _, p := range server.Ports {
		ports = append(ports, composeDefaults(p))
	}
	assert.Contains(t, ports, "7070:7070")
	assert.Contains(t, ports, "127.0.0.1:7071:7071", "the admin API only on the host's loopback")
	assert.Equal(t, "cliser:latest", composeDefaults(server.Image), "what make image tags")
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
		assert.Equal(t, []any{"NONE"}, s.Healthcheck["test"], "%s: the image's server probe does not apply to an agent", name)
	}
	assert.Equal(t, 3, agents)
}

// composeDefaults expands ${NAME:-default} as compose does with NAME unset.
func composeDefaults(s string) string {
	return regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`).ReplaceAllString(s, "$1")
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

// The image's build command (CGO off, as in the Makefile) gives a binary
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

// Both Kubernetes examples name the image `make image` tags.
func TestKubernetesImageIsMakeImages(t *testing.T) {
	for _, dir := range []string{"deploy/k8s", "deploy/cluster-k8s"} {
		var kust struct {
			Images []struct {
				Name    string `yaml:"name"`
				NewName string `yaml:"newName"`
				NewTag  string `yaml:"newTag"`
			} `yaml:"images"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(readRepoFile(t, dir+"/kustomization.yaml")), &kust))
		require.Len(t, kust.Images, 1, dir)
		img := kust.Images[0]
		assert.Equal(t, "cliser:latest", img.NewName+":"+img.NewTag, dir)
	}
	assert.Contains(t, readRepoFile(t, "Makefile"), "-t $(IMAGE):latest")
	assert.Regexp(t, `(?m)^IMAGE\s+\?= cliser$`, readRepoFile(t, "Makefile"))
}

// Without podman or docker, make image stops at once and says what to
// install (before it spends time building the binary).
func TestMakeImageWithoutEngineSaysWhatToInstall(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	bin := t.TempDir()
	cmd := exec.Command("make", "--no-print-directory", "image", "ENGINE=", "BIN="+bin)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "%s", out)
	assert.Contains(t, string(out), "make image: neither podman nor docker is installed (Debian: apt-get install podman runc)")
	_, statErr := os.Stat(filepath.Join(bin, "cliser"))
	assert.True(t, os.IsNotExist(statErr), "no binary was built")
}

// systemd has no trailing comments: a '#' after a value is part of the
// value. The README's unit once read `EnvironmentFile=/etc/cliser/agent.env
// # CLISER_PASSWORD=...`, a path that does not exist, so the agent started
// without its password and exited 2 at every restart. Every unit the
// project ships or prints keeps its comments on lines of their own.
func TestSystemdUnitsHaveNoTrailingComments(t *testing.T) {
	units := map[string]string{
		"deploy/systemd/cliser-agent.service": readRepoFile(t, "deploy/systemd/cliser-agent.service"),
		"deploy/systemd/cliser.service":       readRepoFile(t, "deploy/systemd/cliser.service"),
	}
	block := regexp.MustCompile("(?s)```ini\n(.*?)```")
	docs, err := filepath.Glob(filepath.Join(repoRoot, "docs/*.md"))
	require.NoError(t, err)
	for _, doc := range append(docs, filepath.Join(repoRoot, "README.md")) {
		doc, _ = filepath.Rel(repoRoot, doc)
		for i, m := range block.FindAllStringSubmatch(readRepoFile(t, doc), -1) {
			units[fmt.Sprintf("%s ini block %d", doc, i+1)] = m[1]
		}
	}
	setting := regexp.MustCompile(`^[A-Za-z]+=.*\s#`)
	for name, unit := range units {
		for n, line := range strings.Split(unit, "\n") {
			assert.False(t, setting.MatchString(line),
				"%s line %d: systemd would take the trailing comment as part of the value: %q", name, n+1, line)
		}
	}
}

// The server logs a line at info for each client's end and registration:
// a restart of a 15,000-client fleet wrote 30,000 within seconds, and
// journald's default limit for a service (10,000 lines in 30 s) would
// drop the rest of the 30 s, the stop's outcome and the start's errors
// with them. The shipped unit lifts the limit.
func TestServerUnitKeepsAFleetRestartsLog(t *testing.T) {
	unit := readRepoFile(t, "deploy/systemd/cliser.service")
	assert.Regexp(t, regexp.MustCompile(`(?m)^LogRateLimitIntervalSec=0$`), unit,
		"deploy/systemd/cliser.service must set LogRateLimitIntervalSec=0: journald drops a fleet restart's lines otherwise")
}
