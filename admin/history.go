package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/protocol"
)

// Limits of GET /v1/clients/{cid}/history.
const (
	DefaultHistoryLimit = 20
	MaxHistoryLimit     = 1000
)

// HistoryResponse is GET /v1/clients/{cid}/history's answer.
type HistoryResponse struct {
	Sessions []events.Session `json:"sessions"`
}

// History is GET /v1/clients/{cid}/history: the client's last sessions
// from the event log, newest first, read through the log's index by client
// ID. A client the log has no session of, and the registry no record of,
// is not found.
func (a *API) History(ctx context.Context, cid string, limit int) (HistoryResponse, error) {
	if err := protocol.ValidateClientID([]byte(cid)); err != nil {
		return HistoryResponse{}, badRequest(fmt.Sprintf("cid %q is not a client ID: 1 to %d of A-Z a-z 0-9 . _ : @ -", cid, protocol.MaxClientID))
	}
	if limit == 0 {
		limit = DefaultHistoryLimit
	}
	if limit < 0 || limit > MaxHistoryLimit {
		return HistoryResponse{}, badRequest(fmt.Sprintf("limit must be 1 to %d", MaxHistoryLimit))
	}
	h, ok := a.opts.events.(events.Historian)
	if !ok {
		return HistoryResponse{}, errNoEvents
	}
	sessions, err := h.History(ctx, cid, limit)
	if err != nil {
		return HistoryResponse{}, err
	}
	if len(sessions) == 0 {
		if _, err := a.GetClient(cid); err != nil {
			return HistoryResponse{}, err
		}
		sessions = []events.Session{}
	}
	return HistoryResponse{Sessions: sessions}, nil
}

func (a *API) handleHistory(w http.ResponseWriter, r *http.Request) {
	limit := 0
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxHistoryLimit {
			writeError(w, badRequest(fmt.Sprintf("limit %q: want a number from 1 to %d", s, MaxHistoryLimit)))
			return
		}
		limit = n
	}
	resp, err := a.History(r.Context(), r.PathValue("cid"), limit)
	if err != nil {
		var gone *events.GoneError
		if errors.As(err, &gone) {
			writeEventsError(w, err)
			return
		}
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
