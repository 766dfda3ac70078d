package floor

// queue is a FIFO of connections in the order they fall due. Every entry
// of one queue is pushed with now plus the same delay, and now never goes
// back, so the queue is sorted by due time without a heap or a wheel:
// the due ones are always at the head. A ring that doubles when full.
type queue struct {
	buf        []entry
	head, size int
}

type entry struct {
	c   *conn
	due int64 // monotonic nanoseconds
}

func (q *queue) push(c *conn, due int64) {
	if q.size == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.size)%len(q.buf)] = entry{c: c, due: due}
	q.size++
}

// pop returns the head if it is due by now.
func (q *queue) pop(now int64) (*conn, bool) {
	if q.size == 0 || q.buf[q.head].due > now {
		return nil, false
	}
	e := q.buf[q.head]
	q.buf[q.head] = entry{} // let a closed conn go
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return e.c, true
}

func (q *queue) grow() {
	n := max(2*len(q.buf), 64)
	buf := make([]entry, n)
	for i := range q.size {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}
