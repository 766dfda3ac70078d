package webhook

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// Every id a header can carry as it is (1 to 64 ASCII letters, digits,
// '-' and '_') goes into the webhook-id: one left out makes the id the
// seqs alone, which two logs share. A mutation audit found the bounds
// movable (64 characters refused, 'Z' refused) with every test passing;
// TestRequestIDIsUniqueAcrossLogs holds the refusals.
func TestRequestIDKeepsEveryHeaderSafeID(t *testing.T) {
	for _, id := range []string{"Z", "a", "A", "z", "0", "9", "-", "_", "AZaz09-_", strings.Repeat("e", 64)} {
		js, err := events.AppendJSON(nil, &events.Event{Seq: 3, ID: id, Type: events.TypeConnected, Time: time.Now(), CID: "x"})
		require.NoError(t, err)
		require.Equal(t, "msg_3-3_"+id, requestID([]events.Raw{{Seq: 3, JSON: js}}), "%q", id)
	}
}
