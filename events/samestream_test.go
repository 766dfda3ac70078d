package events

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
)

// A retried create keeps the stream it finds only when it has every
// figure the node sets: one that differs in any is updated again (a
// retention changed meanwhile). Kills: sameStream's MaxMsgs term dropped
// (mutation audit); each other term is checked alike.
func TestSameStreamChecksEveryFigureTheNodeSets(t *testing.T) {
	want := streamConfig(streamOptions{name: DefaultStreamName, prefix: DefaultSubjectPrefix, replicas: 3}, 1000)
	assert.True(t, sameStream(want, want))
	for name, change := range map[string]func(*jetstream.StreamConfig){
		"MaxMsgs":    func(c *jetstream.StreamConfig) { c.MaxMsgs = 999 },
		"Replicas":   func(c *jetstream.StreamConfig) { c.Replicas = 1 },
		"Duplicates": func(c *jetstream.StreamConfig) { c.Duplicates = time.Minute },
		"Discard":    func(c *jetstream.StreamConfig) { c.Discard = jetstream.DiscardNew },
		"Subjects":   func(c *jetstream.StreamConfig) { c.Subjects = []string{"other.>"} },
	} {
		have := want
		have.Subjects = append([]string(nil), want.Subjects...)
		change(&have)
		assert.False(t, sameStream(have, want), "%s differs", name)
	}
}
