package admin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// API is the admin API over one registry (or, with WithDirectory, over a
// cluster's). Its methods are the endpoints,
// callable without HTTP; Handler serves them over HTTP. Every method is
// safe to call from any goroutine (the registry guards itself and
// registry.Conn queues commands onto event loops).
type API struct {
	dir  Directory
	opts options
	reg  *registry.Registry
	// stats samples the counts for GET /v1/stats (stats.go); Listen runs it.
	stats     *statsSampler
	statsOnce sync.Once
	statsDone chan struct{}

	// streamsCtx ends the stats sampler when the server shuts down.
	streamsCtx  context.Context
	stopStreams context.CancelFunc
	// waitsCtx ends every event stream and long-poll (EndEventWaits): an
	// open stream or a waiting long-poll is never idle, so
	// http.Server.Shutdown would wait for it until its deadline.
	waitsCtx context.Context
	endWaits context.CancelFunc

	authOnce sync.Once
	authLim  atomic.Pointer[authLimiter] // made by the first Handler; shared by later ones

	waits   *waitSlots // bounds event streams and long-polls (waits.go)
	answers *answers   // counts the answers, logs the guard's refusals (requests.go)
	// framing is the lane event streams read and frame their pages in,
	// one at a time (events_frames.go).
	framing chan struct{}
	// listener is the admin listener of the last Listen (or standby): its
	// failed accepts are a health note (limit_accept.go).
	listener atomic.Pointer[capped]
}

// New makes the API over reg.
func New(reg *registry.Registry, opts ...Option) *API {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	dir := o.directory
	if dir == nil {
		dir = registry.NewLocalDirectory(reg, o.broadcast)
	}
	if o.metrics != nil {
		for _, c := range o.collectors {
			_ = o.metrics.Registry().Register(c) // a second API on one Metrics keeps the first's
		}
	}
	api := &API{dir: dir, opts: o, reg: reg, statsDone: make(chan struct{}), framing: make(chan struct{}, 1)}
	if o.metrics != nil {
		_ = o.metrics.Registry().Register(api.readyGauge()) // as the collectors: the first API's stays
	}
	api.stats = newStatsSampler(reg.Counts, o.metrics, o.statsInterval)
	for _, p := range o.prior {
		api.stats.seedPrior(p.at, p.byReason)
	}
	api.streamsCtx, api.stopStreams = context.WithCancel(context.Background())
	api.waitsCtx, api.endWaits = context.WithCancel(context.Background())
	api.waits = newWaitSlots(o.maxConns, o.metrics)
	api.answers = newAnswers(o.metrics, o.log)
	return api
}

// EndEventWaits answers every long-poll of GET /v1/events at once (with
// what it has: an empty answer whose next is its after) and ends every
// event stream, now and from now on: the server is stopping. Shutdown
// calls it; a node calls it before it closes the event log they read.
func (a *API) EndEventWaits() { a.endWaits() }

// Ready reports whether the server accepts clients (GET /readyz).
func (a *API) Ready() bool { return a.opts.ready() }

// ListClients is GET /v1/clients: one page of records in cid order. q.After
// is the previous page's last cid (decoded from the cursor); q.Limit is 0
// (the default, registry.DefaultPageLimit) or more, at most
// registry.MaxPageLimit taken.
func (a *API) ListClients(q registry.Query) (ListResponse, error) {
	var err error
	if q.Limit, err = pageSize(q.Limit, registry.DefaultPageLimit, registry.MaxPageLimit); err != nil {
		return ListResponse{}, err
	}
	if q.After != "" {
		if err := protocol.ValidateClientID([]byte(q.After)); err != nil {
			return ListResponse{}, badRequest("cursor is not one this API gave out: pass the \"next\" of the previous page unchanged")
		}
	}
	page, err := a.dir.List(q)
	if err != nil {
		return ListResponse{}, err
	}
	out := ListResponse{Clients: make([]ClientRecord, len(page.Records))}
	for i, rec := range page.Records {
		out.Clients[i] = recordOf(rec)
	}
	if page.Next != "" {
		out.Next = encodeCursor(page.Next)
	}
	return out, nil
}

// GetClient is GET /v1/clients/{cid}.
func (a *API) GetClient(cid string) (ClientRecord, error) {
	if err := lookupCID(cid, noClient); err != nil {
		return ClientRecord{}, err
	}
	rec, err := a.dir.Get(cid)
	if errors.Is(err, registry.ErrNotFound) {
		return ClientRecord{}, notFound(noClient(cid))
	}
	if err != nil {
		return ClientRecord{}, err
	}
	return recordOf(rec), nil
}

// ShutdownClient is POST /v1/clients/{cid}/shutdown: it queues "130
// shutdown[ <reason>]" on cid's connection. The client's "130 ok" then
// closes it with reason shutdown.
func (a *API) ShutdownClient(cid, reason string) (CommandResponse, error) {
	if err := a.checkCommand(cid); err != nil {
		return CommandResponse{}, err
	}
	if err := checkReason(reason); err != nil {
		return CommandResponse{}, err
	}
	reason = protocol.ShutdownText(reason) // the wire's, so the log and the event say what went
	if err := a.commandError(cid, a.dir.Shutdown(cid, reason)); err != nil {
		return CommandResponse{}, err
	}
	a.opts.log.Info("admin: shutdown queued", zap.String("cid", cid), zap.String("text", reason))
	return CommandResponse{CID: cid, Command: "shutdown"}, nil
}

