//! [`MultiServer`]: many clients, one task and one handler each.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::num::NonZeroU64;
use std::os::unix::net::UnixListener as StdUnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ::tokio::net::{UnixListener, UnixStream};
use ::tokio::sync::watch;
use ::tokio::task::JoinSet;
use tracing::{debug, warn};

use super::ResponseFuture;
use super::connection::{check_peer_policy, send_oneway, start_call};
use super::driver::{Driver, EndGuard, MessageFn, Shared};
use super::socket::{IntoUnixListener, IntoUnixStream};
use crate::discovery::{PeerPolicy, ServiceGuard, ServiceListener};
use crate::endpoint::{Endpoint, Message, Request};
use crate::error::Error;
use crate::handler::{Handler, Reply};
use crate::limits::Limits;
use crate::peer::PeerCredentials;
use crate::proto::{CloseReason, Config, EndpointInfo, Refusal, Side};
use crate::sender::Sender;

/// Most connections being refused at once (service full); past it, further
/// connections are closed without a word until some refusals finish.
const MAX_REFUSING: usize = 64;
/// Pause after an `accept` that failed for lack of resources (out of fds),
/// so the loop does not spin while nothing can be accepted.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The id of a client of a [`MultiServer`]: 1 for the first client that
/// completed its handshake, then 2, 3... never reused during the server's
/// life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(NonZeroU64);

impl ClientId {
    /// The id as a number.
    pub fn get(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A handle to one client of a server: who it is, a [`Sender<P>`] for the
/// events the service sends it, and a way to disconnect it.
///
/// Cheap to clone, `Send + Sync`. Holding one does not keep the client
/// connected: once it is gone, sends fail with [`Error::Disconnected`].
pub struct ClientHandle<P: Endpoint> {
    id: ClientId,
    shared: Arc<Shared>,
    _peer: PhantomData<fn() -> P>,
}

impl<P: Endpoint> Clone for ClientHandle<P> {
    fn clone(&self) -> Self {
        ClientHandle {
            id: self.id,
            shared: Arc::clone(&self.shared),
            _peer: PhantomData,
        }
    }
}

impl<P: Endpoint> fmt::Debug for ClientHandle<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientHandle")
            .field("id", &self.id)
            .field("peer", &P::NAME)
            .field("credentials", &self.shared.credentials())
            .finish()
    }
}

impl<P: Endpoint> ClientHandle<P> {
    fn new(id: ClientId, shared: Arc<Shared>) -> ClientHandle<P> {
        ClientHandle {
            id,
            shared,
            _peer: PhantomData,
        }
    }

    /// The client's id.
    pub fn id(&self) -> ClientId {
        self.id
    }

    /// The client process's pid, uid and gid, as the kernel recorded them
    /// when it connected.
    pub fn credentials(&self) -> PeerCredentials {
        self.shared.credentials()
    }

    /// Sends the client a one-way message (an event); returns once it is
    /// queued. See [`Sender::send`].
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] when the client is gone,
    /// [`Error::LimitExceeded`] (nothing sent), [`Error::Encode`].
    pub fn send<M: Message<Endpoint = P>>(&self, message: &M) -> Result<(), Error> {
        send_oneway(&self.shared, message)
    }

    /// Sends the client a request and returns a future for its response,
    /// as [`AsyncConnection::call`](super::AsyncConnection::call).
    pub fn call<R: Request<Endpoint = P>>(&self, request: &R) -> ResponseFuture<R::Response> {
        start_call(&self.shared, None, request, None)
    }

    /// Like [`call`](Self::call), giving up after `timeout`.
    pub fn call_with_timeout<R: Request<Endpoint = P>>(
        &self,
        request: &R,
        timeout: Duration,
    ) -> ResponseFuture<R::Response> {
        start_call(&self.shared, None, request, Some(timeout))
    }

    /// Disconnects the client: what was queued for it is still written,
    /// then its connection closes, its handler is dropped and
    /// `on_client_disconnected` runs.
    pub fn disconnect(&self) {
        self.shared.close();
    }

    /// Whether the client is still connected (not closed nor closing).
    pub fn is_connected(&self) -> bool {
        !self.shared.is_closed()
    }
}

impl<P: Endpoint> Sender<P> for ClientHandle<P> {
    fn send<M: Message<Endpoint = P>>(&self, message: &M) -> Result<(), Error> {
        ClientHandle::send(self, message)
    }
}

