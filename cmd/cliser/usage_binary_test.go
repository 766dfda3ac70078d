package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

// usageCase is one usage or configuration mistake: the binary must exit 2
// and its message must contain hint, which names what to fix.
type usageCase struct {
	args []string
	env  []string
	hint string
}

// usageMistakes has, for every runnable command, the mistakes a person
// makes: an unknown flag, arguments it does not take, a bad value, a bad
// environment variable and (serve) a bad config file.
func usageMistakes(t testing.TB) map[string][]usageCase {
	dir := t.TempDir()
	unknownKey := writeFile(t, dir, "unknown.yaml", "no-such-setting: 1\n")
	badYAML := writeFile(t, dir, "bad.yaml", "listen: [\n")
	badValue := writeFile(t, dir, "value.yaml", "keepalive-interval: soon\n")
	zeroClients := writeFile(t, dir, "zero.yaml", "max-clients: 0\n")
	clusterOnly := writeFile(t, dir, "cluster-only.yaml", "cluster-replicas: 3\n")
	emptyDuration := writeFile(t, dir, "empty-duration.yaml", "keepalive-interval: \"\"\n")
	badAdmin := []string{"CLISER_ADMIN=ftp://nowhere"}
	noToken := writeFile(t, dir, "no-token", "\n\n")
	twoWords := writeFile(t, dir, "two-words", "good-token\nbad token\n")
	return map[string][]usageCase{
		"cliser": {
			{args: []string{"no-such-command"}, hint: "unknown command"},
			{args: []string{"clinets"}, hint: "did you mean clients"},
			{args: []string{"no-such-command", "--help"}, hint: `unknown command "no-such-command" for "cliser"`},
			{args: []string{"--no-such-flag"}, hint: "see 'cliser --help'"},
			{args: nil, hint: "give a command: agent, bans, "},
		},
		"cliser serve": {
			{args: []string{"serve", "extra"}, hint: "takes no arguments"},
			{args: []string{"serve", "--keepalive-interval", "soon"}, hint: `"--keepalive-interval"`},
			{args: []string{"serve", "--keepalive-interval", "1ns"}, hint: "--keepalive-interval must be at least 10ms"},
			{args: []string{"serve", "--keepalive-interval", "0s"}, hint: "--keepalive-interval must be at least 10ms"},
			// Past ~12 days the wheel's tick grew to fit, every keep-alive late, unsaid (config audit).
			{args: []string{"serve", "--keepalive-timeout", "1000000h"}, hint: "must each be at most 168h0m0s"},
			{args: []string{"serve", "--max-clients", "0"}, hint: "--max-clients must be 1..65535"},
			// Each limit's edge, just outside (mutation audit: none was tried).
			{args: []string{"serve", "--keepalive-interval", "9ms"}, hint: "--keepalive-interval must be at least 10ms"},
			{args: []string{"serve", "--keepalive-timeout", "0s"}, hint: "--keepalive-timeout must be positive, got 0s"},
			{args: []string{"serve", "--handshake-timeout", "0s"}, hint: "--handshake-timeout must be positive, got 0s"},
			{args: []string{"serve", "--shutdown-timeout", "0s"}, hint: "--shutdown-timeout must be positive, got 0s"},
			{args: []string{"serve", "--max-clients", "65536"}, hint: "--max-clients must be 1..65535 (sid is 16 bits), got 65536"},
			{args: []string{"serve", "--max-connections", "-1"}, hint: "--max-connections must not be negative"},
			{args: []string{"serve", "--max-handshakes-per-ip", "-1"}, hint: "cliser: --max-handshakes-per-ip must not be negative (0 disables it), got -1\n"},
			{args: []string{"serve", "--auth-fail-limit", "-2"}, hint: "cliser: --auth-fail-limit must not be negative (0 disables it), got -2\n"},
			{args: []string{"serve", "--auth-fail-window", "0s"}, hint: "--auth-fail-window must be positive, got 0s"},
			{args: []string{"serve", "--max-outbound-backlog", "0"}, hint: "--max-outbound-backlog must be positive, got 0"},
			{args: []string{"serve", "--retention", "-1s"}, hint: "--retention must not be negative, got -1s"},
			{args: []string{"serve", "--cluster", "nats://127.0.0.1:1", "--node-id", ""}, hint: "--node-id is needed with --cluster"},
			{args: []string{"serve", "--cluster", "nats://127.0.0.1:1", "--node-id", "n1", "--cluster-replicas", "6"}, hint: "--cluster-replicas must be 1..5, got 6"},
			{args: []string{"serve", "--cluster", "nats://127.0.0.1:1", "--node-id", "n1", "--cluster-heartbeat", "999ms"},
				hint: "--cluster-heartbeat must be at least 1s, got 999ms"},
			{args: []string{"serve", "--admin-max-connections", "1"}, hint: "--admin-max-connections must be at least 2"},
			{args: []string{"serve", "--ipv6-guard-prefix", "129"}, hint: "--ipv6-guard-prefix must be 16..128"},
			{args: []string{"serve", "--gc-hold", "-1s"}, hint: "--gc-hold must be 0 or positive"},
			// Every event names the node: its escapes reached terminals (odd-input audit).
			{args: []string{"serve", "--node-id", "n\x1b]0;x\a\u202e"}, hint: `--node-id "n\x1b]0;x\a\u202e" holds a control or invisible character`},
			{args: []string{"serve", "--node-id", "n\xff"}, hint: `--node-id "n\xff" holds a control or invisible character, or bytes that are no UTF-8`},
			// Past ~3.9 KB NATS refused it, told as a --cluster fault (cluster audit).
			{args: []string{"serve", "--cluster", "nats://127.0.0.1:1", "--node-id", strings.Repeat("n", 254)}, hint: "--node-id is 254 bytes: at most 253"},
			{args: []string{"serve", "--webhook-secret-file", "/nonexistent"}, hint: "it needs --webhook-url"},
			{args: []string{"serve", "--listen", "nonsense"}, hint: `--listen "nonsense" is not an address`},
			{args: []string{"serve", "--listen", "7070"}, hint: "e.g. 127.0.0.1:7070 or :7070"},
			{args: []string{"serve", "--listen", "off"}, hint: `--listen "off" is not an address: give HOST:PORT, e.g. 127.0.0.1:7070 or :7070` + "\n"},
			{args: []string{"serve", "--admin-listen", "localhost"}, hint: "e.g. 127.0.0.1:7071 or :7071, or off"},
			{args: []string{"serve", "--admin-listen", "127.0.0.1:99999"}, hint: "the port must be a number 0..65535"},
			{args: []string{"serve", "--admin-listen", ""}, hint: "--admin-listen is empty"},
			// It kept everything in memory, lost at every stop (audit).
			{args: []string{"serve", "--data-dir", "", "--event-retention", "0"}, env: []string{"CLISER_PASSWORD=x"}, hint: "--data-dir is empty: a single node keeps"},
			{args: []string{"serve", "--event-retention", "0"}, env: []string{"CLISER_PASSWORD=x", "CLISER_DATA_DIR="}, hint: "give a directory (the default is ./data)"},
			// It made a directory named " " (audit); in cluster mode too, for the spill file.
			{args: []string{"serve", "--data-dir", " ", "--listen", "127.0.0.1:0", "--admin-listen", "off"}, env: []string{"CLISER_PASSWORD=x"},
				hint: `--data-dir " " is only white space`},
			{args: []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--cluster", "nats://127.0.0.1:1", "--node-id", "n1"},
				env: []string{"CLISER_PASSWORD=x", "CLISER_DATA_DIR=\t "}, hint: `--data-dir (from CLISER_DATA_DIR) "\t " is only white space`},
			// It bound, then failed: exit 1, naming neither flag (audit).
			{args: []string{"serve", "--listen", "127.0.0.1:47095", "--admin-listen", "127.0.0.1:47095"}, hint: "are both port 47095"},
			{args: []string{"serve", "--listen", ":47095", "--admin-listen", "127.0.0.1:47095"}, hint: "give the admin API a port of its own"},
			{args: []string{"serve", "--listen", "0.0.0.0:47095", "--admin-listen", "[::1]:47095"}, hint: "are both port 47095"},
			{args: []string{"serve", "--listen", "LOCALHOST:47095", "--admin-listen", "127.0.0.1:47095"}, hint: "are both port 47095"},
			{args: []string{"serve", "--listen", "127.0.0.1:047095", "--admin-listen", "127.0.0.1:47095"}, hint: "are both port 47095"},
			{args: []string{"serve", "--cluster", "http://nats.example:4222", "--node-id", "n1"}, hint: "http:// is not a NATS URL"},
			// Ignored on a single node, without a word (audit); set to its default too.
			{args: []string{"serve", "--cluster-replicas", "3"}, env: []string{"CLISER_PASSWORD=pw"}, hint: "--cluster-replicas is a setting of cluster mode: it needs --cluster"},
			{args: []string{"serve", "--cluster-heartbeat", "10s", "--cluster-replicas", "1"}, env: []string{"CLISER_PASSWORD=pw"},
				hint: "--cluster-heartbeat and --cluster-replicas are settings of cluster mode: they need --cluster"},
			{args: []string{"serve"}, env: []string{"CLISER_PASSWORD=pw", "CLISER_CLUSTER_HEARTBEAT=5s"},
				hint: "--cluster-heartbeat (from CLISER_CLUSTER_HEARTBEAT) is a setting of cluster mode: it needs --cluster"},
			{args: []string{"serve", "--config", clusterOnly}, env: []string{"CLISER_PASSWORD=pw"},
				hint: "--cluster-replicas (from config file " + clusterOnly + ") is a setting of cluster mode"},
			{args: []string{"serve", "--config", emptyDuration}, env: []string{"CLISER_PASSWORD=pw"},
				hint: "keepalive-interval is empty: give it a value (duration), or remove the line"},
			{args: []string{"serve"}, env: []string{"CLISER_PASSWORD=pw", "CLISER_KEEPALIVE_INTERVAL= "},
				hint: "environment CLISER_KEEPALIVE_INTERVAL is set but empty"},
			{args: []string{"serve"}, env: []string{"CLISER_PASSWORD=pw", "CLISER_KEEPALIVE_INTERVAL="},
				hint: "environment CLISER_KEEPALIVE_INTERVAL is set but empty: give it a value (duration), or unset it"},
			{args: []string{"serve", "--webhook-linger", "1s"}, env: []string{"CLISER_PASSWORD=pw"}, hint: "--webhook-linger tunes the webhook's requests: it needs --webhook-url"},
			{args: []string{"serve"}, env: []string{"CLISER_PASSWORD=pw", "CLISER_WEBHOOK_BATCH=10"}, hint: "--webhook-batch (from CLISER_WEBHOOK_BATCH) tunes"},
			{args: []string{"serve", "--cluster", "nats://a:4222,nats://", "--node-id", "n1"}, hint: "a URL without a host"},
			{args: []string{"serve"}, env: []string{"CLISER_ADMIN_LISTEN=OFF"}, hint: "or off to turn it off"},
			{args: []string{"serve"}, env: []string{"CLISER_ADMIN_TOKEN=two words"}, hint: "CLISER_ADMIN_TOKEN holds a space"},
			{args: []string{"serve", "--admin-token-file", filepath.Join(dir, "missing")}, hint: "--admin-token-file: open"},
			{args: []string{"serve", "--admin-token-file", noToken}, hint: "holds no token: put one a line in it"},
			{args: []string{"serve", "--admin-token-file", twoWords}, hint: "line 2 holds a space or a control character"},
			{args: []string{"serve", "--admin-token-file", noToken, "--admin-listen", "off"}, hint: "it needs --admin-listen (not off)"},
			{args: []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, env: []string{"CLISER_ADMIN_TOKEN= \n"},
				hint: "CLISER_ADMIN_TOKEN is set but holds no token"},
			{args: []string{"serve"}, env: []string{"CLISER_MAX_CLIENTS=lots"}, hint: "CLISER_MAX_CLIENTS"},
			{args: []string{"serve", "--config", unknownKey}, hint: `unknown setting "no-such-setting"`},
			{args: []string{"serve", "--config", badYAML}, hint: "is not valid YAML"},
			{args: []string{"serve", "--data-dir", badYAML, "--listen", "127.0.0.1:0", "--admin-listen", "off"},
				env: []string{"CLISER_PASSWORD=pw"}, hint: "give --data-dir a directory"},
			// A cluster node's too, at start rather than at the stop that spills (cluster audit).
			{args: []string{"serve", "--cluster", "nats://127.0.0.1:1", "--node-id", "n1", "--data-dir", badYAML, "--listen", "127.0.0.1:0", "--admin-listen", "off"},
				env: []string{"CLISER_PASSWORD=pw"}, hint: "give --data-dir a directory (it keeps the events"},
			{args: []string{"serve", "--config", badValue}, hint: "keepalive-interval"},
			{args: []string{"serve", "--config", filepath.Join(dir, "missing.yaml")}, hint: "config file"},
			// A check names the flag, and where its value came from.
			{args: []string{"serve"}, env: []string{"CLISER_PASSWORD=pw", "CLISER_PROXY_PROTOCOL=true", "CLISER_PROXY_TRUSTED=nonsense"},
				hint: "--proxy-trusted (from CLISER_PROXY_TRUSTED) wants IP addresses"},
			{args: []string{"serve", "--config", zeroClients}, env: []string{"CLISER_PASSWORD=pw"},
				hint: "--max-clients (from config file " + zeroClients + ") must be 1..65535"},
			// It said "set CLISER_PASSWORD", which was set (audit).
			{args: []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", filepath.Join(dir, "data")},
				env: []string{"CLISER_PASSWORD="}, hint: "no password configured: CLISER_PASSWORD is set but empty; give it a password"},
			{args: []string{"serve", "--password", "x"}, hint: "a password is never a flag, which ps and shell history show: set CLISER_PASSWORD or --password-file"},
			{args: []string{"serve", "--admin-token", "x"}, hint: "an admin token is never a flag, which ps and shell history show: set CLISER_ADMIN_TOKEN or --admin-token-file"},
			{args: []string{"serve", "--webhook-secret=x"}, hint: "a webhook secret is never a flag, which ps and shell history show: set CLISER_WEBHOOK_SECRET or --webhook-secret-file"},
		},
		"cliser agent": {
			{args: []string{"agent", "extra"}, hint: "takes no arguments"},
			{args: []string{"agent", "--password=x"}, hint: "set CLISER_PASSWORD or --password-file"},
			{args: []string{"agent", "--server", "127.0.0.1:1", "--id", "a"}, env: []string{"CLISER_PASSWORD=x", "CLISER_DIAL_TIMEOUT=-5s"},
				hint: "--dial-timeout (from CLISER_DIAL_TIMEOUT) and --handshake-timeout must be positive"},
			{args: []string{"agent", "--backoff-min", "soon"}, hint: `"--backoff-min"`},
			{args: []string{"agent", "--server", "127.0.0.1:1"}, env: []string{"CLISER_PASSWORD=x"}, hint: "--id ID is required"},
			{args: []string{"agent"}, env: []string{"CLISER_BACKOFF_MIN=soon"}, hint: "CLISER_BACKOFF_MIN"},
			{args: []string{"agent", "--server", "127.0.0.1", "--id", "a"}, env: []string{"CLISER_PASSWORD=x"}, hint: `--server "127.0.0.1" is not HOST:PORT`},
			{args: []string{"agent", "--server", "127.0.0.1:99999", "--id", "a"}, env: []string{"CLISER_PASSWORD=x"}, hint: "the port must be a number"},
			{args: []string{"agent", "--server", "127.0.0.1:1", "--id", "a", "--dial-timeout", "-5s"}, env: []string{"CLISER_PASSWORD=x"}, hint: "--dial-timeout and --handshake-timeout must be positive"},
			{args: []string{"agent", "--server", "127.0.0.1:1", "--id", "a", "--handshake-timeout", "0s"}, env: []string{"CLISER_PASSWORD=x"}, hint: "must be positive"},
			{args: []string{"agent", "--server", "127.0.0.1:1", "--id", "a"}, env: []string{"CLISER_PASSWORD="}, hint: "CLISER_PASSWORD is set but empty"},
			{args: []string{"agent", "--server", "127.0.0.1:1"}, env: []string{"CLISER_PASSWORD=x", "CLISER_ID="}, hint: "cliser: CLISER_ID is set but empty: give it this agent's client ID, or unset it\n"},
			{args: []string{"agent", "--id", "a"}, env: []string{"CLISER_PASSWORD=x", "CLISER_SERVER="}, hint: "cliser: CLISER_SERVER is set but empty: give it the server's HOST:PORT, or unset it\n"},
		},
		"cliser clients": {
			{args: []string{"clients", "lst"}, hint: "or list"},
			{args: []string{"clients"}, hint: "give a command: get, kick, list, shutdown (see 'cliser clients --help')"},
		},
		"cliser clients list": {
			{args: []string{"clients", "list", "extra"}, hint: "takes no arguments"},
			{args: []string{"clients", "list", "--admin", "http://127.0.0.1:7071/v1"}, hint: "without /v1 (each request adds it)"},
			// A query or a fragment in the address went into every
			// request's URL: the dashboard's HTML came back, "a proxy or
			// another server?", exit 1 (API audit).
			{args: []string{"clients", "list", "--admin", "http://127.0.0.1:7071?x=1"}, hint: "without a query"},
			{args: []string{"clients", "list", "--admin", "http://127.0.0.1:7071/#top"}, hint: "without a query"},
			// The server's own variable, used when CLISER_ADMIN is not set:
			// one the CLI cannot use went to the default address (audit).
			{args: []string{"clients", "list"}, env: []string{"CLISER_ADMIN=", "CLISER_ADMIN_LISTEN=garbage"},
				hint: `CLISER_ADMIN_LISTEN "garbage" is not HOST:PORT`},
			{args: []string{"clients", "list"}, env: []string{"CLISER_ADMIN=", "CLISER_ADMIN_LISTEN=off"},
				hint: "CLISER_ADMIN_LISTEN is off: the server of this environment runs without its admin API"},
			{args: []string{"clients", "list"}, env: []string{"CLISER_ADMIN=", "CLISER_ADMIN_LISTEN=127.0.0.1:99999"},
				hint: "CLISER_ADMIN_LISTEN: "},
			{args: []string{"clients", "list", "--status", "gone"}, hint: "--status"},
			{args: []string{"clients", "list", "--limit", "-1"}, hint: "--limit"},
			{args: []string{"clients", "list", "--limit", "5", "--all"}, hint: "not both"},
			// A prefix no client ID starts with listed an empty table (CLI audit).
			{args: []string{"clients", "list", "--prefix", "bad id"}, hint: `--prefix "bad id": no client ID starts with it (a client ID is 1 to 64 of`},
			{args: []string{"clients", "list", "--prefix", "pos/"}, hint: `--prefix "pos/": no client ID starts with it`},
			{args: []string{"clients", "list", "--prefix", strings.Repeat("p", 65)}, hint: "no client ID starts with it"},
			{args: []string{"clients", "list", "-o", "yaml"}, hint: "want table or json"},
			{args: []string{"clients", "list", "--timeout", "0s"}, hint: "--timeout must be positive"},
			{args: []string{"clients", "list"}, env: badAdmin, hint: "CLISER_ADMIN"},
			{args: []string{"clients", "list", "--admin", "127.0.0.1:99999"}, hint: `cliser: --admin: admin address "http://127.0.0.1:99999": port 99999 is not 1 to 65535`},
			// It said `admin address "http:"`, a value never typed; "htp:/x"
			// went to the host "htp" (exit 1, unreachable) (CLI audit).
			{args: []string{"clients", "list", "--admin", ""}, hint: `cliser: --admin: admin address "" is empty: want http://HOST:PORT or HOST:PORT`},
			{args: []string{"clients", "list", "--admin", "htp:/x"}, hint: `admin address "htp:/x" is not a URL cliser can use`},
			{args: []string{"clients", "list", "--admin", "http:127.0.0.1:7071"}, hint: `admin address "http:127.0.0.1:7071" is not a URL`},
			{args: []string{"clients", "list", "--admin", "localhost:"}, hint: `admin address "localhost:" is not a URL`},
			// HOST: whose host is no scheme went to port 80 (or 443),
			// "cannot reach", exit 1 (docs audit).
			{args: []string{"clients", "list", "--admin", "127.0.0.1:"}, hint: `admin address "http://127.0.0.1:": HOST: without its port`},
			{args: []string{"clients", "list", "--admin", "https://[::1]:/x"}, hint: `admin address "https://[::1]:/x": HOST: without its port`},
			{args: []string{"clients", "list", "--admin", "FTP://x"}, hint: `admin address "FTP://x": the scheme ftp is not http or https`},
			{args: []string{"clients", "list", "--admin", "http://tok:pw@[::1"}, hint: `admin address "http://xxxxx@[::1": want http://HOST:PORT`},
		},
		"cliser clients get": {
			{args: []string{"clients", "get"}, hint: "usage: cliser clients get CID"},
			{args: []string{"clients", "get", "a", "b"}, hint: "usage:"},
			{args: []string{"clients", "get", "a/b"}, hint: `"a/b" is not a client ID`},
			{args: []string{"clients", "get", "a"}, env: badAdmin, hint: "CLISER_ADMIN"},
		},
		"cliser clients shutdown": {
			{args: []string{"clients", "shutdown"}, hint: "give one CID, or --all"},
			{args: []string{"clients", "shutdown", "a", "--all"}, hint: "not both"},
			{args: []string{"clients", "shutdown", "a b"}, hint: `"a b" is not a client ID`},
			{args: []string{"clients", "shutdown", "a", "--reason", strings.Repeat("r", 499)}, hint: "--reason is 499 bytes: at most 498"},
			{args: []string{"clients", "shutdown", "a"}, env: badAdmin, hint: "CLISER_ADMIN"},
		},
		"cliser clients kick": {
			{args: []string{"clients", "kick"}, hint: "usage: cliser clients kick CID"},
			{args: []string{"clients", "kick", strings.Repeat("k", 65)}, hint: "is not a client ID: 1 to 64"},
			{args: []string{"clients", "kick", "a"}, env: badAdmin, hint: "CLISER_ADMIN"},
		},
		"cliser credentials": {
			{args: []string{"credentials", "nope"}, hint: "unknown command"},
			{args: []string{"credentials"}, hint: "give a command: add, list, rm (see 'cliser credentials --help')"},
		},
		"cliser credentials add": {
			{args: []string{"credentials", "add"}, hint: "usage: cliser credentials add CID..."},
			{args: []string{"credentials", "add", "a", "--grace", "-1h"}, hint: "--grace"},
			{args: []string{"credentials", "add", "good", "bad id"}, hint: `"bad id" is not a client ID`},
			{args: []string{"credentials", "add", "dup", "other", "dup"}, hint: `client ID "dup" is given twice`},
			{args: []string{"credentials", "add", "a"}, env: badAdmin, hint: "CLISER_ADMIN"},
		},
		"cliser credentials list": {
			{args: []string{"credentials", "list", "extra"}, hint: "takes no arguments"},
			{args: []string{"credentials", "list", "-o", "yaml"}, hint: "want table or json"},
		},
		"cliser credentials rm": {
			{args: []string{"credentials", "rm"}, hint: "usage:"},
			{args: []string{"credentials", "rm", "good", "bad id"}, hint: `"bad id" is not a client ID`},
			{args: []string{"credentials", "rm", "dup", "dup"}, hint: `client ID "dup" is given twice`},
		},
		"cliser bans": {
			{args: []string{"bans", "nope"}, hint: "unknown command"},
			{args: []string{"bans", "nope", "-h"}, hint: `unknown command "nope" for "cliser bans"`},
			{args: []string{"bans"}, hint: "give a command: add, list, rm (see 'cliser bans --help')"},
		},
		"cliser bans add": {
			{args: []string{"bans", "add", "cid"}, hint: "usage: cliser bans add"},
			{args: []string{"bans", "add", "planet", "x"}, hint: "planet"},
			{args: []string{"bans", "add", "cid", "x", "--duration", "-1h"}, hint: "--duration"},
			{args: []string{"bans", "add", "cid", "x", "--duration", "0"}, hint: "leave it out for a ban until lifted"},
			{args: []string{"bans", "add", "cid", "x", "--reason", strings.Repeat("r", identity.MaxBanReason+1)}, hint: "--reason is 257 bytes"},
		},
		"cliser bans list": {
			{args: []string{"bans", "list", "--kind", "planet"}, hint: "--kind"},
			{args: []string{"bans", "list", "--kind", ""}, hint: "--kind is empty"},
		},
		"cliser bans rm": {{args: []string{"bans", "rm", "cid"}, hint: "usage:"}},
		"cliser events": {
			{args: []string{"events", "tial"}, hint: "did you mean tail"},
			{args: []string{"events"}, hint: "give a command: tail (see 'cliser events --help')"},
		},
		"cliser events tail": {
			{args: []string{"events", "tail", "extra"}, hint: "takes no arguments"},
			{args: []string{"events", "tail", "--type", "client.exploded"}, hint: "--type"},
			{args: []string{"events", "tail", "--after", "-1"}, hint: "--after"},
			{args: []string{"events", "tail", "--after", "x"}, hint: `invalid argument "x" for "--after" flag: it takes a whole number;`},
			{args: []string{"events", "tail", "--after", "99999999999999999999"}, hint: `flag: out of range for a whole number;`},
			{args: []string{"clients", "list", "--limit", "-99999999999999999999"}, hint: `flag: out of range for a whole number;`},
			{args: []string{"events", "tail", "--cid", "a b"}, hint: `--cid "a b" is not a client ID`},
			{args: []string{"events", "tail", "--type", ""}, hint: "--type \"\" names no event type"},
			{args: []string{"events", "tail", "--type", " , "}, hint: "names no event type"},
			{args: []string{"events", "tail", "--cid", ""}, hint: "--cid is empty"},
			{args: []string{"events", "tail"}, env: badAdmin, hint: "CLISER_ADMIN"},
		},
		"cliser status": {
			{args: []string{"status", "extra"}, hint: "takes no arguments"},
			{args: []string{"status", "-o", "yaml"}, hint: "want table or json"},
			{args: []string{"status", "--timeout", "0s"}, hint: "--timeout must be positive"},
			{args: []string{"status"}, env: badAdmin, hint: "CLISER_ADMIN"},
		},
		"cliser health": {
			{args: []string{"health", "extra"}, hint: "takes no arguments"},
			{args: []string{"health", "--timeout", "soon"}, hint: `"--timeout"`},
			{args: []string{"health", "--timeout", "0s"}, hint: "--timeout must be positive"}, // else no bound: a hung server hangs the probe
			{args: []string{"health"}, env: badAdmin, hint: "CLISER_ADMIN"},
			{args: []string{"health"}, env: []string{"CLISER_ADMIN=", "CLISER_ADMIN_LISTEN=off"}, hint: "CLISER_ADMIN_LISTEN is off"},
			{args: []string{"health", "--admin", "http://127.0.0.1:0"}, hint: "port 0 is not 1 to 65535"},
		},
		"cliser version": {
			{args: []string{"version", "extra"}, hint: "takes no arguments"},
			{args: []string{"version", "--no-such-flag"}, hint: "see 'cliser version --help'"},
		},
		"cliser completion": {
			{args: []string{"completion", "tcsh"}, hint: "unknown command"},
			{args: []string{"completion"}, hint: "give a command: bash, fish, powershell, zsh (see 'cliser completion --help')"},
			{args: []string{"completion", "tcsh", "--help"}, hint: `unknown command "tcsh" for "cliser completion"`},
		},
		"cliser completion bash": {{args: []string{"completion", "bash", "extra"}, hint: "takes no arguments"}},
		"cliser completion zsh":  {{args: []string{"completion", "zsh", "--no-such-flag"}, hint: "--help"}},
		"cliser completion fish": {{args: []string{"completion", "fish", "--descriptions=maybe"}, hint: "--descriptions"}},
		"cliser completion powershell": {
			{args: []string{"completion", "powershell", "extra"}, hint: "takes no arguments"},
		},
		"cliser help": {
			{args: []string{"help", "--no-such-flag"}, hint: "--help"},
			{args: []string{"help", "nosuch"}, hint: `unknown command "nosuch" for "cliser"`},
			{args: []string{"help", "clients", "lits"}, hint: "did you mean list"},
		},
	}
}

