package cluster_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

// The identity buckets' streams, the bans' first.
var identityStreams = []string{"KV_" + cluster.BansBucket, "KV_" + cluster.CredentialsBucket}

// identityFailoverBound is how long a ban or a revocation made while one
// NATS server is down may take, from the admin API's answer, to hold on
// every node: IDENTITY.md's 2 s across a cluster, which names no
// exception. A node whose watch consumer (one replica) lived on the
// stopped server notices after two to four missed idle heartbeats
// (250 ms) and makes it again; with nats.go's key watcher (5 s) that was
// 10-20 s.
const identityFailoverBound = 2 * time.Second

// writeRetryBound is how long an operator's write is retried while it is
// refused (a 503, or no answer within the admin client's 5 s): the node
// making it is dialling another server, or the bucket's stream is
// electing a leader, which has taken up to 9.5 s (a Raft election
// timeout) after a server's shutdown.
const writeRetryBound = 20 * time.Second

// r3Identity is an R3 fleet with, on each node, a device registered with
// a credential of its own.
type r3Identity struct {
	*r3Fleet
	js      jetstream.JetStream
	secrets map[string]string // device cid: its secret
	devices map[string]*testkit.RawClient
}

// A ban and a credential's deletion made through one node while one NATS
// server is down, first the one leading the bans bucket's stream and then
// one that does not, hold on every node within IDENTITY.md's 2 s: the
// banned client's session on another node ends with 190 banned and its
// reconnect is refused so, the device's session on the third ends with
// 190 revoked and its secret is refused on every node. The server comes
// back, every stream catches up, and lifting the ban and enrolling the
// device again reach every node as fast.
func TestR3BansAndRevocationsWithoutOneNATSServer(t *testing.T) {
	f := startR3Identity(t)
	leader := f.nats.StreamLeader(identityStreams[0])
	require.GreaterOrEqual(t, leader, 0, "the bans bucket has a leader")
	f.banAndRevokeWithout(t, leader, "bans leader", false)
	f.banAndRevokeWithout(t, f.busiestFollower(t), "follower", false)
	f.ready.assertAlways200(t)
}

// The same with the server leading the bans bucket's stream killed: it
// hands no stream over, so the ban waits for the other two to elect a
// leader (a Raft timeout of seconds, the write refused and tried again
// meanwhile), and must then hold on every node within the same 2 s of
// its answer. The meta leader stays up (the next test kills it).
func TestR3BansAndRevocationsWithTheBansLeaderKilled(t *testing.T) {
	f := startR3IdentityOn(t, testkit.NATSClusterOf3WithCuts(t))
	leader := f.bansLeaderApartFromMeta(t)
	f.banAndRevokeWithout(t, leader, "bans leader killed", true)
	f.ready.assertAlways200(t)
}

// The same with the server leading JetStream's meta group killed (and
// whichever identity streams it leads with it). Until the group elects a
// leader again (a Raft timeout, 4 to 9 s) no consumer can be made, so a
// node whose watch was lost with the server, or made again after its
// connection moved, hears the change only from the notice the node that
// made it announces on core NATS. Before the notices: 6.0 to 6.95 s
// after the answer in two runs.
func TestR3BansAndRevocationsWithTheMetaLeaderKilled(t *testing.T) {
	f := startR3IdentityOn(t, testkit.NATSClusterOf3WithCuts(t))
	meta := f.nats.MetaLeader()
	require.GreaterOrEqual(t, meta, 0, "the meta group has a leader")
	t.Logf("meta leader: server %d; bans leader: server %d", meta, f.nats.StreamLeader(identityStreams[0]))
	f.banAndRevokeWithout(t, meta, "meta leader killed", true)
	f.ready.assertAlways200(t)
}

