package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/cliser/cliser/client"
	"github.com/cliser/cliser/internal/secretfile"
	"github.com/cliser/cliser/protocol"
)

func init() { extraCommands = append(extraCommands, newAgentCmd) }

// agentConfig is every setting of `cliser agent`. Each field is a flag and
// an environment variable CLISER_<FLAG>; the password is never a flag.
type agentConfig struct {
	server            string
	id                string
	passwordFile      string
	onShutdown        string
	onShutdownTimeout time.Duration
	dialTimeout       time.Duration
	handshakeTimeout  time.Duration
	idleTimeout       time.Duration
	backoffMin        time.Duration
	backoffMax        time.Duration
	logLevel          string
	logFormat         string
	tls               agentTLS
	// tlsOff is --tls=false given on purpose (flag or CLISER_TLS), which
	// must not be overridden by --tls-ca implying TLS.
	tlsOff bool
}

func newAgentCmd() *cobra.Command {
	cfg := &agentConfig{}
	cmd := &cobra.Command{
		Use:   "agent --server HOST:PORT --id ID",
		Short: "Run a client: connect, answer the handshake and keep-alives, act on shutdown orders",
		Long: "Run a cliser client. It keeps one session with the server, reconnecting with\n" +
			"exponential backoff and full jitter when it drops. On `130 shutdown` it answers\n" +
			"`130 ok`, runs --on-shutdown through `sh -c` (the order's text is in\n" +
			"CLISER_SHUTDOWN_REASON), and exits 0. SIGINT or SIGTERM close it cleanly (exit 0);\n" +
			"SIGHUP makes it try again at once when it waits between attempts.\n\n" +
			"The password comes from CLISER_PASSWORD or the first non-empty line of\n" +
			"--password-file (the file wins when both are set; it is read again before\n" +
			"every attempt); it is never a flag.\n" +
			"Every flag is also an environment variable CLISER_<FLAG> (--server is\n" +
			"CLISER_SERVER); flags win over the environment.\n\n" +
			"--tls speaks TLS to a terminator in front of the server (certificates are\n" +
			"always verified); --tls-ca, --tls-server-name, --tls-cert and --tls-key\n" +
			"imply it.\n" +
			"See docs/agent.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := applyLayers(cmd.Flags(), "")
			if err != nil {
				return err
			}
			cfg.tlsOff = cmd.Flags().Changed("tls") && !cfg.tls.enabled
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			// Caught from the start: Go's default for SIGHUP ends the
			// process, and an operator sends it after fixing a password.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			// As serve (serve_signals.go): a log pipe whose reader went
			// away fails the log's writes instead of ending the agent.
			// Caught, not ignored, so that the --on-shutdown command does
			// not inherit it ignored.
			signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
			return from.named(runAgent(ctx, hup, cfg))
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.server, "server", "", "the server's HOST:PORT (required)")
	f.StringVar(&cfg.id, "id", "", "this client's ID: 1 to 64 of A-Z a-z 0-9 . _ : @ - (required)")
	f.StringVar(&cfg.passwordFile, "password-file", "", "file whose first non-empty line is the password (else CLISER_PASSWORD)")
	f.StringVar(&cfg.onShutdown, "on-shutdown", "", "command `CMD`, run through sh -c after a shutdown order was acked")
	f.DurationVar(&cfg.onShutdownTimeout, "on-shutdown-timeout", 30*time.Second, "how long the --on-shutdown command may run before it is killed")
	f.DurationVar(&cfg.dialTimeout, "dial-timeout", 10*time.Second, "how long a TCP connect may take (with --tls, the TLS handshake too)")
	f.DurationVar(&cfg.handshakeTimeout, "handshake-timeout", 10*time.Second, "how long from connect to 140 connected")
	// A frozen server (or a peer gone behind a NAT) keeps the socket open
	// and the kernel answers TCP keep-alives, so only silence tells.
	f.DurationVar(&cfg.idleTimeout, "idle-timeout", 2*time.Minute, "reconnect when the server has sent no line (keep-alive) for this long; keep it well above the server's --keepalive-interval; at least 1s; 0 turns it off")
	f.DurationVar(&cfg.backoffMin, "backoff-min", 500*time.Millisecond, "base wait between reconnects; each wait is drawn at random up to its bound, so one may be shorter")
	f.DurationVar(&cfg.backoffMax, "backoff-max", time.Minute, "longest wait between reconnects (and the wait after auth failed)")
	f.StringVar(&cfg.logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&cfg.logFormat, "log-format", "json", "json or console")
	f.BoolVar(&cfg.tls.enabled, "tls", false, "speak TLS to the server (a TLS terminator in front of cliser); TLS 1.2 or later, certificate always verified")
	f.StringVar(&cfg.tls.caFile, "tls-ca", "", "PEM `FILE` of CA certificates to trust instead of the system roots (implies --tls)")
	f.StringVar(&cfg.tls.serverName, "tls-server-name", "", "`NAME` sent as SNI and verified in the certificate (default: the host of --server; implies --tls)")
	f.StringVar(&cfg.tls.certFile, "tls-cert", "", "PEM `FILE` of the client certificate (and its chain) to present, with --tls-key; read again before every attempt (implies --tls)")
	f.StringVar(&cfg.tls.keyFile, "tls-key", "", "PEM `FILE` of the client certificate's private key, mode 600 (implies --tls)")
	return cmd
}

