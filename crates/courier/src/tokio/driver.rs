//! The tokio driver: one task per connection around the sans-IO core,
//! shaped like quinn's `ConnectionDriver`.
//!
//! The core and everything the handles share live in [`Shared`], behind a
//! mutex held only for short, non-blocking sections. Handles (connections,
//! client handles, response futures) lock it to give commands to the core,
//! then wake the driver through [`Shared::wake`]. The driver task alone
//! owns the socket: each round it feeds the core what the socket has
//! (`recvmsg` with `SCM_RIGHTS`), writes what the core queued (`sendmsg`),
//! routes the core's events (responses to their callers' oneshot channels,
//! messages to the handler, outside the lock), then waits for the socket,
//! a wake-up or the core's next deadline.
//!
//! Apart from generics this is the blocking driver's logic: the same core
//! calls in the same order, the same handling of end of file and resets, the
//! same `dispatch` and `queue_answer`.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ::tokio::io::Interest;
use ::tokio::io::unix::AsyncFd;
use ::tokio::net::UnixStream;
use ::tokio::sync::{Notify, oneshot, watch};
use tracing::{debug, trace, warn};

use crate::endpoint::Endpoint;
use crate::error::{Error, HandshakeError, ProtocolError, RemoteError};
use crate::handler::{Answer, Decoded, Reply, decode, dispatch, queue_answer};
use crate::peer::PeerCredentials;
use crate::proto::{CloseReason, Config, Connection, Event, RequestId, Transmit, earliest};
use crate::transport::{fail, feed_received, recv_with_fds, send_with_fds};

/// Bytes asked of the socket per read.
const READ_BUFFER: usize = 128 << 10;
/// Reads per round before the driver looks at what arrived.
const READS_PER_ROUND: usize = 64;
/// How long a closing connection (`close`, or its last handle dropped) keeps
/// writing what was queued before, if the peer reads slowly.
pub(crate) const CLOSE_LINGER: Duration = Duration::from_secs(5);

/// A response as the core delivered it.
pub(crate) type ResponseResult = Result<(Vec<u8>, Vec<OwnedFd>), RemoteError>;

/// What a call's oneshot channel carries. A call whose sender is dropped
/// unanswered learns why from [`Shared::take_close_error`].
pub(crate) enum CallOutcome {
    Response(ResponseResult),
    TimedOut,
}

/// How the driver hands a decoded message to the application: the message,
/// and whether it is a request (it needs an answer).
pub(crate) type MessageFn<L> = Box<dyn FnMut(<L as Endpoint>::Message, bool) -> Reply + Send>;

/// What the handles of one connection share with its driver task.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Wakes the driver after a command (a permit is kept if it is busy).
    wake: Notify,
    credentials: PeerCredentials,
    /// Its sender lives in the driver task; it is dropped when the task ends.
    ended: watch::Receiver<()>,
    /// `close` itself was called: no handler sees another message, not even
    /// one already read (as the blocking driver). Outside the lock: checked
    /// before each message.
    closed_locally: AtomicBool,
}

struct State {
    core: Connection,
    writing: Option<Writing>,
    /// Calls waiting for their response.
    calls: HashMap<RequestId, oneshot::Sender<CallOutcome>>,
    closed: Closed,
    /// `close` was called or the last handle dropped: refuse commands, write
    /// what is queued, then close.
    closing: bool,
    handshake_done: bool,
    /// Whoever closed the core reports the reason itself (a response that
    /// did not decode).
    close_reported: bool,
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
    fn is_flushed(&self) -> bool {
        self.writing.is_none() && !self.core.has_transmit()
    }

    /// Whether commands are refused.
    fn is_closed(&self) -> bool {
        self.closing || !matches!(self.closed, Closed::Open)
    }

