//! clipboardd: SerenityOS's Clipboard on courier, and its typed client.
//!
//! The service keeps one clipboard for the session: bytes in shared memory,
//! their mime type and string metadata. It speaks SerenityOS's own
//! interfaces, `ClipboardServer` and `ClipboardClient` (`ipc/` in this
//! crate: the same messages, order and types as SerenityOS's, hence the same
//! magics and ids), and listens as `clipboard` in the session's portal
//! directory.
//!
//! - [`service`]: the clipboard [`Store`](service::Store), the handler of
//!   each client and [`run`](service::run), which serves them on a
//!   [`courier::tokio::MultiServer`]. The `clipboardd` binary wraps it.
//! - [`Clipboard`]: the client library (blocking): `set_text`, `set_data`,
//!   `set_bitmap`, `get`, `get_text`, `get_bitmap`, and change
//!   notifications.
//! - [`clipboard_server`] and [`clipboard_client`]: the generated code.
//!
//! # Semantics
//!
//! - The content lives in a shared buffer sealed read-only: a client's
//!   buffer that arrives sealed is kept as is; any other is copied once and
//!   sealed. Every reader gets a handle on that same memory, never a copy.
//! - Every change is announced to every connected client, the one that made
//!   it included, as SerenityOS does.
//! - A content over the service's maximum size (`--max-size`, default
//!   64 MiB) is refused: the clipboard keeps its content and the client that
//!   sent it is disconnected (a one-way message has nobody to answer). The
//!   client library checks its own limit first and returns
//!   [`ClipboardError::TooLarge`] without sending anything.
//!
//! # Bitmaps
//!
//! As SerenityOS's `GUI::Clipboard`: mime type `image/x-serenityos`, the
//! pixel rows as data, and the metadata `width`, `height`, `pitch`,
//! `format` (`Gfx::BitmapFormat`: 1 BGRx8888, 2 BGRA8888, 3 RGBA8888) and
//! `scale` (1), all decimal. See [`Clipboard::set_bitmap`].
//!
//! ```no_run
//! use courier::gfx::Color;
//! use courier::shm::{BitmapFormat, ShareableBitmap};
//! use courier_clipboardd::Clipboard;
//!
//! let copier = Clipboard::connect()?;
//! let mut bitmap = ShareableBitmap::new(2, 2, BitmapFormat::Bgra8888)?;
//! bitmap.set_pixel(1, 1, Color::RED)?;
//! copier.set_bitmap(&bitmap)?;
//!
//! let paster = Clipboard::connect()?;
//! let pasted = paster.get_bitmap()?.expect("a bitmap");
//! assert_eq!(pasted.pixel(1, 1), Some(Color::RED));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

courier::include_ipc!("ClipboardServer");
courier::include_ipc!("ClipboardClient");

pub mod cli;
mod client;
pub mod service;

pub use client::{
    BITMAP_MIME_TYPE, Clipboard, ClipboardChange, ClipboardData, ClipboardError, TEXT_MIME_TYPE,
};
pub use service::{DEFAULT_MAX_SIZE, SERVICE_NAME};
