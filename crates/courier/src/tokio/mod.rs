//! Connections and servers on tokio (feature `tokio`, on by default).
//!
//! The same protocol, limits and handlers as [`crate::blocking`], driven by
//! one tokio task per connection around the sans-IO core
//! ([`crate::proto`]), as quinn drives quinn-proto.
//!
//! - [`AsyncConnection<Local, Peer>`] is a client (or one accepted
//!   connection): [`call`](AsyncConnection::call) returns a future for the
//!   response, and any number of calls may be in flight at once, from any
//!   number of tasks; [`send`](AsyncConnection::send) queues a one-way
//!   message. Messages for `Local` (the server's events) go to a handler
//!   given to the [`Builder`], on the connection's task, in order; without
//!   one they wait for [`next_message`](AsyncConnection::next_message).
//! - [`MultiServer<Local, Peer>`] accepts clients on a socket and gives each
//!   its own task and its own handler, made by a factory from the client's
//!   [`ClientHandle<Peer>`] (its id, credentials, and a
//!   [`Sender`](crate::Sender) for events). [`MultiServer::clients`] lists the
//!   clients, so an event can go to all of them.
//! - [`serve_connection`] serves one already connected socket (a
//!   socketpair end handed to a child process) until the peer leaves.
//!
//! # Handlers
//!
//! Handlers are the synchronous [`Handler`](crate::Handler) of the blocking
//! flavour: `handle(&mut self, message) -> Reply`, called on the
//! connection's task, one message at a time, in the order the peer sent
//! them. A handler must not block for long, since that connection reads
//! nothing meanwhile (other connections are unaffected). For slow work,
//! return [`Reply::deferred`](crate::Reply::deferred) and answer through its
//! [`Responder`](crate::Responder) from `tokio::task::spawn_blocking` or
//! another task: the connection goes on with the next messages, and the
//! caller gets its response whenever it is ready, in any order.
//!
//! # Life of a connection
//!
//! A call returns its response, a remote error, [`Error::Disconnected`] the
//! moment the peer is gone, or [`Error::Timeout`] when asked
//! ([`call_with_timeout`](AsyncConnection::call_with_timeout)). Never a
//! hang, never a panic. An [`AsyncConnection`] closes when
//! [`close`](AsyncConnection::close) is called or its last clone is dropped:
//! what was sent before is written, then the socket is closed and the task
//! ends; [`closed`](AsyncConnection::closed) resolves then. On a server, a
//! client's task ends when the client leaves, breaks a limit, is
//! [disconnected](ClientHandle::disconnect), or the server
//! [shuts down](MultiServer::shutdown); its handler is dropped with it.
//!
//! # Example
//!
//! A client and a server, with what `courier-build` generates for an
//! `Echo.ipc` whose `EchoServer` endpoint has `echo(String text) => (String
//! text)`:
//!
//! ```ignore
//! use courier::tokio::{AsyncConnection, MultiServer};
//!
//! // The service.
//! let server = MultiServer::<EchoServer, courier::NoMessages>::bind(&path)?;
//! tokio::spawn({
//!     let server = server.clone();
//!     async move { server.run(|_client| EchoServerService(MyEcho)).await }
//! });
//!
//! // A client.
//! let connection = AsyncConnection::<courier::NoMessages, EchoServer>::connect(&path).await?;
//! let response = connection.call(&Echo { text: "hello".into() }).await?;
//! assert_eq!(response.text, "hello");
//! server.shutdown();
//! ```
//!
//! [`Error::Disconnected`]: crate::Error::Disconnected
//! [`Error::Timeout`]: crate::Error::Timeout

mod connection;
mod driver;
mod server;
mod signals;
mod socket;

pub use connection::{AsyncConnection, Builder, IncomingMessage, ResponseFuture};
pub use server::{
    ClientHandle, ClientId, MultiServer, ServerBuilder, ShutdownHandle, serve_connection,
    serve_connection_with,
};
pub use signals::termination_signals;
pub use socket::{IntoUnixListener, IntoUnixStream};