    /// The error for an operation on a closed connection: the detailed
    /// reason the first time, [`Error::Disconnected`] afterwards (as the
    /// blocking driver).
    fn take_close_error(&mut self) -> Error {
        match std::mem::replace(&mut self.closed, Closed::Reported) {
            Closed::Unreported(reason) => reason.into_error(),
            Closed::Open => {
                self.closed = Closed::Open;
                Error::Disconnected
            }
            Closed::Reported => Error::Disconnected,
        }
    }

    fn check_open(&mut self) -> Result<(), Error> {
        if self.is_closed() {
            Err(self.take_close_error())
        } else {
            Ok(())
        }
    }
}

impl Shared {
    /// The shared half of a new connection (its core at the start of the
    /// handshake), and the sender whose drop marks the end of its task.
    pub(crate) fn new(
        config: Config,
        credentials: PeerCredentials,
    ) -> (Arc<Shared>, watch::Sender<()>) {
        let (ended_tx, ended) = watch::channel(());
        let mut core = Connection::new(config, Instant::now());
        // Messages wait in the core until the driver decodes them straight
        // from its buffer.
        core.enable_message_queue();
        let state = State {
            core,
            writing: None,
            calls: HashMap::new(),
            closed: Closed::Open,
            closing: false,
            handshake_done: false,
            close_reported: false,
        };
        let shared = Shared {
            state: Mutex::new(state),
            wake: Notify::new(),
            credentials,
            ended,
            closed_locally: AtomicBool::new(false),
        };
        (Arc::new(shared), ended_tx)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Handlers never run under this lock, so a poisoned lock only means a
        // panic in courier's own short sections; the state is still
        // consistent enough to report errors.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn credentials(&self) -> PeerCredentials {
        self.credentials
    }

    /// On a server before the handshake: refuse the client (see
    /// [`Connection::refuse`]).
    pub(crate) fn refuse(&self, refusal: crate::proto::Refusal) {
        self.lock().core.refuse(refusal);
    }

    /// Queues request `id` and returns the channel its outcome arrives on.
    pub(crate) fn start_call(
        &self,
        magic: u32,
        id: u32,
        body: Vec<u8>,
        fds: Vec<OwnedFd>,
        timeout: Option<Duration>,
    ) -> Result<oneshot::Receiver<CallOutcome>, Error> {
        let mut state = self.lock();
        state.check_open()?;
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        let request_id = state.core.send_request(magic, id, body, fds, deadline)?;
        let (sender, receiver) = oneshot::channel();
        state.calls.insert(request_id, sender);
        drop(state);
        self.wake.notify_one();
        Ok(receiver)
    }

    /// The body and fds of a call's response, or why there is none.
    pub(crate) fn finish_call(
        &self,
        outcome: Result<CallOutcome, oneshot::error::RecvError>,
    ) -> Result<(Vec<u8>, Vec<OwnedFd>), Error> {
        match outcome {
            Ok(CallOutcome::Response(Ok(parts))) => Ok(parts),
            Ok(CallOutcome::Response(Err(remote))) => Err(Error::Remote(remote)),
            Ok(CallOutcome::TimedOut) => Err(Error::Timeout),
            Err(_) => Err(self.lock().take_close_error()),
        }
    }

    /// Closes the connection because a response did not decode; the caller
    /// reports the error itself (as the blocking driver).
    pub(crate) fn fail_response(&self, error: ProtocolError) {
        let mut state = self.lock();
        state.close_reported = true;
        state.core.close(CloseReason::Protocol(error));
        drop(state);
        self.wake.notify_one();
    }

