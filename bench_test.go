package sspi

import (
	"context"
	"runtime"
	"testing"
)

// pingContext is a package state whose step does nothing, so a benchmark of a call through
// the core measures the core alone.
type pingContext struct{}

func (pingContext) Step(p *StepParams) (Status, error) {
	p.Out = append(p.Out, 'p')
	return ContinueNeeded, nil
}

// newPingContext builds a Context around pingContext without the registry, so the
// benchmark has no mechanism cost at all.
func newPingContext(b *testing.B, server bool) (*Credentials, *Context) {
	cred := &Credentials{pkg: &registeredPackage{info: PackageInfo{Name: "ping"}}, use: CredBoth, impl: pingCredsImpl{}}
	cred.refs.Store(1)
	ctx, err := newContext(cred, server)
	if err != nil {
		b.Fatal(err)
	}
	ctx.impl = pingContext{}
	ctx.h.leave()
	return cred, ctx
}

// pingCredsImpl is never asked for a context: newPingContext installs the state itself.
type pingCredsImpl struct{ PackageCredentials }

// BenchmarkCoreStepOverhead is the cost the core adds around a package's step, with a
// caller-sized output buffer as a server loop uses it.
func BenchmarkCoreStepOverhead(b *testing.B) {
	cred, ctx := newPingContext(b, true)
	in := []Buffer{{Type: BufferToken, Data: []byte("token")}, {Type: BufferEmpty}}
	out := []Buffer{{Type: BufferToken, Data: make([]byte, 16)}}
	b.ReportAllocs()
	for b.Loop() {
		out[0].Data = out[0].Data[:16]
		if _, _, err := AcceptSecurityContext(cred, ctx, 0, NativeDataRep, in, out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPackageStepDirect is the same step called on the package directly: the floor.
func BenchmarkPackageStepDirect(b *testing.B) {
	var p StepParams
	var impl PackageContext = pingContext{}
	buf := make([]byte, 16)
	b.ReportAllocs()
	for b.Loop() {
		p = StepParams{Server: true, Out: buf[:0]}
		if _, err := impl.Step(&p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCoreStepAsync is one AcceptSecurityContextAsync call and its Wait: the
// overhead of the async layer, including the hand-off to a worker goroutine.
func BenchmarkCoreStepAsync(b *testing.B) {
	cred, ctx := newPingContext(b, true)
	sched := NewScheduler(SchedulerOptions{Workers: 1, QueueLength: 16})
	defer sched.Close()
	ac := sched.NewAsyncContext()
	in := []Buffer{{Type: BufferToken, Data: []byte("token")}}
	out := []Buffer{{Type: BufferToken, Data: make([]byte, 16)}}
	bg := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ac.Reinit()
		out[0].Data = out[0].Data[:16]
		if err := AcceptSecurityContextAsync(ac, cred, ctx, 0, NativeDataRep, in, out); err != nil {
			b.Fatal(err)
		}
		if _, err := ac.Wait(bg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCoreMessageOverhead is the core's cost around MakeSignature.
func BenchmarkCoreMessageOverhead(b *testing.B) {
	ccred, scred := pair(b, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw"})
	cctx, _ := handshake(b, ccred, scred, 0, 0)
	impl := cctx.impl.(*scriptedContext)
	msg := []Buffer{{Type: BufferData, Data: []byte("x")}, {Type: BufferToken, Data: make([]byte, 16)}}
	b.Run("core", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			msg[1].Data = msg[1].Data[:16]
			MakeSignature(cctx, 0, msg, 0)
		}
	})
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			msg[1].Data = msg[1].Data[:16]
			impl.MakeSignature(0, msg, 0)
		}
	})
}

// BenchmarkHandleMemory reports the heap bytes of one Context and one AsyncContext.
func BenchmarkHandleMemory(b *testing.B) {
	measure := func(n int, mk func() any) float64 {
		keep := make([]any, n)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := range keep {
			keep[i] = mk()
		}
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(keep)
		return float64(after.HeapAlloc-before.HeapAlloc)/float64(n) - 16 // minus the interface slot
	}
	cred, _ := newPingContext(b, true)
	sched := NewScheduler(SchedulerOptions{Workers: 1})
	defer sched.Close()
	for b.Loop() {
	}
	b.ReportMetric(measure(10000, func() any {
		c, _ := newContext(cred, true)
		return c
	}), "B/Context")
	b.ReportMetric(measure(10000, func() any { return sched.NewAsyncContext() }), "B/AsyncContext")
}