// TestEveryUsageMistakeExits2 runs each mistake against the built binary:
// exit status 2 and a message that names what to fix, for every command.
func TestEveryUsageMistakeExits2(t *testing.T) {
	cases := usageMistakes(t)
	for path, list := range cases {
		t.Run(strings.ReplaceAll(path, " ", "_"), func(t *testing.T) {
			require.NotEmpty(t, list)
			for _, c := range list {
				// Never the default admin address: a case that passed its
				// checks by mistake meets a closed port and exits 1.
				env := testkit.Environ([]string{"CLISER_PASSWORD", "CLISER_ADMIN"},
					append([]string{"CLISER_ADMIN=http://127.0.0.1:1"}, c.env...)...)
				out, code := testkit.Run(t, env, c.args...)
				assert.Equal(t, 2, code, "%v %v: %s", c.env, c.args, out)
				assert.Contains(t, out, c.hint, "%v %v", c.env, c.args)
				assert.NotContains(t, out, "goroutine ", "a stack trace for a usage mistake")
			}
		})
	}
}

// TestEveryCommandHasUsageMistakes keeps the table whole: a command added
// without its cases fails here.
func TestEveryCommandHasUsageMistakes(t *testing.T) {
	cases := usageMistakes(t)
	walk(newRootCmd(), func(c *cobra.Command) {
		assert.Contains(t, cases, c.CommandPath(), "no usage mistakes for %q in usageMistakes", c.CommandPath())
	})
}