    /// Queues one-way message `id`, encoded by `encode` straight into the
    /// core's output buffer ([`Connection::send_oneway_with`]).
    pub(crate) fn send_oneway_with<F>(&self, magic: u32, id: u32, encode: F) -> Result<(), Error>
    where
        F: FnOnce(&mut crate::codec::Encoder) -> Result<(), crate::codec::EncodeError>,
    {
        let mut state = self.lock();
        state.check_open()?;
        // As `send_oneway`: queued output means the driver is due anyway.
        let driver_due = !state.is_flushed();
        state.core.send_oneway_with(magic, id, encode)?;
        drop(state);
        if !driver_due {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Queues the answer a [`Responder`](crate::Responder) gave later.
    fn queue_deferred_answer(&self, answer: Answer) {
        let mut state = self.lock();
        if state.core.is_closed() {
            trace!("dropping a deferred answer: the connection is closed");
            return;
        }
        if let Err(error) = queue_answer(&mut state.core, answer) {
            debug!("could not answer a request: {error}");
        }
        drop(state);
        self.wake.notify_one();
    }

    /// Closes the connection: calls waiting fail with
    /// [`Error::Disconnected`] at once, commands are refused, what was queued
    /// before is still written (for at most [`CLOSE_LINGER`]), then the
    /// socket is closed.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        if !state.closing {
            state.closing = true;
            state.calls.clear();
        }
        self.closed_locally.store(true, Ordering::Release);
        drop(state);
        self.wake.notify_one();
    }

    /// The core's [`Connection::pool_stats`].
    pub(crate) fn pool_stats(&self) -> crate::proto::PoolStats {
        self.lock().core.pool_stats()
    }

    /// Whether commands are refused (closed or closing).
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().is_closed()
    }

    /// The error for an operation on this closed connection.
    pub(crate) fn take_close_error(&self) -> Error {
        self.lock().take_close_error()
    }

    /// Resolves once the driver task has ended: socket closed, handler
    /// dropped.
    pub(crate) fn ended(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut ended = self.ended.clone();
        async move { while ended.changed().await.is_ok() {} }
    }

    /// Marks the connection closed after its task ended without closing the
    /// core (a handler panicked): callers get an error, not a hang.
    fn abandon(&self) {
        let mut state = self.lock();
        state.calls.clear();
        if !state.core.is_closed() {
            state.core.close(CloseReason::Local);
            let error =
                io::Error::other("the connection's task ended unexpectedly (did a handler panic?)");
            state.closed = Closed::Unreported(CloseReason::Io(error));
        }
    }
}

/// Keeps a connection open while it lives; the last one dropped closes it
/// (see [`Shared::close`]). Held by each `AsyncConnection` and by the
/// futures of its calls.
pub(crate) struct KeepOpen(pub(crate) Arc<Shared>);

impl Drop for KeepOpen {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.closing = true;
        drop(state);
        self.0.wake.notify_one();
    }
}

/// Ends a driver task: marks the connection closed if the task did not get
/// to (a panic), then drops the sender that [`Shared::ended`] waits on.
pub(crate) struct EndGuard {
    shared: Arc<Shared>,
    ended: Option<watch::Sender<()>>,
}

impl EndGuard {
    pub(crate) fn new(shared: Arc<Shared>, ended: watch::Sender<()>) -> EndGuard {
        EndGuard {
            shared,
            ended: Some(ended),
        }
    }
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.shared.abandon();
        drop(self.ended.take());
    }
}

/// The driver of one connection; [`Driver::run`] is its task.
pub(crate) struct Driver {
    shared: Arc<Shared>,
    stream: UnixStream,
}

impl Driver {
    pub(crate) fn new(shared: Arc<Shared>, stream: UnixStream) -> Driver {
        Driver { shared, stream }
    }

    /// Runs the connection until it closes, then closes the socket and
    /// returns why it closed. `setup` is called once the handshake completes
    /// and returns what handles the local endpoint's messages (called on
    /// this task, in order); it is dropped when this returns.
    pub(crate) async fn run<L: Endpoint>(
        self,
        setup: impl FnOnce() -> MessageFn<L> + Send,
    ) -> CloseReason {
        match Socket::register(self.stream) {
            Ok(socket) => Running::new(self.shared, socket).run::<L>(setup).await,
            Err(error) => {
                let mut state = self.shared.lock();
                state.core.close(CloseReason::Io(error));
                let mut reason = CloseReason::Local;
                while let Some(event) = state.core.poll_event() {
                    if let Event::Closed { reason: closed } = event {
                        state.calls.clear();
                        reason = copy_reason(&closed);
                        state.closed = Closed::Unreported(closed);
                    }
                }
                reason
            }
        }
    }
}

