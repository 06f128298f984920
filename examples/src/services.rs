//! The example services, written against the generated handler traits: a
//! window server that sends paint events back to its client, and an image
//! decoder that turns a file into a bitmap.
//!
//! Both are plain structs; [`server`](crate::server) runs them over blocking
//! connections or on tokio, unchanged.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::OwnedFd;

use courier::HandlerError;
use courier::gfx::IntRect;
use courier::shm::ShareableBitmap;

use crate::image_decoder::ImageDecoderHandler;
use crate::ppm;
use crate::window_client::{WindowClient, WindowClientSender};
use crate::window_server::WindowServerHandler;

/// One client's windows. `S` sends events to that client: the server's side
/// of a blocking connection, or a tokio server's handle on the client.
///
/// - `CreateWindow` checks that both sides are positive and numbers windows
///   from 1.
/// - `InvalidateRect` answers with a `Paint` event for the part of the rect
///   inside the window (none when it misses the window).
/// - `SetWindowBitmap` takes a bitmap of exactly the window's size.
/// - `GetWindowRect` returns what `CreateWindow` was given.
///
/// An unknown window id is an error the caller receives.
#[derive(Debug)]
pub struct Windows<S> {
    client: S,
    windows: BTreeMap<i32, Window>,
    next_id: i32,
}

#[derive(Debug)]
struct Window {
    rect: IntRect,
    title: String,
    bitmap: Option<ShareableBitmap>,
}

impl<S: courier::Sender<WindowClient>> Windows<S> {
    /// A service for one client, which it reaches through `client`.
    pub fn new(client: S) -> Windows<S> {
        Windows {
            client,
            windows: BTreeMap::new(),
            next_id: 1,
        }
    }

    /// The title of window `window_id`, if it exists.
    pub fn title(&self, window_id: i32) -> Option<&str> {
        self.windows.get(&window_id).map(|w| w.title.as_str())
    }

    fn window(&mut self, window_id: i32) -> Result<&mut Window, HandlerError> {
        let known = self.windows.len();
        self.windows.get_mut(&window_id).ok_or_else(|| {
            HandlerError::new(format!(
                "no window {window_id}: this client has {known} windows; create one with \
                 CreateWindow first"
            ))
        })
    }
}

impl<S: courier::Sender<WindowClient>> WindowServerHandler for Windows<S> {
    fn create_window(&mut self, rect: IntRect, title: String) -> Result<i32, HandlerError> {
        if rect.width <= 0 || rect.height <= 0 {
            return Err(HandlerError::new(format!(
                "cannot create the window `{title}` of {}x{}: both sides must be positive",
                rect.width, rect.height
            )));
        }
        let window_id = self.next_id;
        self.next_id += 1;
        self.windows.insert(
            window_id,
            Window {
                rect,
                title,
                bitmap: None,
            },
        );
        Ok(window_id)
    }

    fn invalidate_rect(&mut self, window_id: i32, rect: IntRect) {
        let Some(window) = self.windows.get(&window_id) else {
            // A one-way message has nobody to tell: ignore it.
            return;
        };
        let bounds = IntRect::new(0, 0, window.rect.width, window.rect.height);
        if let Some(damage) = bounds.intersect(rect) {
            // A client that left is noticed by the connection itself.
            let _ = self.client.paint(window_id, damage);
        }
    }

    fn set_window_bitmap(
        &mut self,
        window_id: i32,
        bitmap: ShareableBitmap,
    ) -> Result<(), HandlerError> {
        let window = self.window(window_id)?;
        let size = bitmap.size();
        if size != window.rect.size() {
            return Err(HandlerError::new(format!(
                "the bitmap is {}x{} but window {window_id} is {}x{}; send one of the window's \
                 size",
                size.width, size.height, window.rect.width, window.rect.height
            )));
        }
        window.bitmap = Some(bitmap);
        Ok(())
    }

    fn get_window_rect(&mut self, window_id: i32) -> Result<IntRect, HandlerError> {
        Ok(self.window(window_id)?.rect)
    }
}

/// The largest image file [`PpmDecoder`] reads: 64 MiB.
pub const MAX_IMAGE_FILE: u64 = 64 << 20;

/// Decodes binary PPM files ([`ppm`]) into bitmaps in shared memory: the
/// caller reads the pixels in place, nothing is copied back.
#[derive(Clone, Copy, Debug, Default)]
pub struct PpmDecoder;

impl ImageDecoderHandler for PpmDecoder {
    fn decode_image(&mut self, image_file: OwnedFd) -> Result<ShareableBitmap, HandlerError> {
        let mut bytes = Vec::new();
        std::fs::File::from(image_file)
            .take(MAX_IMAGE_FILE + 1)
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_IMAGE_FILE {
            return Err(HandlerError::new(format!(
                "the image file is larger than {MAX_IMAGE_FILE} bytes"
            )));
        }
        Ok(ppm::decode(&bytes)?)
    }
}
