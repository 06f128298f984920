//! [`AsyncConnection`], its [`Builder`] and [`ResponseFuture`].

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use ::tokio::sync::{mpsc, oneshot};
use tracing::{debug, trace, warn};

use super::driver::{CallOutcome, Driver, EndGuard, KeepOpen, MessageFn, Shared};
use super::socket::IntoUnixStream;
use crate::codec::{decode_from_parts, encode_to_parts};
use crate::discovery::PeerPolicy;
use crate::endpoint::{Endpoint, Message, Request};
use crate::error::{Error, ProtocolError, ProtocolErrorKind};
use crate::handler::{Handler, Reply, Responder};
use crate::limits::Limits;
use crate::peer::PeerCredentials;
use crate::proto::{Config, EndpointInfo, Side};
use crate::sender::Sender;

/// A connection that handles `Local`'s messages and sends `Peer`'s, driven
/// by a tokio task. See the [module documentation](super).
///
/// Cheap to clone (the clones share the connection) and `Send + Sync`:
/// several tasks may call through it at once, each call waiting only for its
/// own response. The connection closes when [`close`](Self::close) is called,
/// when the peer goes away, or when the last clone is dropped (after
/// writing what was queued); its task then ends and its socket is closed.
pub struct AsyncConnection<Local: Endpoint, Peer: Endpoint> {
    shared: Arc<Shared>,
    open: Arc<KeepOpen>,
    /// Messages for `Local` when no handler was given.
    messages: Option<Arc<::tokio::sync::Mutex<mpsc::UnboundedReceiver<IncomingMessage<Local>>>>>,
    _endpoints: PhantomData<fn() -> (Local, Peer)>,
}

impl<L: Endpoint, P: Endpoint> Clone for AsyncConnection<L, P> {
    fn clone(&self) -> Self {
        AsyncConnection {
            shared: Arc::clone(&self.shared),
            open: Arc::clone(&self.open),
            messages: self.messages.clone(),
            _endpoints: PhantomData,
        }
    }
}

impl<L: Endpoint, P: Endpoint> fmt::Debug for AsyncConnection<L, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncConnection")
            .field("local", &L::NAME)
            .field("peer", &P::NAME)
            .field("peer_credentials", &self.shared.credentials())
            .field("closed", &self.shared.is_closed())
            .finish_non_exhaustive()
    }
}

impl<L: Endpoint, P: Endpoint> AsyncConnection<L, P> {
    /// Connects to the service listening at `path` and performs the
    /// handshake as the client. Messages for `Local` wait for
    /// [`next_message`](Self::next_message); to hand them to a handler, use
    /// [`Builder::with_handler`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when nothing listens at `path`; [`Error::Handshake`]
    /// when the service serves other endpoints (the error names both), is
    /// full ([`HandshakeErrorKind::ServiceFull`](crate::HandshakeErrorKind::ServiceFull)) or does not speak courier.
    pub async fn connect(path: impl AsRef<Path>) -> Result<Self, Error> {
        Builder::new().connect(path).await
    }

    /// Connects to the service `name` in this session's portal directory
    /// (see [`crate::discovery`]) and performs the handshake as the client.
    ///
    /// # Errors
    ///
    /// [`Error::Discovery`] when the service cannot be reached: it is not
    /// running, its socket is stale, it belongs to another user, the portal
    /// directory is unsafe; then as [`from_stream`](Self::from_stream).
    pub async fn connect_service(name: &str) -> Result<Self, Error> {
        Builder::new().connect_service(name).await
    }