/// The socket as the driver watches it: registered with the runtime for
/// readability only. tokio's `UnixStream` registers for both directions, and
/// a stream socket signals "writable" (edge-triggered) each time the peer
/// reads: every request then woke its sender once for nothing (one more
/// `epoll_wait`, on one core one more pair of context switches, per
/// message). Writability is watched only while a write waits for room,
/// through a duplicate of the fd registered for it alone.
struct Socket {
    read: AsyncFd<std::os::unix::net::UnixStream>,
    write: Option<AsyncFd<OwnedFd>>,
}

impl Socket {
    // `with_interest` is deprecated (tokio#8587) because an `AsyncFd` of a
    // type that merely borrows its fd cannot keep that fd open; both types
    // here own theirs (`UnixStream`, `OwnedFd`), which the `AsyncFd` owns
    // until it deregisters them on drop, so the concern does not apply.
    #[allow(deprecated)]
    fn register(stream: UnixStream) -> io::Result<Socket> {
        // Non-blocking already (tokio's), and stays so.
        let stream = stream.into_std()?;
        Ok(Socket {
            read: AsyncFd::with_interest(stream, Interest::READABLE)?,
            write: None,
        })
    }

    /// Starts watching writability (a write would block).
    #[allow(deprecated)] // As in `register`: the `OwnedFd` is owned.
    fn watch_writable(&mut self) -> io::Result<()> {
        if self.write.is_none() {
            let fd = self.read.get_ref().as_fd().try_clone_to_owned()?;
            self.write = Some(AsyncFd::with_interest(fd, Interest::WRITABLE)?);
        }
        Ok(())
    }

    /// Resolves once the socket may take more bytes; never when nothing
    /// waits for room.
    async fn writable(&self) -> io::Result<()> {
        match &self.write {
            Some(write) => write.writable().await.map(drop),
            None => std::future::pending().await,
        }
    }
}

/// A running driver: the socket registered, the loop of [`Running::run`].
struct Running {
    shared: Arc<Shared>,
    socket: Socket,
    read_buffer: Vec<u8>,
    linger_until: Option<Instant>,
    socket_shut_down: bool,
    final_reason: Option<CloseReason>,
}

impl Running {
    fn new(shared: Arc<Shared>, socket: Socket) -> Running {
        Running {
            shared,
            socket,
            read_buffer: vec![0; READ_BUFFER],
            linger_until: None,
            socket_shut_down: false,
            final_reason: None,
        }
    }

    async fn run<L: Endpoint>(
        mut self,
        setup: impl FnOnce() -> MessageFn<L> + Send,
    ) -> CloseReason {
        let mut setup = Some(setup);
        let mut handler: Option<MessageFn<L>> = None;
        let mut incoming: VecDeque<Decoded<L::Message>> = VecDeque::new();
        let shared = Arc::clone(&self.shared);
        loop {
            let handshake_done = {
                let mut state = shared.lock();
                self.pump_input(&mut state);
                take_messages::<L>(&mut state, &mut incoming);
                state.handshake_done
            };
            // Before the output is written: a server registers its client
            // before its hello tells the client the handshake is done.
            if handshake_done && handler.is_none() {
                if let Some(setup) = setup.take() {
                    handler = Some(setup());
                }
            }
            if let Some(handler) = handler.as_mut() {
                while let Some(message) = incoming.pop_front() {
                    if self.closed_locally() || !self.handle_one::<L>(handler, message) {
                        incoming.clear();
                        break;
                    }
                }
            }
            let (deadline, want_write) = {
                let mut state = shared.lock();
                self.pump_output(&mut state);
                if state.core.is_closed() {
                    take_messages::<L>(&mut state, &mut incoming);
                    break;
                }
                (
                    earliest(state.core.poll_timeout(), self.linger_until),
                    !state.is_flushed(),
                )
            };
            self.wait(deadline, want_write).await;
        }
        // Messages that arrived before the peer closed are handled (their
        // answers go nowhere), as the blocking driver's `dispatch` does; after
        // a local `close`, none is.
        if let Some(handler) = handler.as_mut() {
            for message in incoming.drain(..) {
                if self.closed_locally() || !self.handle_one::<L>(handler, message) {
                    break;
                }
            }
        }
        self.final_reason.take().unwrap_or(CloseReason::Local)
    }

