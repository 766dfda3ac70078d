//go:build !linux

// Package boltmap lets go of the pages of a bbolt file that this process
// read through bbolt's mapping.
package boltmap

import bolt "go.etcd.io/bbolt"

// Release is Linux's alone (release_linux.go); elsewhere the pages stay
// mapped until the kernel wants them.
func Release(*bolt.Tx) {}
