package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/logsink"
	"github.com/cliser/cliser/internal/secretfile"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

// serveConfig is every setting of `cliser serve`. Each field is a flag, an
// environment variable CLISER_<FLAG> and a config file key.
type serveConfig struct {
	config           string
	listen           string
	adminListen      string
	adminHosts       string
	passwordFile     string
	adminTokenFile   string
	adminTokens      *admin.Tokens // loaded by validate; swapped on SIGHUP
	keepInterval     time.Duration
	keepTimeout      time.Duration
	handshakeTimeout time.Duration
	shutdownTimeout  time.Duration
	maxClients       int
	maxConns         int
	adminMaxConns    int
	authFailLimit    int
	authFailWindow   time.Duration
	maxPendingPerIP  int
	ipv6GuardPrefix  int
	proxyProtocol    bool
	proxyTrusted     []string // serve_proxy.go
	requireCertCN    bool
	maxBacklog       int
	dataDir          string
	retention        time.Duration
	logLevel         string
	logFormat        string
	cluster          string // NATS URLs; empty: single node with bbolt
	nodeID           string
	clusterReplicas  int
	clusterHeartbeat time.Duration
	clusterOnly      []string       // the --cluster-* flags given: a mistake without --cluster
	secretFlags      []string       // flags given on the command line whose URL holds a secret (secret_mode.go)
	secretInConfig   []string       // keys of the config file whose URL holds a secret
	configPath       string         // the config file read, if any
	identity         identityConfig // serve_identity.go
	eventRetention   int
	webhook          webhookConfig // serve_webhook.go
	ui               bool          // serve_ui.go
	gcHold           time.Duration // gc_hold.go
}

// maxNodeID bounds --node-id: a host name is at most 253 bytes.
const maxNodeID = 253

func newServeCmd() *cobra.Command {
	cfg := &serveConfig{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server",
		Long: "Run the cliser server. Every flag is also an environment variable CLISER_<FLAG>\n" +
			"(--keepalive-interval is CLISER_KEEPALIVE_INTERVAL) and a key of the --config file;\n" +
			"flags win over the environment, the environment over the file.\n" +
			"Passwords come from CLISER_PASSWORD and/or --password-file, never from a flag.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := cfg.config
			if !cmd.Flags().Changed("config") {
				path = os.Getenv(envName("config"))
			}
			from, err := applyLayers(cmd.Flags(), path)
			if err != nil {
				return err
			}
			cfg.clusterOnly = flagsGiven(cmd.Flags(), "cluster-replicas", "cluster-heartbeat")
			cfg.secretFlags, cfg.secretInConfig = urlSecretFlags(cmd.Flags(), from)
			cfg.configPath = path
			cfg.webhook.tuning = flagsGiven(cmd.Flags(), "webhook-batch", "webhook-linger")
			ctx, hurry, hup, stop := routeSignals(cmd.Context())
			defer stop()
			return from.named(runServe(ctx, hurry, hup, cfg))
		},
	}
	addServeFlags(cmd.Flags(), cfg)
	return cmd
}