// KickClient is POST /v1/clients/{cid}/kick: it queues "190 kicked" and
// the close on cid's connection.
func (a *API) KickClient(cid string) (CommandResponse, error) {
	if err := a.checkCommand(cid); err != nil {
		return CommandResponse{}, err
	}
	if err := a.commandError(cid, a.dir.Kick(cid)); err != nil {
		return CommandResponse{}, err
	}
	a.opts.log.Info("admin: kick queued", zap.String("cid", cid))
	return CommandResponse{CID: cid, Command: "kick"}, nil
}

// ShutdownAll is POST /v1/shutdown: it queues "130 shutdown[ <reason>]" on
// every connected client and says on how many it was queued (the
// directory's count: a client whose order is pending already is not
// counted again).
func (a *API) ShutdownAll(reason string) (ShutdownAllResponse, error) {
	if !a.opts.ready() {
		return ShutdownAllResponse{}, ErrDraining
	}
	if err := checkReason(reason); err != nil {
		return ShutdownAllResponse{}, err
	}
	reason = protocol.ShutdownText(reason)
	sent, err := a.dir.ShutdownAll(reason)
	var unconfirmed *registry.UnconfirmedError
	switch {
	case errors.As(err, &unconfirmed): // the others' orders stand: 202, naming who did not confirm
		a.opts.log.Warn("admin: shutdown queued for all, not confirmed by every node", zap.Int("sent", sent),
			zap.Strings("unconfirmed_nodes", unconfirmed.Nodes), zap.String("text", reason))
		return ShutdownAllResponse{Sent: sent, UnconfirmedNodes: unconfirmed.Nodes}, nil
	case err != nil:
		return ShutdownAllResponse{}, err
	}
	a.opts.log.Info("admin: shutdown queued for all", zap.Int("sent", sent), zap.String("text", reason))
	return ShutdownAllResponse{Sent: sent}, nil
}

func (a *API) checkCommand(cid string) error {
	if err := lookupCID(cid, noClient); err != nil {
		return err
	}
	if !a.opts.ready() {
		return ErrDraining
	}
	return nil
}

// commandError maps the directory's verdicts to the API's 404 messages
// and a refused queue to 503.
func (a *API) commandError(cid string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, registry.ErrNotFound):
		return notFound(noClient(cid))
	case errors.Is(err, registry.ErrNotConnected):
		return notFound(fmt.Sprintf("client %q is not connected", cid))
	case errors.Is(err, registry.ErrNotQueued):
		return a.queueFailed(cid, err)
	}
	return err
}

func noClient(cid string) string { return fmt.Sprintf("no client %q", cid) }

// queueFailed: the connection's event loop no longer takes work, which
// happens only while the server stops.
func (a *API) queueFailed(cid string, err error) error {
	a.opts.log.Warn("admin: command not queued", zap.String("cid", cid), zap.Error(err))
	return ErrDraining
}

// cidRule is what a client ID may be (PROTOCOL.md), for the errors that
// name it.
var cidRule = fmt.Sprintf("1 to %d bytes of letters, digits and . _ : @ -", protocol.MaxClientID)

// checkCID refuses (400) a client ID that breaks the protocol's rule, for a
// call that would make something under it.
func checkCID(cid string) error {
	if err := protocol.ValidateClientID([]byte(cid)); err != nil {
		return badRequest(fmt.Sprintf("client id %q is not valid: %s", shownCID(cid), cidRule))
	}
	return nil
}

// shownCID is an invalid client ID as an error quotes it: cut to 80 bytes,
// since a path of 50,000 came back whole in its 404.
func shownCID(cid string) string {
	const most = 80
	if len(cid) <= most {
		return cid
	}
	return strings.ToValidUTF8(cid[:most], "") + "…"
}

// lookupCID answers none (a 404) for a client ID that breaks the
// protocol's rule, in a call that looks it up: no client, and so no record
// or credential, can have it (INTERFACE.md: "the record, or 404"). The
// message says why.
func lookupCID(cid string, none func(string) string) error {
	if err := protocol.ValidateClientID([]byte(cid)); err != nil {
		return notFound(fmt.Sprintf("%s: not a valid client id (%s)", none(shownCID(cid)), cidRule))
	}
	return nil
}

func checkReason(reason string) error {
	if len(reason) > protocol.MaxShutdownReason {
		return badRequest(fmt.Sprintf("reason is %d bytes; at most %d fit a protocol line", len(reason), protocol.MaxShutdownReason))
	}
	return nil
}

// The cursor is the last cid of a page, base64url-encoded so that clients
// treat it as opaque (and it needs no escaping in a query string).
func encodeCursor(cid string) string { return base64.RawURLEncoding.EncodeToString([]byte(cid)) }

func decodeCursor(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || protocol.ValidateClientID(b) != nil {
		return "", badRequest("cursor is not one this API gave out: pass the \"next\" of the previous page unchanged")
	}
	return string(b), nil
}
