package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// A server's secrets file that other users may read is named in one
// warning at start, with the fix and never the secret; after chmod 600 a
// reload says nothing more.
func TestBinaryWarnsOfSecretFilesOthersMayRead(t *testing.T) {
	dir := t.TempDir()
	pwFile := writeFile(t, dir, "passwords", "open-mode-pw\n")
	require.NoError(t, os.Chmod(pwFile, 0o644))
	hookFile := writeFile(t, dir, "hook", "whsec_c2VjcmV0LXNpZ25pbmcta2V5LTAxMjM0NTY3\n")
	require.NoError(t, os.Chmod(hookFile, 0o640))
	p := testkit.Serve(t, []string{"CLISER_PASSWORD="},
		"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", t.TempDir(),
		"--password-file", pwFile, "--webhook-url", "http://127.0.0.1:1/hook", "--webhook-secret-file", hookFile,
		"--keepalive-interval", "1h")
	log := p.LogText()
	assert.Equal(t, 1, strings.Count(log, "--password-file may be read by other users of this host: chmod 600 it"), log)
	assert.Equal(t, 1, strings.Count(log, "--webhook-secret-file may be read by other users of this host"), log)
	assert.Contains(t, log, "0644")
	assert.NotContains(t, log, "open-mode-pw")
	assert.NotContains(t, log, "c2VjcmV0LXNpZ25pbmcta2V5")

	require.NoError(t, os.Chmod(pwFile, 0o600))
	p.Reload(t)
	require.Eventually(t, func() bool { return strings.Contains(p.LogText(), "passwords reloaded") },
		waitFor, tick, "no reload line:\n%s", p.LogText())
	assert.Equal(t, 1, strings.Count(p.LogText(), "--password-file may be read"), "a 0600 file is not warned of")
}

// TestBinaryWarnsOfURLSecretsOnTheCommandLine: a --webhook-url or
// --cluster with a password or token in it, given as a flag, is in every
// user's ps; the server says so at start, naming the flag and not the
// secret. The same URL from the environment is not warned of.
func TestBinaryWarnsOfURLSecretsOnTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	hookFile := writeFile(t, dir, "hook", "whsec_c2VjcmV0LXNpZ25pbmcta2V5LTAxMjM0NTY3\n")
	hook := "http://user:pw-s3cret@127.0.0.1:1/hook?token=q-s3cret"
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=flag-url-pw"},
		"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", t.TempDir(),
		"--webhook-url", hook, "--webhook-secret-file", hookFile, "--keepalive-interval", "1h")
	log := p.LogText()
	assert.Equal(t, 1, strings.Count(log, "--webhook-url holds a password or token on the command line"), log)
	assert.Contains(t, log, "CLISER_WEBHOOK_URL")
	assert.NotContains(t, log, "s3cret")

	p = testkit.Serve(t, []string{"CLISER_PASSWORD=flag-url-pw", "CLISER_WEBHOOK_URL=" + hook},
		"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", t.TempDir(),
		"--webhook-secret-file", hookFile, "--keepalive-interval", "1h")
	assert.NotContains(t, p.LogText(), "on the command line")
}

// A --cluster entry without a scheme is nats:// to nats.go, user info
// and all: u:p@host:4222 and token@host:4222 hold a secret as much as
// nats://u:p@host:4222 does, and were not warned of (url.Parse reads "u"
// or "token@host" as a scheme or a path).
func TestURLSecretFlagsReadClusterEntriesAsNATSDoes(t *testing.T) {
	for list, want := range map[string]bool{
		"u:p@127.0.0.1:4222":                        true,
		"s3cret-token@127.0.0.1:4222":               true,
		"127.0.0.1:4222, u:p@127.0.0.1:4223":        true,
		"nats://u:p@127.0.0.1:4222":                 true,
		"127.0.0.1:4222":                            false,
		"nats://127.0.0.1:4222,nats://h.example:42": false,
	} {
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		fs.String("cluster", "", "")
		fs.String("webhook-url", "", "")
		require.NoError(t, fs.Set("cluster", list))
		got, _ := urlSecretFlags(fs, settingSources{})
		if want {
			assert.Equal(t, []string{"cluster"}, got, "%s", list)
		} else {
			assert.Empty(t, got, "%s", list)
		}
	}
	// Where it came from decides the warning: the environment is read by
	// its own user only, a config file as its mode says.
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.String("cluster", "", "")
	require.NoError(t, fs.Set("cluster", "nats://u:p@127.0.0.1:4222"))
	onLine, inFile := urlSecretFlags(fs, settingSources{"cluster": "CLISER_CLUSTER"})
	assert.Empty(t, onLine)
	assert.Empty(t, inFile, "from the environment")
	_, inFile = urlSecretFlags(fs, settingSources{"cluster": configSource + "cliser.yaml"})
	assert.Equal(t, []string{"cluster"}, inFile)
}

