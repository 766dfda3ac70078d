package identity_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// An operator's write the store fails is counted before it is answered:
// whoever got the error (the admin API's 503) reads it in
// cliser_identity_store_errors_total. Counted after, a scrape right after
// the 503 could read 0 (TestBinaryEventsAndIdentityFullDisk failed so,
// once, under load).
func TestServiceCountsAFailedWriteBeforeItsAnswer(t *testing.T) {
	bs := openBolt(t)
	s := startExpiry(t, bs, &recorder{})
	require.NoError(t, bs.Close()) // every write fails from now on
	for i := range 50 {
		_, err := s.AddBan(t.Context(), "ip", fmt.Sprintf("192.0.2.%d", i+1), "", time.Hour)
		require.Error(t, err)
		require.Equal(t, uint64(i+1), s.StoreErrors(), "write %d answered before it was counted", i+1)
	}
}