// addServeFlags defines serve's flags into cfg; every one is also an
// environment variable and a --config key (config.go).
func addServeFlags(f *pflag.FlagSet, cfg *serveConfig) {
	f.StringVar(&cfg.config, "config", "", "YAML file of settings, keyed by flag name")
	f.StringVar(&cfg.listen, "listen", reactor.DefaultAddr, "the protocol's TCP address")
	f.StringVar(&cfg.adminListen, "admin-listen", "127.0.0.1:7071", "the admin HTTP API's address; off turns it off")
	addAdminGuardFlags(f, cfg)
	addAdminTokenFlags(f, cfg)
	addUIFlags(f, cfg)
	f.StringVar(&cfg.passwordFile, "password-file", "", "file of accepted passwords, one a line")
	f.DurationVar(&cfg.keepInterval, "keepalive-interval", reactor.DefaultKeepInterval, "time between keep-alives to a registered client")
	f.DurationVar(&cfg.keepTimeout, "keepalive-timeout", reactor.DefaultKeepTimeout, "how long a client has to answer a keep-alive")
	f.DurationVar(&cfg.handshakeTimeout, "handshake-timeout", reactor.DefaultHandshakeTimeout, "how long a new connection has to give password and ID")
	f.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a graceful stop may take")
	decimalVar(f, &cfg.maxClients, "max-clients", 65535, "registered clients at once (sid is 16 bits)")
	decimalVar(f, &cfg.maxConns, "max-connections", 0, "open TCP connections at once, handshaking ones included (0: the open-files limit less the descriptor reserve; more than that is refused)")
	decimalVar(f, &cfg.adminMaxConns, "admin-max-connections", admin.DefaultMaxConns, "open connections of the admin listener; past it a new one closes the longest idle, else waits in the kernel's queue (part of the descriptor reserve)")
	decimalVar(f, &cfg.authFailLimit, "auth-fail-limit", reactor.DefaultAuthFailLimit, "authentication failures from one IP within --auth-fail-window that ban it for that window; 0 disables")
	f.DurationVar(&cfg.authFailWindow, "auth-fail-window", reactor.DefaultAuthFailWindow, "the window of --auth-fail-limit, and how long a ban lasts")
	decimalVar(f, &cfg.maxPendingPerIP, "max-handshakes-per-ip", reactor.DefaultMaxPendingPerIP, "connections of one IP still in their handshake; 0 disables")
	decimalVar(f, &cfg.ipv6GuardPrefix, "ipv6-guard-prefix", reactor.DefaultIPv6GuardPrefix, "the per-IP limits (auth-fail ban, handshakes per IP, the admin API's wrong-token limit) count an IPv6 client by its network of this many bits (16..128; 128: each address alone)")
	decimalVar(f, &cfg.maxBacklog, "max-outbound-backlog", reactor.DefaultMaxBacklog, "bytes a client may leave unread before it is dropped as a slow consumer")
	f.BoolVar(&cfg.proxyProtocol, "proxy-protocol", false, "expect a PROXY protocol v1/v2 header on every connection (TLS terminated in front) and take cip/cport from it")
	f.StringSliceVar(&cfg.proxyTrusted, "proxy-trusted", nil, "`ADDRS` (IP addresses or CIDRs, comma-separated) allowed to send the PROXY header; a connection from elsewhere gets \"190 protocol error\"")
	f.BoolVar(&cfg.requireCertCN, "require-cert-cn", false, "admit a client only when the PROXY v2 header says it presented a verified client certificate whose CN is its client ID (needs --proxy-trusted)")
	f.StringVar(&cfg.dataDir, "data-dir", "./data", "where the registry, credentials, bans and event log are kept across restarts")
	f.DurationVar(&cfg.retention, "retention", 30*24*time.Hour, "how long a disconnected record is kept; 0 keeps it forever")
	f.StringVar(&cfg.cluster, "cluster", "", "join a cluster on NATS JetStream at these URLs (nats://host:4222[,...]); records then live in the cluster, not in --data-dir")
	f.StringVar(&cfg.nodeID, "node-id", defaultNodeID(), "this node's name: its ID in a cluster, and the node its clients' events and history name (default: the host name)")
	f.Lookup("node-id").DefValue = "" // this machine's name is no default for the help to print
	decimalVar(f, &cfg.clusterReplicas, "cluster-replicas", 1, "replicas of the cluster's JetStream buckets (3 on a 3-server NATS cluster)")
	f.DurationVar(&cfg.clusterHeartbeat, "cluster-heartbeat", cluster.DefaultHeartbeatTTL, "how long a node's heartbeat lives unrenewed; a lost node's clients are marked within about 1.5 times this")
	cfg.identity.addFlags(f)
	f.DurationVar(&cfg.gcHold, "gc-hold", defaultGCHold, "how long the heap goal stays at its peak after the live heap falls (a fleet leaving), so a returning fleet does not run the GC and fault pages back in; 0 lets the goal follow the live heap at once")
	f.StringVar(&cfg.logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&cfg.logFormat, "log-format", "json", "json or console")
	addEventFlags(f, cfg)
	cfg.webhook.addFlags(f)
}

// minKeepInterval is the shortest --keepalive-interval taken.
const minKeepInterval = 10 * time.Millisecond

// maxProtocolTimer is the longest keep-alive interval or timeout taken: a
// week keeps the timing wheel at its 1 ms tick.
const maxProtocolTimer = 7 * 24 * time.Hour