// A ban no node announced — written to the bucket by another program, as
// a notice a node missed between two servers would leave it — made with
// the meta leader killed, holds on every node within the same 2 s and
// closes the banned session: a node whose watch's consumer was lost, and
// cannot be made again until the meta group elects, reads it by direct
// get (identitycatchup.go).
func TestR3UnannouncedBanWithTheMetaLeaderKilled(t *testing.T) {
	f := startR3IdentityOn(t, testkit.NATSClusterOf3WithCuts(t))
	meta := f.nats.MetaLeader()
	require.GreaterOrEqual(t, meta, 0, "the meta group has a leader")
	a, _, _ := f.roles(t, meta)
	banned := f.nodes[a].id + "-a"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kv, err := f.js.KeyValue(ctx, cluster.BansBucket)
	require.NoError(t, err)
	val, err := identity.EncodeBan(identity.Ban{Kind: identity.KindCID, Value: banned, Reason: "unannounced", By: identity.ByOperator, At: time.Now()})
	require.NoError(t, err)
	t.Logf("killing NATS server %d (the meta leader; bans leader: server %d); banning %s (on %s) in the bucket itself",
		meta, f.nats.StreamLeader(identityStreams[0]), banned, f.nodes[a].id)
	f.nats.Kill(meta)

	polled := make(chan [][]time.Time, 1)
	go func() {
		polled <- f.firstHeld([]opChange{{holds: func(tn *testNode) bool { return holdsBan(tn, banned) && !connected(tn, banned) }}})
	}()
	var made time.Time
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		put, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := kv.Put(put, "cid."+banned, val)
		cancel()
		if err == nil {
			made = time.Now()
			t.Logf("the put was made %s after the kill", made.Sub(start))
			break
		}
		require.Less(t, time.Since(start), writeRetryBound, "the put was refused: %v", err)
	}
	held := testkit.Recv(t, polled, time.Minute, "the poll of the ban")
	f.assertHeldWithin(t, "unannounced ban of "+banned, made, held[0])
	f.assertBanned(t, f.nodes[a], banned)
	caught := 0.0
	for _, tn := range f.nodes {
		caught += tn.metric(t, cluster.MetricClusterIdentityCaught, "")
	}
	t.Logf("changes caught up by direct gets, all nodes: %v", caught)
}

// bansLeaderApartFromMeta returns the server leading the bans bucket's
// stream once it is not the meta leader, stepping the stream down until
// it is not.
func (f *r3Identity) bansLeaderApartFromMeta(t *testing.T) int {
	t.Helper()
	for range 10 {
		meta, leader := f.nats.MetaLeader(), f.nats.StreamLeader(identityStreams[0])
		if leader >= 0 && meta >= 0 && leader != meta {
			t.Logf("meta leader: server %d; bans leader: server %d", meta, leader)
			return leader
		}
		if leader >= 0 {
			require.NoError(t, f.nats.StepDownStream(leader, identityStreams[0]))
		}
		f.nats.WaitCurrent(identityStreams...)
	}
	t.Fatal("the bans bucket's stream stayed with the meta leader")
	return -1
}

// startR3Identity is startR3Fleet with a device on each node, enrolled
// through node 1.
func startR3Identity(t *testing.T) *r3Identity {
	t.Helper()
	return startR3IdentityOn(t, testkit.NATSClusterOf3(t))
}

// startR3IdentityOn is startR3Identity on the cluster nc.
func startR3IdentityOn(t *testing.T, nc *testkit.NATSCluster) *r3Identity {
	t.Helper()
	f := &r3Identity{r3Fleet: startR3FleetOn(t, nc), secrets: map[string]string{}, devices: map[string]*testkit.RawClient{}}
	f.nats.WaitCurrent(identityStreams...)
	_, f.js = testkit.JetStream(t, strings.Join(f.nats.URLs(), ","))
	for _, tn := range f.nodes {
		f.enroll(t, f.nodes[0], tn, tn.id+"-dev")
	}
	return f
}

// opChange is an operator's write and what must then hold on every node.
type opChange struct {
	what  string
	do    func(context.Context) error
	holds func(*testNode) bool
}

