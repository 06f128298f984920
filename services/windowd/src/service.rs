//! The service: one screen, the windows of every client on it, and each
//! client's handler of `WindowServer`.

use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use courier::HandlerError;
use courier::gfx::{Color, IntRect, IntSize};
use courier::shm::{MAX_BITMAP_DIMENSION, ShareableBitmap};
use courier::tokio::{ClientHandle, MultiServer};
use tracing::debug;

use crate::compositor::Framebuffer;
use crate::window_client::{WindowClient, WindowClientSender};
use crate::window_server::{WindowServer, WindowServerHandler, WindowServerService};

/// The name the service listens as in the portal directory (`<portal>/window`,
/// as in the overview).
pub const SERVICE_NAME: &str = "window";

/// The default screen: 800 x 600.
pub const DEFAULT_SCREEN: IntSize = IntSize::new(800, 600);

/// The default background: a dark slate blue, `#203040`.
pub const DEFAULT_BACKGROUND: Color = Color::from_rgb(0x20, 0x30, 0x40);

/// The default number of windows one client may have open: 64.
pub const DEFAULT_MAX_WINDOWS: usize = 64;

/// The largest screen side: [`MAX_BITMAP_DIMENSION`] (the screenshot is a
/// bitmap too).
pub const MAX_SCREEN_SIDE: i32 = MAX_BITMAP_DIMENSION as i32;

/// What a [`Screen`] looks like and allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The screen's size, each side from 1 to [`MAX_SCREEN_SIDE`].
    pub screen: IntSize,
    /// The colour where no window is (opaque).
    pub background: Color,
    /// How many windows one client may have open at once.
    pub max_windows_per_client: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            screen: DEFAULT_SCREEN,
            background: DEFAULT_BACKGROUND,
            max_windows_per_client: DEFAULT_MAX_WINDOWS,
        }
    }
}

/// Who owns a window: a client's id on the server.
pub type Owner = u64;

struct Window {
    id: i32,
    owner: Owner,
    rect: IntRect,
    title: String,
    bitmap: Option<ShareableBitmap>,
}

#[derive(Default)]
struct Windows {
    /// Bottom to top.
    stack: Vec<Window>,
    next_id: i32,
}

/// The screen and its windows in z-order: the first created at the bottom,
/// each new or raised window on top. Cheap to clone, shared by every
/// client's handler. Every method that names a window checks that `owner`
/// owns it: a client cannot see or touch another's windows.
#[derive(Clone)]
pub struct Screen {
    windows: Arc<Mutex<Windows>>,
    options: Options,
}

impl fmt::Debug for Screen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Screen")
            .field("windows", &self.lock().stack.len())
            .field("options", &self.options)
            .finish()
    }
}

/// A window's summary, as [`Screen::windows`] lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowInfo {
    /// Its id.
    pub id: i32,
    /// Its owner.
    pub owner: Owner,
    /// Where it is on the screen.
    pub rect: IntRect,
    /// Its title.
    pub title: String,
    /// Whether it has a bitmap to show.
    pub has_bitmap: bool,
}

fn check_rect(rect: IntRect, what: &str) -> Result<(), HandlerError> {
    let fits = |side: i32| (1..=MAX_SCREEN_SIDE).contains(&side);
    if fits(rect.width) && fits(rect.height) {
        Ok(())
    } else {
        Err(HandlerError::new(format!(
            "{what} of {}x{}: each side must be between 1 and {MAX_SCREEN_SIDE}",
            rect.width, rect.height
        )))
    }
}

impl Screen {
    /// An empty screen with `options`.
    pub fn new(options: Options) -> Screen {
        Screen {
            windows: Arc::new(Mutex::new(Windows {
                stack: Vec::new(),
                next_id: 1,
            })),
            options,
        }
    }

    /// The options it was made with.
    pub fn options(&self) -> Options {
        self.options
    }

    fn lock(&self) -> MutexGuard<'_, Windows> {
        // Nothing panics while holding it.
        self.windows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The windows bottom to top.
    pub fn windows(&self) -> Vec<WindowInfo> {
        self.lock()
            .stack
            .iter()
            .map(|window| WindowInfo {
                id: window.id,
                owner: window.owner,
                rect: window.rect,
                title: window.title.clone(),
                has_bitmap: window.bitmap.is_some(),
            })
            .collect()
    }

