package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parseServe parses args into a serve command's settings with the
// environment and config file applied, as RunE does.
func parseServe(t *testing.T, args ...string) (*serveConfig, error) {
	t.Helper()
	cmd := newServeCmd()
	require.NoError(t, cmd.Flags().Parse(args))
	cfg := &serveConfig{}
	// Read the values back through the flag set, which holds them.
	path, _ := cmd.Flags().GetString("config")
	if !cmd.Flags().Changed("config") {
		path = os.Getenv(envName("config"))
	}
	if _, err := applyLayers(cmd.Flags(), path); err != nil {
		return nil, err
	}
	cfg.listen, _ = cmd.Flags().GetString("listen")
	cfg.keepInterval, _ = cmd.Flags().GetDuration("keepalive-interval")
	cfg.keepTimeout, _ = cmd.Flags().GetDuration("keepalive-timeout")
	cfg.maxClients, _ = cmd.Flags().GetInt("max-clients")
	return cfg, nil
}

func TestEnvNameIsUpperSnake(t *testing.T) {
	assert.Equal(t, "CLISER_KEEPALIVE_INTERVAL", envName("keepalive-interval"))
	assert.Equal(t, "CLISER_ADMIN_LISTEN", envName("admin-listen"))
}

func TestPrecedenceFlagOverEnvOverFileOverDefault(t *testing.T) {
	file := writeFile(t, t.TempDir(), "cliser.yaml", "listen: 127.0.0.1:9001\nkeepalive-interval: 5s\nkeepalive-timeout: 3s\n")
	t.Setenv("CLISER_KEEPALIVE_INTERVAL", "7s")
	t.Setenv("CLISER_LISTEN", "127.0.0.1:9002")

	cfg, err := parseServe(t, "--config", file, "--listen", "127.0.0.1:9003")
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9003", cfg.listen, "flag wins")
	assert.Equal(t, 7*time.Second, cfg.keepInterval, "env beats file")
	assert.Equal(t, 3*time.Second, cfg.keepTimeout, "file beats default")
	assert.Equal(t, 65535, cfg.maxClients, "default")
}

// Whole numbers are read in base 10 from every layer: pflag's base 0 read
// "010" as 8 and "0x10" as 16, silently (ops audit: max-clients 010 let
// 8 clients in), and refused "09" as no whole number.
func TestWholeNumbersAreDecimalInEveryLayer(t *testing.T) {
	dir := t.TempDir()
	cfg, err := parseServe(t, "--max-clients", "0100")
	require.NoError(t, err)
	assert.Equal(t, 100, cfg.maxClients, "command line")
	cfg, err = parseServe(t, "--max-clients", "09")
	require.NoError(t, err)
	assert.Equal(t, 9, cfg.maxClients, "command line")
	t.Run("environment", func(t *testing.T) {
		t.Setenv("CLISER_MAX_CLIENTS", "010")
		cfg, err := parseServe(t)
		require.NoError(t, err)
		assert.Equal(t, 10, cfg.maxClients)
	})
	cfg, err = parseServe(t, "--config", writeFile(t, dir, "z.yaml", "max-clients: 010\n"))
	require.NoError(t, err)
	assert.Equal(t, 10, cfg.maxClients, "config file")

	cmd := newServeCmd()
	err = cmd.Flags().Parse([]string{"--max-clients", "0x10"})
	require.Error(t, err, "hex is no decimal")
	_, err = parseServe(t, "--config", writeFile(t, dir, "x.yaml", "max-clients: 0x10\n"))
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err))
	assert.Contains(t, err.Error(), "a whole number")
	var after int64
	fs := pflag.NewFlagSet("events", pflag.ContinueOnError)
	decimalVar(fs, &after, "after", 0, "")
	require.NoError(t, fs.Parse([]string{"--after", "0042"}))
	assert.Equal(t, int64(42), after)
	assert.Equal(t, "int64", fs.Lookup("after").Value.Type())
}

func TestConfigFileFromEnvironment(t *testing.T) {
	file := writeFile(t, t.TempDir(), "cliser.yaml", "max-clients: 10\n")
	t.Setenv("CLISER_CONFIG", file)
	cfg, err := parseServe(t)
	require.NoError(t, err)
	assert.Equal(t, 10, cfg.maxClients)
}

