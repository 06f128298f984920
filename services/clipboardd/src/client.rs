//! [`Clipboard`]: the typed client of clipboardd.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use courier::ByteString;
use courier::blocking::BlockingConnection;
use courier::discovery::Portal;
use courier::shm::{BitmapFormat, ShareableBitmap, SharedBuffer, ShmError};

use crate::clipboard_client::{ClipboardClient, ClipboardClientHandler, ClipboardClientService};
use crate::clipboard_server::{ClipboardServer, ClipboardServerClient};
use crate::service::{DEFAULT_MAX_SIZE, SERVICE_NAME};

/// The mime type of a bitmap on SerenityOS's clipboard.
pub const BITMAP_MIME_TYPE: &str = "image/x-serenityos";

/// The mime type [`Clipboard::set_text`] uses.
pub const TEXT_MIME_TYPE: &str = "text/plain";

/// What went wrong with the clipboard.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClipboardError {
    /// The service could not be reached or the call failed
    /// ([`courier::Error::Disconnected`] once the service is gone, or after it
    /// disconnected this client for sending data it refused).
    #[error(transparent)]
    Ipc(#[from] courier::Error),
    /// Shared memory for the data could not be made.
    #[error(transparent)]
    Shm(#[from] ShmError),
    /// The data is larger than this client's limit
    /// ([`Clipboard::with_max_size`]); nothing was sent.
    #[error(
        "clipboard data of {len} bytes is larger than the limit of {max} bytes; copy less, or \
         raise the limit with Clipboard::with_max_size (clipboardd has its own --max-size)"
    )]
    TooLarge {
        /// The size of the data.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The content claims to be a bitmap (`image/x-serenityos`) but its
    /// metadata or size do not describe one.
    #[error("the clipboard holds an `image/x-serenityos` bitmap that is malformed: {0}")]
    BadBitmap(String),
}

/// The clipboard's content.
#[derive(Debug, Default)]
pub struct ClipboardData {
    /// The bytes, in shared memory sealed read-only by the service (the
    /// invalid buffer when the clipboard is empty): read them with
    /// [`ClipboardData::bytes`], nothing was copied.
    pub data: SharedBuffer,
    /// The mime type (`text/plain`, `image/x-serenityos`...), empty when
    /// nothing was ever copied.
    pub mime_type: String,
    /// Metadata: free-form pairs; a bitmap's dimensions.
    pub metadata: HashMap<ByteString, ByteString>,
}

impl ClipboardData {
    /// The bytes (empty when the clipboard is empty).
    pub fn bytes(&self) -> &[u8] {
        self.data.as_slice()
    }

    /// The metadata value of `key`, if present and UTF-8.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata
            .get(&ByteString::from(key))
            .and_then(|value| value.to_str().ok())
    }

    /// The content as text when its mime type is `text/*` (invalid UTF-8
    /// replaced by U+FFFD), else `None`.
    pub fn text(&self) -> Option<String> {
        self.mime_type
            .starts_with("text/")
            .then(|| String::from_utf8_lossy(self.bytes()).into_owned())
    }

    /// The content as a bitmap, when its mime type is
    /// [`BITMAP_MIME_TYPE`]; see [`Clipboard::get_bitmap`]. The bitmap's
    /// pixels are the shared buffer itself (read-only), not a copy.
    ///
    /// # Errors
    ///
    /// [`ClipboardError::BadBitmap`] when the metadata are missing or
    /// inconsistent with the data.
    pub fn into_bitmap(self) -> Result<Option<ShareableBitmap>, ClipboardError> {
        if self.mime_type != BITMAP_MIME_TYPE {
            return Ok(None);
        }
        let number = |key: &str| -> Result<u32, ClipboardError> {
            let value = self
                .metadata(key)
                .ok_or_else(|| ClipboardError::BadBitmap(format!("the metadata lack `{key}`")))?;
            value.parse().map_err(|_| {
                ClipboardError::BadBitmap(format!(
                    "the metadata `{key}` is `{value}`, not an unsigned number"
                ))
            })
        };
        let width = number("width")?;
        let height = number("height")?;
        let pitch = number("pitch")?;
        let format = match number("format")? {
            1 => BitmapFormat::Bgrx8888,
            2 => BitmapFormat::Bgra8888,
            3 => BitmapFormat::Rgba8888,
            other => {
                return Err(ClipboardError::BadBitmap(format!(
                    "format {other} is not one courier knows (1 BGRx8888, 2 BGRA8888, 3 RGBA8888)"
                )));
            }
        };
        let scale = if self.metadata("scale").is_some() {
            number("scale")?
        } else {
            1
        };
        if scale != 1 {
            return Err(ClipboardError::BadBitmap(format!(
                "scale factor {scale}: only 1 is supported"
            )));
        }
        ShareableBitmap::from_buffer(width, height, pitch, format, self.data)
            .map(Some)
            .map_err(|error| ClipboardError::BadBitmap(error.to_string()))
    }
}