// enroll makes device's credential through via, waits until every node
// holds it and registers the device on node on with it. A node holds it
// when it holds a credential created when the answer says: a try that was
// refused may have enrolled an earlier secret all the same.
func (f *r3Identity) enroll(t *testing.T, via, on *testNode, device string) {
	t.Helper()
	var secret string
	var created atomic.Pointer[time.Time] // read by the poll while the write runs
	f.makeAll(t, opChange{what: "credential of " + device,
		do: func(ctx context.Context) error {
			c, err := via.api.CreateCredential(ctx, device, "")
			if err != nil {
				return err
			}
			at, err := time.Parse(admin.TimeFormat, c.CreatedAt)
			secret = c.Secret
			created.Store(&at)
			return err
		},
		holds: func(tn *testNode) bool {
			c, ok := tn.n.Identity().Credential(device)
			at := created.Load()
			return ok && at != nil && c.CreatedAt.Equal(*at)
		}})
	dev, line := answer(t, on.srv.Addr(), secret, device)
	requireConnected(t, line)
	f.secrets[device], f.devices[device] = secret, dev
}

// banAndRevokeWithout stops (or kills) NATS server x and, through node
// v's admin API, at once bans a client of node a and deletes the
// credential of node c's device (roles picked so that a watch that must
// notice its lost consumer does); then starts x again, waits until every
// stream is current, lifts the ban and enrolls the device again.
func (f *r3Identity) banAndRevokeWithout(t *testing.T, x int, step string, kill bool) {
	t.Helper()
	a, c, v := f.roles(t, x)
	banned, device := f.nodes[a].id+"-a", f.nodes[c].id+"-dev"
	t.Logf("%s: stopping NATS server %d (kill %v); banning %s (on %s) and revoking %s (on %s) through %s",
		step, x, kill, banned, f.nodes[a].id, device, f.nodes[c].id, f.nodes[v].id)
	if kill {
		f.nats.Kill(x)
	} else {
		f.nats.Stop(x)
	}
	via := f.nodes[v].api
	f.makeAll(t, opChange{what: step + ": ban of " + banned,
		do: func(ctx context.Context) error {
			_, err := via.CreateBan(ctx, admin.BanRequest{Kind: identity.KindCID, Value: banned, Reason: "failover test"})
			return err
		},
		holds: func(tn *testNode) bool { return holdsBan(tn, banned) && !connected(tn, banned) }},
		opChange{what: step + ": revocation of " + device,
			do:    func(ctx context.Context) error { return via.DeleteCredential(ctx, device) },
			holds: func(tn *testNode) bool { return !holdsCredential(tn, device) && !connected(tn, device) }})
	f.assertBanned(t, f.nodes[a], banned)
	f.assertRevoked(t, device)

	f.nats.Start(x)
	if kill {
		f.nats.Isolate(x, false)
	}
	f.nats.WaitCurrent(append(append([]string{}, r3Streams...), identityStreams...)...)
	f.makeAll(t, opChange{what: step + ": lift of the ban of " + banned,
		do:    func(ctx context.Context) error { return f.nodes[c].api.DeleteBan(ctx, identity.KindCID, banned) },
		holds: func(tn *testNode) bool { return !holdsBan(tn, banned) }})
	f.live[banned] = register(t, f.nodes[a].srv.Addr(), banned)
	f.enroll(t, f.nodes[a], f.nodes[c], device)
}

func holdsBan(tn *testNode, cid string) bool {
	_, held := tn.n.Identity().Ban(identity.BanKey{Kind: identity.KindCID, Value: cid})
	return held
}

func holdsCredential(tn *testNode, cid string) bool {
	_, held := tn.n.Identity().Credential(cid)
	return held
}

// connected: cid has a live session on tn.
func connected(tn *testNode, cid string) bool {
	r, ok := tn.reg.Get(cid)
	return ok && r.CStatus
}