// validate checks every setting, the first mistake found failing it, and
// loads the admin tokens (validateAdminTokens).
func (cfg *serveConfig) validate() error {
	for _, check := range []func() error{
		cfg.validateLimits,
		cfg.validateStorage,
		cfg.validateAddrs,
		cfg.validateAdminTokens,
		cfg.validateProxy,
		cfg.validateEvents,
		func() error { return cfg.webhook.validate(cfg.eventRetention > 0) },
		func() error { _, err := allowedHosts(cfg.adminHosts); return err },
		cfg.identity.validate,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateLimits checks the durations, counts and sizes.
func (cfg *serveConfig) validateLimits() error {
	switch {
	case cfg.keepInterval < minKeepInterval:
		// 1ns was taken: a ping-pong every 2 ms on every connection.
		return configErrorf("--keepalive-interval must be at least %s (each keep-alive is a round trip every client answers), got %s",
			minKeepInterval, cfg.keepInterval)
	case cfg.keepTimeout <= 0:
		return configErrorf("--keepalive-timeout must be positive, got %s", cfg.keepTimeout)
	case cfg.handshakeTimeout <= 0:
		return configErrorf("--handshake-timeout must be positive, got %s", cfg.handshakeTimeout)
	case max(cfg.keepInterval, cfg.keepTimeout, cfg.handshakeTimeout) > maxProtocolTimer:
		// Past about 12 days the wheel's tick grows to fit (reactor's
		// maxTicksAhead): every keep-alive came seconds late, unsaid.
		return configErrorf("--keepalive-interval, --keepalive-timeout and --handshake-timeout must each be at most %s, got %s, %s and %s",
			maxProtocolTimer, cfg.keepInterval, cfg.keepTimeout, cfg.handshakeTimeout)
	case cfg.shutdownTimeout <= 0:
		return configErrorf("--shutdown-timeout must be positive, got %s", cfg.shutdownTimeout)
	case cfg.gcHold < 0:
		return configErrorf("--gc-hold must be 0 or positive, got %s", cfg.gcHold)
	case cfg.maxClients < 1 || cfg.maxClients > 65535:
		return configErrorf("--max-clients must be 1..65535 (sid is 16 bits), got %d", cfg.maxClients)
	case cfg.maxConns < 0:
		return configErrorf("--max-connections must not be negative (0: derived from the open-files limit), got %d", cfg.maxConns)
	case cfg.adminMaxConns < 2:
		// Event streams may hold half: with 1, one stream held the only
		// slot and /healthz went unanswered (admin HTTP audit).
		return configErrorf("--admin-max-connections must be at least 2 (event streams may hold half; the rest is for probes and commands), got %d", cfg.adminMaxConns)
	case cfg.authFailLimit < 0: // one message for both named neither (agent audit)
		return configErrorf("--auth-fail-limit must not be negative (0 disables it), got %d", cfg.authFailLimit)
	case cfg.maxPendingPerIP < 0:
		return configErrorf("--max-handshakes-per-ip must not be negative (0 disables it), got %d", cfg.maxPendingPerIP)
	case cfg.ipv6GuardPrefix < 16 || cfg.ipv6GuardPrefix > 128:
		return configErrorf("--ipv6-guard-prefix must be 16..128 (bits of an IPv6 client's network; 128: each address), got %d", cfg.ipv6GuardPrefix)
	case cfg.authFailLimit > 0 && cfg.authFailWindow <= 0:
		return configErrorf("--auth-fail-window must be positive, got %s", cfg.authFailWindow)
	case cfg.maxBacklog < 1:
		return configErrorf("--max-outbound-backlog must be positive, got %d", cfg.maxBacklog)
	case cfg.retention < 0:
		return configErrorf("--retention must not be negative, got %s", cfg.retention)
	}
	return nil
}

// validateStorage checks where the records live: the data dir, or the
// cluster's settings.
func (cfg *serveConfig) validateStorage() error {
	switch {
	case cfg.dataDir != "" && strings.TrimSpace(cfg.dataDir) == "":
		// It made a directory named " " (found by the interface audit).
		return configErrorf("--data-dir %q is only white space, which would name a directory so: give a directory (the default is ./data)", cfg.dataDir)
	case cfg.dataDir == "" && cfg.cluster == "":
		// It kept everything in memory, lost at every stop without a word
		// (found by the interface audit).
		return configErrorf("--data-dir is empty: a single node keeps its registry, credentials, bans and event log there " +
			"across restarts; give a directory (the default is ./data)")
	case cfg.cluster == "" && len(cfg.clusterOnly) == 1:
		return configErrorf("%s is a setting of cluster mode: it needs --cluster (NATS URLs); a single node would ignore it, so leave it out",
			cfg.clusterOnly[0])
	case cfg.cluster == "" && len(cfg.clusterOnly) > 1:
		return configErrorf("%s are settings of cluster mode: they need --cluster (NATS URLs); a single node would ignore them, so leave them out",
			strings.Join(cfg.clusterOnly, " and "))
	case cfg.cluster != "" && cfg.nodeID == "":
		return configErrorf("--node-id is needed with --cluster (the host name could not be read)")
	case printable(cfg.nodeID) != cfg.nodeID || !utf8.ValidString(cfg.nodeID):
		// Every event and record names the node: its escape codes and
		// direction marks reached operators' terminals (odd-input audit).
		return configErrorf("--node-id %q holds a control or invisible character, or bytes that are no UTF-8: give a plain name (the default is the host name)",
			cfg.nodeID)
	case len(cfg.nodeID) > maxNodeID:
		// Past ~3.9 KB NATS refused its subjects, told as a --cluster
		// fault, and a long one widened every status table (cluster audit).
		return configErrorf("--node-id is %d bytes: at most %d", len(cfg.nodeID), maxNodeID)
	case cfg.clusterReplicas < 1 || cfg.clusterReplicas > 5:
		return configErrorf("--cluster-replicas must be 1..5, got %d", cfg.clusterReplicas)
	case cfg.clusterHeartbeat < time.Second:
		return configErrorf("--cluster-heartbeat must be at least 1s, got %s", cfg.clusterHeartbeat)
	}
	return nil
}

// validateAddrs checks the listeners' addresses and the cluster's NATS
// URLs.
func (cfg *serveConfig) validateAddrs() error {
	if err := checkListenAddr("--listen", cfg.listen, "7070", false); err != nil {
		return err
	}
	if err := checkListenAddr("--admin-listen", cfg.adminListen, "7071", true); err != nil {
		return err
	}
	if err := checkListenersApart(cfg.listen, cfg.adminListen); err != nil {
		return err
	}
	if cfg.cluster != "" {
		return checkNATSURLs(cfg.cluster)
	}
	return nil
}

// validateAdminTokens loads the admin tokens into cfg.adminTokens.
func (cfg *serveConfig) validateAdminTokens() error {
	if cfg.adminTokenFile != "" && cfg.adminListen == "off" {
		return configErrorf("--admin-token-file guards the admin API: it needs --admin-listen (not off)")
	}
	tokens, err := loadAdminTokens(cfg.adminTokenFile)
	if err != nil {
		return err
	}
	cfg.adminTokens = admin.NewTokens(tokens...)
	return nil
}

// loadPasswords gathers the accepted passwords from CLISER_PASSWORD and the
// password file. It never logs them.
func loadPasswords(file string, optional bool) ([][]byte, error) {
	var out [][]byte
	if pw, ok := os.LookupEnv("CLISER_PASSWORD"); ok && pw != "" {
		p, err := envPassword(pw)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if file != "" {
		raw, err := secretfile.Read(file)
		if err != nil {
			return nil, configErrorf("--password-file: %v", err)
		}
		pws, err := passwordLines(file, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, pws...)
	}
	if len(out) == 0 && !optional {
		return nil, noPasswordError(file)
	}
	return out, nil
}

// noPasswordError says what to fix when no password is configured. A
// password file given, or a CLISER_PASSWORD set but empty, is named: the
// message would tell to give the very thing that was given.
func noPasswordError(file string) error {
	_, setEmpty := os.LookupEnv("CLISER_PASSWORD")
	switch {
	case file != "" && setEmpty:
		return configErrorf("no password configured: --password-file %s holds none (only empty lines), and CLISER_PASSWORD is set but empty; "+
			"put one password a line in the file, or give CLISER_PASSWORD a password", file)
	case file != "":
		return configErrorf("no password configured: --password-file %s holds none (only empty lines); "+
			"put one password a line in it, or set CLISER_PASSWORD=<password> in the environment", file)
	case setEmpty:
		return configErrorf("no password configured: CLISER_PASSWORD is set but empty; give it a password, " +
			"or give --password-file FILE (one password a line; password-file: in a config file); passwords are never flags. " +
			"To admit only client IDs with a credential of their own, and no shared password, give --require-credentials")
	}
	return configErrorf("no password configured: set CLISER_PASSWORD=<password> in the environment, " +
		"or --password-file FILE (one password a line; password-file: in a config file); passwords are never flags. " +
		"To admit only client IDs with a credential of their own, and no shared password, give --require-credentials")
}

// envPassword checks a non-empty CLISER_PASSWORD. A refusal never quotes it.
func envPassword(pw string) ([]byte, error) {
	if protocol.ValidatePassword([]byte(pw)) != nil {
		return nil, configErrorf("CLISER_PASSWORD must be 1 to %d bytes without CR, LF or NUL", protocol.MaxPassword)
	}
	if blank(pw) {
		return nil, configErrorf("CLISER_PASSWORD is only spaces or tabs: a password any client could send by mistake; set a real one")
	}
	return []byte(pw), nil
}

// passwordLines reads raw, the password file named file, as one password a
// line (LF or CRLF line ends); empty lines are skipped. A refusal names
// the line by its number, never by its text.
func passwordLines(file string, raw []byte) ([][]byte, error) {
	var out [][]byte
	for n, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		if protocol.ValidatePassword([]byte(line)) != nil {
			// A CR within the line: most likely a file with old Mac
			// line ends, read as one long line.
			return nil, configErrorf("--password-file %s line %d: a password is 1 to %d bytes without CR or NUL (lines end in LF or CRLF)",
				file, n+1, protocol.MaxPassword)
		}
		if blank(line) {
			// Taken as a password it would let in any client that
			// sends blanks; most likely a stray line of an editor.
			return nil, configErrorf("--password-file %s line %d is only spaces or tabs: remove the line (a blank password is refused)", file, n+1)
		}
		out = append(out, []byte(line))
	}
	return out, nil
}

// blank reports whether pw is only spaces and tabs.
func blank(pw string) bool { return strings.Trim(pw, " \t") == "" }

// runServe serves until ctx ends, then drains within --shutdown-timeout,
// or at once when hurry ends (a second signal).
func runServe(ctx, hurry context.Context, hup <-chan os.Signal, cfg *serveConfig) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	budget, err := cfg.fitDescriptors()
	if err != nil {
		return err
	}
	log, logSink, err := newLogger(cfg.logLevel, cfg.logFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	warnUnknownEnv(log)
	hold := startGCHold(log, cfg.gcHold)
	defer hold.stop()
	budget.log(log)
	passwords, err := loadPasswords(cfg.passwordFile, cfg.identity.requireCredentials)
	if err != nil {
		return err
	}
	cfg.warnAtStart(log)
	n := node.New(cfg.nodeOptions(log, logSink, passwords, budget)...)
	if served, err := startNode(ctx, n, log); !served {
		return err
	}
	// Before ready: the reload counters are there for the first scrape
	// (registered by reloadOnHUP's goroutine, a scrape at ready missed them).
	reloads := secretReloads(cfg, n)
	log.Info("cliser ready: connect with `nc HOST PORT`, answer `110 <password>` then `120 <client-id>`",
		zap.String("listen", n.Addr()), zap.String("admin", n.AdminAddr()), zap.String("version", version))
	served, endServed := context.WithCancel(context.WithoutCancel(ctx))
	defer endServed()
	go reloadOnHUP(ctx, served, hup, reloads, log)
	return stopWhenTold(ctx, hurry, n, cfg.shutdownTimeout, log)
}

// startGCHold tunes the collector and starts --gc-hold; the caller stops it.
func startGCHold(log *zap.Logger, gcHold time.Duration) *gcHold {
	gcPercent := tuneGC()
	hold := newGCHold(gcPercent, gcHold)
	hold.start()
	log.Info("garbage collector", zap.Int("gc_percent", gcPercent), zap.Duration("gc_hold", hold.held()))
	log.Debug("scheduler", zap.Int("gomaxprocs", tuneProcs()))
	return hold
}

// warnAtStart logs what the settings leave open: secret files and a data
// dir others may read or write, secrets in flags or in a readable config,
// a PROXY header taken from anyone, and an event log too short for one
// webhook request.
func (cfg *serveConfig) warnAtStart(log *zap.Logger) {
	warnOpenSecretFile(log, "--password-file", cfg.passwordFile)
	warnOpenSecretFile(log, "--webhook-secret-file", cfg.webhook.secretFile)
	warnOpenSecretFile(log, "--admin-token-file", cfg.adminTokenFile)
	warnOpenDataDir(log, cfg.dataDir)
	warnSecretFlags(log, cfg.secretFlags)
	warnOpenConfig(log, cfg.configPath, cfg.secretInConfig)
	cfg.warnProxy(log)
	cfg.webhook.warn(log, cfg.eventRetention)
}

// startNode starts n; served is false when it did not start, with the
// error to exit with (nil when a signal came first: nothing to report).
func startNode(ctx context.Context, n *node.Node, log *zap.Logger) (served bool, err error) {
	if ctx.Err() != nil { // SIGINT or SIGTERM before anything was opened
		log.Info("stopped before starting")
		return false, nil
	}
	if err := n.Start(ctx); err != nil {
		if ctx.Err() != nil {
			log.Info("stopped while starting; nothing was served", zap.NamedError("start", err))
			return false, nil
		}
		if errors.Is(err, node.ErrConfig) {
			return false, configErrorf("%v", err)
		}
		return false, err
	}
	return true, nil
}

// stopWhenTold serves until a signal or the node's death, then shuts n
// down within timeout, or at once on hurry (a second signal).
func stopWhenTold(ctx, hurry context.Context, n *node.Node, timeout time.Duration, log *zap.Logger) error {
	died := awaitStop(ctx, n, log)
	stopCtx, cancel := context.WithTimeout(hurry, timeout)
	defer cancel()
	// Whoever sends a second signal wants the process gone: what waits
	// (clients, the admin API's requests) is cut; the registry's last
	// write is not. The warning is out before the process exits.
	warned := make(chan struct{})
	stopWarning := context.AfterFunc(hurry, func() {
		defer close(warned)
		log.Warn("second signal: cutting the drain short; the registry is still written")
	})
	err := errors.Join(died, n.Shutdown(stopCtx))
	if !stopWarning() {
		<-warned
	}
	if err != nil {
		log.Error("stopped with errors", zap.Error(err))
		return err
	}
	connected, total := n.Registry().Counts()
	log.Info("stopped; registry written", zap.Int("records", total), zap.Int("connected", connected))
	return nil
}

// nodeOptions turns the settings into the node's options. The admin
// tokens are the ones validate loaded (CLISER_ADMIN_TOKEN and
// --admin-token-file: never a flag's value, so none shows in ps); they
// are never logged.
func (cfg *serveConfig) nodeOptions(log *zap.Logger, logSink *logsink.Sink, passwords [][]byte, budget fdBudget) []node.Option {
	opts := []node.Option{
		node.WithLogger(log),
		node.WithNodeID(cfg.nodeID), // a single node's events name it too (EVENTS.md)
		node.WithDataDir(cfg.dataDir),
		node.WithRetention(cfg.retention),
		node.WithRegistryOptions(registry.WithMaxClients(cfg.maxClients)),
		node.WithIdentityOptions(cfg.identity.options()...),
		node.WithEventRetention(cfg.eventRetention),
		node.WithWebhook(cfg.webhook.node()),
		node.WithListen(cfg.listen),
		node.WithReactorOptions(
			reactor.WithPasswords(passwords),
			reactor.WithKeepAlive(cfg.keepInterval, cfg.keepTimeout),
			reactor.WithHandshakeTimeout(cfg.handshakeTimeout),
			reactor.WithMaxConns(budget.maxConns), reactor.WithFDReserve(budget.reserve),
			reactor.WithAuthFailLimit(cfg.authFailLimit, cfg.authFailWindow),
			reactor.WithMaxHandshakesPerIP(cfg.maxPendingPerIP), reactor.WithIPv6GuardPrefix(cfg.ipv6GuardPrefix),
			reactor.WithProxyProtocol(cfg.proxyProtocol),
			reactor.WithProxyTrusted(cfg.proxyTrusted), reactor.WithRequireCertCN(cfg.requireCertCN),
			reactor.WithMaxBacklog(cfg.maxBacklog),
		),
		node.WithAdmin(cfg.adminListen),
		node.WithAdminTokens(cfg.adminTokens),
		node.WithAdminOptions(append(cfg.adminGuardOptions(), admin.WithMaxConns(cfg.adminMaxConns),
			admin.WithHealthNote("log", logSink.Health), admin.WithCollectors(logSink.Collector()))...),
		node.WithUI(cfg.ui),
	}
	if cfg.cluster != "" {
		opts = append(opts, node.WithCluster(cfg.cluster, cfg.nodeID), node.WithClusterReplicas(cfg.clusterReplicas),
			node.WithClusterHeartbeat(cfg.clusterHeartbeat))
	}
	return opts
}