func writeFile(t testing.TB, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

// Trust mistakes stop the built binary with exit 2 and a message that
// says what to fix.
func TestBinaryRefusesUntrustworthyProxySettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"cert CN without trusted senders", []string{"--proxy-protocol", "--require-cert-cn"}, nil, "--require-cert-cn believes the certificate name"},
		{"cert CN, nothing else", []string{"--require-cert-cn"}, nil, "set --proxy-protocol and --proxy-trusted"},
		{"trusted without PROXY protocol", []string{"--proxy-trusted", "127.0.0.1"}, nil, "it needs --proxy-protocol"},
		{"trusted, not an address", []string{"--proxy-protocol", "--proxy-trusted", "haproxy.internal"}, nil, "--proxy-trusted wants IP addresses or CIDRs"},
		{"trusted from the environment, bad CIDR", []string{"--proxy-protocol"}, []string{"CLISER_PROXY_TRUSTED=10.0.0.0/33"}, "--proxy-trusted (from CLISER_PROXY_TRUSTED) wants IP addresses or CIDRs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", t.TempDir()}, tc.args...)
			out, code := testkit.Run(t, testkit.Environ(nil, append([]string{"CLISER_PASSWORD=pw"}, tc.env...)...), args...)
			assert.Equal(t, 2, code, out)
			assert.Contains(t, out, tc.want)
		})
	}
}

