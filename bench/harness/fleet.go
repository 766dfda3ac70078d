package harness

import (
	"context"
	"fmt"
	"io"
	"net/rpc"
	"net/rpc/jsonrpc"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cliser/cliser/bench/load"
)

// fleet is the harness's view of the load: one engine here, one in a worker
// process, or several of either.
type fleet interface {
	Ramp(ctx context.Context, target int, rate float64) error
	SetProbing(on bool) error
	Stats() (load.Stats, error)
	// Counts is Stats without the histograms, for polling.
	Counts() (load.Stats, error)
	// PIDs are the load processes, for their RSS and CPU.
	PIDs() []int
	Close(ctx context.Context) error
}

// localFleet is an engine in this process.
type localFleet struct{ e *load.Engine }

func (f localFleet) Ramp(ctx context.Context, target int, rate float64) error {
	return f.e.Ramp(ctx, target, rate)
}
func (f localFleet) SetProbing(on bool) error        { f.e.SetProbing(on); return nil }
func (f localFleet) Stats() (load.Stats, error)      { return f.e.Stats(), nil }
func (f localFleet) Counts() (load.Stats, error)     { return f.e.Counts(), nil }
func (f localFleet) PIDs() []int                     { return nil }
func (f localFleet) Close(ctx context.Context) error { return f.e.Close(ctx) }

// multiFleet splits the load over several fleets: a ramp to target gives
// each its share, and stats add up.
type multiFleet []fleet

// share is fleet i's part of target: the first target%n get one more.
func share(target, n, i int) int {
	s := target / n
	if i < target%n {
		s++
	}
	return s
}

func (m multiFleet) Ramp(ctx context.Context, target int, rate float64) error {
	g, ctx := errgroup.WithContext(ctx)
	for i, f := range m {
		g.Go(func() error { return f.Ramp(ctx, share(target, len(m), i), rate/float64(len(m))) })
	}
	return g.Wait()
}

func (m multiFleet) SetProbing(on bool) error {
	for _, f := range m {
		if err := f.SetProbing(on); err != nil {
			return err
		}
	}
	return nil
}

func (m multiFleet) Stats() (load.Stats, error) { return m.merge(fleet.Stats) }

func (m multiFleet) Counts() (load.Stats, error) { return m.merge(fleet.Counts) }

func (m multiFleet) PIDs() []int {
	var out []int
	for _, f := range m {
		out = append(out, f.PIDs()...)
	}
	return out
}

func (m multiFleet) merge(get func(fleet) (load.Stats, error)) (load.Stats, error) {
	var total load.Stats
	for _, f := range m {
		s, err := get(f)
		if err != nil {
			return total, err
		}
		total.Merge(s)
	}
	return total, nil
}

func (m multiFleet) Close(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(m))
	for i, f := range m {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f.Close(ctx) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// --- worker processes ---

// Worker is the RPC service a worker process serves on its stdin/stdout.
// Its methods are net/rpc's shape; net/rpc runs each call in its own
// goroutine, so Stats answers while a Ramp is under way.
type Worker struct {
	mu sync.Mutex
	e  *load.Engine
}

// RampArgs asks a worker to ramp its fleet.
type RampArgs struct {
	Target int
	Rate   float64
}

// Init makes the worker's fleet.
func (w *Worker) Init(cfg load.Config, _ *struct{}) error {
	e, err := load.New(cfg)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.e != nil {
		return fmt.Errorf("worker: already initialised")
	}
	w.e = e
	return nil
}

func (w *Worker) engine() (*load.Engine, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.e == nil {
		return nil, fmt.Errorf("worker: not initialised")
	}
	return w.e, nil
}

// Ramp ramps the fleet; it is bounded by the engine's own timeouts.
func (w *Worker) Ramp(a RampArgs, _ *struct{}) error {
	e, err := w.engine()
	if err != nil {
		return err
	}
	return e.Ramp(context.Background(), a.Target, a.Rate)
}

// SetProbing turns the probes on or off.
func (w *Worker) SetProbing(on bool, _ *struct{}) error {
	e, err := w.engine()
	if err != nil {
		return err
	}
	e.SetProbing(on)
	return nil
}

// Stats returns the fleet's stats.
func (w *Worker) Stats(_ struct{}, out *load.Stats) error {
	e, err := w.engine()
	if err != nil {
		return err
	}
	*out = e.Stats()
	return nil
}

// Counts returns the fleet's totals without histograms.
func (w *Worker) Counts(_ struct{}, out *load.Stats) error {
	e, err := w.engine()
	if err != nil {
		return err
	}
	*out = e.Counts()
	return nil
}

// Close closes the fleet, waiting up to ten seconds.
func (w *Worker) Close(_ struct{}, _ *struct{}) error {
	e, err := w.engine()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.Close(ctx)
}

// ServeWorker serves the Worker service on rw until rw ends (the harness
// closes the pipe, or exits).
func ServeWorker(rw io.ReadWriteCloser) {
	srv := rpc.NewServer()
	_ = srv.Register(&Worker{})
	srv.ServeCodec(jsonrpc.NewServerCodec(rw))
}

// remoteFleet is a Worker across an RPC connection.
type remoteFleet struct {
	c   *rpc.Client
	pid int // the worker process, 0 in tests
}

func newRemoteFleet(rw io.ReadWriteCloser, cfg load.Config, pid int) (*remoteFleet, error) {
	f := &remoteFleet{c: jsonrpc.NewClient(rw), pid: pid}
	if err := f.c.Call("Worker.Init", cfg, &struct{}{}); err != nil {
		_ = f.c.Close()
		return nil, err
	}
	return f, nil
}

func (f *remoteFleet) call(ctx context.Context, method string, args, reply any) error {
	call := f.c.Go(method, args, reply, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
		return call.Error
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *remoteFleet) Ramp(ctx context.Context, target int, rate float64) error {
	return f.call(ctx, "Worker.Ramp", RampArgs{Target: target, Rate: rate}, &struct{}{})
}

func (f *remoteFleet) SetProbing(on bool) error {
	return f.c.Call("Worker.SetProbing", on, &struct{}{})
}

func (f *remoteFleet) Stats() (load.Stats, error) {
	var s load.Stats
	err := f.c.Call("Worker.Stats", struct{}{}, &s)
	return s, err
}

func (f *remoteFleet) Counts() (load.Stats, error) {
	var s load.Stats
	err := f.c.Call("Worker.Counts", struct{}{}, &s)
	return s, err
}

func (f *remoteFleet) PIDs() []int {
	if f.pid == 0 {
		return nil
	}
	return []int{f.pid}
}

func (f *remoteFleet) Close(ctx context.Context) error {
	err := f.call(ctx, "Worker.Close", struct{}{}, &struct{}{})
	_ = f.c.Close()
	return err
}