    /// Creates a window of `owner` on top of the others; returns its id
    /// (from 1, never reused).
    ///
    /// # Errors
    ///
    /// A side outside `1..=MAX_SCREEN_SIDE`, too many windows for this
    /// owner, or no ids left.
    pub fn create(&self, owner: Owner, rect: IntRect, title: String) -> Result<i32, HandlerError> {
        check_rect(rect, &format!("cannot create the window `{title}`"))?;
        let mut windows = self.lock();
        let open = windows.stack.iter().filter(|w| w.owner == owner).count();
        let max = self.options.max_windows_per_client;
        if open >= max {
            return Err(HandlerError::new(format!(
                "cannot create the window `{title}`: this client already has {open} windows, the \
                 most windowd allows (--max-windows {max}); destroy some first"
            )));
        }
        let id = windows.next_id;
        windows.next_id = id.checked_add(1).ok_or_else(|| {
            HandlerError::new("windowd has used every window id; restart it to get more")
        })?;
        windows.stack.push(Window {
            id,
            owner,
            rect,
            title,
            bitmap: None,
        });
        Ok(id)
    }

    /// Runs `f` on the window `id` of `owner` and its position in the stack.
    fn with_window<T>(
        &self,
        owner: Owner,
        id: i32,
        f: impl FnOnce(&mut Windows, usize) -> Result<T, HandlerError>,
    ) -> Result<T, HandlerError> {
        let mut windows = self.lock();
        let index = windows
            .stack
            .iter()
            .position(|w| w.id == id && w.owner == owner);
        match index {
            Some(index) => f(&mut windows, index),
            None => {
                let own = windows.stack.iter().filter(|w| w.owner == owner).count();
                Err(HandlerError::new(format!(
                    "no window {id}: this client has {own} windows; use an id CreateWindow \
                     returned to this client and not destroyed since"
                )))
            }
        }
    }

    /// Where window `id` is.
    ///
    /// # Errors
    ///
    /// An id that is not one of `owner`'s windows.
    pub fn rect(&self, owner: Owner, id: i32) -> Result<IntRect, HandlerError> {
        self.with_window(owner, id, |windows, i| Ok(windows.stack[i].rect))
    }

    /// Shows `bitmap` in window `id`. Its memory must be sealed against
    /// shrinking (sealed here when it is not yet), so that the client cannot
    /// cut pages from under the compositor.
    ///
    /// # Errors
    ///
    /// An unknown id, a bitmap whose size is not the window's, or memory
    /// that cannot be sealed against shrinking.
    pub fn set_bitmap(
        &self,
        owner: Owner,
        id: i32,
        bitmap: ShareableBitmap,
    ) -> Result<(), HandlerError> {
        self.with_window(owner, id, |windows, i| {
            let window = &mut windows.stack[i];
            let size = bitmap.size();
            if size != window.rect.size() {
                return Err(HandlerError::new(format!(
                    "the bitmap is {}x{} but window {id} is {}x{}; send one of the window's size",
                    size.width, size.height, window.rect.width, window.rect.height
                )));
            }
            pin_size(&bitmap)?;
            window.bitmap = Some(bitmap);
            Ok(())
        })
    }

    /// Moves and resizes window `id`; returns whether its size changed (its
    /// bitmap is then dropped).
    ///
    /// # Errors
    ///
    /// An unknown id, a side outside `1..=MAX_SCREEN_SIDE`.
    pub fn set_rect(&self, owner: Owner, id: i32, rect: IntRect) -> Result<bool, HandlerError> {
        check_rect(rect, &format!("cannot make window {id}"))?;
        self.with_window(owner, id, |windows, i| {
            let window = &mut windows.stack[i];
            let resized = window.rect.size() != rect.size();
            window.rect = rect;
            if resized {
                window.bitmap = None;
            }
            Ok(resized)
        })
    }

    /// Puts window `id` on top.
    ///
    /// # Errors
    ///
    /// An unknown id.
    pub fn raise(&self, owner: Owner, id: i32) -> Result<(), HandlerError> {
        self.with_window(owner, id, |windows, i| {
            let window = windows.stack.remove(i);
            windows.stack.push(window);
            Ok(())
        })
    }

    /// Removes window `id`.
    ///
    /// # Errors
    ///
    /// An unknown id.
    pub fn destroy(&self, owner: Owner, id: i32) -> Result<(), HandlerError> {
        self.with_window(owner, id, |windows, i| {
            windows.stack.remove(i);
            Ok(())
        })
    }

    /// Removes every window of `owner` (a client that left); returns how
    /// many.
    pub fn remove_owner(&self, owner: Owner) -> usize {
        let mut windows = self.lock();
        let before = windows.stack.len();
        windows.stack.retain(|w| w.owner != owner);
        before - windows.stack.len()
    }

    /// The screen now: the background, then every window's bitmap bottom to
    /// top, clipped to the screen, blended source-over. Windows without a
    /// bitmap show nothing.
    pub fn composite(&self) -> Framebuffer {
        let mut screen = Framebuffer::new(self.options.screen, self.options.background);
        for window in &self.lock().stack {
            if let Some(bitmap) = &window.bitmap {
                screen.draw(window.rect.location(), bitmap);
            }
        }
        screen
    }
}