/// Stops a [`MultiServer`]: cheap to clone, usable from any thread.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    shutdown: Arc<watch::Sender<bool>>,
}

impl ShutdownHandle {
    /// Shuts the server down gracefully: it stops accepting, closes every
    /// client (each gets what was queued for it, then sees the end), waits
    /// for their tasks, and [`MultiServer::run`] returns. Calling it before
    /// `run` makes `run` return at once.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Shuts the server down when the process receives SIGTERM or SIGINT
    /// ([`termination_signals`](super::termination_signals)): both are
    /// registered before this returns, so a daemon that calls it before
    /// printing its readiness line misses no signal; the wait runs on a task
    /// of the current tokio runtime.
    ///
    /// # Errors
    ///
    /// The error of installing either signal handler.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn serve(server: courier::tokio::MultiServer<courier::NoMessages, courier::NoMessages>) -> Result<(), courier::Error> {
    /// server
    ///     .shutdown_handle()
    ///     .shutdown_on_termination_signals()
    ///     .map_err(courier::Error::Io)?;
    /// println!("ready");
    /// # Ok(())
    /// # }
    /// ```
    pub fn shutdown_on_termination_signals(self) -> std::io::Result<()> {
        let terminated = super::termination_signals()?;
        ::tokio::spawn(async move {
            terminated.await;
            self.shutdown();
        });
        Ok(())
    }
}

type ConnectedHook<P> = Arc<dyn Fn(&ClientHandle<P>) + Send + Sync>;
type DisconnectedHook = Arc<dyn Fn(ClientId, &CloseReason) + Send + Sync>;

/// A server of endpoint `L` for many clients at once, each handled by its
/// own handler on its own task; `P` is the endpoint the clients handle (the
/// events the server sends them; [`NoMessages`](crate::NoMessages) if none).
///
/// # Example
///
/// With what `courier-build` generates for a `WindowServer` endpoint whose
/// clients handle `WindowClient` events:
///
/// ```ignore
/// use courier::tokio::MultiServer;
///
/// let server = MultiServer::<WindowServer, WindowClient>::builder()
///     .on_client_connected(|client| tracing::info!("client {} (pid {})", client.id(), client.credentials().pid))
///     .bind(&path)?;
/// let shutdown = server.shutdown_handle();
/// tokio::spawn(async move { tokio::signal::ctrl_c().await.ok(); shutdown.shutdown() });
/// server.run(|client| WindowServerService(Windows::new(client))).await?;
/// ```
///
/// # Untrusted clients
///
/// A client that breaks the protocol or a limit of [`Limits`] (message
/// size, fds per message, calls in flight, message rate) is disconnected
/// with a logged reason; the others are untouched. Past
/// [`Limits::max_clients`], a new client's handshake fails with
/// [`HandshakeErrorKind::ServiceFull`](crate::HandshakeErrorKind::ServiceFull).
/// By default only peers running as this process's user are served.
pub struct MultiServer<L: Endpoint, P: Endpoint> {
    inner: Arc<ServerInner<P>>,
    _local: PhantomData<fn() -> L>,
}

impl<L: Endpoint, P: Endpoint> Clone for MultiServer<L, P> {
    fn clone(&self) -> Self {
        MultiServer {
            inner: Arc::clone(&self.inner),
            _local: PhantomData,
        }
    }
}

impl<L: Endpoint, P: Endpoint> fmt::Debug for MultiServer<L, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiServer")
            .field("local", &L::NAME)
            .field("peer", &P::NAME)
            .field("path", &lock(&self.inner.path))
            .field("clients", &lock(&self.inner.clients).len())
            .finish_non_exhaustive()
    }
}

