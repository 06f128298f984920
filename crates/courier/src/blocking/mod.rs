//! Connections without an async runtime.
//!
//! A [`BlockingConnection<Local, Peer>`] pairs the endpoint this side
//! handles (`Local`) with the endpoint the other side handles (`Peer`): it
//! sends `Peer`'s requests and one-way messages, and receives `Local`'s. A
//! client of `WindowServer` that handles the server's events is a
//! `BlockingConnection<WindowClient, WindowServer>`; the server's side of the
//! same connection is a `BlockingConnection<WindowServer, WindowClient>`. A
//! side that receives nothing uses [`NoMessages`](crate::NoMessages) as
//! `Local`.
//!
//! # Calls, one-way messages and incoming messages
//!
//! - [`call`](BlockingConnection::call) sends a request and blocks until its
//!   response, the peer's error ([`Error::Remote`]), or the peer going away
//!   ([`Error::Disconnected`], at once);
//!   [`call_with_timeout`](BlockingConnection::call_with_timeout) adds
//!   [`Error::Timeout`].
//! - [`send`](BlockingConnection::send) sends a one-way message and returns
//!   once it is written to the socket. Messages are delivered in the order
//!   they were sent. [`send_buffered`](BlockingConnection::send_buffered)
//!   queues instead, writing 64 KiB of small messages at a time (flushed by
//!   the next call, send, [`flush`](BlockingConnection::flush), serve wait,
//!   or the drop of the last handle): for a sender of many small messages.
//! - Messages for `Local` that arrive while a call waits are queued, in
//!   order, and handed to a [`Handler`] by
//!   [`dispatch`](BlockingConnection::dispatch) (what is queued, without
//!   blocking), [`dispatch_wait`](BlockingConnection::dispatch_wait) (the
//!   same, first waiting for at least one message, at most a timeout: the
//!   building block of a client's event loop) or
//!   [`serve`](BlockingConnection::serve) (everything, until the peer
//!   disconnects). Handlers never run inside `call`, and none runs after
//!   [`close`](BlockingConnection::close).
//!
//! # Idle connections
//!
//! A blocking connection has no thread of its own: it advances when the
//! application calls into it. Its timers do not wait for that: a
//! shared-memory segment left idle for
//! [`Limits::shm_idle_timeout`] is unmapped, and the peer told to unmap its
//! copy, even when no thread uses the connection any more. One thread per
//! process (`courier-reaper`, started with the first such timer, asleep
//! while no timer is due) runs those timers for connections nobody is
//! driving; it never waits for a connection that a thread is using (that
//! thread runs them instead).
//!
//! The connection is `Clone + Send + Sync`: a server's handler can hold a
//! clone to send events to its client while `serve` runs, and several
//! threads may call through one connection (one call is in flight at a time;
//! the others wait their turn).
//!
//! # Example
//!
//! A client, using what `courier-build` generates for an `Echo.ipc` with an
//! `EchoServer` endpoint (`Echo(String text) => (String text)`):
//!
//! ```ignore
//! use courier::blocking::BlockingConnection;
//!
//! let connection = BlockingConnection::<courier::NoMessages, EchoServer>::connect("/run/user/1000/portal/echo")?;
//! let response = connection.call(&Echo { text: "hello".into() })?;
//! assert_eq!(response.text, "hello");
//! ```
//!
//! A process-per-client server:
//!
//! ```ignore
//! let listener = std::os::unix::net::UnixListener::bind(path)?;
//! for stream in listener.incoming() {
//!     let stream = stream?;
//!     std::thread::spawn(move || courier::blocking::serve::<EchoServer, courier::NoMessages, _>(stream, EchoServerService(MyEcho)));
//! }
//! ```
//!
//! # The runtime at a glance
//!
//! - **Layers.** Generated message structs are encoded by [`crate::codec`];
//!   the sans-IO core [`crate::proto::Connection`] frames them, matches
//!   responses to requests, carries fds and enforces [`Limits`]; a
//!   [`Transport`] moves bytes and fds
//!   ([`UnixTransport`]: `sendmsg`/`recvmsg`
//!   with `SCM_RIGHTS`); a driver (this module, or the tokio one) loops
//!   between them. The bytes on the wire are specified in
//!   `docs/wire-format.md`.
//! - **Handshake.** Both sides say which endpoint they handle and which they
//!   expect; a client that reached the wrong service gets
//!   [`Error::Handshake`] naming both endpoints, not a decode failure.
//! - **Handlers.** A [`Handler<L>`](crate::Handler) answers each message of
//!   `L` with a [`Reply`](crate::Reply): a response, a
//!   [`HandlerError`](crate::HandlerError) (the caller gets
//!   [`Error::Remote`]), or nothing for a one-way message. Generated server
//!   traits are bridged to it by generated code.
//! - **Limits.** [`Limits`] bounds message size (64 MiB), fds per message
//!   (64), calls in flight (256), message rate (16 000 000/s) and, for servers,
//!   clients (1024). A send over a limit fails before anything is written;
//!   a peer over a limit is disconnected.
//! - **Peers.** [`peer_credentials`](BlockingConnection::peer_credentials)
//!   gives the peer's pid, uid and gid (`SO_PEERCRED`);
//!   [`accept`](BlockingConnection::accept) refuses other users by default.
//!
//! # Untrusted peers
//!
//! Nothing a peer sends can make this side panic, allocate more than the
//! bytes it received, or leak an fd: received fds are owned (`OwnedFd`,
//! close-on-exec) from the moment they arrive and are closed on every error
//! path. A peer that sends a malformed frame, an unknown message, a response
//! nobody asked for, stray fds, or anything over a limit is disconnected with
//! the reason logged (`tracing`, level `warn`); the operation that was
//! waiting gets the detailed error ([`Error::Protocol`],
//! [`Error::LimitExceeded`]), later ones [`Error::Disconnected`].
//!
//! # Debugging
//!
//! Call [`init_tracing_from_env`](crate::init_tracing_from_env) at start-up,
//! then run with `IPC_DEBUG=1` to see connections open, handshake and close
//! (and why), or `IPC_TRACE=1` to see every message too: direction,
//! endpoint, message name, request id, sizes, fds and decoded arguments.