// Plain --proxy-protocol starts, warning of the risk; with trusted senders
// from the environment it does not warn, and refuses anyone else.
func TestBinaryProxyTrustFromTheEnvironment(t *testing.T) {
	plain := testkit.Serve(t, []string{"CLISER_PASSWORD=pw"}, "--listen", "127.0.0.1:0", "--admin-listen", "off",
		"--data-dir", t.TempDir(), "--proxy-protocol")
	assert.Contains(t, plain.LogText(), "--proxy-protocol without --proxy-trusted")
	assert.Contains(t, plain.LogText(), "one host can hold every free connection", "the second risk, named (found by the wire audit)")

	trusted := testkit.Serve(t, []string{"CLISER_PASSWORD=pw", "CLISER_PROXY_TRUSTED=10.0.0.0/8, 192.0.2.7", "CLISER_REQUIRE_CERT_CN=true"},
		"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", t.TempDir(), "--proxy-protocol")
	assert.NotContains(t, trusted.LogText(), "without --proxy-trusted")
	assert.NotContains(t, trusted.LogText(), "trusts every address")
	testkit.Dial(t, trusted.Addr).ExpectClosed("190 " + protocol.ReasonProtocolError.String())
}

// Trusting every address is plain --proxy-protocol's risk: it started
// without a word (audit). Any prefix of length 0 warns, named.
func TestBinaryProxyTrustingEveryAddressWarns(t *testing.T) {
	for _, all := range []string{"0.0.0.0/0", "::/0", "10.0.0.5, 10.0.0.0/0"} {
		p := testkit.Serve(t, []string{"CLISER_PASSWORD=pw"}, "--listen", "127.0.0.1:0", "--admin-listen", "off",
			"--data-dir", t.TempDir(), "--proxy-protocol", "--proxy-trusted", all)
		last := all[strings.LastIndex(all, " ")+1:]
		assert.Contains(t, p.LogText(), "--proxy-trusted "+last+" trusts every address", all)
		assert.Contains(t, p.LogText(), "one host can hold every free connection", all)
	}
}

