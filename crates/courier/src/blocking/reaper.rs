//! The pool reaper: one thread per process that runs the timers of blocking
//! connections nobody is driving.
//!
//! A blocking connection only advances when a thread calls into it. The
//! core's timers (an idle shared-memory segment to unmap, see
//! [`Limits::shm_idle_timeout`](crate::Limits::shm_idle_timeout)) would then
//! wait for the application's next call, possibly forever. So whenever a
//! thread releases a connection's lock with a timer pending, the driver
//! schedules a *visit* here ([`schedule`]); at that instant this thread takes
//! the connection's lock **without waiting for it** (`try_lock`) and runs one
//! non-blocking round: read what arrived (the peer's `SegmentRelease`), fire
//! the timers, write what they queued (`SegmentDrop`).
//!
//! # Invariants
//!
//! - **No per-connection thread**: one thread, started by the first visit
//!   scheduled in the process (again in a forked child), sleeping on a
//!   condition variable until the earliest visit is due, and forever when
//!   none is. It never polls.
//! - **It never blocks on a connection.** A thread may hold a connection's
//!   lock for as long as a call lasts (blocked in `poll(2)` or `recv(2)`).
//!   When the lock is taken, the visit is handed to its holder instead: the
//!   reaper raises the driver's `reap_due` flag, and every holder checks that
//!   flag just after releasing the lock and makes the visit itself (see
//!   `StateGuard`'s `Drop` in `driver.rs`). A holder that drives the
//!   connection runs its timers anyway.
//! - **Lock order**: a connection's lock, then this queue's lock, never the
//!   other way: a thread schedules a visit while holding the connection's
//!   lock, and the reaper takes a connection's lock only after releasing
//!   the queue's.
//! - **Weak references only**: a scheduled visit does not keep a connection
//!   alive; the visit of a dropped connection is skipped. (When the
//!   application drops its last handle during a visit, the connection is
//!   dropped on this thread, which then writes what `send_buffered` left
//!   queued, for at most 5 seconds, as any last handle's drop does.)
//! - **Fork**: a child forked from a process with a reaper starts its own
//!   at its first scheduled visit, and forgets the visits of the parent's
//!   connections.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::atomic::{self, AtomicBool};
use std::sync::{Condvar, Mutex, MutexGuard, Weak};
use std::time::Instant;

use tracing::warn;

use super::driver::Driver;

/// The visits to make, earliest first, and the thread making them.
struct Queue {
    visits: BinaryHeap<Visit>,
    /// The process (pid) in which the reaper thread runs: a forked child has
    /// the queue but not the thread.
    thread_in: Option<u32>,
    /// Tie-breaker of visits due at the same instant, in scheduling order.
    next_serial: u64,
}

struct Visit {
    at: Instant,
    serial: u64,
    driver: Weak<Driver>,
}

impl PartialEq for Visit {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Visit {}

impl PartialOrd for Visit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Visit {
    /// Reversed: the `BinaryHeap` (a max-heap) yields the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.serial).cmp(&(self.at, self.serial))
    }
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    visits: BinaryHeap::new(),
    thread_in: None,
    next_serial: 0,
});

/// Signalled when a visit earlier than every other is scheduled.
static EARLIER: Condvar = Condvar::new();

fn queue() -> MutexGuard<'static, Queue> {
    // The queue is consistent between statements; a panic elsewhere while
    // it was held cannot leave it half-updated.
    QUEUE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Schedules a visit of `driver` at `at` (see the module documentation);
/// `false` when the reaper thread could not be started (tried again at the
/// next visit scheduled).
pub(super) fn schedule(at: Instant, driver: Weak<Driver>) -> bool {
    let mut queue = queue();
    let pid = std::process::id();
    if queue.thread_in != Some(pid) {
        // A forked child: the visits are the parent's.
        queue.visits.clear();
        match std::thread::Builder::new()
            .name("courier-reaper".into())
            .spawn(run)
        {
            Ok(_) => queue.thread_in = Some(pid),
            Err(error) => {
                // Meanwhile a connection's timers run when the application
                // next drives it.
                static WARNED: AtomicBool = AtomicBool::new(false);
                if !WARNED.swap(true, atomic::Ordering::Relaxed) {
                    warn!(
                        "could not start the thread that unmaps the idle shared memory of blocking \
                         connections ({error}); an idle connection keeps its pool segments until \
                         it is used again"
                    );
                }
                return false;
            }
        }
    }
    let earliest = queue.visits.peek().is_none_or(|next| at < next.at);
    let serial = queue.next_serial;
    queue.next_serial = serial.wrapping_add(1);
    queue.visits.push(Visit { at, serial, driver });
    if earliest {
        EARLIER.notify_one();
    }
    true
}

/// The reaper thread: waits for the earliest visit, makes the due ones.
fn run() {
    let mut due = Vec::new();
    loop {
        {
            let mut queue = queue();
            loop {
                let now = Instant::now();
                while queue.visits.peek().is_some_and(|next| next.at <= now) {
                    if let Some(visit) = queue.visits.pop() {
                        due.push(visit.driver);
                    }
                }
                if !due.is_empty() {
                    break;
                }
                queue = match queue.visits.peek() {
                    None => EARLIER
                        .wait(queue)
                        .unwrap_or_else(|poisoned| poisoned.into_inner()),
                    Some(next) => {
                        let wait = next.at.saturating_duration_since(now);
                        EARLIER
                            .wait_timeout(queue, wait)
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .0
                    }
                };
            }
        }
        // The queue's lock is released: taking a connection's lock (which a
        // thread may hold while scheduling) cannot deadlock.
        for driver in due.drain(..) {
            if let Some(driver) = driver.upgrade() {
                driver.visit_from_reaper();
            }
        }
    }
}