mod driver;
mod reaper;

use std::fmt;
use std::marker::PhantomData;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, trace, warn};

use self::driver::Driver;
use crate::codec::{decode_from_parts, encode_to_parts};
use crate::discovery::PeerPolicy;
use crate::endpoint::{Endpoint, Message, Request};
use crate::error::{Error, ProtocolError, ProtocolErrorKind};
use crate::handler::{Answer, Handler, decode, dispatch, queue_answer};
use crate::limits::Limits;
use crate::peer::PeerCredentials;
use crate::proto::{CloseReason, Config, EndpointInfo, Side};
use crate::transport::{Transport, UnixTransport};

/// A connection that handles `Local`'s messages and sends `Peer`'s, driven
/// by the calling thread. See the [module documentation](self).
pub struct BlockingConnection<Local: Endpoint, Peer: Endpoint> {
    driver: Arc<Driver>,
    _endpoints: PhantomData<fn() -> (Local, Peer)>,
}

impl<L: Endpoint, P: Endpoint> Clone for BlockingConnection<L, P> {
    fn clone(&self) -> Self {
        BlockingConnection {
            driver: Arc::clone(&self.driver),
            _endpoints: PhantomData,
        }
    }
}

impl<L: Endpoint, P: Endpoint> fmt::Debug for BlockingConnection<L, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingConnection")
            .field("local", &L::NAME)
            .field("peer", &P::NAME)
            .field("peer_credentials", &self.driver.credentials())
            .finish_non_exhaustive()
    }
}

impl<L: Endpoint, P: Endpoint> BlockingConnection<L, P> {
    /// Connects to the service listening at `path` and performs the
    /// handshake as the client.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when nothing listens at `path`; [`Error::Handshake`]
    /// when the service serves other endpoints (the error names both) or
    /// does not speak courier.
    pub fn connect(path: impl AsRef<Path>) -> Result<Self, Error> {
        Builder::new().connect(path)
    }

    /// Connects to the service `name` in this session's portal directory
    /// (see [`crate::discovery`]) and performs the handshake as the client.
    ///
    /// # Errors
    ///
    /// [`Error::Discovery`] when the service cannot be reached: it is not
    /// running, its socket is stale, it belongs to another user, the portal
    /// directory is unsafe; then as [`from_stream`](Self::from_stream).
    pub fn connect_service(name: &str) -> Result<Self, Error> {
        Builder::new().connect_service(name)
    }

    /// Performs the handshake as the client on a connected stream, such as
    /// one end of [`UnixStream::pair`].
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub fn from_stream(stream: UnixStream) -> Result<Self, Error> {
        Builder::new().from_stream(stream)
    }

