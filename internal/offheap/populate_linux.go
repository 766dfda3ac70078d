package offheap

import "golang.org/x/sys/unix"

// mapPopulate makes mmap fault every page in at once.
const mapPopulate = unix.MAP_POPULATE