    /// Performs the handshake as the client on a connected stream (std or
    /// tokio), such as one end of a socketpair.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn from_stream(stream: impl IntoUnixStream) -> Result<Self, Error> {
        Builder::new().from_stream(stream).await
    }

    /// Performs the handshake as the server on an accepted stream. Refuses a
    /// peer running as another user (see [`Builder::peer_policy`]).
    /// To serve a connection with a handler until the peer leaves, see
    /// [`serve_connection`](super::serve_connection).
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] when the client expects other endpoints, does
    /// not speak courier, or runs as another user.
    pub async fn accept(stream: impl IntoUnixStream) -> Result<Self, Error> {
        Builder::new().accept(stream).await
    }

    /// A builder, to set [`Limits`], a handler and the peer-user policy.
    pub fn builder() -> Builder<L, P> {
        Builder::new()
    }

    /// Sends `request` at once and returns a future for its response. Many
    /// calls may be in flight together, from one task or several; each gets
    /// its own response, in whatever order the peer answers.
    ///
    /// The request is queued when `call` returns, whether or not the future
    /// is polled; a future dropped early discards its response.
    ///
    /// # Errors
    ///
    /// The future resolves to [`Error::Remote`] when the peer's handler
    /// failed, [`Error::Disconnected`] as soon as the peer is gone or the
    /// connection is closed, [`Error::LimitExceeded`] (nothing sent) when the
    /// request is over a limit, [`Error::Encode`] when it cannot be encoded,
    /// [`Error::Decode`] when the response does not decode (the connection is
    /// then closed).
    ///
    /// # Example
    ///
    /// ```ignore
    /// let (a, b) = tokio::join!(connection.call(&Echo { text: "a".into() }), connection.call(&Echo { text: "b".into() }));
    /// ```
    pub fn call<R: Request<Endpoint = P>>(&self, request: &R) -> ResponseFuture<R::Response> {
        start_call(&self.shared, Some(&self.open), request, None)
    }

    /// Like [`call`](Self::call), giving up after `timeout` with
    /// [`Error::Timeout`]. The connection stays usable; a late response is
    /// discarded.
    pub fn call_with_timeout<R: Request<Endpoint = P>>(
        &self,
        request: &R,
        timeout: Duration,
    ) -> ResponseFuture<R::Response> {
        start_call(&self.shared, Some(&self.open), request, Some(timeout))
    }

    /// Sends a one-way message; returns once it is queued. Messages sent
    /// through one connection arrive in the order they were sent.
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] when the connection is closed,
    /// [`Error::LimitExceeded`] (nothing sent) when the message is over a
    /// limit, [`Error::Encode`].
    pub fn send<M: Message<Endpoint = P>>(&self, message: &M) -> Result<(), Error> {
        send_oneway(&self.shared, message)
    }

    /// The next message for `Local`, in the order the peer sent them, when
    /// no handler was given to the [`Builder`]. A request comes with a
    /// [`Responder`] to answer it.
    ///
    /// Messages are queued until taken; several tasks may wait at once
    /// (each message goes to one of them).
    ///
    /// # Errors
    ///
    /// Once every message is taken and the connection is closed: why
    /// ([`Error::Disconnected`] for an orderly close). With a handler given
    /// to the builder, no message ever comes here: this waits for the close.
    pub async fn next_message(&self) -> Result<IncomingMessage<L>, Error> {
        let Some(messages) = &self.messages else {
            self.shared.ended().await;
            return Err(self.shared.take_close_error());
        };
        let received = messages.lock().await.recv().await;
        received.ok_or_else(|| self.shared.take_close_error())
    }

    /// The peer's pid, uid and gid, as the kernel recorded them.
    pub fn peer_credentials(&self) -> PeerCredentials {
        self.shared.credentials()
    }

    /// What the connection's shared-memory pool holds and has done (see
    /// [`crate::proto::PoolStats`]).
    pub fn pool_stats(&self) -> crate::proto::PoolStats {
        self.shared.pool_stats()
    }

    /// Whether the connection is closed or closing.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Closes the connection for every clone: calls in flight fail with
    /// [`Error::Disconnected`] at once, further operations fail too; what was
    /// sent before is still written (for at most a few seconds if the peer
    /// reads slowly), then the peer sees the end. No handler sees another
    /// message after `close`, not even one already read.
    pub fn close(&self) {
        self.shared.close();
    }

    /// Resolves once the connection's task has ended: the socket is closed
    /// and the handler dropped. Does not keep the connection open, so
    /// `let done = connection.closed(); drop(connection); done.await` waits
    /// for the clean-up that dropping the last clone starts.
    pub fn closed(&self) -> impl Future<Output = ()> + Send + 'static {
        self.shared.ended()
    }
}