    /// Performs the handshake as the server on an accepted stream. Refuses a
    /// peer running as another user (see [`Builder::peer_policy`]).
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] when the client expects other endpoints, does
    /// not speak courier, or runs as another user.
    pub fn accept(stream: UnixStream) -> Result<Self, Error> {
        Builder::new().accept(stream)
    }

    /// A builder, to set [`Limits`] and the peer-user policy.
    pub fn builder() -> Builder<L, P> {
        Builder::new()
    }

    /// Sends `request` and waits for its response.
    ///
    /// # Errors
    ///
    /// [`Error::Remote`] when the peer's handler failed,
    /// [`Error::Disconnected`] as soon as the peer is gone,
    /// [`Error::LimitExceeded`] (nothing sent) when the request is over a
    /// limit, [`Error::Encode`] when it cannot be encoded, [`Error::Decode`]
    /// when the response does not decode (the connection is then closed).
    pub fn call<R: Request<Endpoint = P>>(&self, request: &R) -> Result<R::Response, Error> {
        self.call_until(request, None)
    }

    /// Like [`call`](Self::call), giving up after `timeout`.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call), plus [`Error::Timeout`]. The connection
    /// stays usable after a timeout; the late response is discarded.
    pub fn call_with_timeout<R: Request<Endpoint = P>>(
        &self,
        request: &R,
        timeout: Duration,
    ) -> Result<R::Response, Error> {
        self.call_until(request, Some(timeout))
    }

    fn call_until<R: Request<Endpoint = P>>(
        &self,
        request: &R,
        timeout: Option<Duration>,
    ) -> Result<R::Response, Error> {
        let (body, fds) = encode_to_parts(request)?;
        trace!("call {}::{} {request:?}", P::NAME, R::NAME);
        let mut state = self.driver.lock();
        if state.is_closed() {
            return Err(state.take_close_error());
        }
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        let request_id = state
            .core
            .send_request(P::MAGIC, R::ID, body, fds, deadline)?;
        let outcome = self.driver.drive(&mut state, |s| {
            if let Some(result) = s.take_response(request_id) {
                return Some(result.map_err(Error::Remote));
            }
            s.take_timeout(request_id).then_some(Err(Error::Timeout))
        });
        let (body, fds) = match outcome {
            Some(result) => result?,
            None => return Err(state.take_close_error()),
        };
        match decode_from_parts::<R::Response>(&body, fds) {
            Ok(response) => {
                trace!(
                    "response {}::{} {response:?}",
                    P::NAME,
                    <R::Response as Message>::NAME
                );
                Ok(response)
            }
            Err(error) => {
                let error = error.in_field(<R::Response as Message>::NAME);
                let reason = ProtocolError::new(ProtocolErrorKind::MalformedResponse {
                    response: <R::Response as Message>::NAME,
                    reason: error.to_string(),
                });
                state.core.close(CloseReason::Protocol(reason));
                self.driver.pump(&mut state);
                state.mark_close_reported();
                Err(Error::Decode(error))
            }
        }
    }

    /// Sends a one-way message; returns once it is written to the socket.
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] when the peer is gone, [`Error::LimitExceeded`]
    /// (nothing sent) when the message is over a limit, [`Error::Encode`].
    pub fn send<M: Message<Endpoint = P>>(&self, message: &M) -> Result<(), Error> {
        trace!("send {}::{} {message:?}", P::NAME, M::NAME);
        let mut state = self.driver.lock();
        if state.is_closed() {
            return Err(state.take_close_error());
        }
        state
            .core
            .send_oneway_with(P::MAGIC, M::ID, |encoder| message.encode(encoder))?;
        self.driver.flush(&mut state)
    }

    /// Queues a one-way message, writing it (with everything queued before
    /// it) only once [`COALESCE_BYTES`](crate::proto::COALESCE_BYTES) of them
    /// are waiting: a sender of many small messages makes one `send(2)` per
    /// 64 KiB instead of one per message.
    ///
    /// Buffered messages keep their order with every other message and are
    /// written by the next operation that writes or waits on this connection
    /// (any clone): [`call`](Self::call), [`send`](Self::send),
    /// [`flush`](Self::flush), [`dispatch`](Self::dispatch),
    /// [`dispatch_wait`](Self::dispatch_wait), [`serve`](Self::serve); and
    /// when the last clone is dropped (for at most 5 seconds if the peer does
    /// not read). A sender that goes idle
    /// after `send_buffered` should call [`flush`](Self::flush), or its last
    /// messages wait for its next operation.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send); a write error of earlier buffered messages is
    /// reported by the call that writes them.
    pub fn send_buffered<M: Message<Endpoint = P>>(&self, message: &M) -> Result<(), Error> {
        trace!("send (buffered) {}::{} {message:?}", P::NAME, M::NAME);
        let mut state = self.driver.lock();
        if state.is_closed() {
            return Err(state.take_close_error());
        }
        let before = state.core.unsent_bytes();
        state
            .core
            .send_oneway_with(P::MAGIC, M::ID, |encoder| message.encode(encoder))?;
        // What this message added (with a shared-memory segment, only its
        // descriptor frame: the body is not in the socket's way).
        let len = state.core.unsent_bytes().saturating_sub(before);
        state.buffered = state.buffered.saturating_add(len as usize);
        if state.buffered >= driver::COALESCE_BYTES {
            self.driver.flush(&mut state)
        } else {
            Ok(())
        }
    }

    /// Writes everything queued (messages of
    /// [`send_buffered`](Self::send_buffered), and anything left by a call
    /// that timed out mid-write), blocking until the socket took it.
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] (or the detailed reason) when the connection
    /// is closed.
    pub fn flush(&self) -> Result<(), Error> {
        let mut state = self.driver.lock();
        if state.is_closed() {
            return Err(state.take_close_error());
        }
        self.driver.flush(&mut state)
    }

    /// Hands every message queued so far (and any that can be read without
    /// blocking) to `handler`, in order, sending each request's reply.
    /// Returns how many were handled: 0 when none was waiting. Never blocks
    /// for a message to come; [`dispatch_wait`](Self::dispatch_wait) does.
    ///
    /// Once the connection is [closed](Self::close) by this side (by the
    /// handler itself, or another thread), no further message is handed to
    /// `handler`, even one received before.
    ///
    /// # Errors
    ///
    /// When nothing was left to handle and the connection is closed: why
    /// ([`Error::Disconnected`] for an orderly close, by either side).
    /// [`Error::Protocol`] when a message does not decode (the connection
    /// is closed).
    pub fn dispatch<H: Handler<L> + ?Sized>(&self, handler: &mut H) -> Result<usize, Error> {
        let mut state = self.driver.lock();
        self.driver.pump(&mut state);
        let mut handled = 0;
        let mut batch = Vec::new();
        loop {
            // Everything queued, decoded under one lock straight from the
            // core's buffer (the batch allocates only for a second message).
            // After a local close the queue is empty (see `Driver::close`).
            let next = if self.driver.is_closed_locally() {
                None
            } else {
                state.core.poll_message_with(decode::<L>)
            };
            let Some(first) = next else {
                if handled == 0 && state.is_closed() {
                    return Err(state.take_close_error());
                }
                return Ok(handled);
            };
            while let Some(decoded) = state.core.poll_message_with(decode::<L>) {
                batch.push(decoded);
            }
            // The handler runs without the lock: it may call or send through
            // a clone of this connection.
            drop(state);
            for decoded in std::iter::once(first).chain(batch.drain(..)) {
                if self.driver.is_closed_locally() {
                    // A handler (or another thread) closed the connection:
                    // the rest of the batch is dropped, fds and all.
                    break;
                }
                match dispatch::<L, H>(handler, decoded) {
                    // Nothing to write after most one-way messages: no lock,
                    // no flush (and no system call) for them.
                    Ok(Answer::None) => {}
                    Ok(answer) => {
                        let mut state = self.driver.lock();
                        match queue_answer(&mut state.core, answer) {
                            Ok(()) if state.is_flushed() => {}
                            Ok(()) => {
                                // A peer that vanished is reported by the next dispatch.
                                let _ = self.driver.flush(&mut state);
                            }
                            Err(error) => debug!("could not answer a request: {error}"),
                        }
                    }
                    Err(error) => {
                        let mut state = self.driver.lock();
                        state.core.close(CloseReason::Protocol(error.clone()));
                        self.driver.pump(&mut state);
                        state.mark_close_reported();
                        return Err(Error::Protocol(error));
                    }
                }
                handled += 1;
            }
            state = self.driver.lock();
        }
    }

    /// Waits until at least one message is queued, then hands it and every
    /// other queued message to `handler` as [`dispatch`](Self::dispatch)
    /// does; returns how many were handled. Gives up after `timeout`
    /// (`None`: waits as long as the connection is open), returning
    /// `Ok(0)`: as for `dispatch`, handling nothing is not an error.
    ///
    /// The wait blocks in `poll(2)` without holding the connection: other
    /// threads may call and send through clones meanwhile, and the
    /// connection's timers (idle shared memory) still run. A `timeout` of
    /// zero is [`dispatch`](Self::dispatch).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use courier::{Handler, NoMessages};
    /// # use courier::blocking::BlockingConnection;
    /// # fn run(connection: BlockingConnection<NoMessages, NoMessages>, mut handler: impl Handler<NoMessages>) -> Result<(), courier::Error> {
    /// // A client's event loop that also does something every second.
    /// loop {
    ///     let handled = connection.dispatch_wait(&mut handler, Some(Duration::from_secs(1)))?;
    ///     if handled == 0 {
    ///         // A second without events.
    ///     }
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`dispatch`](Self::dispatch): when the connection is closed with
    /// nothing left to handle, why ([`Error::Disconnected`] for an orderly
    /// close, by either side), at once and not at the timeout.
    pub fn dispatch_wait<H: Handler<L> + ?Sized>(
        &self,
        handler: &mut H,
        timeout: Option<Duration>,
    ) -> Result<usize, Error> {
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        loop {
            let handled = self.dispatch(handler)?;
            if handled > 0 || deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Ok(handled);
            }
            self.driver.wait_for_input(deadline);
        }
    }

    /// Handles messages with `handler` until the connection closes, waiting
    /// for them in between. This is the whole life of a connection on a
    /// process-per-client server, or of a client that only receives events.
    ///
    /// After [`close`](Self::close) (by the handler itself, or another
    /// thread) no further message is handed to `handler`, even one already
    /// received, and `serve` returns `Ok(())`.
    ///
    /// # Errors
    ///
    /// `Ok(())` when the peer disconnects in an orderly way or this side
    /// closed the connection; the reason otherwise ([`Error::Protocol`],
    /// [`Error::LimitExceeded`]...).
    pub fn serve<H: Handler<L> + ?Sized>(&self, handler: &mut H) -> Result<(), Error> {
        loop {
            match self.dispatch(handler) {
                Ok(_) => {}
                Err(Error::Disconnected) => return Ok(()),
                Err(error) => return Err(error),
            }
            self.driver.wait_for_input(None);
        }
    }

    /// What the connection's shared-memory pool holds and has done (see
    /// [`crate::proto::PoolStats`]).
    pub fn pool_stats(&self) -> crate::proto::PoolStats {
        self.driver.lock().core.pool_stats()
    }

    /// Messages received and not yet handed to a handler.
    pub fn queued_messages(&self) -> usize {
        self.driver.lock().core.queued_messages()
    }

    /// The peer's pid, uid and gid, as the kernel recorded them.
    pub fn peer_credentials(&self) -> PeerCredentials {
        self.driver.credentials()
    }

    /// Whether the connection is closed (the peer went away, a protocol
    /// error, or [`close`](Self::close)).
    pub fn is_closed(&self) -> bool {
        self.driver.lock().is_closed()
    }

    /// Closes the connection for every clone: the peer sees it at once;
    /// further operations fail with [`Error::Disconnected`]. Messages
    /// received and not yet handled are dropped: no handler sees a message
    /// after `close`, even from inside [`serve`](Self::serve).
    pub fn close(&self) {
        self.driver.close();
    }
}

