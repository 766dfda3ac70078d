package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/cliser/cliser/events"
)

// Limits of GET /v1/clients/{cid}/history.
const (
	defaultHistoryLimit = 20
	maxHistoryLimit     = 1000
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
	if err := lookupCID(cid, noClient); err != nil {
		return HistoryResponse{}, err
	}
	limit, err := pageSize(limit, defaultHistoryLimit, maxHistoryLimit)
	if err != nil {
		return HistoryResponse{}, err
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
	limit, err := parseLimit(r.URL.Query().Get("limit"), maxHistoryLimit)
	if err != nil {
		writeError(w, err)
		return
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
