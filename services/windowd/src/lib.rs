//! windowd: the overview's window server on courier, compositing client
//! bitmaps.
//!
//! Clients create windows and show bitmaps in them; the server keeps every
//! client's windows on one screen in z-order, composites them into a
//! framebuffer and hands it back as a PNG file or a bitmap. It speaks the
//! overview's `WindowServer` interface (`CreateWindow`, `InvalidateRect`,
//! `SetWindowBitmap`, `GetWindowRect`, with the overview's ids) plus what a
//! demo needs (`SetWindowRect`, `RaiseWindow`, `DestroyWindow`,
//! `GetScreenSize`, `SaveScreenshot`, `GetScreenshot`), and sends
//! `WindowClient` events (`Paint`, `WindowResized`). It listens as `window`
//! in the session's portal directory.
//!
//! - [`compositor`]: the [`Framebuffer`](compositor::Framebuffer) and the
//!   source-over blending of bitmaps onto it.
//! - [`service`]: the [`Screen`](service::Screen) (windows in z-order, per
//!   owner), each client's handler, and [`run`](service::run), which serves
//!   them on a [`courier::tokio::MultiServer`]. The `windowd` binary wraps it.
//! - [`connect`], [`save_screenshot`], [`take_events`]: client helpers over
//!   the generated [`window_server::WindowServerClient`].
//!
//! # Semantics
//!
//! - Z-order: creation order, the newest on top; `RaiseWindow` moves a
//!   window to the top. The composite draws the background, then each
//!   window's bitmap bottom to top at the window's position, clipped to the
//!   screen, blended source-over with the bitmap's alpha (`Bgrx8888` is
//!   opaque; `Bgra8888` and `Rgba8888` are straight, not premultiplied,
//!   alpha). A window without a bitmap shows nothing.
//! - The screen is composited when a screenshot is asked for; bitmaps stay
//!   shared, so what a client draws into its bitmap shows in the next
//!   screenshot without another `SetWindowBitmap`.
//! - A bitmap must have exactly the window's size. Its memory is sealed
//!   against shrinking when it arrives (a client cannot cut pages from under
//!   the compositor); the client may keep drawing into it.
//! - Window ids are unique on the server; a client can only name its own.
//!   When a client leaves, its windows are removed.
//!
//! ```no_run
//! use courier::gfx::{Color, IntRect};
//! use courier::shm::{BitmapFormat, ShareableBitmap};
//!
//! let client = courier_windowd::connect()?;
//! let id = client.create_window(IntRect::new(10, 10, 64, 48), "Demo".into())?;
//! let mut bitmap = ShareableBitmap::new(64, 48, BitmapFormat::Bgra8888)?;
//! bitmap.set_pixel(0, 0, Color::RED)?;
//! client.set_window_bitmap(id, bitmap)?;
//! courier_windowd::save_screenshot(&client, "screen.png")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

courier::include_ipc!("WindowServer");
courier::include_ipc!("WindowClient");

pub mod cli;
mod client;
pub mod compositor;
pub mod service;

pub use client::{
    EventLog, WindowEvent, WindowServerConnection, connect, connect_in, connect_to,
    save_screenshot, take_events,
};
pub use service::SERVICE_NAME;