/// Seals the bitmap's memory against shrinking, then checks it still holds
/// the pixels: from then on, reading them can never fault.
fn pin_size(bitmap: &ShareableBitmap) -> Result<(), HandlerError> {
    let buffer = bitmap.buffer();
    let Some(fd) = buffer.fd() else {
        return Err(HandlerError::new(
            "the bitmap holds no memory; send a valid bitmap",
        ));
    };
    if !buffer.is_sealed() {
        rustix::fs::fcntl_add_seals(fd, rustix::fs::SealFlags::SHRINK).map_err(|error| {
            HandlerError::new(format!(
                "the bitmap's memory cannot be sealed against shrinking ({error}); make it with \
                 ShareableBitmap::new"
            ))
        })?;
    }
    let real = rustix::fs::fstat(fd)
        .map(|stat| u64::try_from(stat.st_size).unwrap_or(0))
        .map_err(|error| {
            HandlerError::new(format!("fstat of the bitmap's memory failed: {error}"))
        })?;
    let needed = buffer.len() as u64;
    if real < needed {
        return Err(HandlerError::new(format!(
            "the bitmap's memory shrank to {real} bytes after it was sent; it needs {needed}"
        )));
    }
    Ok(())
}

/// One client's handler of `WindowServer`: its windows live on the shared
/// [`Screen`] and are removed when the client leaves (this handler is
/// dropped). Paint events go to this client after `CreateWindow` (the whole
/// window), `InvalidateRect` (the part inside the window) and a resize by
/// `SetWindowRect` (after `WindowResized`). An unknown or foreign window id
/// is an error the caller receives; `InvalidateRect`, being one-way, ignores
/// it.
pub struct WindowConnection {
    client: ClientHandle<WindowClient>,
    screen: Screen,
}

impl fmt::Debug for WindowConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WindowConnection")
            .field("client", &self.client.id())
            .finish_non_exhaustive()
    }
}

impl WindowConnection {
    /// The handler of `client` on `screen`.
    pub fn new(client: ClientHandle<WindowClient>, screen: Screen) -> WindowConnection {
        WindowConnection { client, screen }
    }

    fn owner(&self) -> Owner {
        self.client.id().get()
    }

    fn paint(&self, window_id: i32, rect: IntRect) {
        // A client that left is noticed by its own task.
        let _ = self.client.paint(window_id, rect);
    }
}

impl Drop for WindowConnection {
    fn drop(&mut self) {
        let removed = self.screen.remove_owner(self.owner());
        debug!(client = %self.client.id(), removed, "client left; its windows are gone");
    }
}

impl WindowServerHandler for WindowConnection {
    fn create_window(&mut self, rect: IntRect, title: String) -> Result<i32, HandlerError> {
        let id = self.screen.create(self.owner(), rect, title)?;
        self.paint(id, IntRect::new(0, 0, rect.width, rect.height));
        Ok(id)
    }

    fn invalidate_rect(&mut self, window_id: i32, rect: IntRect) {
        let Ok(window) = self.screen.rect(self.owner(), window_id) else {
            debug!(client = %self.client.id(), window_id, "InvalidateRect of an unknown window");
            return;
        };
        let bounds = IntRect::new(0, 0, window.width, window.height);
        if let Some(damage) = bounds.intersect(rect) {
            self.paint(window_id, damage);
        }
    }

    fn set_window_bitmap(
        &mut self,
        window_id: i32,
        bitmap: ShareableBitmap,
    ) -> Result<(), HandlerError> {
        self.screen.set_bitmap(self.owner(), window_id, bitmap)
    }

    fn get_window_rect(&mut self, window_id: i32) -> Result<IntRect, HandlerError> {
        self.screen.rect(self.owner(), window_id)
    }

    fn set_window_rect(&mut self, window_id: i32, rect: IntRect) -> Result<(), HandlerError> {
        if self.screen.set_rect(self.owner(), window_id, rect)? {
            let _ = self.client.window_resized(window_id, rect.size());
            self.paint(window_id, IntRect::new(0, 0, rect.width, rect.height));
        }
        Ok(())
    }

    fn raise_window(&mut self, window_id: i32) -> Result<(), HandlerError> {
        self.screen.raise(self.owner(), window_id)
    }

    fn destroy_window(&mut self, window_id: i32) -> Result<(), HandlerError> {
        self.screen.destroy(self.owner(), window_id)
    }

    fn get_screen_size(&mut self) -> Result<IntSize, HandlerError> {
        Ok(self.screen.options().screen)
    }

    fn save_screenshot(&mut self, png_file: OwnedFd) -> Result<(), HandlerError> {
        let frame = self.screen.composite();
        let mut writer = BufWriter::new(File::from(png_file));
        frame
            .write_png(&mut writer)
            .and_then(|()| {
                writer
                    .into_inner()
                    .map_err(|error| png::EncodingError::IoError(error.into_error()))
                    .map(drop)
            })
            .map_err(|error| {
                HandlerError::new(format!(
                    "could not write the screenshot into the file passed: {error}; pass a file \
                     opened for writing"
                ))
            })
    }