struct ServerInner<P: Endpoint> {
    /// Taken by `run`.
    listener: Mutex<Option<StdUnixListener>>,
    /// The socket file `bind` created; removed when the server stops.
    path: Mutex<Option<PathBuf>>,
    limits: Limits,
    peer_policy: PeerPolicy,
    /// Where the server listens (for [`MultiServer::path`]).
    socket_path: Option<PathBuf>,
    /// The lock and socket file of a service bound by name; released (the
    /// file removed) when the server stops.
    service: Mutex<Option<ServiceGuard>>,
    on_connected: Option<ConnectedHook<P>>,
    on_disconnected: Option<DisconnectedHook>,
    /// Clients past their handshake, by id.
    clients: Mutex<BTreeMap<ClientId, ClientHandle<P>>>,
    /// Every connection not refused and not ended (clients, and connections
    /// still in their handshake), by serial number: `max_clients` counts them.
    live: Mutex<HashMap<u64, Arc<Shared>>>,
    next_serial: AtomicU64,
    next_id: AtomicU64,
    refusing: Arc<AtomicUsize>,
    shutdown: Arc<watch::Sender<bool>>,
}

impl<P: Endpoint> ServerInner<P> {
    fn remove_socket_file(&self) {
        // Removes a service's socket file (if still its own) and lock file.
        drop(lock(&self.service).take());
        if let Some(path) = lock(&self.path).take() {
            match std::fs::remove_file(&path) {
                Ok(()) => debug!("removed the socket `{}`", path.display()),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => warn!("could not remove the socket `{}`: {error}", path.display()),
            }
        }
    }
}

