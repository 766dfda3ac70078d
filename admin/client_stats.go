package admin

import (
	"context"
	"net/http"
)

// Stats fetches GET /v1/stats: the counts, rates and series of the node
// asked, and in cluster mode every node's figures (Nodes).
func (c *Client) Stats(ctx context.Context) (StatsResponse, error) {
	var out StatsResponse
	err := c.do(ctx, http.MethodGet, "/v1/stats", nil, http.StatusOK, &out)
	return out, err
}

// Health fetches GET /v1/health: whether the node is ready, why not, and
// the trouble that leaves it ready (notes by key: events, webhook, ...).
func (c *Client) Health(ctx context.Context) (HealthResponse, error) {
	var out HealthResponse
	err := c.do(ctx, http.MethodGet, "/v1/health", nil, http.StatusOK, &out)
	return out, err
}