    fn get_screenshot(&mut self) -> Result<ShareableBitmap, HandlerError> {
        Ok(self.screen.composite().to_bitmap()?)
    }
}

/// Serves the window server on `server` until it shuts down, on an empty
/// screen made with `options`.
///
/// # Errors
///
/// As [`MultiServer::run`].
pub async fn run(
    server: MultiServer<WindowServer, WindowClient>,
    options: Options,
) -> Result<(), courier::Error> {
    let screen = Screen::new(options);
    server
        .run(move |client| WindowServerService(WindowConnection::new(client, screen.clone())))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use courier::shm::BitmapFormat;

    fn screen(max_windows_per_client: usize) -> Screen {
        Screen::new(Options {
            screen: IntSize::new(10, 10),
            background: Color::BLACK,
            max_windows_per_client,
        })
    }

    fn ids(screen: &Screen) -> Vec<i32> {
        screen.windows().iter().map(|w| w.id).collect()
    }

    #[test]
    fn windows_stack_in_creation_order_and_raise_to_the_top() {
        let screen = screen(8);
        let rect = IntRect::new(0, 0, 2, 2);
        let a = screen.create(1, rect, "a".into()).unwrap();
        let b = screen.create(2, rect, "b".into()).unwrap();
        let c = screen.create(1, rect, "c".into()).unwrap();
        assert_eq!(ids(&screen), [a, b, c]);
        screen.raise(1, a).unwrap();
        assert_eq!(ids(&screen), [b, c, a]);
        screen.destroy(1, c).unwrap();
        assert_eq!(ids(&screen), [b, a]);
        assert_eq!(screen.remove_owner(1), 1);
        assert_eq!(ids(&screen), [b]);
        // Ids are never reused.
        assert_eq!(screen.create(1, rect, "d".into()).unwrap(), c + 1);
    }

    #[test]
    fn owners_only_reach_their_own_windows() {
        let screen = screen(8);
        let id = screen
            .create(1, IntRect::new(0, 0, 2, 2), "mine".into())
            .unwrap();
        assert!(screen.rect(2, id).is_err());
        assert!(screen.raise(2, id).is_err());
        assert!(screen.destroy(2, id).is_err());
        assert!(screen.set_rect(2, id, IntRect::new(0, 0, 1, 1)).is_err());
        assert_eq!(screen.rect(1, id).unwrap(), IntRect::new(0, 0, 2, 2));
    }

    #[test]
    fn each_owner_has_a_window_limit() {
        let screen = screen(2);
        let rect = IntRect::new(0, 0, 1, 1);
        screen.create(1, rect, "1".into()).unwrap();
        screen.create(1, rect, "2".into()).unwrap();
        let error = screen.create(1, rect, "3".into()).unwrap_err();
        assert!(error.message().contains("--max-windows 2"), "{error}");
        screen.create(2, rect, "another owner".into()).unwrap();
    }

    #[test]
    fn a_resize_drops_the_bitmap_and_a_move_keeps_it() {
        let screen = screen(8);
        let id = screen
            .create(1, IntRect::new(0, 0, 2, 2), "w".into())
            .unwrap();
        let mut bitmap = ShareableBitmap::new(2, 2, BitmapFormat::Bgra8888).unwrap();
        bitmap.set_pixel(0, 0, Color::RED).unwrap();
        screen.set_bitmap(1, id, bitmap).unwrap();
        assert!(!screen.set_rect(1, id, IntRect::new(5, 5, 2, 2)).unwrap());
        assert_eq!(screen.composite().pixel(5, 5), Some(Color::RED));
        assert!(screen.set_rect(1, id, IntRect::new(5, 5, 3, 3)).unwrap());
        assert!(!screen.windows()[0].has_bitmap);
        assert_eq!(screen.composite().pixel(5, 5), Some(Color::BLACK));
        assert!(screen.set_rect(1, id, IntRect::new(0, 0, 0, 3)).is_err());
    }

    #[test]
    fn a_bitmap_is_pinned_against_shrinking() {
        let screen = screen(8);
        let id = screen
            .create(1, IntRect::new(0, 0, 2, 2), "w".into())
            .unwrap();
        let bitmap = ShareableBitmap::new(2, 2, BitmapFormat::Bgra8888).unwrap();
        let fd = bitmap.buffer().fd().unwrap().try_clone_to_owned().unwrap();
        screen.set_bitmap(1, id, bitmap).unwrap();
        assert!(
            rustix::fs::ftruncate(&fd, 0).is_err(),
            "the memory cannot shrink any more"
        );
    }
}