impl<P: Endpoint> Drop for ServerInner<P> {
    fn drop(&mut self) {
        self.remove_socket_file();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Only courier's own short sections run under these locks.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<L: Endpoint, P: Endpoint> MultiServer<L, P> {
    /// Listens at `path` (a new socket file, mode 0600) with default
    /// options. Nothing is accepted until [`run`](Self::run).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the socket cannot be created there (such as a
    /// socket file left by a service that is running, or crashed).
    pub fn bind(path: impl AsRef<Path>) -> Result<Self, Error> {
        ServerBuilder::new().bind(path)
    }

    /// Serves clients of an already listening socket (std or tokio), such as
    /// one passed by a service manager.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a tokio listener cannot be taken over.
    pub fn from_listener(listener: impl IntoUnixListener) -> Result<Self, Error> {
        ServerBuilder::new().from_listener(listener)
    }

    /// Listens as the service `name` in this session's portal directory,
    /// or takes over its socket when the parent process passed one
    /// ([`crate::discovery::bind_or_take`]), with default options. The
    /// socket file and the service's lock are released when the server
    /// stops.
    ///
    /// # Errors
    ///
    /// [`Error::Discovery`]: another instance is running, the portal
    /// directory is unsafe, the name is invalid...
    pub fn bind_service(name: &str) -> Result<Self, Error> {
        ServerBuilder::new().bind_service(name)
    }

    /// Serves the clients of a service bound by name (such as
    /// [`Portal::bind`](crate::discovery::Portal::bind)), with default
    /// options; the service's socket file and lock are released when the
    /// server stops. The listener's peer policy applies
    /// ([`ServiceListener::with_peer_policy`]), unless the server's builder
    /// sets its own ([`ServerBuilder::peer_policy`]).
    pub fn from_service(listener: ServiceListener) -> Self {
        ServerBuilder::new().from_service(listener)
    }

    /// A builder, to set [`Limits`], the peer-user policy and hooks.
    pub fn builder() -> ServerBuilder<L, P> {
        ServerBuilder::new()
    }

    /// The path of the socket the server listens at: the one given to
    /// [`bind`](Self::bind), the service's in its portal directory, or the
    /// listener's own address; `None` for a listener with no path (an
    /// abstract or unnamed socket).
    pub fn path(&self) -> Option<&Path> {
        self.inner.socket_path.as_deref()
    }

    /// The live clients (past their handshake), by increasing id: to send an
    /// event to all of them, send it to each. A handler reaches the server
    /// through a clone captured by the factory (the server is a cheap
    /// handle): `let all = server.clone(); server.run(move |client|
    /// Service(MyHandler { client, all: all.clone() }))`; the handler then
    /// calls `self.all.clients()`.
    pub fn clients(&self) -> Vec<ClientHandle<P>> {
        lock(&self.inner.clients).values().cloned().collect()
    }

    /// The live client with `id`, if it is still connected.
    pub fn client(&self, id: ClientId) -> Option<ClientHandle<P>> {
        lock(&self.inner.clients).get(&id).cloned()
    }

    /// Shuts the server down gracefully; see [`ShutdownHandle::shutdown`].
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// A handle that shuts this server down, for another task or thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shutdown: Arc::clone(&self.inner.shutdown),
        }
    }

    /// Accepts and serves clients until [`shutdown`](Self::shutdown): each
    /// client that completes its handshake gets an id, a handler made by
    /// `factory` from its [`ClientHandle`], and its own task that hands the
    /// handler its messages, one at a time, in the order sent. Handlers must
    /// not block for long (that client's messages wait meanwhile); see
    /// [`Reply::deferred`] for slow work.
    ///
    /// On shutdown it stops accepting, closes every client, waits for their
    /// tasks, removes the socket file it created, and returns.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the listener cannot be registered with tokio, or
    /// when `run` is called a second time on this server.
    pub async fn run<F, H>(&self, factory: F) -> Result<(), Error>
    where
        F: Fn(ClientHandle<P>) -> H + Send + Sync + 'static,
        H: Handler<L> + Send + 'static,
    {
        let listener = lock(&self.inner.listener).take().ok_or_else(|| {
            Error::Io(std::io::Error::other(
                "this MultiServer already ran: a server runs once; bind a new one to serve again",
            ))
        })?;
        let listener = listener
            .set_nonblocking(true)
            .and_then(|()| UnixListener::from_std(listener));
        let listener = listener.map_err(Error::Io)?;
        debug!("serving `{}` to clients that handle `{}`", L::NAME, P::NAME);
        let factory = Arc::new(factory);
        let mut tasks = JoinSet::new();
        let mut shutdown = self.inner.shutdown.subscribe();
        loop {
            if *shutdown.borrow_and_update() {
                break;
            }
            ::tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => self.admit(stream, &factory, &mut tasks),
                    Err(error) => {
                        warn!("could not accept a client: {error}");
                        if is_resource_error(&error) {
                            ::tokio::time::sleep(ACCEPT_BACKOFF).await;
                        }
                    }
                },
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => report_task(joined),
            }
        }
        drop(listener);
        self.inner.remove_socket_file();
        let live: Vec<Arc<Shared>> = lock(&self.inner.live).values().cloned().collect();
        debug!("shutting down: closing {} connections", live.len());
        for shared in live {
            shared.close();
        }
        while let Some(joined) = tasks.join_next().await {
            report_task(joined);
        }
        debug!("`{}` service stopped", L::NAME);
        Ok(())
    }

    /// Starts serving one accepted connection.
    fn admit<F, H>(&self, stream: UnixStream, factory: &Arc<F>, tasks: &mut JoinSet<()>)
    where
        F: Fn(ClientHandle<P>) -> H + Send + Sync + 'static,
        H: Handler<L> + Send + 'static,
    {
        let inner = &self.inner;
        let credentials = match PeerCredentials::of(&stream) {
            Ok(credentials) => credentials,
            Err(error) => {
                warn!("dropping a connection whose peer credentials are unreadable: {error}");
                return;
            }
        };
        let admitted = check_peer_policy(credentials, &inner.peer_policy);
        if admitted.is_err() {
            return;
        }
        let config = Config {
            side: Side::Server,
            local: EndpointInfo::of::<L>(),
            peer: EndpointInfo::of::<P>(),
            limits: inner.limits.clone(),
            any_peer: false,
        };
        let live_count = lock(&inner.live).len();
        if live_count >= inner.limits.max_clients {
            self.refuse(stream, config, credentials, live_count, tasks);
            return;
        }
        let (shared, ended) = Shared::new(config, credentials);
        let serial = inner.next_serial.fetch_add(1, Ordering::Relaxed);
        lock(&inner.live).insert(serial, Arc::clone(&shared));
        let inner = Arc::clone(inner);
        let factory = Arc::clone(factory);
        let driver = Driver::new(Arc::clone(&shared), stream);
        let end = EndGuard::new(Arc::clone(&shared), ended);
        tasks.spawn(async move {
            let mut leave = Leave {
                inner: Arc::clone(&inner),
                serial,
                id: None,
            };
            let id_slot = &mut leave.id;
            let setup_inner = Arc::clone(&inner);
            let reason = driver
                .run::<L>(move || {
                    let id = ClientId(next_id(&setup_inner.next_id));
                    *id_slot = Some(id);
                    let client = ClientHandle::<P>::new(id, shared);
                    let mut handler = factory(client.clone());
                    lock(&setup_inner.clients).insert(id, client.clone());
                    debug!(
                        client = %id,
                        pid = credentials.pid,
                        uid = credentials.uid,
                        "client connected to `{}`",
                        L::NAME
                    );
                    if let Some(hook) = &setup_inner.on_connected {
                        hook(&client);
                    }
                    let handler: MessageFn<L> = Box::new(move |message, _| handler.handle(message));
                    handler
                })
                .await;
            // The handler is dropped; now the socket.
            drop(end);
            let id = leave.id;
            drop(leave);
            if let Some(id) = id {
                debug!(client = %id, "client disconnected from `{}`: {reason}", L::NAME);
                if let Some(hook) = &inner.on_disconnected {
                    hook(id, &reason);
                }
            }
        });
    }

    /// Refuses a connection because the service is full: the client's
    /// handshake fails with a typed error.
    fn refuse(
        &self,
        stream: UnixStream,
        config: Config,
        credentials: PeerCredentials,
        clients: usize,
        tasks: &mut JoinSet<()>,
    ) {
        let max_clients = self.inner.limits.max_clients;
        if self.inner.refusing.load(Ordering::Relaxed) >= MAX_REFUSING {
            warn!(
                "dropping a connection: the service is full ({clients} of {max_clients} clients) and already refusing {MAX_REFUSING} others"
            );
            return;
        }
        debug!(
            pid = credentials.pid,
            "refusing a client: the service is full ({clients} of {max_clients} clients)"
        );
        let (shared, ended) = Shared::new(config, credentials);
        let saturate = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        shared.refuse(Refusal::ServiceFull {
            clients: saturate(clients),
            max_clients: saturate(max_clients),
        });
        let refusing = Arc::clone(&self.inner.refusing);
        refusing.fetch_add(1, Ordering::Relaxed);
        let driver = Driver::new(Arc::clone(&shared), stream);
        let end = EndGuard::new(shared, ended);
        tasks.spawn(async move {
            // The handshake never completes, so no handler is ever made.
            let never: MessageFn<L> = Box::new(|_, _| Reply::none());
            driver.run::<L>(move || never).await;
            drop(end);
            refusing.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// Takes a client off the server's tables when its task ends, however it
/// ends.
struct Leave<P: Endpoint> {
    inner: Arc<ServerInner<P>>,
    serial: u64,
    id: Option<ClientId>,
}

impl<P: Endpoint> Drop for Leave<P> {
    fn drop(&mut self) {
        lock(&self.inner.live).remove(&self.serial);
        if let Some(id) = self.id {
            lock(&self.inner.clients).remove(&id);
        }
    }
}

fn next_id(counter: &AtomicU64) -> NonZeroU64 {
    // Starts at 1; 2^64 clients are out of reach, but never 0 regardless.
    let id = counter.fetch_add(1, Ordering::Relaxed);
    NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN)
}

fn report_task(joined: Result<(), ::tokio::task::JoinError>) {
    if let Err(error) = joined {
        if error.is_panic() {
            warn!(
                "a client's task panicked (in its handler?); the client was disconnected, the others are untouched"
            );
        }
    }
}

/// Whether a failed `accept` means the process is out of some resource.
fn is_resource_error(error: &std::io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(code) if [rustix::io::Errno::MFILE, rustix::io::Errno::NFILE, rustix::io::Errno::NOBUFS, rustix::io::Errno::NOMEM]
            .iter()
            .any(|errno| errno.raw_os_error() == code)
    )
}

/// Options and hooks for a [`MultiServer`].
///
/// # Example
///
/// ```no_run
/// use courier::tokio::MultiServer;
/// use courier::{Limits, NoMessages};
///
/// let server = MultiServer::<NoMessages, NoMessages>::builder()
///     .limits(Limits { max_clients: 16, ..Limits::default() })
///     .on_client_connected(|client| println!("client {} connected", client.id()))
///     .on_client_disconnected(|id, reason| println!("client {id} left: {reason}"))
///     .bind("/tmp/example.sock")?;
/// # Ok::<(), courier::Error>(())
/// ```
pub struct ServerBuilder<L: Endpoint, P: Endpoint> {
    limits: Limits,
    /// `None` until set: then the listener's policy applies to
    /// [`from_service`](Self::from_service), same-user elsewhere.
    peer_policy: Option<PeerPolicy>,
    on_connected: Option<ConnectedHook<P>>,
    on_disconnected: Option<DisconnectedHook>,
    _local: PhantomData<fn() -> L>,
}

impl<L: Endpoint, P: Endpoint> fmt::Debug for ServerBuilder<L, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("limits", &self.limits)
            .field("peer_policy", &self.peer_policy)
            .finish_non_exhaustive()
    }
}