// agentPassword reads the password: the first non-empty line of the file
// when one is given, else CLISER_PASSWORD. It never logs it.
func agentPassword(file string) (string, error) {
	if file != "" {
		if err := checkSecretFileMode("--password-file", file); err != nil {
			return "", err
		}
		raw, err := secretfile.Read(file)
		if err != nil {
			return "", configErrorf("--password-file: %v", err)
		}
		return firstPasswordLine(file, raw)
	}
	pw, set := os.LookupEnv("CLISER_PASSWORD")
	switch {
	case pw != "":
		return checkPassword(pw, "CLISER_PASSWORD")
	case set:
		return "", configErrorf("no password: CLISER_PASSWORD is set but empty; give it the password, " +
			"or give --password-file FILE; a password is never a flag")
	}
	return "", configErrorf("no password: set CLISER_PASSWORD=<password> in the environment, " +
		"or --password-file FILE; a password is never a flag")
}

// passwordSource names where agentPassword read the password, for the line
// the agent logs when the server refuses it.
func passwordSource(file string) string {
	if file != "" {
		return "--password-file " + file
	}
	return "CLISER_PASSWORD"
}

// firstPasswordLine is the password of raw, the password file named
// file: its first non-empty line (LF or CRLF line ends).
func firstPasswordLine(file string, raw []byte) (string, error) {
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSuffix(line, "\r"); line != "" {
			return checkPassword(line, "--password-file "+file)
		}
	}
	return "", configErrorf("--password-file %s has no password in it", file)
}

func checkPassword(pw, from string) (string, error) {
	if protocol.ValidatePassword([]byte(pw)) != nil {
		return "", configErrorf("%s: a password is 1 to %d bytes without CR, LF or NUL", from, protocol.MaxPassword)
	}
	if blank(pw) {
		// cliser serve takes no such password (loadPasswords), so
		// the agent would be refused at every connect, for ever.
		return "", configErrorf("%s: a password of only spaces or tabs is refused by the server: set a real one", from)
	}
	return pw, nil
}

// minAgentBackoff is the shortest --backoff-min taken.
const minAgentBackoff = 10 * time.Millisecond

// minIdleTimeout is the shortest --idle-timeout taken (0, off, aside).
// Any was: 1ms closed each session as soon as it registered, so the
// agent redialled without end, and the server logged a client come and
// gone over and over. Below a second a pause of the server's (a GC, a
// busy host) is taken for a silent server.
const minIdleTimeout = time.Second

// check refuses settings the agent can not run with, one message per
// mistake, with the value given: a list of every rule left the reader to
// find which of three settings was wrong.
func (cfg *agentConfig) check() error {
	if cfg.server == "" {
		return required("server", "HOST:PORT", "the server's HOST:PORT")
	}
	if cfg.id == "" {
		return required("id", "ID", "this agent's client ID")
	}
	if protocol.ValidateClientID([]byte(cfg.id)) != nil {
		// The client's own check said only `client: bad config: id "..."`.
		return configErrorf("--id %q: an ID is 1 to %d of A-Z a-z 0-9 . _ : @ -", cfg.id, protocol.MaxClientID)
	}
	if err := checkServerAddr(cfg.server); err != nil {
		return err
	}
	if cfg.onShutdownTimeout <= 0 {
		return configErrorf("--on-shutdown-timeout must be positive, got %s", cfg.onShutdownTimeout)
	}
	if cfg.backoffMin < minAgentBackoff {
		// 1ns was taken: with --backoff-max as small, a server down (or a
		// wrong password) was redialled some 15000 times a second.
		return configErrorf("--backoff-min must be at least %s (every wait between attempts can be this short), got %s",
			minAgentBackoff, cfg.backoffMin)
	}
	if cfg.backoffMax < cfg.backoffMin {
		return configErrorf("--backoff-max %s is below --backoff-min %s: raise --backoff-max or lower --backoff-min",
			cfg.backoffMax, cfg.backoffMin)
	}
	if cfg.dialTimeout <= 0 || cfg.handshakeTimeout <= 0 {
		return configErrorf("--dial-timeout and --handshake-timeout must be positive, got %s and %s",
			cfg.dialTimeout, cfg.handshakeTimeout)
	}
	if cfg.idleTimeout < 0 || (cfg.idleTimeout > 0 && cfg.idleTimeout < minIdleTimeout) {
		return configErrorf("--idle-timeout must be 0 (off) or at least %s, and well above the server's "+
			"--keepalive-interval (a session silent this long is closed and redialled), got %s", minIdleTimeout, cfg.idleTimeout)
	}
	return nil
}