// TestBinaryWarnsOfADataDirOthersMayWrite: a --data-dir that others may
// write (a 0777 volume, a dir made by hand) let them replace identity.db or
// plant a link at registry.snap.tmp, which the server opens with O_TRUNC,
// without a word in the log (security audit). A 0700 one says nothing.
func TestBinaryWarnsOfADataDirOthersMayWrite(t *testing.T) {
	const warning = "--data-dir may be written by other users of this host"
	open := t.TempDir()
	require.NoError(t, os.Chmod(open, 0o777))
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=open-dir-pw"},
		"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", open, "--keepalive-interval", "1h")
	log := p.LogText()
	assert.Equal(t, 1, strings.Count(log, warning), log)
	assert.Contains(t, log, "0777")

	p = testkit.Serve(t, []string{"CLISER_PASSWORD=open-dir-pw"},
		"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", t.TempDir(), "--keepalive-interval", "1h")
	assert.NotContains(t, p.LogText(), warning)

	// Writable by its group: a group the server runs in is its own (a
	// Kubernetes volume with fsGroup is 2770 for the pod's group); one
	// it is not in holds others (review of the first version's check).
	shared := t.TempDir()
	require.NoError(t, os.Chmod(shared, 0o770))
	p = testkit.Serve(t, []string{"CLISER_PASSWORD=open-dir-pw"},
		"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", shared, "--keepalive-interval", "1h")
	assert.NotContains(t, p.LogText(), warning, "its own group")
	if os.Geteuid() == 0 { // only root gives a dir to a group it is not in
		other := t.TempDir()
		require.NoError(t, os.Chmod(other, 0o770))
		require.NoError(t, os.Chown(other, -1, 54321))
		p = testkit.Serve(t, []string{"CLISER_PASSWORD=open-dir-pw"},
			"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", other, "--keepalive-interval", "1h")
		assert.Equal(t, 1, strings.Count(p.LogText(), warning), "another group: %s", p.LogText())
	}

	// The dir holding it: others may rename it away (not in a sticky
	// dir); its group alone may not be asked of, since under a umask of
	// 002 every dir a person makes is group-writable (make run's parent
	// is the clone) and the group is that person.
	for mode, want := range map[os.FileMode]int{0o777: 1, os.ModeSticky | 0o777: 0, 0o775: 0} {
		parent := t.TempDir()
		require.NoError(t, os.Chmod(parent, mode))
		p = testkit.Serve(t, []string{"CLISER_PASSWORD=open-dir-pw"},
			"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", filepath.Join(parent, "data"), "--keepalive-interval", "1h")
		assert.Equal(t, want, strings.Count(p.LogText(), warning), "parent %v: %s", mode, p.LogText())
	}
}

// TestBinaryWarnsOfAnOpenConfigWithURLSecrets: a config file holding a
// --webhook-url with a token, or a --cluster password, was read at any
// mode without a word, where the same secret in a file of its own was
// warned of (security audit). The key is named, never the value; a 0600
// file, or one without a secret, says nothing.
func TestBinaryWarnsOfAnOpenConfigWithURLSecrets(t *testing.T) {
	const warning = "--config may be read by other users of this host"
	dir := t.TempDir()
	hookFile := writeFile(t, dir, "hook", "whsec_c2VjcmV0LXNpZ25pbmcta2V5LTAxMjM0NTY3\n")
	serve := func(conf string, mode os.FileMode) string {
		file := writeFile(t, t.TempDir(), "cliser.yaml", conf+"webhook-secret-file: "+hookFile+"\n")
		require.NoError(t, os.Chmod(file, mode))
		p := testkit.Serve(t, []string{"CLISER_PASSWORD=conf-url-pw"},
			"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", t.TempDir(),
			"--config", file, "--keepalive-interval", "1h")
		return p.LogText()
	}
	secret := "webhook-url: http://127.0.0.1:1/hook?token=q-s3cret\n"
	log := serve(secret, 0o644)
	assert.Equal(t, 1, strings.Count(log, warning), log)
	assert.Contains(t, log, `"keys":["webhook-url"]`)
	assert.Contains(t, log, "0644")
	assert.NotContains(t, log, "s3cret")
	assert.NotContains(t, log, "on the command line")

	assert.NotContains(t, serve(secret, 0o600), warning)
	assert.NotContains(t, serve("webhook-url: http://127.0.0.1:1/hook\n", 0o644), warning)
}
