//! Helpers for clients of windowd: connecting, screenshots to a file, and a
//! handler that collects the events.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::Path;

use courier::blocking::BlockingConnection;
use courier::discovery::Portal;
use courier::gfx::{IntRect, IntSize};

use crate::service::SERVICE_NAME;
use crate::window_client::{WindowClient, WindowClientHandler, WindowClientService};
use crate::window_server::WindowServerClient;

/// The generated blocking client of `WindowServer`, handling `WindowClient`
/// events.
pub type WindowServerConnection = WindowServerClient<WindowClient>;

/// Connects to the service `window` in this session's portal directory.
///
/// # Errors
///
/// [`courier::Error::Discovery`] when it is not running; the handshake's
/// error.
pub fn connect() -> Result<WindowServerConnection, courier::Error> {
    BlockingConnection::connect_service(SERVICE_NAME).map(WindowServerClient::from_connection)
}

/// Connects to the service `window` in the portal directory `dir`.
///
/// # Errors
///
/// As [`connect`].
pub fn connect_in(dir: impl AsRef<Path>) -> Result<WindowServerConnection, courier::Error> {
    let stream = Portal::at(dir.as_ref()).connect(SERVICE_NAME)?;
    BlockingConnection::from_stream(stream).map(WindowServerClient::from_connection)
}

/// Connects to the window server listening at the socket `path`.
///
/// # Errors
///
/// Nothing listens there, or it is not a window server.
pub fn connect_to(path: impl AsRef<Path>) -> Result<WindowServerConnection, courier::Error> {
    WindowServerClient::connect(path)
}

/// Asks the server to composite the screen and write it as a PNG to `path`:
/// the file is created here and passed as an fd, so the server never opens
/// a path.
///
/// # Errors
///
/// [`courier::Error::Io`] when the file cannot be created, the call's
/// errors otherwise ([`courier::Error::Remote`] when the server could not
/// write it).
pub fn save_screenshot(
    client: &WindowServerConnection,
    path: impl AsRef<Path>,
) -> Result<(), courier::Error> {
    let path = path.as_ref();
    let file = File::create(path).map_err(|error| {
        courier::Error::Io(std::io::Error::new(
            error.kind(),
            format!("could not create `{}`: {error}", path.display()),
        ))
    })?;
    client.save_screenshot(OwnedFd::from(file))
}

/// An event the window server sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowEvent {
    /// Part of a window needs repainting.
    Paint {
        /// The window.
        window_id: i32,
        /// The part, in window coordinates.
        rect: IntRect,
    },
    /// A window changed size.
    Resized {
        /// The window.
        window_id: i32,
        /// Its new size.
        size: IntSize,
    },
}

/// A `WindowClient` handler that collects the events in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventLog {
    /// The events, oldest first.
    pub events: Vec<WindowEvent>,
}

impl WindowClientHandler for EventLog {
    fn paint(&mut self, window_id: i32, rect: IntRect) {
        self.events.push(WindowEvent::Paint { window_id, rect });
    }

    fn window_resized(&mut self, window_id: i32, size: IntSize) {
        self.events.push(WindowEvent::Resized { window_id, size });
    }
}

/// The events that arrived so far on `client`'s connection, without
/// waiting. Events sent before a response arrive before it: after a call
/// returns, those its handling produced are here.
///
/// # Errors
///
/// When the connection is closed and nothing was left to read.
pub fn take_events(client: &WindowServerConnection) -> Result<Vec<WindowEvent>, courier::Error> {
    let mut log = WindowClientService(EventLog::default());
    client.connection().dispatch(&mut log)?;
    Ok(log.0.events)
}