// makeAll makes the changes at once, each through write, while polling
// what each must make hold on every node; each must hold on every node
// within identityFailoverBound of its write's answer.
func (f *r3Identity) makeAll(t *testing.T, changes ...opChange) {
	t.Helper()
	polled := make(chan [][]time.Time, 1)
	go func() { polled <- f.firstHeld(changes) }()
	made := make([]chan time.Time, len(changes))
	for i, c := range changes {
		made[i] = make(chan time.Time, 1)
		go func() { made[i] <- f.write(t, c.do) }()
	}
	held := testkit.Recv(t, polled, time.Minute, "the poll of "+changes[0].what)
	for i, c := range changes {
		f.assertHeldWithin(t, c.what, testkit.Recv(t, made[i], time.Minute, c.what), held[i])
	}
}

// firstHeld polls each change's holds on every node every 5 ms until each
// holds on every node, or for 30 s more than a write may be retried (so
// that a failure says how late), and returns when each first held there
// (zero: never).
func (f *r3Identity) firstHeld(changes []opChange) [][]time.Time {
	held := make([][]time.Time, len(changes))
	for i := range held {
		held[i] = make([]time.Time, len(f.nodes))
	}
	for start := time.Now(); time.Since(start) < writeRetryBound+30*time.Second; time.Sleep(5 * time.Millisecond) {
		missing := 0
		for i, c := range changes {
			for j, tn := range f.nodes {
				if held[i][j].IsZero() && c.holds(tn) {
					held[i][j] = time.Now()
				}
				if held[i][j].IsZero() {
					missing++
				}
			}
		}
		if missing == 0 {
			break
		}
	}
	return held
}

// assertHeldWithin checks that what held on every node within
// identityFailoverBound of made (0: before the write's answer came).
func (f *r3Identity) assertHeldWithin(t *testing.T, what string, made time.Time, held []time.Time) {
	t.Helper()
	took := make([]string, len(held))
	for j, at := range held {
		took[j] = f.nodes[j].id + " never"
		if !at.IsZero() {
			took[j] = f.nodes[j].id + " " + max(at.Sub(made), 0).String()
		}
	}
	t.Logf("%s: held after %s", what, strings.Join(took, ", "))
	for j, at := range held {
		assert.False(t, at.IsZero(), "%s never held on %s", what, f.nodes[j].id)
		assert.Less(t, at.Sub(made), identityFailoverBound, "%s on %s", what, f.nodes[j].id)
	}
}

// write runs an operator's write until it is made, retrying it while it
// is refused for at most writeRetryBound, and returns when it was made. A
// 404 after a refusal is a delete the refused attempt made after all.
// Safe from another goroutine: it fails through t.Errorf.
func (f *r3Identity) write(t *testing.T, do func(context.Context) error) time.Time {
	start := time.Now()
	refused := 0
	for {
		err := do(context.Background())
		var se *admin.StatusError
		switch {
		case err == nil, refused > 0 && errors.As(err, &se) && se.Status == http.StatusNotFound:
			if refused > 0 {
				t.Logf("a write was refused %d times over %s first", refused, time.Since(start))
			}
			return time.Now()
		case !refusal(err) || time.Since(start) > writeRetryBound:
			t.Errorf("write: %v (after %d refusals over %s)", err, refused, time.Since(start))
			return time.Now()
		}
		refused++
		time.Sleep(20 * time.Millisecond) // an operator's retry, paced
	}
}

// refusal: err is a 503 or no answer in time, which an operator retries.
func refusal(err error) bool {
	var se *admin.StatusError
	var ne net.Error
	return errors.As(err, &se) && se.Status == http.StatusServiceUnavailable || errors.As(err, &ne) && ne.Timeout()
}

// assertBanned: the banned session ended with 190 banned, and a
// reconnect to its node on is refused the same way.
func (f *r3Identity) assertBanned(t *testing.T, on *testNode, banned string) {
	t.Helper()
	bannedLine := testkit.CloseLine(protocol.ReasonBanned)
	f.live[banned].ExpectClosed(bannedLine)
	delete(f.live, banned)
	_, line := answer(t, on.srv.Addr(), testPassword, banned)
	assert.Equal(t, bannedLine, line, "%s reconnecting to %s", banned, on.id)
}