/// Handles one accepted connection with `handler` until the client
/// disconnects: [`BlockingConnection::accept`] then
/// [`BlockingConnection::serve`]. For a process- or thread-per-client server.
///
/// # Errors
///
/// The handshake's error, or [`serve`](BlockingConnection::serve)'s.
pub fn serve<L: Endpoint, P: Endpoint, H: Handler<L>>(
    stream: UnixStream,
    mut handler: H,
) -> Result<(), Error> {
    BlockingConnection::<L, P>::accept(stream)?.serve(&mut handler)
}

/// Options for a [`BlockingConnection`].
///
/// # Example
///
/// ```no_run
/// use courier::{Limits, NoMessages};
/// use courier::blocking::BlockingConnection;
///
/// let limits = Limits { max_message_bytes: 1 << 20, ..Limits::default() };
/// let connection = BlockingConnection::<NoMessages, NoMessages>::builder()
///     .limits(limits)
///     .connect("/tmp/example.sock")?;
/// # Ok::<(), courier::Error>(())
/// ```
pub struct Builder<L: Endpoint, P: Endpoint> {
    limits: Limits,
    peer_policy: PeerPolicy,
    _endpoints: PhantomData<fn() -> (L, P)>,
}

impl<L: Endpoint, P: Endpoint> fmt::Debug for Builder<L, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("limits", &self.limits)
            .field("peer_policy", &self.peer_policy)
            .finish_non_exhaustive()
    }
}