impl<L: Endpoint, P: Endpoint> Sender<P> for AsyncConnection<L, P> {
    fn send<M: Message<Endpoint = P>>(&self, message: &M) -> Result<(), Error> {
        AsyncConnection::send(self, message)
    }
}

/// A message for the local endpoint, from
/// [`AsyncConnection::next_message`].
pub struct IncomingMessage<L: Endpoint> {
    /// The decoded message.
    pub message: L::Message,
    /// For a request, how to answer it (dropping it answers with an error);
    /// `None` for a one-way message.
    pub responder: Option<Responder>,
}

impl<L: Endpoint> fmt::Debug for IncomingMessage<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingMessage")
            .field("message", &self.message)
            .field("responder", &self.responder)
            .finish()
    }
}

/// Encodes and queues a request; shared by [`AsyncConnection`] and
/// [`ClientHandle`](super::ClientHandle).
pub(crate) fn start_call<R: Request>(
    shared: &Arc<Shared>,
    open: Option<&Arc<KeepOpen>>,
    request: &R,
    timeout: Option<Duration>,
) -> ResponseFuture<R::Response> {
    trace!(
        "call {}::{} {request:?}",
        <R::Endpoint as Endpoint>::NAME,
        R::NAME
    );
    let started = encode_to_parts(request)
        .map_err(Error::from)
        .and_then(|(body, fds)| {
            shared.start_call(<R::Endpoint as Endpoint>::MAGIC, R::ID, body, fds, timeout)
        });
    let state = match started {
        Ok(receiver) => FutureState::Waiting {
            shared: Arc::clone(shared),
            _open: open.cloned(),
            receiver,
        },
        Err(error) => FutureState::Failed(error),
    };
    ResponseFuture {
        state,
        _response: PhantomData,
    }
}

/// Encodes and queues a one-way message.
pub(crate) fn send_oneway<M: Message>(shared: &Shared, message: &M) -> Result<(), Error> {
    trace!(
        "send {}::{} {message:?}",
        <M::Endpoint as Endpoint>::NAME,
        M::NAME
    );
    shared.send_oneway_with(<M::Endpoint as Endpoint>::MAGIC, M::ID, |encoder| {
        message.encode(encoder)
    })
}

/// The response to a call: resolves to `Result<T, Error>`.
///
/// The request was sent when the call was made; this only waits. It is
/// `Send + 'static`, so it can be spawned or kept in a collection; while it
/// waits it keeps an [`AsyncConnection`] open.
#[must_use = "the response is discarded unless the future is awaited"]
pub struct ResponseFuture<T> {
    state: FutureState,
    _response: PhantomData<fn() -> T>,
}

enum FutureState {
    Failed(Error),
    Waiting {
        shared: Arc<Shared>,
        _open: Option<Arc<KeepOpen>>,
        receiver: oneshot::Receiver<CallOutcome>,
    },
    Done,
}

impl<T> fmt::Debug for ResponseFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            FutureState::Failed(_) => "failed",
            FutureState::Waiting { .. } => "waiting",
            FutureState::Done => "done",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}

