package identity

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A loaded table that then takes credentials with longer client IDs finds
// every one: the records outgrow their region (sized exactly at the load)
// past the offsets the index's slots had bits for, and the move reindexes.
// A mutation audit found that reindex skippable with every test passing:
// an enrollment after a load then went unfound once its record's offset
// needed the new bit (so it was added again, and its secret refused).
func TestCredTableFindsCredentialsAddedPastTheLoadsOffsetBits(t *testing.T) {
	at := time.Unix(1796000000, 0).UTC()
	var creds []Credential
	for i := range 1000 {
		cid := fmt.Sprintf("d%03d", i)
		creds = append(creds, Credential{CID: cid, Digest: Digest([]byte(cid)), CreatedAt: at})
	}
	tab := loadCredTable(creds)
	defer tab.release()
	for i := range 200 {
		cid := fmt.Sprintf("%04d-%s", i, strings.Repeat("x", 59)) // 64 bytes, the longest
		creds = append(creds, Credential{CID: cid, Digest: Digest([]byte(cid)), CreatedAt: at})
		tab.put(&creds[len(creds)-1])
		require.Equal(t, len(creds), tab.len())
	}
	for j := range creds {
		ok, present := tab.matches(creds[j].CID, &creds[j].Digest, at)
		require.True(t, ok && present, "credential %d, %s (offset bits %d, records %d of %d)",
			j, creds[j].CID, tab.offBits, len(tab.recs), cap(tab.recs))
	}
}