impl<L: Endpoint, P: Endpoint> Builder<L, P> {
    fn new() -> Builder<L, P> {
        Builder {
            limits: Limits::default(),
            peer_policy: PeerPolicy::SameUser,
            _endpoints: PhantomData,
        }
    }

    /// The limits of the connection (default: [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether [`accept`](Self::accept) takes peers running as another user:
    /// shorthand for [`peer_policy`](Self::peer_policy) with
    /// [`PeerPolicy::Any`] (`true`) or [`PeerPolicy::SameUser`] (`false`, the
    /// default).
    pub fn allow_other_users(self, allow: bool) -> Self {
        self.peer_policy(if allow {
            PeerPolicy::Any
        } else {
            PeerPolicy::SameUser
        })
    }

    /// Which peers [`accept`](Self::accept) takes (default:
    /// [`PeerPolicy::SameUser`]). A refused peer fails the handshake with
    /// [`HandshakeErrorKind::PeerRefused`](crate::HandshakeErrorKind::PeerRefused), naming it and the policy.
    pub fn peer_policy(mut self, policy: PeerPolicy) -> Self {
        self.peer_policy = policy;
        self
    }

    /// Connects to the service `name` in this session's portal directory
    /// ([`crate::discovery::connect`]) as the client.
    ///
    /// # Errors
    ///
    /// [`Error::Discovery`] when the service cannot be reached (not running,
    /// stale socket, permission, unsafe directory); then as
    /// [`BlockingConnection::from_stream`].
    pub fn connect_service(self, name: &str) -> Result<BlockingConnection<L, P>, Error> {
        let stream = crate::discovery::connect(name)?;
        debug!("connected to the service `{name}` to reach `{}`", P::NAME);
        self.from_stream(stream)
    }