impl<T: Message> Future for ResponseFuture<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let outcome = match &mut this.state {
            FutureState::Waiting { receiver, .. } => ready!(Pin::new(receiver).poll(cx)),
            FutureState::Failed(_) | FutureState::Done => {
                return match std::mem::replace(&mut this.state, FutureState::Done) {
                    FutureState::Failed(error) => Poll::Ready(Err(error)),
                    // Polled again after it resolved: not a panic, an error.
                    _ => Poll::Ready(Err(Error::Disconnected)),
                };
            }
        };
        let FutureState::Waiting { shared, .. } =
            std::mem::replace(&mut this.state, FutureState::Done)
        else {
            return Poll::Ready(Err(Error::Disconnected));
        };
        let (body, fds) = shared.finish_call(outcome)?;
        let result = match decode_from_parts::<T>(&body, fds) {
            Ok(response) => {
                trace!(
                    "response {}::{} {response:?}",
                    <T::Endpoint as Endpoint>::NAME,
                    T::NAME
                );
                Ok(response)
            }
            Err(error) => {
                let error = error.in_field(T::NAME);
                let reason = ProtocolError::new(ProtocolErrorKind::MalformedResponse {
                    response: T::NAME,
                    reason: error.to_string(),
                });
                shared.fail_response(reason);
                Err(Error::Decode(error))
            }
        };
        Poll::Ready(result)
    }
}

/// Options for an [`AsyncConnection`].
///
/// # Example
///
/// ```no_run
/// use courier::{Limits, NoMessages};
/// use courier::tokio::AsyncConnection;
///
/// # async fn example() -> Result<(), courier::Error> {
/// let limits = Limits { max_message_bytes: 1 << 20, ..Limits::default() };
/// let connection = AsyncConnection::<NoMessages, NoMessages>::builder()
///     .limits(limits)
///     .connect("/tmp/example.sock")
///     .await?;
/// # Ok(())
/// # }
/// ```
pub struct Builder<L: Endpoint, P: Endpoint> {
    limits: Limits,
    peer_policy: PeerPolicy,
    handler: Option<Box<dyn Handler<L> + Send>>,
    _endpoints: PhantomData<fn() -> (L, P)>,
}

impl<L: Endpoint, P: Endpoint> fmt::Debug for Builder<L, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("limits", &self.limits)
            .field("peer_policy", &self.peer_policy)
            .field("handler", &self.handler.is_some())
            .finish_non_exhaustive()
    }
}