/// A change of the clipboard, as the service announced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClipboardChange {
    /// The new content's mime type.
    pub mime_type: String,
}

/// A client of clipboardd: copy and paste text, bytes of any mime type and
/// bitmaps, and hear of every change.
///
/// Blocking: calls wait on the calling thread, no async runtime needed. A
/// thread of its own receives the service's change notifications and queues
/// them for [`Clipboard::next_change`], [`Clipboard::try_next_change`] or
/// [`Clipboard::changes`]; every change is announced to every client,
/// including the one that made it. Unread notifications are kept (one mime
/// type each). Dropping the client closes the connection and ends the
/// thread.
///
/// ```no_run
/// use courier_clipboardd::Clipboard;
///
/// let clipboard = Clipboard::connect()?;
/// clipboard.set_text("hello")?;
/// assert_eq!(clipboard.get_text()?.as_deref(), Some("hello"));
/// # Ok::<(), courier_clipboardd::ClipboardError>(())
/// ```
pub struct Clipboard {
    client: ClipboardServerClient<ClipboardClient>,
    changes: Mutex<Receiver<ClipboardChange>>,
    listener: Option<JoinHandle<()>>,
    max_size: usize,
}

impl fmt::Debug for Clipboard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clipboard")
            .field("connection", self.client.connection())
            .field("max_size", &self.max_size)
            .finish_non_exhaustive()
    }
}

/// Queues each notification for the [`Clipboard`] that owns the thread.
struct Forward(mpsc::Sender<ClipboardChange>);

impl ClipboardClientHandler for Forward {
    fn clipboard_data_changed(&mut self, mime_type: String) {
        // The receiver is gone only while the Clipboard is being dropped.
        let _ = self.0.send(ClipboardChange { mime_type });
    }
}

impl Clipboard {
    /// Connects to the service `clipboard` in this session's portal directory
    /// (`$COURIER_PORTAL_DIR`, `$XDG_RUNTIME_DIR/portal` or
    /// `/tmp/session/<sid>/portal`).
    ///
    /// # Errors
    ///
    /// [`ClipboardError::Ipc`] with [`courier::Error::Discovery`] when the
    /// service is not running, or the handshake's error.
    pub fn connect() -> Result<Clipboard, ClipboardError> {
        Clipboard::from_connection(BlockingConnection::connect_service(SERVICE_NAME)?)
    }

    /// Connects to the service `clipboard` in the portal directory `dir`.
    ///
    /// # Errors
    ///
    /// As [`Clipboard::connect`].
    pub fn connect_in(dir: impl AsRef<Path>) -> Result<Clipboard, ClipboardError> {
        let stream = Portal::at(dir.as_ref())
            .connect(SERVICE_NAME)
            .map_err(courier::Error::from)?;
        Clipboard::from_connection(BlockingConnection::from_stream(stream)?)
    }