impl<L: Endpoint, P: Endpoint> ServerBuilder<L, P> {
    fn new() -> ServerBuilder<L, P> {
        ServerBuilder {
            limits: Limits::default(),
            peer_policy: None,
            on_connected: None,
            on_disconnected: None,
            _local: PhantomData,
        }
    }

    /// The limits of every client connection, and
    /// [`Limits::max_clients`] for the server (default: [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether peers running as another user are served: shorthand for
    /// [`peer_policy`](Self::peer_policy) with [`PeerPolicy::Any`] (`true`)
    /// or [`PeerPolicy::SameUser`] (`false`, the default).
    pub fn allow_other_users(self, allow: bool) -> Self {
        self.peer_policy(if allow {
            PeerPolicy::Any
        } else {
            PeerPolicy::SameUser
        })
    }

    /// Which peers are served (default: [`PeerPolicy::SameUser`], or for
    /// [`from_service`](Self::from_service) the listener's own policy);
    /// others are closed before the handshake, with a logged reason naming
    /// them and the policy.
    pub fn peer_policy(mut self, policy: PeerPolicy) -> Self {
        self.peer_policy = Some(policy);
        self
    }

    /// Runs `hook` when a client completes its handshake, on the client's
    /// task, after its handler is made, before its first message, and before
    /// the server's hello goes out (so by the time the client's `connect`
    /// returns, [`MultiServer::clients`] lists it). Like a handler, it must
    /// not block for long.
    pub fn on_client_connected(
        mut self,
        hook: impl Fn(&ClientHandle<P>) + Send + Sync + 'static,
    ) -> Self {
        self.on_connected = Some(Arc::new(hook));
        self
    }

