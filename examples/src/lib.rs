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
//! - [`echo_server`], [`echo_client`] and [`other_server`]: the test service
//!   of courier's runtime tests (echo, remote errors, events, files, large
//!   payloads, a call that blocks) and a service to mistake it for.
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
//! A complete server and client over a real socket, written against these
//! modules, is the crate doc of `courier` ("A server and a client"), run as
//! one of its doctests.
#![deny(unsafe_code)]
#![warn(missing_docs)]

courier::include_ipc!("WindowServer");
courier::include_ipc!("WindowClient");
courier::include_ipc!("ImageDecoder");
courier::include_ipc!("LookupServer");
courier::include_ipc!("Kitchen");
courier::include_ipc!("HelperNames");
courier::include_ipc!("Echo");

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
