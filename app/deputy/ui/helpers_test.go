package ui

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitFor polls cond until it holds; it fails the test only after a generous deadline,
// so it waits for asynchronous work without asserting on timing.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !holds(cond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 20 s")
		}
		uiLock.yield(func() { time.Sleep(10 * time.Millisecond) })
	}
}

func holds(cond func() bool) (ok bool) {
	onUI(func() { ok = cond() })
	return ok
}

// Fyne's test driver runs fyne.Do in the calling goroutine, so a worker goroutine's
// widget updates could overlap the test goroutine's (a concurrent map write in Fyne's
// renderer cache). The window's real main loop serialises them; uiLock does the same in
// tests: every onMain callback holds it, and a harness test goroutine owns it (like the
// main thread) except while it waits — waitFor and waitRun yield it.
var uiLock reentrantLock

func init() { onMain = uiLock.run }

// onUI runs f (a tap, a read of widget state) while no worker update is running.
func onUI(f func()) { uiLock.run(f) }

// ownUI makes the test goroutine the UI's owner until the test ends. A subtest runs in
// its own goroutine while its parent waits in t.Run: it takes the ownership over and
// hands it back when it ends (no ui test runs in parallel).
func ownUI(t *testing.T) {
	uiLock.takeOver()
	t.Cleanup(uiLock.handBack)
}

// waitRun waits for the window's diagnosis to finish, letting its updates in meanwhile.
func waitRun(u *Window) { uiLock.yield(u.Wait) }

// reentrantLock is a mutex its holder may take again (a callback that posts another
// update runs it at once, as the test driver does).
type reentrantLock struct {
	mu    sync.Mutex
	cond  *sync.Cond
	owner uint64
	depth int
	tests map[uint64]bool // goroutines that took the lock over as a test
	saved []held          // owners a (sub)test displaced, to hand back to
}

type held struct {
	owner uint64
	depth int
}

func (l *reentrantLock) init() {
	if l.cond == nil {
		l.cond = sync.NewCond(&l.mu)
		l.tests = map[uint64]bool{}
	}
}

// takeOver waits until no worker holds the lock, then makes the calling test its owner
// (displacing a parent test blocked in t.Run).
func (l *reentrantLock) takeOver() {
	id := goroutineID()
	l.mu.Lock()
	l.init()
	for l.depth > 0 && !l.tests[l.owner] {
		l.cond.Wait()
	}
	l.saved = append(l.saved, held{l.owner, l.depth})
	l.owner, l.depth = id, 1
	l.tests[id] = true
	l.mu.Unlock()
}

// handBack ends the calling test's ownership and restores what takeOver displaced.
func (l *reentrantLock) handBack() {
	l.mu.Lock()
	delete(l.tests, l.owner)
	last := l.saved[len(l.saved)-1]
	l.saved = l.saved[:len(l.saved)-1]
	l.owner, l.depth = last.owner, last.depth
	l.cond.Broadcast()
	l.mu.Unlock()
}

func (l *reentrantLock) acquire() {
	id := goroutineID()
	l.mu.Lock()
	l.init()
	for l.depth > 0 && l.owner != id {
		l.cond.Wait()
	}
	l.owner = id
	l.depth++
	l.mu.Unlock()
}

func (l *reentrantLock) release() {
	l.mu.Lock()
	l.depth--
	if l.depth == 0 {
		l.cond.Broadcast()
	}
	l.mu.Unlock()
}

func (l *reentrantLock) run(f func()) {
	l.acquire()
	defer l.release()
	f()
}

// yield runs f with the lock fully released (if the caller holds it), then takes it back.
func (l *reentrantLock) yield(f func()) {
	id := goroutineID()
	l.mu.Lock()
	n := 0
	if l.depth > 0 && l.owner == id {
		n, l.depth = l.depth, 0
		l.cond.Broadcast()
	}
	l.mu.Unlock()
	f()
	for ; n > 0; n-- {
		l.acquire()
	}
}

// goroutineID parses "goroutine N [" from the stack header: test-only, to make the
// lock reentrant.
func goroutineID() uint64 {
	var buf [32]byte
	n := runtime.Stack(buf[:], false)
	f := strings.Fields(string(buf[:n]))
	if len(f) < 2 {
		return 0
	}
	id, _ := strconv.ParseUint(f[1], 10, 64)
	return id
}
