//! The service: one clipboard shared by every client of a server.
//!
//! [`Store`] holds the content; [`ClipboardConnection`] is one client's
//! handler of `ClipboardServer`; [`run`] serves them on a
//! [`MultiServer`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use courier::shm::SharedBuffer;
use courier::tokio::{ClientHandle, MultiServer};
use courier::{ByteString, HandlerError};
use tracing::{debug, warn};

use crate::clipboard_client::{ClipboardClient, ClipboardDataChanged};
use crate::clipboard_server::{ClipboardServer, ClipboardServerHandler, GetClipboardDataResponse};

/// The largest content the service accepts by default: 64 MiB.
pub const DEFAULT_MAX_SIZE: usize = 64 << 20;

/// The name the service listens as in the portal directory
/// (`<portal>/clipboard`, SerenityOS's `/tmp/session/<sid>/portal/clipboard`).
pub const SERVICE_NAME: &str = "clipboard";

/// What a [`Store`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The largest content in bytes; a client that sets more is
    /// disconnected and the content stays as it was.
    pub max_size: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_size: DEFAULT_MAX_SIZE,
        }
    }
}

/// The clipboard's content as the service holds it: the data in a shared
/// buffer sealed read-only (or the invalid buffer when empty), its mime type
/// and its metadata.
#[derive(Debug, Default)]
struct Content {
    data: SharedBuffer,
    mime_type: String,
    metadata: HashMap<ByteString, ByteString>,
}

/// The clipboard of a server: cheap to clone, shared by every client's
/// handler.
#[derive(Clone, Default)]
pub struct Store {
    content: Arc<Mutex<Content>>,
    options: Options,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let content = self.lock();
        f.debug_struct("Store")
            .field("len", &content.data.len())
            .field("mime_type", &content.mime_type)
            .field("options", &self.options)
            .finish()
    }
}

/// Why [`Store::set`] refused a content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The data is larger than [`Options::max_size`].
    #[error(
        "clipboard data of {len} bytes is larger than the service's maximum of {max} bytes; \
         copy less, or start clipboardd with a larger --max-size"
    )]
    TooLarge {
        /// The size sent.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The buffer could not be frozen: it is not a sealable memory file, it
    /// shrank after it was sent, or the copy failed.
    #[error("the clipboard data could not be kept: {0}")]
    Unusable(String),
}

impl Store {
    /// An empty clipboard with `options`.
    pub fn new(options: Options) -> Store {
        Store {
            content: Arc::default(),
            options,
        }
    }

    /// The options it was made with.
    pub fn options(&self) -> Options {
        self.options
    }

    fn lock(&self) -> MutexGuard<'_, Content> {
        // Nothing panics while holding it; a poisoned lock still holds a
        // whole content.
        self.content.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the content. A buffer the sender sealed read-only is kept as
    /// it is (shared, not copied); any other is copied into a new buffer,
    /// which is sealed, so the sender cannot change the clipboard afterwards.
    ///
    /// # Errors
    ///
    /// [`StoreError::TooLarge`] past [`Options::max_size`],
    /// [`StoreError::Unusable`] when the buffer cannot be frozen; the content
    /// is then unchanged.
    pub fn set(
        &self,
        data: SharedBuffer,
        mime_type: String,
        metadata: HashMap<ByteString, ByteString>,
    ) -> Result<(), StoreError> {
        if data.len() > self.options.max_size {
            return Err(StoreError::TooLarge {
                len: data.len(),
                max: self.options.max_size,
            });
        }
        let data = freeze(data)?;
        *self.lock() = Content {
            data,
            mime_type,
            metadata,
        };
        Ok(())
    }

    /// The content: another handle on the same sealed buffer (no copy), the
    /// mime type and the metadata.
    ///
    /// # Errors
    ///
    /// When the buffer's fd cannot be duplicated (out of fds).
    pub fn get(&self) -> Result<GetClipboardDataResponse, HandlerError> {
        let content = self.lock();
        Ok(GetClipboardDataResponse {
            data: content.data.try_clone()?,
            mime_type: content.mime_type.clone(),
            metadata: content.metadata.clone(),
        })
    }

    /// The mime type of the content (empty when nothing was copied).
    pub fn mime_type(&self) -> String {
        self.lock().mime_type.clone()
    }
}

/// A buffer nobody can change any more: `data` itself when sealed, else a
/// sealed copy. An empty buffer becomes the invalid one.
fn freeze(data: SharedBuffer) -> Result<SharedBuffer, StoreError> {
    if !data.is_valid() || data.is_empty() {
        return Ok(SharedBuffer::invalid());
    }
    if data.is_sealed() {
        return Ok(data);
    }
    let len = data.len();
    let fd = data
        .fd()
        .ok_or_else(|| StoreError::Unusable("the buffer has no memory file".into()))?;
    // The sender could shrink the file while it is copied, and reading the
    // pages it cut off would kill the service (SIGBUS): forbid that first,
    // then check that it did not shrink before the seal.
    rustix::fs::fcntl_add_seals(fd, rustix::fs::SealFlags::SHRINK).map_err(|error| {
        StoreError::Unusable(format!(
            "the memory file cannot be sealed against shrinking ({error}); send a buffer made by \
             SharedBuffer::new, ideally sealed read-only"
        ))
    })?;
    let real = rustix::fs::fstat(fd)
        .map(|stat| u64::try_from(stat.st_size).unwrap_or(0))
        .map_err(|error| {
            StoreError::Unusable(format!("fstat of the memory file failed: {error}"))
        })?;
    if real < len as u64 {
        return Err(StoreError::Unusable(format!(
            "the memory file shrank from {len} to {real} bytes after it was sent"
        )));
    }
    let mut copy = SharedBuffer::from_bytes(data.as_slice())
        .map_err(|error| StoreError::Unusable(error.to_string()))?;
    copy.seal_read_only()
        .map_err(|error| StoreError::Unusable(error.to_string()))?;
    Ok(copy)
}