impl<L: Endpoint, P: Endpoint> Builder<L, P> {
    fn new() -> Builder<L, P> {
        Builder {
            limits: Limits::default(),
            peer_policy: PeerPolicy::SameUser,
            handler: None,
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

    /// Connects to the service `name` in this session's portal directory as
    /// the client. See [`AsyncConnection::connect_service`].
    ///
    /// # Errors
    ///
    /// As [`AsyncConnection::connect_service`].
    pub async fn connect_service(self, name: &str) -> Result<AsyncConnection<L, P>, Error> {
        let path = crate::discovery::client_path(name)?;
        let stream = match ::tokio::net::UnixStream::connect(&path).await {
            Ok(stream) => stream,
            Err(error) => return Err(crate::discovery::connect_error(name, path, error).into()),
        };
        debug!("connected to the service `{name}` to reach `{}`", P::NAME);
        self.establish(stream, Side::Client).await
    }

    /// Hands the messages for `Local` to `handler`, on the connection's
    /// task, one at a time, in the order the peer sent them (instead of
    /// queueing them for [`AsyncConnection::next_message`]).
    ///
    /// The handler must not block for long: the connection reads nothing
    /// while it runs. Give slow work to `tokio::task::spawn_blocking` or
    /// another task and answer through [`Reply::deferred`]. A handler that
    /// holds a clone of the connection keeps it open until the peer leaves
    /// or [`AsyncConnection::close`] is called.
    pub fn with_handler(mut self, handler: impl Handler<L> + Send + 'static) -> Self {
        self.handler = Some(Box::new(handler));
        self
    }

    /// Connects to `path` as the client. See [`AsyncConnection::connect`].
    ///
    /// # Errors
    ///
    /// As [`AsyncConnection::connect`].
    pub async fn connect(self, path: impl AsRef<Path>) -> Result<AsyncConnection<L, P>, Error> {
        let path = path.as_ref();
        let stream = ::tokio::net::UnixStream::connect(path)
            .await
            .map_err(|error| crate::transport::connect_error(path, error))?;
        debug!("connected to `{}` to reach `{}`", path.display(), P::NAME);
        self.establish(stream, Side::Client).await
    }

    /// Handshakes as the client on `stream`. See
    /// [`AsyncConnection::from_stream`].
    ///
    /// # Errors
    ///
    /// As [`AsyncConnection::from_stream`].
    pub async fn from_stream(
        self,
        stream: impl IntoUnixStream,
    ) -> Result<AsyncConnection<L, P>, Error> {
        let stream = stream.into_tokio().map_err(Error::Io)?;
        self.establish(stream, Side::Client).await
    }

    /// Handshakes as the server on `stream`. See [`AsyncConnection::accept`].
    ///
    /// # Errors
    ///
    /// As [`AsyncConnection::accept`].
    pub async fn accept(self, stream: impl IntoUnixStream) -> Result<AsyncConnection<L, P>, Error> {
        let stream = stream.into_tokio().map_err(Error::Io)?;
        self.establish(stream, Side::Server).await
    }

    async fn establish(
        self,
        stream: ::tokio::net::UnixStream,
        side: Side,
    ) -> Result<AsyncConnection<L, P>, Error> {
        let credentials = PeerCredentials::of(&stream).map_err(Error::Io)?;
        if side == Side::Server {
            check_peer_policy(credentials, &self.peer_policy)?;
        }
        let config = Config {
            side,
            local: EndpointInfo::of::<L>(),
            peer: EndpointInfo::of::<P>(),
            limits: self.limits,
            any_peer: false,
        };
        let (shared, ended) = Shared::new(config, credentials);
        // Created first: if this future is dropped during the handshake, the
        // connection closes and its task ends.
        let open = Arc::new(KeepOpen(Arc::clone(&shared)));
        let (handler, messages): (MessageFn<L>, _) = match self.handler {
            Some(mut handler) => (Box::new(move |message, _| handler.handle(message)), None),
            None => {
                let (sender, receiver) = mpsc::unbounded_channel();
                (
                    queue_messages(sender),
                    Some(Arc::new(::tokio::sync::Mutex::new(receiver))),
                )
            }
        };
        let (ready_tx, ready_rx) = oneshot::channel();
        let driver = Driver::new(Arc::clone(&shared), stream);
        let guard = EndGuard::new(Arc::clone(&shared), ended);
        ::tokio::spawn(async move {
            let _guard = guard;
            let reason = driver
                .run::<L>(move || {
                    let _ = ready_tx.send(());
                    handler
                })
                .await;
            debug!("connection to `{}` ended: {reason}", P::NAME);
        });
        if ready_rx.await.is_err() {
            return Err(shared.take_close_error());
        }
        debug!(
            pid = credentials.pid,
            uid = credentials.uid,
            "connection ready: `{}` here, `{}` on the peer",
            L::NAME,
            P::NAME
        );
        Ok(AsyncConnection {
            shared,
            open,
            messages,
            _endpoints: PhantomData,
        })
    }
}

/// A message handler that queues messages for `next_message`, with a
/// responder for each request.
fn queue_messages<L: Endpoint>(sender: mpsc::UnboundedSender<IncomingMessage<L>>) -> MessageFn<L> {
    Box::new(move |message, is_request| {
        let (reply, responder) = if is_request {
            let (reply, responder) = Reply::deferred();
            (reply, Some(responder))
        } else {
            (Reply::none(), None)
        };
        // Without a receiver (every handle dropped) the message is dropped,
        // and a request is answered with an error by its responder.
        let _ = sender.send(IncomingMessage { message, responder });
        reply
    })
}

/// Refuses a peer that `policy` does not admit.
pub(crate) fn check_peer_policy(
    credentials: PeerCredentials,
    policy: &PeerPolicy,
) -> Result<(), Error> {
    policy
        .check(&credentials)
        .inspect_err(|error| warn!("{error}"))
}