    /// Runs `hook` when a client that completed its handshake is gone (it
    /// left, broke a limit or the protocol, was disconnected, or the server
    /// shut down), with why; its handler and socket are already dropped.
    pub fn on_client_disconnected(
        mut self,
        hook: impl Fn(ClientId, &CloseReason) + Send + Sync + 'static,
    ) -> Self {
        self.on_disconnected = Some(Arc::new(hook));
        self
    }

    /// Listens at `path`: see [`MultiServer::bind`].
    ///
    /// # Errors
    ///
    /// As [`MultiServer::bind`].
    pub fn bind(mut self, path: impl AsRef<Path>) -> Result<MultiServer<L, P>, Error> {
        let path = path.as_ref();
        let listener = StdUnixListener::bind(path).map_err(|error| {
            let hint = if error.kind() == std::io::ErrorKind::AddrInUse {
                "; another instance may be running, or a crashed one left its socket (remove it if nothing serves it)"
            } else {
                ""
            };
            Error::Io(std::io::Error::new(error.kind(), format!("could not listen at `{}`: {error}{hint}", path.display())))
        })?;
        let policy = self.peer_policy.take().unwrap_or_default();
        let server = self.build(
            listener,
            policy,
            Some(path.to_owned()),
            Some(path.to_owned()),
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
            |error| {
                Error::Io(std::io::Error::new(
                    error.kind(),
                    format!(
                        "could not make the socket `{}` private (mode 0600): {error}",
                        path.display()
                    ),
                ))
            },
        )?;
        debug!("listening at `{}`", path.display());
        Ok(server)
    }

    /// Serves an already listening socket: see [`MultiServer::from_listener`].
    ///
    /// # Errors
    ///
    /// As [`MultiServer::from_listener`].
    pub fn from_listener(
        mut self,
        listener: impl IntoUnixListener,
    ) -> Result<MultiServer<L, P>, Error> {
        let listener = listener.into_std().map_err(Error::Io)?;
        let socket_path = listener
            .local_addr()
            .ok()
            .and_then(|address| address.as_pathname().map(Path::to_owned));
        let policy = self.peer_policy.take().unwrap_or_default();
        Ok(self.build(listener, policy, None, socket_path))
    }

