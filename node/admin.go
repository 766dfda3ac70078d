package node

import (
	"fmt"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/ui"
)

// startAdmin serves the admin API, metrics and probes on the admin
// address, unless it is off (nil, nil).
func (n *Node) startAdmin(dir registry.Directory, extra ...admin.Option) (*admin.Server, error) {
	o, log := &n.opts, n.opts.log
	if o.adminOff() {
		log.Info("admin API off (--admin-listen off): no HTTP API, metrics or probes")
		return nil, nil
	}
	opts := []admin.Option{admin.WithReady(n.srv.Ready), admin.WithMetrics(n.metrics), admin.WithBroadcast(n.srv.ShutdownAll),
		admin.WithTokens(o.adminTokens), admin.WithLogger(log)}
	if dir != nil { // cluster mode: the API answers for every node
		opts = append(opts, admin.WithDirectory(dir))
	}
	if o.ui {
		opts = append(opts, admin.WithUI(ui.Handler()))
	}
	n.api = admin.New(n.reg, append(append(opts, extra...), o.adminOpts...)...)
	hs, err := n.listenAdmin()
	if err != nil {
		return nil, fmt.Errorf("admin listen %s: %w (set --admin-listen to another address, or off)", o.adminAddr, err)
	}
	log.Info("admin API listening", zap.String("admin", hs.Addr()), zap.Bool("token", o.adminTokens.Len() > 0))
	if o.adminTokens.Len() == 0 && !loopbackOnly(hs.Addr()) {
		log.Warn("admin API reachable beyond this host without a token: set CLISER_ADMIN_TOKEN or --admin-token-file", zap.String("admin", hs.Addr()))
	}
	return hs, nil
}

// listenAdmin serves the API on the standby's listener (cluster mode), or
// binds the admin address.
func (n *Node) listenAdmin() (*admin.Server, error) {
	if n.standby != nil {
		return n.api.Take(n.standby)
	}
	return n.api.Listen(n.opts.adminAddr)
}

// openStandby answers on the admin address while the node starts
// (admin.Standby): /healthz 200, /readyz 503 saying why, /metrics
// cliser_clients_connected 0 (and a cluster node's NATS wait). A cluster
// node waits for NATS and joins; a single node takes its data dir's lock
// (up to 2 s while another process holds it) and loads what it holds,
// which without the standby a probe saw as a refused connection. The API
// takes its listener over.
func (n *Node) openStandby() error {
	o := &n.opts
	if o.adminOff() {
		return nil
	}
	opts := []admin.Option{admin.WithTokens(o.adminTokens), admin.WithLogger(o.log)}
	if o.ui {
		opts = append(opts, admin.WithUI(ui.Handler())) // its page says why it waits
	}
	why, metrics := startingWhy, prometheus.Gatherer(nil)
	if o.clustered() {
		why, metrics = n.wait.why, n.wait.gatherer()
	}
	s, err := admin.ListenStandby(o.adminAddr, why, metrics, append(opts, o.adminOpts...)...)
	if err != nil {
		return fmt.Errorf("admin listen %s: %w (set --admin-listen to another address, or off)", o.adminAddr, err)
	}
	if o.clustered() {
		o.log.Info("admin listener up: probes answer while the node joins the cluster; the API follows", zap.String("admin", s.Addr()))
	}
	n.standby = s
	return nil
}

// startingWhy is a single node's standby's reason.
func startingWhy() string {
	return "starting: opening the data dir and loading the registry, event log and identity"
}

// closeStandby closes the standby's listener unless the API took it.
func (n *Node) closeStandby() {
	if n.standby != nil {
		_ = n.standby.Close()
	}
}

func loopbackOnly(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