    /// Connects to the service listening at the socket `path`.
    ///
    /// # Errors
    ///
    /// [`ClipboardError::Ipc`]: nothing listens there, or it is not
    /// clipboardd.
    pub fn connect_to(path: impl AsRef<Path>) -> Result<Clipboard, ClipboardError> {
        Clipboard::from_connection(BlockingConnection::connect(path)?)
    }

    /// A client over an established connection.
    ///
    /// # Errors
    ///
    /// [`ClipboardError::Ipc`] when the notification thread cannot start.
    pub fn from_connection(
        connection: BlockingConnection<ClipboardClient, ClipboardServer>,
    ) -> Result<Clipboard, ClipboardError> {
        let (sender, receiver) = mpsc::channel();
        let events = connection.clone();
        let listener = std::thread::Builder::new()
            .name("clipboard-changes".into())
            .spawn(move || {
                let mut forward = ClipboardClientService(Forward(sender));
                if let Err(error) = events.serve(&mut forward) {
                    tracing::debug!("the clipboard connection ended: {error}");
                }
            })
            .map_err(|error| ClipboardError::Ipc(courier::Error::Io(error)))?;
        Ok(Clipboard {
            client: ClipboardServerClient::from_connection(connection),
            changes: Mutex::new(receiver),
            listener: Some(listener),
            max_size: DEFAULT_MAX_SIZE,
        })
    }

    /// This client with a limit of `max_size` bytes on what it copies
    /// (default [`DEFAULT_MAX_SIZE`], the service's default). Data over it
    /// is refused with [`ClipboardError::TooLarge`] before anything is sent.
    pub fn with_max_size(mut self, max_size: usize) -> Clipboard {
        self.max_size = max_size;
        self
    }

    /// The generated client underneath, for the raw messages.
    pub fn raw(&self) -> &ClipboardServerClient<ClipboardClient> {
        &self.client
    }

    /// Copies `text` (mime type `text/plain`, no metadata).
    ///
    /// # Errors
    ///
    /// As [`Clipboard::set_data`].
    pub fn set_text(&self, text: &str) -> Result<(), ClipboardError> {
        self.set_data(text.as_bytes(), TEXT_MIME_TYPE, HashMap::new())
    }

    /// Copies `bytes` with `mime_type` and `metadata`: one copy into a new
    /// shared buffer, sealed read-only before it is sent, which the service
    /// keeps and hands to every reader as is. Returns once the message is
    /// sent; the change notification follows.
    ///
    /// # Errors
    ///
    /// [`ClipboardError::TooLarge`] (nothing sent), [`ClipboardError::Shm`],
    /// [`ClipboardError::Ipc`] (service gone).
    pub fn set_data(
        &self,
        bytes: &[u8],
        mime_type: &str,
        metadata: HashMap<String, String>,
    ) -> Result<(), ClipboardError> {
        if bytes.len() > self.max_size {
            return Err(ClipboardError::TooLarge {
                len: bytes.len(),
                max: self.max_size,
            });
        }
        let data = if bytes.is_empty() {
            SharedBuffer::invalid()
        } else {
            let mut data = SharedBuffer::from_bytes(bytes)?;
            data.seal_read_only()?;
            data
        };
        let metadata = metadata
            .into_iter()
            .map(|(key, value)| (ByteString::from(key), ByteString::from(value)))
            .collect();
        self.client
            .set_clipboard_data(data, mime_type.to_owned(), metadata)?;
        Ok(())
    }

