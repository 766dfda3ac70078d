package cluster

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// commandCases are the commands a node routes to the holder of a client
// (directory's Shutdown, Kick, ShutdownAll) and ones no build sends.
var commandCases = []command{
	{Op: "shutdown", CID: "pos-0042", Text: "maintenance at 02:00"},
	{Op: "shutdown", CID: "gone-1"},
	{Op: "kick", CID: "pos-0042"},
	{Op: "shutdown-all", Text: "bye"},
	{Op: "shutdown-all"},
	{Op: "reboot", CID: "pos-0042"},
	{},
}

// replyCases are the answers a node gives, one of each code, and an
// error code of a later build.
var replyCases = []reply{{}, {Sent: 3}, {Error: codeNotFound}, {Error: codeNotConnected}, {Error: codeDraining},
	{Error: codeOther}, {Error: "quota exceeded"}}

// FuzzCommand: whatever a peer sends on the command subject, the holder
// answers with one of the codes, "failed" exactly when the bytes are no
// command this build runs, and its answer reads back at the sender as
// nil or one of Directory's errors. Over a real registry whose clients
// are all disconnected (no connection to queue on).
func FuzzCommand(f *testing.F) {
	reg := registry.New()
	for _, cid := range []string{"gone-1", "a:b@c"} {
		if _, _, err := reg.Register(cid, "192.0.2.1", "4000", nil); err != nil {
			f.Fatal(err)
		}
		reg.Disconnect(cid, nil, protocol.ReasonClosedByClient)
	}
	local := registry.NewLocalDirectory(reg, nil)
	for _, c := range commandCases {
		data, err := json.Marshal(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{`{"op":"kick","cid":"a:b@c"}`, `{"op":"SHUTDOWN"}`, `{"op":"kick","cid":7}`, `[]`, `null`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := answerCommand(local, zap.NewNop(), data)
		var c command
		runs := json.Unmarshal(data, &c) == nil && slices.Contains([]string{"shutdown", "kick", "shutdown-all"}, c.Op)
		want := codeOther
		switch {
		case !runs:
		case c.Op == "shutdown-all":
			want = ""
		case known(reg, c.CID):
			want = codeNotConnected
		default:
			want = codeNotFound
		}
		if r.Error != want || r.Sent != 0 {
			t.Fatalf("%q answered %+v, want code %q", data, r, want)
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		checkReply(t, out)
	})
}

// FuzzReply: whatever a node answers, the sender reads nil or one of
// Directory's errors (the admin API's 404 and 503), never an error it
// has no status for; an answer read is the one written.
func FuzzReply(f *testing.F) {
	for _, r := range replyCases {
		data, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{`{"sent":-1}`, `{"error":7}`, `not json`, ``, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkReply)
}

func checkReply(t *testing.T, data []byte) {
	r, err := readReply("n2", data)
	if err != nil {
		for _, s := range []error{registry.ErrNotFound, registry.ErrNotConnected, registry.ErrDraining, registry.ErrUnavailable} {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("%q read as %v, not one of Directory's errors", data, err)
	}
	if r.Error != "" || r.Sent < 0 {
		t.Fatalf("%q read as %+v and no error", data, r)
	}
	again, _ := json.Marshal(r)
	if back, err := readReply("n2", again); err != nil || back != r {
		t.Fatalf("%q read as %+v, written as %s, read back as %+v, %v", data, r, again, back, err)
	}
}

func known(reg *registry.Registry, cid string) bool {
	_, ok := reg.Get(cid)
	return ok
}

// TestReadReplyUnreadableIsUnavailable: an answer this node can not read
// is a 503 to try again (as a code it does not know), not a 500.
func TestReadReplyUnreadableIsUnavailable(t *testing.T) {
	for _, s := range []string{`not json`, ``, `{"error":7}`, `{"error":"quota exceeded"}`, `{"sent":-1}`} {
		_, err := readReply("n2", []byte(s))
		if !errors.Is(err, registry.ErrUnavailable) {
			t.Errorf("%q: %v, want ErrUnavailable", s, err)
		}
	}
	r, err := readReply("n2", []byte(`{"sent":3}`))
	if err != nil || r.Sent != 3 {
		t.Errorf("sent 3: %+v, %v", r, err)
	}
}

// A holder that is draining is named: the node asked answered 503 as if
// it drained itself (cluster audit).
func TestReadReplyDrainingNamesTheHolder(t *testing.T) {
	_, err := readReply("n2", []byte(`{"error":"`+codeDraining+`"}`))
	require.ErrorIs(t, err, registry.ErrDraining)
	require.ErrorContains(t, err, "(node n2 answered so)")
}
