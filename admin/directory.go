package admin

import "github.com/cliser/cliser/registry"

// Directory is where the API reads records and sends its commands
// (registry.Directory; it lives with the records so that the cluster need
// not import the HTTP side). The default is this node's registry
// (registry.NewLocalDirectory); WithDirectory plugs in the cluster's view.
type Directory = registry.Directory

// Staler is registry.Staler: a Directory whose reads may lag.
type Staler = registry.Staler
