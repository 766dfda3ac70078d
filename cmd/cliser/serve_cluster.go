package main

import (
	"os"
	"strings"
)

// defaultNodeID is the host name (a pod's name on Kubernetes), or "" when
// it can not be read.
func defaultNodeID() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(h)
}
