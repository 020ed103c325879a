package main

import (
	"context"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// interrupts turns SIGINT, SIGTERM and SIGHUP (a closed terminal or SSH session) into the
// command's two-stage stop. run installs it before
// anything else, so that a signal is never lost to Go's default handler (which would kill the
// process mid-write) nor ignored because the shell that started leaf-import ignores SIGINT
// (signal.Notify takes the signal back).
//
// The first signal aborts a command that has changed nothing yet (a plan, a state read); once an
// apply is applying (draining is set) it only stops scheduling, and a second signal aborts the
// requests in flight.
type interrupts struct {
	ctx      context.Context
	cancel   context.CancelFunc
	stop     chan struct{}
	draining atomic.Bool
	signaled atomic.Bool
	sig      chan os.Signal
	done     chan struct{}
	f        *Factory
}

func watchInterrupts(parent context.Context, f *Factory) *interrupts {
	ctx, cancel := context.WithCancel(parent)
	in := &interrupts{ctx: ctx, cancel: cancel, stop: make(chan struct{}), sig: make(chan os.Signal, 2),
		done: make(chan struct{}), f: f}
	signal.Notify(in.sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go in.watch()
	return in
}

func (in *interrupts) watch() {
	select {
	case <-in.sig:
	case <-in.done:
		return
	}
	in.signaled.Store(true)
	close(in.stop)
	if in.draining.Load() {
		in.f.Logger().Warn("stopping: no new changes start; requests in flight finish (interrupt again to abort them)")
		select {
		case <-in.sig:
			in.f.Logger().Warn("aborting the requests in flight")
		case <-in.done:
			return
		}
	}
	in.cancel()
}

// release stops watching (signals then kill the process as usual).
func (in *interrupts) release() {
	signal.Stop(in.sig)
	close(in.done)
	in.cancel()
}