// Prefixes that together trust every IPv4 or every IPv6 sender warn as a
// /0 does (late audit: ::ffff:0.0.0.0/96 and two /1 halves did not); ones
// that leave any address out do not.
func TestTrustsEveryAddressByCoverage(t *testing.T) {
	for trusted, want := range map[string]string{
		"0.0.0.0/0":                             "0.0.0.0/0",
		"::ffff:0.0.0.0/96":                     "::ffff:0.0.0.0/96",
		"0.0.0.0/1,128.0.0.0/1":                 "0.0.0.0/1,128.0.0.0/1",
		"0.0.0.0/2,64.0.0.0/2,128.0.0.0/1":      "0.0.0.0/2,64.0.0.0/2,128.0.0.0/1",
		"::/1,8000::/1":                         "::/1,8000::/1",
		"0.0.0.0/1":                             "",
		"0.0.0.0/1,128.0.0.0/2,192.0.0.0/3":     "",
		"10.0.0.0/8,10.0.0.5":                   "",
		"::ffff:0.0.0.0/97,::ffff:128.0.0.0/97": "::ffff:0.0.0.0/97,::ffff:128.0.0.0/97",
	} {
		assert.Equal(t, want, trustsEveryAddress(strings.Split(trusted, ",")), trusted)
	}
}

// A word in backticks in a flag's help is its value's name in the usage
// line ("--tls-ca FILE"): a phrase there would read as the value.
func TestFlagValueNamesAreOneWord(t *testing.T) {
	walk(newRootCmd(), func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			name, _ := pflag.UnquoteUsage(f)
			assert.NotContains(t, name, " ", "%s --%s", c.CommandPath(), f.Name)
		})
	})
}