    /// Connects to `path` as the client. See [`BlockingConnection::connect`].
    ///
    /// # Errors
    ///
    /// As [`BlockingConnection::connect`].
    pub fn connect(self, path: impl AsRef<Path>) -> Result<BlockingConnection<L, P>, Error> {
        let path = path.as_ref();
        let stream = UnixStream::connect(path)
            .map_err(|error| crate::transport::connect_error(path, error))?;
        debug!("connected to `{}` to reach `{}`", path.display(), P::NAME);
        self.from_stream(stream)
    }

    /// Handshakes as the client on `stream`. See
    /// [`BlockingConnection::from_stream`].
    ///
    /// # Errors
    ///
    /// As [`BlockingConnection::from_stream`].
    pub fn from_stream(self, stream: UnixStream) -> Result<BlockingConnection<L, P>, Error> {
        self.establish(stream, Side::Client)
    }

    /// Handshakes as the server on `stream`. See [`BlockingConnection::accept`].
    ///
    /// # Errors
    ///
    /// As [`BlockingConnection::accept`].
    pub fn accept(self, stream: UnixStream) -> Result<BlockingConnection<L, P>, Error> {
        self.establish(stream, Side::Server)
    }

    fn establish(self, stream: UnixStream, side: Side) -> Result<BlockingConnection<L, P>, Error> {
        let transport = UnixTransport::new(stream);
        let credentials = transport.peer_credentials().map_err(Error::Io)?;
        if side == Side::Server {
            if let Err(error) = self.peer_policy.check(&credentials) {
                warn!("{error}");
                return Err(error);
            }
        }
        let config = Config {
            side,
            local: EndpointInfo::of::<L>(),
            peer: EndpointInfo::of::<P>(),
            limits: self.limits,
            any_peer: false,
        };
        let driver = Driver::new(Box::new(transport), config, credentials).map_err(Error::Io)?;
        driver.handshake()?;
        debug!(
            pid = credentials.pid,
            uid = credentials.uid,
            "connection ready: `{}` here, `{}` on the peer",
            L::NAME,
            P::NAME
        );
        Ok(BlockingConnection {
            driver,
            _endpoints: PhantomData,
        })
    }
}
