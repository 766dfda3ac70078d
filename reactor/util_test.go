package reactor

import (
	"strconv"

	"github.com/cliser/cliser/registry"
)

func itoa(i int) string { return strconv.Itoa(i) }

func newRegistryMax(n int) *registry.Registry { return registry.New(registry.WithMaxClients(n)) }