    /// Copies `bitmap` the way SerenityOS's `GUI::Clipboard::set_bitmap`
    /// does: mime type [`BITMAP_MIME_TYPE`], the rows as they are in memory
    /// (`pitch * height` bytes) as data, and as metadata the decimal
    /// `width`, `height`, `pitch`, `format` (SerenityOS's
    /// `Gfx::BitmapFormat` number: 1 BGRx8888, 2 BGRA8888, 3 RGBA8888) and
    /// `scale` (always 1).
    ///
    /// # Errors
    ///
    /// As [`Clipboard::set_data`]; an invalid bitmap is
    /// [`ClipboardError::Shm`] ([`ShmError::Invalid`]).
    pub fn set_bitmap(&self, bitmap: &ShareableBitmap) -> Result<(), ClipboardError> {
        if !bitmap.is_valid() {
            return Err(ShmError::Invalid.into());
        }
        let metadata = HashMap::from([
            ("width".to_owned(), bitmap.width().to_string()),
            ("height".to_owned(), bitmap.height().to_string()),
            ("pitch".to_owned(), bitmap.pitch().to_string()),
            ("format".to_owned(), (bitmap.format() as u8).to_string()),
            ("scale".to_owned(), "1".to_owned()),
        ]);
        self.set_data(bitmap.pixels(), BITMAP_MIME_TYPE, metadata)
    }

    /// The content.
    ///
    /// # Errors
    ///
    /// [`ClipboardError::Ipc`] (service gone).
    pub fn get(&self) -> Result<ClipboardData, ClipboardError> {
        let response = self.client.get_clipboard_data()?;
        Ok(ClipboardData {
            data: response.data,
            mime_type: response.mime_type,
            metadata: response.metadata,
        })
    }

    /// The content as text when its mime type is `text/*`, else `None`.
    ///
    /// # Errors
    ///
    /// As [`Clipboard::get`].
    pub fn get_text(&self) -> Result<Option<String>, ClipboardError> {
        Ok(self.get()?.text())
    }

    /// The content as a bitmap when its mime type is [`BITMAP_MIME_TYPE`]
    /// (see [`Clipboard::set_bitmap`] for the convention), else `None`. The
    /// pixels stay in the shared buffer, read-only.
    ///
    /// # Errors
    ///
    /// As [`Clipboard::get`], and [`ClipboardError::BadBitmap`] when the
    /// metadata do not describe a bitmap that fits the data.
    pub fn get_bitmap(&self) -> Result<Option<ShareableBitmap>, ClipboardError> {
        self.get()?.into_bitmap()
    }

    fn changes_lock(&self) -> MutexGuard<'_, Receiver<ClipboardChange>> {
        self.changes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next change notification, waiting up to `timeout`: `Ok(None)`
    /// when none came in time.
    ///
    /// # Errors
    ///
    /// [`courier::Error::Disconnected`] when the connection is closed and
    /// every notification was read.
    pub fn next_change(
        &self,
        timeout: Duration,
    ) -> Result<Option<ClipboardChange>, ClipboardError> {
        match self.changes_lock().recv_timeout(timeout) {
            Ok(change) => Ok(Some(change)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(courier::Error::Disconnected.into()),
        }
    }

    /// The next change notification if one is queued, without waiting.
    ///
    /// # Errors
    ///
    /// As [`Clipboard::next_change`].
    pub fn try_next_change(&self) -> Result<Option<ClipboardChange>, ClipboardError> {
        match self.changes_lock().try_recv() {
            Ok(change) => Ok(Some(change)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(courier::Error::Disconnected.into()),
        }
    }

    /// The change notifications as they come, blocking for each; the
    /// iterator ends when the connection closes.
    pub fn changes(&self) -> impl Iterator<Item = ClipboardChange> + '_ {
        std::iter::from_fn(move || self.changes_lock().recv().ok())
    }

    /// Closes the connection; later calls fail with
    /// [`courier::Error::Disconnected`].
    pub fn close(&self) {
        self.client.connection().close();
    }
}

impl Drop for Clipboard {
    fn drop(&mut self) {
        self.client.connection().close();
        if let Some(listener) = self.listener.take() {
            // It only runs `serve`, which returns once the connection is
            // closed; a panic there has already been reported.
            let _ = listener.join();
        }
    }
}