// assertRevoked: the device's session ended with 190 revoked, and its
// secret is refused on every node.
func (f *r3Identity) assertRevoked(t *testing.T, device string) {
	t.Helper()
	f.devices[device].ExpectClosed(testkit.CloseLine(protocol.ReasonRevoked))
	delete(f.devices, device)
	for _, tn := range f.nodes {
		_, line := answer(t, tn.srv.Addr(), f.secrets[device], device)
		assert.Equal(t, testkit.CloseLine(protocol.ReasonAuthFailed), line, "%s's old secret on %s", device, tn.id)
	}
}

// roles picks, for server x about to stop, the node whose client is
// banned (a), the node whose device is revoked (c) and the node whose
// admin API makes both (v): a and c, if they can be, nodes whose watch of
// that bucket must notice by heartbeat that x stopped.
func (f *r3Identity) roles(t *testing.T, x int) (a, c, v int) {
	t.Helper()
	bans, creds := f.exposed(t, x, identityStreams[0]), f.exposed(t, x, identityStreams[1])
	t.Logf("server %d: nodes whose watch must notice its loss by heartbeat: bans %v, credentials %v", x, bans, creds)
	a = pick(bans, -1)
	c = pick(creds, a)
	return a, c, 3 - a - c
}

// pick is the first index where want is true other than not, else the
// first other than not.
func pick(want []bool, not int) int {
	for i, w := range want {
		if w && i != not {
			return i
		}
	}
	if not == 0 {
		return 1
	}
	return 0
}

// busiestFollower is the server, of those not leading the bans bucket's
// stream, whose stop leaves the most watches to notice it by heartbeat.
func (f *r3Identity) busiestFollower(t *testing.T) int {
	t.Helper()
	leader := f.nats.StreamLeader(identityStreams[0])
	best, most := -1, -1
	for x := range 3 {
		if x == leader {
			continue
		}
		n := 0
		for _, stream := range identityStreams {
			for _, e := range f.exposed(t, x, stream) {
				if e {
					n++
				}
			}
		}
		if n > most {
			best, most = x, n
		}
	}
	return best
}

// exposed says, for each node, whether its watch of stream's bucket must
// notice by heartbeat that server x stopped: its consumer lives on x and
// its own connection does not (a node whose connection drops watches
// again when it reconnects).
func (f *r3Identity) exposed(t *testing.T, x int, stream string) []bool {
	t.Helper()
	where := f.watchServers(t, stream)
	out := make([]bool, len(f.nodes))
	for i, tn := range f.nodes {
		out[i] = where[i] == x && f.serverNamed(tn.nc.ConnectedServerName()) != x
	}
	return out
}

// watchServers is, for each node, the server holding its watch consumer
// of stream (-1: none found): the consumer bound to a deliver subject
// under the node's inbox prefix.
func (f *r3Identity) watchServers(t *testing.T, stream string) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := f.js.Stream(ctx, stream)
	require.NoError(t, err)
	where := []int{-1, -1, -1}
	list := s.ListConsumers(ctx)
	for ci := range list.Info() {
		for i, tn := range f.nodes {
			if ci.PushBound && ci.Cluster != nil && strings.HasPrefix(ci.Config.DeliverSubject, inboxPrefix(tn.id)+".") {
				where[i] = f.serverNamed(ci.Cluster.Leader)
			}
		}
	}
	require.NoError(t, list.Err())
	return where
}

// serverNamed is the index of the running server called name, -1 if none.
func (f *r3Identity) serverNamed(name string) int {
	for i := range 3 {
		if ns := f.nats.Server(i); ns != nil && ns.Name() == name {
			return i
		}
	}
	return -1
}