    /// Waits for the socket, a command, or `deadline`.
    async fn wait(&self, deadline: Option<Instant>, want_write: bool) {
        let sleep = async {
            match deadline {
                Some(deadline) => ::tokio::time::sleep_until(deadline.into()).await,
                None => std::future::pending().await,
            }
        };
        let failed = ::tokio::select! {
            () = self.shared.wake.notified() => None,
            ready = self.socket.read.readable() => ready.err(),
            ready = self.socket.writable(), if want_write => ready.err(),
            () = sleep => None,
        };
        if let Some(error) = failed {
            self.shared.lock().core.close(CloseReason::Io(error));
        }
    }

    /// Decodes and handles one message, then queues its answer. `false` when
    /// it did not decode (the connection is then closed).
    /// Whether `close` was called on the connection.
    fn closed_locally(&self) -> bool {
        self.shared.closed_locally.load(Ordering::Acquire)
    }

    fn handle_one<L: Endpoint>(
        &self,
        handler: &mut MessageFn<L>,
        decoded: Decoded<L::Message>,
    ) -> bool {
        let is_request = decoded.request_id.is_some();
        let mut handle = |message: L::Message| handler(message, is_request);
        match dispatch::<L, _>(&mut handle, decoded) {
            Ok(Answer::Deferred(deferred)) => {
                let shared = Arc::downgrade(&self.shared);
                deferred.bind::<L>(move |answer| {
                    if let Some(shared) = shared.upgrade() {
                        shared.queue_deferred_answer(answer);
                    }
                });
                true
            }
            // Nothing to queue (a one-way message): no lock either.
            Ok(Answer::None) => true,
            Ok(answer) => {
                let mut state = self.shared.lock();
                if let Err(error) = queue_answer(&mut state.core, answer) {
                    debug!("could not answer a request: {error}");
                }
                true
            }
            Err(error) => {
                self.shared.lock().core.close(CloseReason::Protocol(error));
                false
            }
        }
    }

    /// The first half of a round, without waiting: reads, timers, events.
    /// Reads come first (as in the blocking driver): when the task runs
    /// late, an answer already in the socket is delivered rather than its
    /// call expired, and a hello that came in time is not a handshake
    /// timeout.
    fn pump_input(&mut self, state: &mut State) {
        let now = Instant::now();
        self.read_available(state, now);
        state.core.handle_timeout(now);
        self.drain_events(state);
    }

    /// The second half: writes, events (a failed write, a close by a
    /// handle; never a message, which only input brings), closing.
    fn pump_output(&mut self, state: &mut State) {
        let now = Instant::now();
        self.write_available(state);
        self.drain_events(state);
        if state.closing && !state.core.is_closed() {
            let linger_over = self.linger_until.is_some_and(|until| until <= now);
            if state.is_flushed() || linger_over {
                if linger_over {
                    warn!(
                        "closing the connection to `{}` with output unsent: the peer did not read it within {CLOSE_LINGER:?}",
                        state.core.peer().name
                    );
                }
                state.core.close(CloseReason::Local);
                self.drain_events(state);
            } else if self.linger_until.is_none() {
                self.linger_until = now.checked_add(CLOSE_LINGER);
            }
        }
        if state.core.is_closed() && !self.socket_shut_down {
            // Whatever can still be written without waiting is (a server's
            // hello after a failed handshake); then the peer sees the end at
            // once, whoever still holds the socket.
            self.write_available(state);
            self.socket_shut_down = true;
            let _ = rustix::net::shutdown(self.socket.read.get_ref(), rustix::net::Shutdown::Both);
        }
    }

