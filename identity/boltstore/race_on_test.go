//go:build race

package boltstore_test

// raceOn: the race detector's shadow memory is in RSS, so RSS bounds do
// not hold.
const raceOn = true
