//! Examples and the demo of courier: the interfaces of `ipc/`, compiled by
//! `build.rs` with `courier-build` and included here, exactly as a user's
//! crate would.
//!
//! - [`window_server`] and [`window_client`]: the overview's window server
//!   and the events it sends to its clients.
//! - [`image_decoder`]: the overview's image decoder, passing a file and a
//!   bitmap.
//! - [`lookup_server`] and [`lookup_client`]: a name service, in the
//!   snake_case dialect of SerenityOS.
//! - [`kitchen`]: a test interface that uses every type of the mapping,
//!   including the user types [`geometry::Point3`], [`Shape`] and [`Fill`].
//! - [`helper_names`]: messages named like the helper methods of the
//!   generated clients (`connect`, `clone`, `send`...), which get the
//!   suffix `_message`.
//!
//! On top of them, the services of the demo: [`services`] implements the
//! generated handler traits, [`server`] runs them over blocking connections
//! or on tokio, [`process`] runs that server as a child process, and [`ppm`]
//! is the tiny image format the image decoder reads.
//!
//! ```
//! use courier::{Endpoint, Message};
//! use courier_examples::window_server::{CreateWindow, WindowServer};
//!
//! assert_eq!(WindowServer::NAME, "WindowServer");
//! assert_eq!(CreateWindow::ID, 1);
//! ```
//!
//! # A server and a client
//!
//! A complete exchange over a real socket: the server side implements the
//! generated `WindowServerHandler` and sends a `Paint` event back through
//! `WindowClientSender`; the client calls through the generated blocking
//! `WindowServerClient` and handles the event with a `WindowClientHandler`.
//! (Here the two sides are threads of one process over a socketpair; the
//! demo and `tests/window_server.rs` run them in two processes.)
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
#![deny(unsafe_code)]
#![warn(missing_docs)]

courier::include_ipc!("WindowServer");
courier::include_ipc!("WindowClient");
courier::include_ipc!("ImageDecoder");
courier::include_ipc!("LookupServer");
courier::include_ipc!("Kitchen");
courier::include_ipc!("HelperNames");

pub mod ppm;
pub mod process;
pub mod server;
pub mod services;

/// User types that `build.rs` maps by path (`Geometry::Point3` in
/// `Kitchen.ipc` is [`geometry::Point3`]).
pub mod geometry {
    /// A point in space: a user struct, encoded field by field.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, courier::Encode, courier::Decode)]
    pub struct Point3 {
        /// Left to right.
        pub x: i32,
        /// Top to bottom.
        pub y: i32,
        /// Back to front.
        pub z: i32,
    }
}

/// A shape: a user enum with data, encoded as a `u8` index and the
/// alternative's fields. `Kitchen.ipc` names it `Shape`, which the generated
/// module reaches as `super::Shape`.
#[derive(Clone, Debug, PartialEq, courier::Encode, courier::Decode)]
pub enum Shape {
    /// Nothing to draw.
    Empty,
    /// A circle around the origin.
    Circle {
        /// Its radius.
        radius: u32,
    },
    /// A polygon through its corners, in order.
    Polygon(Vec<geometry::Point3>),
}

/// How a shape is filled: a fieldless user enum, encoded as its discriminant
/// (an `i32`, as C++'s `enum class`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, courier::Encode, courier::Decode)]
pub enum Fill {
    /// Outline only.
    None,
    /// One colour.
    Solid,
    /// A gradient.
    Gradient,
}
