//! courier: type-safe, fast inter-process communication for Rust, in the
//! spirit of SerenityOS's LibIPC.
//!
//! Interfaces are written in `.ipc` files. `courier-build` turns them into
//! Rust at build time: per endpoint, a struct per message, a handler trait
//! for the server, blocking and async clients, and a sender for one-way
//! messages. This crate is the runtime under that code: the codec, the wire
//! protocol, the connections, the servers, shared memory and the gfx types.
//!
//! # The journey
//!
//! 1. Write `ipc/WindowServer.ipc`:
//!    ```text
//!    endpoint WindowServer
//!    {
//!        CreateWindow(Gfx::IntRect rect, String title) => (i32 window_id)
//!        InvalidateRect(i32 window_id, Gfx::IntRect rect) =|
//!    }
//!    ```
//! 2. Compile it from `build.rs` (with `courier-build` as a build-dependency):
//!    `courier_build::compile(&["ipc/WindowServer.ipc"])?`.
//! 3. Include it: `courier::include_ipc!("WindowServer");` gives the module
//!    `window_server`.
//! 4. Serve it: implement `window_server::WindowServerHandler` and run it on a
//!    [`tokio::MultiServer`] (one handler per client), or on a
//!    [`blocking::BlockingConnection`] per client.
//! 5. Call it: `WindowServerClient::connect(path)?.create_window(rect, title)?`
//!    (blocking, no async runtime) or `WindowServerAsyncClient` (tokio).
//!
//! # A server and a client
//!
//! A complete exchange over a real socket: the server side implements the
//! generated `WindowServerHandler` and sends a `Paint` event back through
//! `WindowClientSender`; the client calls through the generated blocking
//! `WindowServerClient` and handles the event with a `WindowClientHandler`.
//! Here the two sides are threads of one process over a socketpair; the
//! demo and `examples/tests/window_server.rs` run them in two processes. The
//! generated modules come from the repository's `courier-examples` crate,
//! which compiles `WindowServer.ipc` and `WindowClient.ipc` with
//! `courier-build`; in your crate, `courier::include_ipc!` brings the same
//! modules in.
//!
//! ```
//! use std::os::unix::net::UnixStream;
//!
//! use courier::HandlerError;
//! use courier::blocking::BlockingConnection;
//! use courier::gfx::IntRect;
//! use courier_examples::window_client::{
//!     WindowClient, WindowClientHandler, WindowClientSender, WindowClientService,
//! };
//! use courier_examples::window_server::{
//!     WindowServer, WindowServerClient, WindowServerHandler, WindowServerService,
//! };
//!
//! // The service: one instance per client, holding the way back to it.
//! struct Windows<S> { client: S, rects: Vec<IntRect> }
//!
//! impl<S: courier::Sender<WindowClient>> WindowServerHandler for Windows<S> {
//!     fn create_window(&mut self, rect: IntRect, _title: String) -> Result<i32, HandlerError> {
//!         self.rects.push(rect);
//!         Ok(self.rects.len() as i32)
//!     }
//!     fn invalidate_rect(&mut self, window_id: i32, rect: IntRect) {
//!         let _ = self.client.paint(window_id, rect); // an event to this client
//!     }
//!     fn set_window_bitmap(
//!         &mut self,
//!         _window_id: i32,
//!         _bitmap: courier::shm::ShareableBitmap,
//!     ) -> Result<(), HandlerError> {
//!         Ok(())
//!     }
//!     fn get_window_rect(&mut self, window_id: i32) -> Result<IntRect, HandlerError> {
//!         let index = usize::try_from(window_id - 1).ok();
//!         index
//!             .and_then(|i| self.rects.get(i).copied())
//!             .ok_or_else(|| HandlerError::new(format!("no window {window_id}")))
//!     }
//! }
//!
//! // The client's side of the events.
//! #[derive(Default)]
//! struct Painter { painted: Vec<(i32, IntRect)> }
//!
//! impl WindowClientHandler for Painter {
//!     fn paint(&mut self, window_id: i32, rect: IntRect) {
//!         self.painted.push((window_id, rect));
//!     }
//!     fn window_resized(&mut self, _window_id: i32, _size: courier::gfx::IntSize) {}
//! }
//!
//! # fn main() -> Result<(), courier::Error> {
//! let (client_end, server_end) = UnixStream::pair().map_err(courier::Error::Io)?;
//! let server = std::thread::spawn(move || -> Result<(), courier::Error> {
//!     let connection = BlockingConnection::<WindowServer, WindowClient>::accept(server_end)?;
//!     let windows = Windows { client: connection.clone(), rects: Vec::new() };
//!     connection.serve(&mut WindowServerService(windows)) // until the client leaves
//! });
//!
//! let client: WindowServerClient<WindowClient> =
//!     WindowServerClient::from_connection(BlockingConnection::from_stream(client_end)?);
//! let id = client.create_window(IntRect::new(40, 30, 640, 480), "Editor".into())?;
//! client.invalidate_rect(id, IntRect::new(0, 0, 100, 100))?; // one-way
//! assert_eq!(client.get_window_rect(id)?, IntRect::new(40, 30, 640, 480));
//!
//! // The Paint event arrived while GetWindowRect waited; it was kept.
//! let mut painter = Painter::default();
//! client.connection().dispatch(&mut WindowClientService(&mut painter))?;
//! assert_eq!(painter.painted, [(id, IntRect::new(0, 0, 100, 100))]);
//!
//! // A handler's error reaches the caller, typed.
//! assert!(matches!(client.get_window_rect(99), Err(courier::Error::Remote(_))));
//!
//! drop(client);
//! server.join().unwrap()?;
//! # Ok(())
//! # }
//! ```
//! # What a call can return
//!
//! A call returns its response, [`Error::Remote`] when the handler returned an
//! error, [`Error::Disconnected`] the moment the peer is gone, or
//! [`Error::Timeout`] when the caller asked for one (`with_timeout`,
//! `call_with_timeout`). Never a hang, never a panic. Messages that arrive
//! while a call waits are kept and handled after it, in order.
//!
//! # Modules
//!
//! - [`codec`]: [`Encode`], [`Decode`], [`Encoder`], [`Decoder`]; SerenityOS's
//!   parameter encodings, byte for byte. `#[derive(Encode, Decode)]` for user
//!   types.
//! - [`endpoint`]: [`Endpoint`], [`Message`], [`Request`]: what generated code
//!   implements.
//! - [`proto`]: the sans-IO protocol core (handshake, frames, fds, pending
//!   requests, limits); [`transport`]: Unix stream sockets with `SCM_RIGHTS`.
//! - [`blocking`] and [`tokio`] (feature `tokio`, on by default): the two
//!   drivers, identical in behaviour.
//! - [`shm`]: [`shm::SharedBuffer`] (memfd), [`shm::ShareableBitmap`],
//!   [`shm::BitmapSequence`]; [`gfx`]: `IntRect`, `Color`...
//! - [`discovery`]: services by name in the session's portal directory
//!   (`$COURIER_PORTAL_DIR`, `$XDG_RUNTIME_DIR/portal`,
//!   `/tmp/session/<sid>/portal`), its 0700/0600 perimeter, [`PeerPolicy`],
//!   one instance per name, and socket takeover (systemd, SerenityOS).
//!
//! # Untrusted peers
//!
//! Every byte and fd that arrives is untrusted. Decoding never panics and
//! never allocates more than the bytes received (a count is checked against
//! what is left before anything is reserved); received fds are owned from the
//! moment they arrive and closed on every error path; a shared buffer's
//! claimed size is checked against the memfd's real size before it is mapped.
//! A peer that sends a malformed frame, an unknown message, too many fds or
//! bytes, or breaks a [`Limits`] rate, is disconnected with a logged reason;
//! every other client of the service is untouched.
//!
//! # Debugging
//!
//! Call [`init_tracing_from_env`] at start-up: `IPC_DEBUG=1` logs connection
//! life (connect, handshake, disconnect and why), `IPC_TRACE=1` every message
//! (direction, endpoint, message name, sizes, fds), to stderr.
#![deny(unsafe_code)]
#![warn(missing_docs)]