    /// Listens as the service `name`: see [`MultiServer::bind_service`].
    ///
    /// # Errors
    ///
    /// As [`MultiServer::bind_service`].
    pub fn bind_service(self, name: &str) -> Result<MultiServer<L, P>, Error> {
        Ok(self.from_service(crate::discovery::bind_or_take(name)?))
    }

    /// Serves a service bound by name: see [`MultiServer::from_service`].
    pub fn from_service(mut self, listener: ServiceListener) -> MultiServer<L, P> {
        let policy = self
            .peer_policy
            .take()
            .unwrap_or_else(|| listener.peer_policy().clone());
        let (listener, guard) = listener.into_parts();
        let socket_path = Some(guard.path().to_owned());
        let server = self.build(listener, policy, None, socket_path);
        *lock(&server.inner.service) = Some(guard);
        server
    }

    fn build(
        self,
        listener: StdUnixListener,
        peer_policy: PeerPolicy,
        path: Option<PathBuf>,
        socket_path: Option<PathBuf>,
    ) -> MultiServer<L, P> {
        let (shutdown, _) = watch::channel(false);
        let inner = ServerInner {
            listener: Mutex::new(Some(listener)),
            path: Mutex::new(path),
            limits: self.limits,
            peer_policy,
            socket_path,
            service: Mutex::new(None),
            on_connected: self.on_connected,
            on_disconnected: self.on_disconnected,
            clients: Mutex::new(BTreeMap::new()),
            live: Mutex::new(HashMap::new()),
            next_serial: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            refusing: Arc::new(AtomicUsize::new(0)),
            shutdown: Arc::new(shutdown),
        };
        MultiServer {
            inner: Arc::new(inner),
            _local: PhantomData,
        }
    }
}

/// Serves one connected socket (std or tokio) with `handler` until the
/// peer leaves: the server side of a socketpair handed to a child process,
/// or a connection accepted elsewhere. Handshakes as the server, refusing a
/// peer running as another user.
///
/// # Errors
///
/// `Ok(())` when the peer disconnects in an orderly way; the handshake's
/// error, or why the connection closed otherwise ([`Error::Protocol`],
/// [`Error::LimitExceeded`]...).
///
/// # Example
///
/// ```ignore
/// let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
/// spawn_child_with(theirs);
/// courier::tokio::serve_connection::<ImageDecoderServer, ImageDecoderClient, _>(ours, ImageDecoderServerService(Decoder)).await?;
/// ```
pub async fn serve_connection<L, P, H>(stream: impl IntoUnixStream, handler: H) -> Result<(), Error>
where
    L: Endpoint,
    P: Endpoint,
    H: Handler<L> + Send + 'static,
{
    serve_connection_with::<L, P, H, _>(stream, Limits::default(), move |_| handler).await
}

/// Like [`serve_connection`], with `limits` and a handler made by `factory`
/// from a [`ClientHandle`] (id 1) to the peer, to send it events.
///
/// # Errors
///
/// As [`serve_connection`].
pub async fn serve_connection_with<L, P, H, F>(
    stream: impl IntoUnixStream,
    limits: Limits,
    factory: F,
) -> Result<(), Error>
where
    L: Endpoint,
    P: Endpoint,
    H: Handler<L> + Send + 'static,
    F: FnOnce(ClientHandle<P>) -> H + Send + 'static,
{
    let stream = stream.into_tokio().map_err(Error::Io)?;
    let credentials = PeerCredentials::of(&stream).map_err(Error::Io)?;
    check_peer_policy(credentials, &PeerPolicy::SameUser)?;
    let config = Config {
        side: Side::Server,
        local: EndpointInfo::of::<L>(),
        peer: EndpointInfo::of::<P>(),
        limits,
        any_peer: false,
    };
    let (shared, ended) = Shared::new(config, credentials);
    let end = EndGuard::new(Arc::clone(&shared), ended);
    let client_shared = Arc::clone(&shared);
    let reason = Driver::new(shared, stream)
        .run::<L>(move || {
            let mut handler = factory(ClientHandle::new(ClientId(NonZeroU64::MIN), client_shared));
            Box::new(move |message, _| handler.handle(message))
        })
        .await;
    drop(end);
    if reason.is_orderly() {
        Ok(())
    } else {
        Err(reason.into_error())
    }
}
