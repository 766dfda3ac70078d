package reactor

import (
	"fmt"
	"sync/atomic"
	"time"
)

// fullNoteFor is how long the note of a full registry stays after its
// last refusal: clients refused retry within it (the agent's backoff
// caps at a minute), so a registry that stays full keeps its note.
const fullNoteFor = time.Minute

// fullRegistry remembers when the registry (--max-clients) refused
// registrations. A full registry showed in a counter and a warning a
// minute alone, while /readyz, /v1/health and cliser status said ready
// and nothing more, unlike a full connection ceiling (scale audit).
type fullRegistry struct {
	since atomic.Int64 // the first refusal of this filling (Unix ns)
	last  atomic.Int64 // the newest refusal (Unix ns); 0: none yet
}

// refused notes a refusal at now: a filling begins when the last ended
// a fullNoteFor ago.
func (f *fullRegistry) refused(now int64) {
	if now-f.last.Load() > int64(fullNoteFor) {
		f.since.Store(now)
	}
	f.last.Store(now)
}

// RegistryFullErr says, while the registry refuses registrations for
// --max-clients and for a minute after the last, since when: a note of
// /readyz and /v1/health, as CeilingErr's. The server stays ready: its
// clients are served. Safe from any goroutine.
func (srv *Server) RegistryFullErr() error {
	last := srv.full.last.Load()
	if last == 0 || time.Since(time.Unix(0, last)) > fullNoteFor {
		return nil
	}
	return fmt.Errorf("clients: the registry is full (--max-clients): registrations get `190 server full` since %s, the last at %s",
		time.Unix(0, srv.full.since.Load()).UTC().Format(time.RFC3339), time.Unix(0, last).UTC().Format(time.RFC3339))
}
