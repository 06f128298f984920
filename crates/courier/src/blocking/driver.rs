//! The blocking driver: the core plus a transport plus `poll(2)`.
//!
//! Not generic over endpoints, so it is compiled once. Whoever holds the
//! state's lock drives the connection (reads, writes, timers); messages for
//! the local endpoint are queued, and a thread waiting for them outside the
//! lock (`serve`) is woken through an eventfd.
//!
//! The lock is taken through [`Driver::lock`], whose guard, when released
//! with a timer pending and nobody left to run it, schedules a visit of the
//! pool reaper (see `reaper.rs`): an idle connection returns its
//! shared-memory segments without help from the application.

use std::collections::{HashMap, HashSet};
use std::io;
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError, Weak};
use std::time::{Duration, Instant};

use rustix::event::{EventfdFlags, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use tracing::{debug, warn};

use crate::error::{Error, RemoteError};
use crate::peer::PeerCredentials;
use crate::proto::{CloseReason, Config, Connection, Event, RequestId, Transmit};
use crate::transport::{Transport, fail, feed_received};

use super::reaper;

/// Bytes asked of the socket per read.
const READ_BUFFER: usize = 256 << 10;
/// Reads per round before the driver looks at what arrived.
const READS_PER_ROUND: usize = 64;
/// Longest single `poll(2)` wait; the loop simply waits again.
const MAX_POLL_WAIT: Duration = Duration::from_secs(3600);
/// Bytes of buffered one-way messages (`send_buffered`) that make the sender
/// write them: the size of one coalesced write of the core.
pub(crate) const COALESCE_BYTES: usize = crate::proto::COALESCE_BYTES;
/// Shortest period of the reaper's looks at the socket of an idle connection
/// whose pool memory waits for the peer (see `Driver::reaper_visit_due`),
/// whatever `Limits::shm_idle_timeout` says.
const MIN_POOL_CHECK: Duration = Duration::from_millis(10);
/// How long dropping the last handle keeps writing buffered one-way messages
/// to a peer that reads slowly (as the tokio driver's close).
const DROP_LINGER: Duration = Duration::from_secs(5);

pub(crate) type ResponseResult = Result<(Vec<u8>, Vec<OwnedFd>), RemoteError>;

pub(crate) struct Driver {
    transport: Box<dyn Transport>,
    /// Wakes a thread waiting outside the lock (see [`Driver::wait_for_input`]).
    wake: OwnedFd,
    credentials: PeerCredentials,
    state: Mutex<State>,
    /// This driver, for the reaper (which must not keep it alive).
    this: Weak<Driver>,
    /// The reaper found the lock taken: whoever releases it next makes the
    /// reaper's visit (see [`StateGuard`]'s `Drop`).
    reap_due: AtomicBool,
    /// [`close`](Driver::close) was called: no message may reach a handler
    /// any more, not even one already taken from the queue.
    closed_locally: AtomicBool,
}

pub(crate) struct State {
    pub(crate) core: Connection,
    writing: Option<Writing>,
    read_buffer: Vec<u8>,
    responses: HashMap<RequestId, ResponseResult>,
    timed_out: HashSet<RequestId>,
    closed: Closed,
    handshake_done: bool,
    /// Threads waiting for input outside the lock.
    waiters: usize,
    /// Bytes of frames queued by `send_buffered` since the output was last
    /// flushed: at [`COALESCE_BYTES`] the sender writes them.
    pub(crate) buffered: usize,
    socket_shut_down: bool,
    /// When the reaper will next visit (a visit is scheduled for then), if
    /// it will.
    reaper_visit: Option<Instant>,
    /// How long a pool segment may stay idle: also how long the reaper waits
    /// before reading the release of a segment the peer still holds.
    idle_timeout: Duration,
}

/// A transmit being written, possibly over several writes.
struct Writing {
    transmit: Transmit,
    written: usize,
}

enum Closed {
    Open,
    /// Closed, and the reason not yet reported to anyone.
    Unreported(CloseReason),
    /// Closed, and the reason already reported once.
    Reported,
}

impl State {
    pub(crate) fn is_closed(&self) -> bool {
        !matches!(self.closed, Closed::Open)
    }

    /// The error for an operation on a closed connection: the detailed
    /// reason the first time, [`Error::Disconnected`] afterwards.
    pub(crate) fn take_close_error(&mut self) -> Error {
        match std::mem::replace(&mut self.closed, Closed::Reported) {
            Closed::Unreported(reason) => reason.into_error(),
            Closed::Open | Closed::Reported => Error::Disconnected,
        }
    }

    /// Marks the close as reported (the caller returns its own error).
    pub(crate) fn mark_close_reported(&mut self) {
        if self.is_closed() {
            self.closed = Closed::Reported;
        }
    }

    pub(crate) fn take_response(&mut self, id: RequestId) -> Option<ResponseResult> {
        self.responses.remove(&id)
    }

    pub(crate) fn take_timeout(&mut self, id: RequestId) -> bool {
        self.timed_out.remove(&id)
    }

    /// Whether everything queued has been written.
    pub(crate) fn is_flushed(&self) -> bool {
        self.writing.is_none() && !self.core.has_transmit()
    }
}

impl Driver {
    pub(crate) fn new(
        transport: Box<dyn Transport>,
        config: Config,
        credentials: PeerCredentials,
    ) -> io::Result<Arc<Driver>> {
        let wake = rustix::event::eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        let idle_timeout = config.limits.shm_idle_timeout;
        let mut core = Connection::new(config, Instant::now());
        // Messages wait in the core until `dispatch` decodes them straight
        // from its buffer.
        core.enable_message_queue();
        let state = State {
            core,
            writing: None,
            read_buffer: vec![0; READ_BUFFER],
            responses: HashMap::new(),
            timed_out: HashSet::new(),
            closed: Closed::Open,
            handshake_done: false,
            waiters: 0,
            buffered: 0,
            socket_shut_down: false,
            reaper_visit: None,
            idle_timeout,
        };
        Ok(Arc::new_cyclic(|this| Driver {
            transport,
            wake,
            credentials,
            state: Mutex::new(state),
            this: this.clone(),
            reap_due: AtomicBool::new(false),
            closed_locally: AtomicBool::new(false),
        }))
    }

    pub(crate) fn credentials(&self) -> PeerCredentials {
        self.credentials
    }

    /// Takes the state's lock. Releasing it schedules the reaper when a
    /// timer is pending (see [`StateGuard`]).
    pub(crate) fn lock(&self) -> StateGuard<'_> {
        StateGuard {
            driver: self,
            guard: Some(self.lock_raw()),
        }
    }

    fn lock_raw(&self) -> MutexGuard<'_, State> {
        // Handlers never run under this lock, so a poisoned lock only means a
        // panic in courier's own short critical sections; the state is still
        // consistent enough to report errors.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether [`close`](Self::close) was called, read without the lock.
    pub(crate) fn is_closed_locally(&self) -> bool {
        self.closed_locally.load(Ordering::Acquire)
    }

    /// When the reaper must visit, if that is earlier than the visit already
    /// scheduled: the core's next timer; or, while pool memory waits for the
    /// peer (a segment of this side it has not released yet, a segment of
    /// its own it has not dropped yet), a look at the socket for its word
    /// every idle timeout: a connection nobody uses reads nothing by itself.
    /// Records the visit, which the caller schedules.
    fn reaper_visit_due(state: &mut State) -> Option<Instant> {
        if state.is_closed() {
            return None;
        }
        let at = match state.core.poll_timeout() {
            Some(at) => at,
            None => {
                if state.reaper_visit.is_some() {
                    return None;
                }
                let pool = state.core.pool_stats();
                if pool.segments_in_use == 0 && pool.peer_segments == 0 {
                    return None;
                }
                let every = state.idle_timeout.max(MIN_POOL_CHECK);
                Instant::now().checked_add(every)?
            }
        };
        if state.reaper_visit.is_some_and(|scheduled| scheduled <= at) {
            return None;
        }
        state.reaper_visit = Some(at);
        Some(at)
    }

    /// The reaper's visit (see `reaper.rs`): made now if the lock is free,
    /// else by the thread holding it, when it releases it.
    pub(super) fn visit_from_reaper(&self) {
        self.reap_due.store(true, Ordering::SeqCst);
        // Pairs with the fence in `StateGuard::drop`: either this `try_lock`
        // sees the lock released, or the holder, after releasing it, sees
        // `reap_due` (no visit is lost between the two).
        fence(Ordering::SeqCst);
        self.visit_if_due();
    }

    /// Makes the reaper's visit if one is due and the lock is free: one
    /// round without blocking (reads, timers, writes).
    fn visit_if_due(&self) {
        if !self.reap_due.load(Ordering::SeqCst) {
            return;
        }
        let guard = match self.state.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            // The holder makes the visit when it releases the lock.
            Err(TryLockError::WouldBlock) => return,
        };
        self.reap_due.store(false, Ordering::SeqCst);
        let mut state = StateGuard {
            driver: self,
            guard: Some(guard),
        };
        state.reaper_visit = None;
        if !state.is_closed() {
            // One read at most: messages nobody dispatches are better left
            // in the socket, where they hold the peer back.
            let now = Instant::now();
            self.read_rounds(&mut state, now, 1);
            self.pump_output(&mut state, now);
        }
        // Dropping the guard schedules the next visit, if one is needed.
    }

    /// Drives the handshake to its end.
    pub(crate) fn handshake(&self) -> Result<(), Error> {
        let mut state = self.lock();
        match self.drive(&mut state, |s| s.handshake_done.then_some(())) {
            Some(()) => Ok(()),
            None => Err(state.take_close_error()),
        }
    }

    /// Drives the connection until `done` returns `Some`, or the connection
    /// closes (`None`: the caller takes the close error).
    ///
    /// The first round only writes (what the caller just queued): whatever
    /// `done` waits for comes from the peer later, and the wait reads it.
    /// When everything is written and no timer runs, the wait is a receive
    /// that blocks (one system call, as a hand-written exchange makes)
    /// instead of `poll(2)` followed by a receive.
    pub(crate) fn drive<T>(
        &self,
        state: &mut State,
        done: impl FnMut(&mut State) -> Option<T>,
    ) -> Option<T> {
        self.drive_waking(state, None, done)
    }

    /// [`drive`](Self::drive), also waking at `wake_at` (for a `done` that
    /// looks at the clock).
    fn drive_waking<T>(
        &self,
        state: &mut State,
        wake_at: Option<Instant>,
        mut done: impl FnMut(&mut State) -> Option<T>,
    ) -> Option<T> {
        self.pump_output(state, Instant::now());
        loop {
            if let Some(value) = done(state) {
                return Some(value);
            }
            if state.is_closed() {
                return None;
            }
            let now = Instant::now();
            let wait = earliest(state.core.poll_timeout(), wake_at)
                .map(|at| at.saturating_duration_since(now));
            if wait.is_none() && state.is_flushed() && self.receive_waiting(state) {
                self.pump_output(state, Instant::now());
                continue;
            }
            let mut interest = PollFlags::IN;
            if !state.is_flushed() {
                interest |= PollFlags::OUT;
            }
            if let Err(error) = poll_one(self.transport.as_fd(), interest, wait) {
                state.core.close(CloseReason::Io(error));
                self.drain_events(state);
            }
            self.pump(state);
        }
    }

    /// One receive that may block; `false` when the transport would not
    /// wait (a non-blocking socket) and the caller must `poll(2)`.
    fn receive_waiting(&self, state: &mut State) -> bool {
        let mut fds = Vec::new();
        let result = self
            .transport
            .recv_waiting(&mut state.read_buffer, &mut fds);
        if matches!(&result, Err(error) if error.kind() == io::ErrorKind::WouldBlock) {
            return false;
        }
        let full = matches!(&result, Ok(received) if received.bytes == state.read_buffer.len());
        let now = Instant::now();
        if feed_received(&mut state.core, now, result, &state.read_buffer, fds) && full {
            // The buffer filled: more may be waiting.
            self.read_available(state, now);
        }
        true
    }

    /// Drives until everything queued is written (or the connection closes).
    pub(crate) fn flush(&self, state: &mut State) -> Result<(), Error> {
        match self.drive(state, |s| s.is_flushed().then_some(())) {
            Some(()) => Ok(()),
            None => Err(state.take_close_error()),
        }
    }

    /// One round without blocking: timers, reads, writes, events.
    pub(crate) fn pump(&self, state: &mut State) {
        let now = Instant::now();
        self.read_available(state, now);
        self.pump_output(state, now);
    }

    /// A round without reading: timers, writes, events, the shutdown of a
    /// closed connection's socket.
    fn pump_output(&self, state: &mut State, now: Instant) {
        state.core.handle_timeout(now);
        self.write_available(state);
        if state.is_flushed() {
            state.buffered = 0;
        }
        self.drain_events(state);
        if state.core.is_closed() && !state.socket_shut_down {
            // Whatever could be written was (a server's hello after a failed
            // handshake); now let the peer see the end at once, even while
            // clones of this connection keep the socket open.
            state.socket_shut_down = true;
            let _ = rustix::net::shutdown(self.transport.as_fd(), rustix::net::Shutdown::Both);
        }
    }

    fn read_available(&self, state: &mut State, now: Instant) {
        self.read_rounds(state, now, READS_PER_ROUND);
    }

    /// Up to `rounds` reads, until the socket is empty.
    fn read_rounds(&self, state: &mut State, now: Instant, rounds: usize) {
        for _ in 0..rounds {
            if state.core.is_closed() {
                return;
            }
            let mut fds = Vec::new();
            let result = self.transport.recv(&mut state.read_buffer, &mut fds);
            // A short read emptied the socket: another would only say
            // `WouldBlock` (whatever comes later wakes the next wait, which
            // is level-triggered).
            let short = matches!(&result, Ok(received) if received.bytes < state.read_buffer.len());
            if !feed_received(&mut state.core, now, result, &state.read_buffer, fds) || short {
                return;
            }
        }
    }

    fn write_available(&self, state: &mut State) {
        loop {
            if state.writing.is_none() {
                state.writing = state.core.poll_transmit().map(|transmit| Writing {
                    transmit,
                    written: 0,
                });
            }
            let Some(writing) = state.writing.as_mut() else {
                return;
            };
            let first = writing.written == 0;
            let result = {
                let fds: Vec<BorrowedFd<'_>> = if first {
                    writing.transmit.fds.iter().map(|fd| fd.as_fd()).collect()
                } else {
                    Vec::new()
                };
                self.transport
                    .send(&writing.transmit.bytes[writing.written..], &fds)
            };
            match result {
                // A stream socket never accepts 0 of a non-empty write; if
                // it did, treat it as a full buffer rather than spin.
                Ok(0) => return,
                Ok(written) => {
                    if first {
                        // The peer has its copies now; close ours.
                        writing.transmit.fds.clear();
                    }
                    writing.written += written;
                    if writing.written >= writing.transmit.bytes.len() {
                        if let Some(done) = state.writing.take() {
                            state.core.reuse_buffer(done.transmit.bytes);
                        }
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) => {
                    state.writing = None;
                    fail(&mut state.core, error);
                    return;
                }
            }
        }
    }

    fn drain_events(&self, state: &mut State) {
        while let Some(event) = state.core.poll_event() {
            match event {
                Event::HandshakeComplete => state.handshake_done = true,
                // Never: the core queues messages apart (see `new`).
                Event::Message { .. } => {}
                Event::Response { request_id, result } => {
                    state.responses.insert(request_id, result);
                }
                Event::CallTimedOut { request_id } => {
                    state.timed_out.insert(request_id);
                }
                Event::Closed { reason } => {
                    state.responses.clear();
                    state.timed_out.clear();
                    state.closed = Closed::Unreported(reason);
                    self.wake_waiters(state);
                }
            }
        }
        if state.core.queued_messages() > 0 {
            self.wake_waiters(state);
        }
    }

    fn wake_waiters(&self, state: &State) {
        if state.waiters > 0 {
            // A full counter (never in practice) still leaves it readable.
            let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
        }
    }

    /// Closes the connection from this side; messages received and not yet
    /// handled are dropped (with their fds).
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        self.closed_locally.store(true, Ordering::Release);
        state.core.close(CloseReason::Local);
        while state.core.poll_message_with(|_| ()).is_some() {}
        self.pump(&mut state);
    }

    /// Waits, without holding the lock, until a message is queued, the
    /// connection closes, input arrives (which the caller then pumps), the
    /// core's next timer (a call's deadline, an idle shared-memory segment
    /// to unmap) is due, or `deadline` passes.
    pub(crate) fn wait_for_input(&self, deadline: Option<Instant>) {
        let wait = {
            let mut state = self.lock();
            // No read here: input already in the socket makes the poll
            // below return at once, and the caller's next dispatch reads it.
            self.pump_output(&mut state, Instant::now());
            if state.core.queued_messages() > 0 || state.is_closed() {
                return;
            }
            if !state.is_flushed() {
                // Output left by a call that timed out mid-write: finish it
                // (reading meanwhile) before waiting outside the lock.
                let _ = self.drive_waking(&mut state, deadline, |s| {
                    let past = deadline.is_some_and(|deadline| Instant::now() >= deadline);
                    (past || s.is_flushed() || s.core.queued_messages() > 0).then_some(())
                });
                return;
            }
            state.waiters += 1;
            let now = Instant::now();
            earliest(state.core.poll_timeout(), deadline)
                .map(|at| at.saturating_duration_since(now))
        };
        let interest = PollFlags::IN;
        let mut fds = [
            PollFd::new(&self.transport, interest),
            PollFd::new(&self.wake, interest),
        ];
        if let Err(error) = poll_retrying(&mut fds, wait) {
            debug!("poll failed while waiting for messages: {error}");
        }
        if !fds[1].revents().is_empty() {
            let mut counter = [0u8; 8];
            let _ = rustix::io::read(&self.wake, &mut counter);
        }
        let mut state = self.lock();
        state.waiters -= 1;
    }
}