    fn read_available(&mut self, state: &mut State, now: Instant) {
        for _ in 0..READS_PER_ROUND {
            if state.core.is_closed() {
                return;
            }
            let mut fds = Vec::new();
            let buffer = &mut self.read_buffer;
            let result = self.socket.read.try_io(Interest::READABLE, |stream| {
                recv_with_fds(stream, buffer, &mut fds)
            });
            if !feed_received(&mut state.core, now, result, &self.read_buffer, fds) {
                return;
            }
        }
    }

    fn write_available(&mut self, state: &mut State) {
        loop {
            if state.writing.is_none() {
                state.writing = state.core.poll_transmit().map(|transmit| Writing {
                    transmit,
                    written: 0,
                });
            }
            let Some(writing) = state.writing.as_mut() else {
                break;
            };
            let first = writing.written == 0;
            let result = {
                let fds: Vec<BorrowedFd<'_>> = if first {
                    writing.transmit.fds.iter().map(|fd| fd.as_fd()).collect()
                } else {
                    Vec::new()
                };
                let bytes = &writing.transmit.bytes[writing.written..];
                let stream = self.socket.read.get_ref();
                match &self.socket.write {
                    // Waiting for room: only once the runtime says so.
                    Some(write) => {
                        write.try_io(Interest::WRITABLE, |_| send_with_fds(stream, bytes, &fds))
                    }
                    None => send_with_fds(stream, bytes, &fds),
                }
            };
            match result {
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
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    if let Err(error) = self.socket.watch_writable() {
                        state.writing = None;
                        fail(&mut state.core, error);
                    }
                    return;
                }
                Err(error) => {
                    state.writing = None;
                    fail(&mut state.core, error);
                    return;
                }
            }
        }
        // Everything written: stop watching for room (and being woken by it).
        self.socket.write = None;
    }

    fn drain_events(&mut self, state: &mut State) {
        while let Some(event) = state.core.poll_event() {
            match event {
                Event::HandshakeComplete => state.handshake_done = true,
                // Never: the core queues messages apart (see `Shared::new`);
                // `take_messages` takes them.
                Event::Message { .. } => {}
                Event::Response { request_id, result } => {
                    // A caller that gave up dropped its receiver; the response
                    // (and its fds) is dropped with the error.
                    if let Some(call) = state.calls.remove(&request_id) {
                        let _ = call.send(CallOutcome::Response(result));
                    }
                }
                Event::CallTimedOut { request_id } => {
                    if let Some(call) = state.calls.remove(&request_id) {
                        let _ = call.send(CallOutcome::TimedOut);
                    }
                }
                Event::Closed { reason } => {
                    state.calls.clear();
                    self.final_reason = Some(copy_reason(&reason));
                    state.closed = if state.close_reported {
                        Closed::Reported
                    } else {
                        Closed::Unreported(reason)
                    };
                }
            }
        }
    }
}

/// Decodes every message the core queued, straight from its buffer (under
/// the lock: decoding is short and never blocks), for the handler to take
/// outside the lock.
fn take_messages<L: Endpoint>(state: &mut State, incoming: &mut VecDeque<Decoded<L::Message>>) {
    while let Some(decoded) = state.core.poll_message_with(decode::<L>) {
        incoming.push_back(decoded);
    }
}

/// A copy of `reason` (an I/O error is copied as its kind and message).
pub(crate) fn copy_reason(reason: &CloseReason) -> CloseReason {
    match reason {
        CloseReason::PeerClosed => CloseReason::PeerClosed,
        CloseReason::Local => CloseReason::Local,
        CloseReason::Handshake(error) => CloseReason::Handshake(HandshakeError::clone(error)),
        CloseReason::Protocol(error) => CloseReason::Protocol(error.clone()),
        CloseReason::LimitExceeded(error) => CloseReason::LimitExceeded(error.clone()),
        CloseReason::Io(error) => CloseReason::Io(io::Error::new(error.kind(), error.to_string())),
    }
}