func (cfg *agentConfig) clientConfig(log *zap.Logger) (client.Config, client.Backoff, error) {
	if err := cfg.check(); err != nil {
		return client.Config{}, client.Backoff{}, err
	}
	pw, err := agentPassword(cfg.passwordFile)
	if err != nil {
		return client.Config{}, client.Backoff{}, err
	}
	cc := client.Config{
		Addr:             cfg.server,
		Password:         pw,
		PasswordSource:   passwordSource(cfg.passwordFile),
		ReadPassword:     rereadPassword(cfg.passwordFile),
		ID:               cfg.id,
		DialTimeout:      cfg.dialTimeout,
		HandshakeTimeout: cfg.handshakeTimeout,
		IdleTimeout:      cfg.idleTimeout,
		Logger:           log,
	}
	if err := cc.Validate(); err != nil {
		return client.Config{}, client.Backoff{}, configErrorf("%v", err)
	}
	if cc.TLS, err = cfg.tls.config(cfg.server, cfg.tlsOff); err != nil {
		return client.Config{}, client.Backoff{}, err
	}
	cc.ReadTLS = cfg.tls.reread(cfg.server)
	return cc, client.Backoff{Min: cfg.backoffMin, Max: cfg.backoffMax}, nil
}

func runAgent(ctx context.Context, hup <-chan os.Signal, cfg *agentConfig) error {
	log, _, err := newLogger(cfg.logLevel, cfg.logFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	warnUnknownEnv(log)
	cc, backoff, err := cfg.clientConfig(log)
	if err != nil {
		return err
	}
	if cc.TLS != nil {
		roots := "system roots"
		if cfg.tls.caFile != "" {
			roots = cfg.tls.caFile
		}
		log.Info("TLS on", zap.String("server_name", cc.TLS.ServerName), zap.String("trusted_cas", roots))
		logClientCert(log, cc.TLS, cc.ID)
	}
	var (
		order atomic.Pointer[client.ShutdownOrdered]
		up    atomic.Bool
	)
	runCtx, runEnded := context.WithCancel(ctx)
	defer runEnded()
	cc.TryNow = tryOnHUP(runCtx, hup, &up, &cc, log)
	err = client.Run(ctx, cc, backoff, func(e client.Event) {
		switch e := e.(type) {
		case client.Connected:
			up.Store(true)
		case client.Disconnected:
			up.Store(false)
		case client.ShutdownOrdered:
			order.Store(&e)
		}
	})
	runEnded() // tryOnHUP said "the session is up and stays" while the hook ran
	switch {
	case order.Load() != nil:
		// Acked: the hook runs even when a signal cut the wait for the
		// server's close short, since the server was told "130 ok".
		hookDone := make(chan struct{})
		if cfg.onShutdown != "" {
			go sayWhileTheHookRuns(ctx, hup, log, hookDone)
		}
		runShutdownHook(log, cfg, order.Load().Text)
		close(hookDone)
		log.Info("agent exits after the shutdown order")
		return nil
	case errors.Is(err, context.Canceled):
		log.Info("agent stopped by signal")
		return nil
	case errors.Is(err, client.ErrConfig):
		return configErrorf("%v", err)
	default:
		return err
	}
}

// sayWhileTheHookRuns logs the signals that come while the shutdown hook
// runs, until done: the agent exits once it ends, whatever they ask, and
// a stop signal left no trace of having been received (agent audit).
func sayWhileTheHookRuns(ctx context.Context, hup <-chan os.Signal, log *zap.Logger, done <-chan struct{}) {
	stop := ctx.Done()
	for {
		select {
		case <-done:
			return
		case <-hup:
			log.Info("SIGHUP: the agent runs its on-shutdown command and exits after it")
		case <-stop:
			log.Info("stop signal: the agent exits once its on-shutdown command ends (at most --on-shutdown-timeout)")
			stop = nil
		}
	}
}

// runShutdownHook runs --on-shutdown through sh -c, bounded by
// --on-shutdown-timeout, and logs how it ended. The command sees the
// order's text in CLISER_SHUTDOWN_REASON and its ID in CLISER_ID, but not
// CLISER_PASSWORD. It runs in its own process group so that a timeout
// kills whatever it started too.
func runShutdownHook(log *zap.Logger, cfg *agentConfig, text string) {
	if cfg.onShutdown == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.onShutdownTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", cfg.onShutdown)
	cmd.Env = append(environWithout("CLISER_PASSWORD"),
		"CLISER_SHUTDOWN_REASON="+text, "CLISER_ID="+cfg.id)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	log.Info("running the on-shutdown command", zap.String("command", cfg.onShutdown),
		zap.Duration("timeout", cfg.onShutdownTimeout))
	start := time.Now()
	err := cmd.Run()
	took := zap.Duration("took", time.Since(start))
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		log.Error("on-shutdown command timed out and was killed", took, zap.Error(err))
	case err == nil:
		log.Info("on-shutdown command finished", zap.Int("exit_status", 0), took)
	case errors.As(err, &ee):
		log.Error("on-shutdown command failed", zap.Int("exit_status", ee.ExitCode()), took)
	default:
		log.Error("on-shutdown command could not run", zap.Error(err))
	}
}

// environWithout is the process environment less one variable.
func environWithout(name string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