/// The lock of a driver's state. Released, it schedules the reaper's visit
/// when a timer is pending (nobody may drive the connection before it is
/// due), then makes a visit the reaper could not make while the lock was
/// held.
pub(crate) struct StateGuard<'a> {
    driver: &'a Driver,
    /// `Some` until dropped.
    guard: Option<MutexGuard<'a, State>>,
}

impl Deref for StateGuard<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        // Always `Some` before `drop`.
        self.guard.as_deref().expect("a state guard in use")
    }
}

impl DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.guard.as_deref_mut().expect("a state guard in use")
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        if let Some(at) = Driver::reaper_visit_due(&mut guard) {
            // Under the lock (the reaper takes a connection's lock only
            // without holding its queue's): a visit that could not be
            // scheduled is not recorded as scheduled.
            if !reaper::schedule(at, self.driver.this.clone()) {
                guard.reaper_visit = None;
            }
        }
        drop(guard);
        // Pairs with the fence in `visit_from_reaper` (see there).
        fence(Ordering::SeqCst);
        self.driver.visit_if_due();
    }
}

impl Drop for Driver {
    /// Writes what `send_buffered` left queued, for at most [`DROP_LINGER`].
    fn drop(&mut self) {
        // Not `lock`: nothing is left to schedule for a driver being dropped.
        let mut state = self.lock_raw();
        if state.buffered == 0 {
            return;
        }
        let deadline = Instant::now() + DROP_LINGER;
        loop {
            self.write_available(&mut state);
            if state.is_flushed() || state.core.is_closed() {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                warn!(
                    "dropping a connection with buffered messages unsent: the peer did not read them within {DROP_LINGER:?}"
                );
                return;
            }
            if poll_one(self.transport.as_fd(), PollFlags::OUT, Some(deadline - now)).is_err() {
                return;
            }
        }
    }
}

/// The earlier of two optional instants (`None`: never).
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Waits for `interest` on one fd, at most `wait` (forever for `None`).
fn poll_one(fd: BorrowedFd<'_>, interest: PollFlags, wait: Option<Duration>) -> io::Result<()> {
    let mut fds = [PollFd::from_borrowed_fd(fd, interest)];
    poll_retrying(&mut fds, wait)
}

fn poll_retrying(fds: &mut [PollFd<'_>], wait: Option<Duration>) -> io::Result<()> {
    let timeout = wait.map(|wait| {
        // Round up to whole milliseconds' worth of nanoseconds is not needed:
        // ppoll takes nanoseconds; cap so the conversion cannot fail.
        Timespec::try_from(wait.min(MAX_POLL_WAIT)).unwrap_or(Timespec {
            tv_sec: 3600,
            tv_nsec: 0,
        })
    });
    match rustix::event::poll(fds, timeout.as_ref()) {
        Ok(_) | Err(Errno::INTR) => Ok(()),
        Err(errno) => Err(errno.into()),
    }
}