func TestConfigMistakesSayWhatToFix(t *testing.T) {
	dir := t.TempDir()
	unknown := writeFile(t, dir, "u.yaml", "keepalive: 5s\n")
	_, err := parseServe(t, "--config", unknown)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown setting "keepalive"`)
	// A misspelt key is told the setting it is nearest to, as a misspelt
	// variable is; help: was taken and did nothing (agent audit).
	near := writeFile(t, dir, "near.yaml", "max-client: 5\n")
	_, err = parseServe(t, "--config", near)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown setting "max-client" (max-clients?) (settings are`)
	help := writeFile(t, dir, "help.yaml", "help: true\n")
	_, err = parseServe(t, "--config", help)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown setting "help" (settings are`)
	assert.Equal(t, 2, exitCode(err))
	// A secret written in the file got "unknown setting" alone, where the
	// flag says where a password goes (docs audit); the value is not echoed.
	for _, k := range []string{"password", "admin-token", "webhook-secret"} {
		f := writeFile(t, dir, k+".yaml", k+": s3cret-value\n")
		_, err = parseServe(t, "--config", f)
		require.Error(t, err, k)
		assert.Contains(t, err.Error(), `"`+k+`": a secret is not a setting of this file`, k)
		assert.Contains(t, err.Error(), k+"-file: PATH", k)
		assert.NotContains(t, err.Error(), "s3cret-value", k)
	}

	// config: is a flag of 'cliser serve --help', so "unknown setting"
	// contradicted the help the message sent the user to.
	nested := writeFile(t, dir, "n.yaml", "config: other.yaml\n")
	_, err = parseServe(t, "--config", nested)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a config file names no other")
	assert.Equal(t, 2, exitCode(err))

	// A YAML list, where the flag takes one comma-separated string: the
	// message says how to write it, for those settings only.
	list := writeFile(t, dir, "l.yaml", "proxy-trusted: [10.0.0.1, 10.0.0.2]\n")
	_, err = parseServe(t, "--config", list)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `proxy-trusted must be a single value (several are one comma-separated string: "a,b")`)
	// --cluster's usage shows its list as URL[,...], not in words.
	urls := writeFile(t, dir, "c.yaml", "cluster: [nats://a:4222, nats://b:4222]\n")
	_, err = parseServe(t, "--config", urls)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `cluster must be a single value (several are one comma-separated string: "a,b")`)
	one := writeFile(t, dir, "o.yaml", "listen: [a, b]\n")
	_, err = parseServe(t, "--config", one)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "comma-separated", "listen takes one address")

	bad := writeFile(t, dir, "b.yaml", "keepalive-interval: soon\n")
	_, err = parseServe(t, "--config", bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "keepalive-interval")

	// A second document was dropped, unknown keys and all (audit).
	for _, text := range []string{"log-level: info\n---\nkeepalive-interval: 1s\nbogus-key: 1\n", "log-level: info\n...\nbogus\n"} {
		multi := writeFile(t, dir, "m.yaml", text)
		_, err = parseServe(t, "--config", multi)
		require.Error(t, err, text)
		assert.Contains(t, err.Error(), "holds more than one YAML document", text)
	}
	single := writeFile(t, dir, "s.yaml", "---\nlog-level: info\n...\n")
	_, err = parseServe(t, "--config", single)
	require.NoError(t, err, "one document, marked as such")

	_, err = parseServe(t, "--config", filepath.Join(dir, "none.yaml"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "(--config or CLISER_CONFIG)", "the setting that named it")

	// YAML 1.1's yes and no are no Go bool: the parser's own words did
	// not say what is (odd-input audit); a number's message has no such hint.
	yes := writeFile(t, dir, "y.yaml", "ui: yes\n")
	_, err = parseServe(t, "--config", yes)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `ui: "yes": it takes true or false`)
	assert.NotContains(t, err.Error(), "strconv", "Go's words, not the operator's")
	t.Setenv("CLISER_UI", "off")
	_, err = parseServe(t)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `CLISER_UI="off": it takes true or false`)
	t.Setenv("CLISER_UI", "true")

	t.Setenv("CLISER_MAX_CLIENTS", "many")
	_, err = parseServe(t)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `CLISER_MAX_CLIENTS="many": it takes a whole number`)
	assert.NotContains(t, err.Error(), "true or false")
	assert.NotContains(t, err.Error(), "strconv")
}

func TestPasswordsFromEnvAndFile(t *testing.T) {
	file := writeFile(t, t.TempDir(), "pw", "first\r\n\nsecond with space\n")
	t.Setenv("CLISER_PASSWORD", "from-env")
	pws, err := loadPasswords(file, false)
	require.NoError(t, err)
	require.Len(t, pws, 3)
	assert.Equal(t, "from-env", string(pws[0]))
	assert.Equal(t, "first", string(pws[1]))
	assert.Equal(t, "second with space", string(pws[2]))

	t.Setenv("CLISER_PASSWORD", "")
	_, err = loadPasswords("", false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--password-file")
	assert.Contains(t, err.Error(), "CLISER_PASSWORD is set but empty", "not told to set what is set (audit)")
	// A file given but empty is named: "give --password-file" would send
	// the operator looking at the wrong thing.
	empty := writeFile(t, t.TempDir(), "pw", "\n\r\n")
	_, err = loadPasswords(empty, false)
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err))
	assert.Contains(t, err.Error(), "--password-file "+empty+" holds none")
	pws, err = loadPasswords(empty, true) // --require-credentials
	require.NoError(t, err)
	assert.Empty(t, pws)

	// A line of blanks is refused, not taken for a password any client
	// sending blanks would match (an editor's stray line).
	_, err = loadPasswords(writeFile(t, t.TempDir(), "pw", "first\n \t \nsecond\n"), false)
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err))
	assert.Contains(t, err.Error(), "line 2 is only spaces or tabs")
	// A file with old Mac line ends (CR only) reads as one line: the
	// message says what line ends are read, and never quotes the line.
	_, err = loadPasswords(writeFile(t, t.TempDir(), "pw", "first\rsecond\r"), true)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 1: a password is 1 to 256 bytes without CR or NUL (lines end in LF or CRLF)")
	assert.NotContains(t, err.Error(), "first")
	t.Setenv("CLISER_PASSWORD", "   ")
	_, err = loadPasswords("", false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CLISER_PASSWORD is only spaces or tabs")
}

func TestServeValidatesRanges(t *testing.T) {
	cfg := &serveConfig{keepInterval: time.Second, keepTimeout: time.Second, handshakeTimeout: time.Second,
		shutdownTimeout: time.Second, maxClients: 70000, maxConns: 10}
	err := cfg.validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--max-clients")
}

// A config file's value is taken as written: YAML would decode 1.10 as
// the number 1.1 and a date as a timestamp, and Go would spell them
// otherwise. An empty value is a mistake, not "<nil>"; a file that is no
// mapping (a password file given by mistake) is refused without quoting
// it.
func TestConfigValuesAsWritten(t *testing.T) {
	dir := t.TempDir()
	got, err := readConfigFile(writeFile(t, dir, "v.yaml", "node-id: 1.10\ndata-dir: 2001-12-14\nmax-clients: 0x10\n"), serveFlags())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"node-id": "1.10", "data-dir": "2001-12-14", "max-clients": "0x10"}, got)

	_, err = readConfigFile(writeFile(t, dir, "n.yaml", "listen:\n"), serveFlags())
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err))
	assert.Contains(t, err.Error(), `listen has no value: give it one, or remove the line`)

	// Empty is no value of any setting: a string one was taken as unset
	// (log-level at info, no password file) while others were refused.
	for _, line := range []string{`log-level: ""`, `password-file: ''`, `node-id: " "`, `proxy-trusted: ""`, `max-clients: ""`} {
		_, err = readConfigFile(writeFile(t, dir, "e.yaml", line+"\n"), serveFlags())
		require.Error(t, err, line)
		assert.Equal(t, 2, exitCode(err), line)
		assert.Contains(t, err.Error(), "is empty: give it a value (", line)
	}

	_, err = readConfigFile(writeFile(t, dir, "p.yaml", "hunter2\n"), serveFlags())
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err))
	assert.Contains(t, err.Error(), "is not a YAML mapping of settings")
	assert.NotContains(t, err.Error(), "hunter2")

	_, err = readConfigFile(writeFile(t, dir, "d.yaml", "max-clients: 1\nmax-clients: 2\n"), serveFlags())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 2: max-clients is set twice")
}

// A check's message gets where each flag it names came from, at the flag's
// first whole mention only: a longer flag that starts with its name is
// another flag.
func TestSettingSourcesNameWhereAFlagCameFrom(t *testing.T) {
	from := settingSources{"proxy-protocol": "CLISER_PROXY_PROTOCOL", "max-clients": "config file c.yaml"}
	err := fmt.Errorf("starting: %w", configErrorf("--proxy-protocol-x is not --proxy-protocol; --max-clients and --max-clients"))
	named := from.named(err)
	assert.Equal(t, "starting: --proxy-protocol-x is not --proxy-protocol (from CLISER_PROXY_PROTOCOL); "+
		"--max-clients (from config file c.yaml) and --max-clients", named.Error())
	var ce *configError
	assert.ErrorAs(t, named, &ce, "still a mistake in the settings: exit 2")
	plain := errors.New("--max-clients: not a configError")
	assert.Same(t, plain, from.named(plain))
	assert.NoError(t, from.named(nil))
}

// A YAML anchor's alias is the value (or the name) it stands for: a file
// that names one duration twice by an alias got "must be a single value"
// once the alias was not followed (mutation audit).
func TestConfigAliasesAreTheirValues(t *testing.T) {
	dir := t.TempDir()
	got, err := readConfigFile(writeFile(t, dir, "a.yaml",
		"keepalive-interval: &d 5s\nkeepalive-timeout: *d\nnode-id: &k max-clients\n*k : 7\n"), serveFlags())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"keepalive-interval": "5s", "keepalive-timeout": "5s",
		"node-id": "max-clients", "max-clients": "7"}, got)
}