/// One client's handler of `ClipboardServer`.
///
/// - `get_clipboard_data` returns the content, its buffer shared (sealed
///   read-only), never copied.
/// - `set_clipboard_data` replaces it, then tells **every** connected
///   client, the setter included (as SerenityOS's Clipboard does), with
///   `clipboard_data_changed(mime_type)`. A content over the size limit or
///   a buffer that cannot be frozen is refused: the content stays as it
///   was and this client is disconnected with a logged reason (a one-way
///   message has nobody to answer; SerenityOS disconnects a client that
///   misbehaves likewise).
pub struct ClipboardConnection {
    client: ClientHandle<ClipboardClient>,
    server: MultiServer<ClipboardServer, ClipboardClient>,
    store: Store,
}

impl fmt::Debug for ClipboardConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClipboardConnection")
            .field("client", &self.client.id())
            .finish_non_exhaustive()
    }
}

impl ClipboardConnection {
    /// The handler for `client` of `server`, over `store`.
    pub fn new(
        client: ClientHandle<ClipboardClient>,
        server: MultiServer<ClipboardServer, ClipboardClient>,
        store: Store,
    ) -> ClipboardConnection {
        ClipboardConnection {
            client,
            server,
            store,
        }
    }
}

impl ClipboardServerHandler for ClipboardConnection {
    fn get_clipboard_data(&mut self) -> Result<GetClipboardDataResponse, HandlerError> {
        self.store.get()
    }

    fn set_clipboard_data(
        &mut self,
        data: SharedBuffer,
        mime_type: String,
        metadata: HashMap<ByteString, ByteString>,
    ) {
        let len = data.len();
        if let Err(error) = self.store.set(data, mime_type.clone(), metadata) {
            warn!(
                client = %self.client.id(),
                pid = self.client.credentials().pid,
                "disconnecting a client whose clipboard data was refused: {error}"
            );
            self.client.disconnect();
            return;
        }
        debug!(client = %self.client.id(), len, mime_type, "clipboard data set");
        let changed = ClipboardDataChanged { mime_type };
        for client in self.server.clients() {
            // A client that left meanwhile is noticed by its own task.
            let _ = client.send(&changed);
        }
    }
}

/// Serves the clipboard on `server` until it shuts down, with an empty
/// content and `options`.
///
/// # Errors
///
/// As [`MultiServer::run`].
pub async fn run(
    server: MultiServer<ClipboardServer, ClipboardClient>,
    options: Options,
) -> Result<(), courier::Error> {
    let store = Store::new(options);
    let handle = server.clone();
    server
        .run(move |client| {
            crate::clipboard_server::ClipboardServerService(ClipboardConnection::new(
                client,
                handle.clone(),
                store.clone(),
            ))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_over_the_limit_is_refused_and_the_old_one_kept() {
        let store = Store::new(Options { max_size: 4 });
        store
            .set(
                SharedBuffer::from_bytes(b"four").unwrap(),
                "text/plain".into(),
                HashMap::new(),
            )
            .unwrap();
        let refused = store.set(
            SharedBuffer::from_bytes(b"fives").unwrap(),
            "text/html".into(),
            HashMap::new(),
        );
        assert!(matches!(
            refused,
            Err(StoreError::TooLarge { len: 5, max: 4 })
        ));
        let content = store.get().unwrap();
        assert_eq!(content.data.as_slice(), b"four");
        assert_eq!(content.mime_type, "text/plain");
    }

    #[test]
    fn a_sealed_buffer_is_kept_and_an_unsealed_one_copied() {
        let store = Store::default();
        let mut sealed = SharedBuffer::from_bytes(b"sealed").unwrap();
        sealed.seal_read_only().unwrap();
        let fd = sealed.fd().unwrap().try_clone_to_owned().unwrap();
        let inode = rustix::fs::fstat(&fd).unwrap().st_ino;
        store.set(sealed, String::new(), HashMap::new()).unwrap();
        let kept = store.get().unwrap().data;
        assert_eq!(
            rustix::fs::fstat(kept.fd().unwrap()).unwrap().st_ino,
            inode,
            "no copy"
        );

        let mut open = SharedBuffer::from_bytes(b"open").unwrap();
        store
            .set(open.try_clone().unwrap(), String::new(), HashMap::new())
            .unwrap();
        open.as_mut_slice().unwrap().copy_from_slice(b"shut");
        let copied = store.get().unwrap().data;
        assert!(copied.is_sealed());
        assert_eq!(copied.as_slice(), b"open");
        // The sender's memory was pinned against shrinking before the copy.
        assert!(rustix::fs::ftruncate(open.fd().unwrap(), 0).is_err());
    }

    #[test]
    fn empty_data_empties_the_clipboard() {
        let store = Store::default();
        store
            .set(SharedBuffer::invalid(), "text/plain".into(), HashMap::new())
            .unwrap();
        assert!(!store.get().unwrap().data.is_valid());
        assert_eq!(store.mime_type(), "text/plain");
    }
}