// Lets `::courier` paths (which derived impls use) resolve inside this crate.
extern crate self as courier;

pub mod blocking;
pub mod codec;
mod debug;
pub mod discovery;
pub mod endpoint;
mod error;
pub mod gfx;
mod handler;
mod limits;
mod peer;
pub mod proto;
mod sender;
pub mod shm;
mod sys;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod transport;

pub use codec::{ByteString, Variant2, Variant3, Variant4, Variant5, Variant6};
pub use codec::{Decode, DecodeError, Decoder, Encode, EncodeError, Encoder};
pub use courier_macros::{Decode, Encode};
pub use endpoint::{Endpoint, Message, NoMessages, Request};

pub use debug::init_tracing_from_env;
pub use discovery::{DiscoveryError, PeerPolicy};
pub use error::{
    EndpointName, Error, HandlerError, HandshakeError, HandshakeErrorKind, Limit, LimitError,
    LimitSide, ProtocolError, ProtocolErrorKind, RemoteError,
};
pub use handler::{Handler, Reply, Responder};
pub use limits::{Limits, SCM_MAX_FD};
pub use peer::PeerCredentials;
pub use sender::Sender;

/// Includes the Rust generated by `courier-build` for the `.ipc` file whose
/// stem is given (`include_ipc!("WindowServer")` for `WindowServer.ipc`).
#[macro_export]
macro_rules! include_ipc {
    ($name:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $name, ".rs"));
    };
}

/// Expands to its input when courier is built with its `tokio` feature, to
/// nothing otherwise. Generated code wraps its async client in it, so that a
/// crate using courier without tokio still compiles its generated files.
/// Not a public API.
#[cfg(feature = "tokio")]
#[doc(hidden)]
#[macro_export]
macro_rules! __tokio_only {
    ($($item:tt)*) => { $($item)* };
}

/// Expands to its input when courier is built with its `tokio` feature, to
/// nothing otherwise (here: nothing). Not a public API.
#[cfg(not(feature = "tokio"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __tokio_only {
    ($($item:tt)*) => {};
}

#[doc(hidden)]
pub mod __private {
    //! Re-exports for generated and derived code. Not a public API.
    pub use std;
}
