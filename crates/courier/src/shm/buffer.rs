//! [`SharedBuffer`]: SerenityOS's `Core::AnonymousBuffer`.

use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{FileType, MemfdFlags, OFlags, SealFlags};
use rustix::io::Errno;

use super::ShmError;
use crate::codec::{Decode, DecodeError, DecodeErrorKind, Decoder, Encode, EncodeError, Encoder};
use crate::sys::mm::{Access, Mapping};

/// The seals that make a buffer's contents final.
const READ_ONLY_SEALS: SealFlags = SealFlags::WRITE
    .union(SealFlags::SHRINK)
    .union(SealFlags::GROW)
    .union(SealFlags::SEAL);

/// A block of memory shared with the peer: SerenityOS's
/// `Core::AnonymousBuffer`.
///
/// It is an anonymous memory file (`memfd_create`, close-on-exec, sealable)
/// mapped shared. Sending it sends a duplicate of the fd; the receiver maps
/// the same memory, so what one side writes the other reads, with no further
/// message. There is also an *invalid* buffer with no memory and no fd
/// (SerenityOS's default-constructed `AnonymousBuffer`), which is
/// [`Default`].
///
/// On the wire: a `bool` (valid), then, when valid, the size as a `u32` and
/// the fd (out of band). On receipt the size is checked against the real size
/// of the file, so a peer cannot make the receiver touch memory that is not
/// there; see the [module docs](super) for what the peer can still do to an
/// unsealed buffer, and [`SharedBuffer::seal_read_only`] for how a sender
/// gives that up.
///
/// # Example
///
/// ```
/// use courier::codec::{decode_from_parts, encode_to_parts};
/// use courier::shm::SharedBuffer;
///
/// let mut buffer = SharedBuffer::new(4096)?;
/// buffer.as_mut_slice().unwrap()[..5].copy_from_slice(b"hello");
///
/// // What the peer would receive: the same memory, mapped again.
/// let (bytes, fds) = encode_to_parts(&buffer)?;
/// assert_eq!(bytes, [1, 0x00, 0x10, 0x00, 0x00]);
/// let received: SharedBuffer = decode_from_parts(&bytes, fds)?;
/// assert_eq!(&received.as_slice()[..5], b"hello");
///
/// buffer.as_mut_slice().unwrap()[0] = b'j';
/// assert_eq!(&received.as_slice()[..5], b"jello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
#[doc(alias = "AnonymousBuffer")]
pub struct SharedBuffer {
    inner: Option<Inner>,
}

struct Inner {
    fd: OwnedFd,
    mapping: Mapping,
}

impl SharedBuffer {
    /// A new zeroed buffer of `len` bytes, mapped read-write.
    ///
    /// # Errors
    ///
    /// [`ShmError::TooLarge`] past `u32::MAX` bytes, [`ShmError::Create`] or
    /// [`ShmError::Map`] when the system refuses the memory.
    pub fn new(len: usize) -> Result<SharedBuffer, ShmError> {
        if u32::try_from(len).is_err() {
            return Err(ShmError::TooLarge { len });
        }
        let fd = rustix::fs::memfd_create(
            "courier-shared-buffer",
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
        )
        .map_err(|e| ShmError::Create {
            len,
            source: e.into(),
        })?;
        rustix::fs::ftruncate(&fd, len as u64).map_err(|e| ShmError::Create {
            len,
            source: e.into(),
        })?;
        let mapping = Mapping::map(fd.as_fd(), len, Access::ReadWrite)
            .map_err(|source| ShmError::Map { len, source })?;
        Ok(SharedBuffer {
            inner: Some(Inner { fd, mapping }),
        })
    }

    /// A new buffer holding a copy of `bytes`.
    ///
    /// ```
    /// # use courier::shm::SharedBuffer;
    /// let buffer = SharedBuffer::from_bytes(b"pixels")?;
    /// assert_eq!(buffer.as_slice(), b"pixels");
    /// # Ok::<(), courier::shm::ShmError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`SharedBuffer::new`].
    pub fn from_bytes(bytes: &[u8]) -> Result<SharedBuffer, ShmError> {
        let mut buffer = SharedBuffer::new(bytes.len())?;
        if let Some(memory) = buffer.as_mut_slice() {
            memory.copy_from_slice(bytes);
        }
        Ok(buffer)
    }

    /// The invalid buffer: no memory, no fd (also [`SharedBuffer::default`]).
    ///
    /// ```
    /// # use courier::shm::SharedBuffer;
    /// let buffer = SharedBuffer::invalid();
    /// assert!(!buffer.is_valid());
    /// assert!(buffer.as_slice().is_empty());
    /// ```
    pub const fn invalid() -> SharedBuffer {
        SharedBuffer { inner: None }
    }

    /// False for the invalid buffer.
    pub fn is_valid(&self) -> bool {
        self.inner.is_some()
    }

    /// The size in bytes (0 for the invalid buffer).
    pub fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |inner| inner.mapping.len())
    }

    /// True when the buffer holds no bytes (invalid or of size 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The memory (empty for the invalid buffer).
    ///
    /// The peer may change these bytes at any time unless the buffer
    /// [is sealed](SharedBuffer::is_sealed): treat them as untrusted input.
    pub fn as_slice(&self) -> &[u8] {
        self.inner
            .as_ref()
            .map_or(&[], |inner| inner.mapping.as_slice())
    }

    /// The memory, writable, or `None` when the buffer is invalid or mapped
    /// read-only (sealed, or received without write access).
    pub fn as_mut_slice(&mut self) -> Option<&mut [u8]> {
        self.inner.as_mut()?.mapping.as_mut_slice()
    }

    /// True when [`SharedBuffer::as_mut_slice`] gives the memory.
    pub fn is_writable(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|inner| inner.mapping.access() == Access::ReadWrite)
    }

    /// The memory file's fd, `None` for the invalid buffer.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.inner.as_ref().map(|inner| inner.fd.as_fd())
    }

    /// Another handle on the same memory: a duplicated fd, mapped again with
    /// the same access.
    ///
    /// # Errors
    ///
    /// [`ShmError::Create`] when the fd cannot be duplicated,
    /// [`ShmError::Map`] when it cannot be mapped.
    pub fn try_clone(&self) -> Result<SharedBuffer, ShmError> {
        let Some(inner) = &self.inner else {
            return Ok(SharedBuffer::invalid());
        };
        let len = inner.mapping.len();
        let fd = inner
            .fd
            .try_clone()
            .map_err(|source| ShmError::Create { len, source })?;
        let mapping = Mapping::map(fd.as_fd(), len, inner.mapping.access())
            .map_err(|source| ShmError::Map { len, source })?;
        Ok(SharedBuffer {
            inner: Some(Inner { fd, mapping }),
        })
    }

    /// Makes the contents final: seals the memory file against writing,
    /// shrinking, growing and further sealing
    /// (`F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`) and maps it
    /// read-only. From then on nobody, this process or a peer, can change the
    /// bytes, and a receiver can rely on them ([`SharedBuffer::is_sealed`]).
    /// Sealing a buffer that is already sealed does nothing.
    ///
    /// The kernel refuses the seal while any writable mapping of the memory
    /// exists, including one in a peer that already received the buffer or
    /// a copy from [`SharedBuffer::try_clone`]: seal before sending.
    ///
    /// ```
    /// # use courier::shm::SharedBuffer;
    /// let mut buffer = SharedBuffer::from_bytes(b"final")?;
    /// buffer.seal_read_only()?;
    /// assert!(buffer.is_sealed());
    /// assert!(buffer.as_mut_slice().is_none());
    /// assert_eq!(buffer.as_slice(), b"final");
    /// # Ok::<(), courier::shm::ShmError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ShmError::Invalid`] for the invalid buffer, [`ShmError::Seal`] when
    /// the kernel refuses (another writable mapping exists, or the fd was not
    /// created sealable); the buffer stays as it was. [`ShmError::Map`] when
    /// the read-only mapping fails after sealing; the buffer is then invalid.
    pub fn seal_read_only(&mut self) -> Result<(), ShmError> {
        if !self.is_valid() {
            return Err(ShmError::Invalid);
        }
        if self.is_sealed() && !self.is_writable() {
            return Ok(());
        }
        let Some(inner) = self.inner.as_mut() else {
            return Err(ShmError::Invalid);
        };
        let len = inner.mapping.len();
        let access = inner.mapping.access();
        // The kernel counts our own writable mapping too: unmap it first.
        drop(std::mem::replace(
            &mut inner.mapping,
            Mapping::empty(access),
        ));
        if let Err(error) = rustix::fs::fcntl_add_seals(&inner.fd, READ_ONLY_SEALS) {
            let restore = Mapping::map(inner.fd.as_fd(), len, access);
            return match restore {
                Ok(mapping) => {
                    inner.mapping = mapping;
                    Err(ShmError::Seal {
                        source: error.into(),
                    })
                }
                Err(source) => {
                    self.inner = None;
                    Err(ShmError::Map { len, source })
                }
            };
        }
        match Mapping::map(inner.fd.as_fd(), len, Access::ReadOnly) {
            Ok(mapping) => {
                inner.mapping = mapping;
                Ok(())
            }
            Err(source) => {
                self.inner = None;
                Err(ShmError::Map { len, source })
            }
        }
    }

    /// True when the memory file carries the seals of
    /// [`SharedBuffer::seal_read_only`] (at least write, shrink and grow):
    /// nobody can change these bytes any more. False for the invalid buffer
    /// and for files that cannot be sealed.
    pub fn is_sealed(&self) -> bool {
        let Some(inner) = &self.inner else {
            return false;
        };
        let needed = SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW;
        rustix::fs::fcntl_get_seals(&inner.fd).is_ok_and(|seals| seals.contains(needed))
    }

    /// Maps a buffer received from a peer, after checking that the file
    /// really holds the `len` bytes it claims.
    fn from_received(fd: OwnedFd, len: usize) -> Result<SharedBuffer, DecodeError> {
        let stat = rustix::fs::fstat(&fd).map_err(|e| {
            DecodeError::from(DecodeErrorKind::Io(format!(
                "fstat of a received shared buffer failed: {e}"
            )))
        })?;
        let file_type = FileType::from_raw_mode(stat.st_mode);
        if file_type != FileType::RegularFile {
            return Err(DecodeErrorKind::Invalid(format!(
                "the fd sent as a shared buffer is a {file_type:?}, not a memory file"
            ))
            .into());
        }
        let real = u64::try_from(stat.st_size).unwrap_or(0);
        if real < len as u64 {
            return Err(DecodeErrorKind::Invalid(format!(
                "shared buffer claims {len} bytes but its memory file holds only {real}; \
                 the sender is broken or hostile"
            ))
            .into());
        }
        let mapping = map_received(fd.as_fd(), len).map_err(|e| {
            DecodeError::from(DecodeErrorKind::Io(format!(
                "mapping a received shared buffer of {len} bytes failed: {e}"
            )))
        })?;
        Ok(SharedBuffer {
            inner: Some(Inner { fd, mapping }),
        })
    }
}

/// Maps read-write when the fd allows it (opened read-write, not sealed
/// against writing), read-only otherwise.
fn map_received(fd: BorrowedFd<'_>, len: usize) -> std::io::Result<Mapping> {
    let read_write = rustix::fs::fcntl_getfl(fd).is_ok_and(|flags| flags.contains(OFlags::RDWR));
    let write_sealed = rustix::fs::fcntl_get_seals(fd)
        .is_ok_and(|seals| seals.intersects(SealFlags::WRITE | SealFlags::FUTURE_WRITE));
    if read_write && !write_sealed {
        match Mapping::map(fd, len, Access::ReadWrite) {
            Ok(mapping) => return Ok(mapping),
            Err(error) if is_permission_error(&error) => {}
            Err(error) => return Err(error),
        }
    }
    Mapping::map(fd, len, Access::ReadOnly)
}

fn is_permission_error(error: &std::io::Error) -> bool {
    let code = error.raw_os_error();
    code == Some(Errno::ACCESS.raw_os_error()) || code == Some(Errno::PERM.raw_os_error())
}

impl fmt::Debug for SharedBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            None => f.write_str("SharedBuffer(invalid)"),
            Some(inner) => f
                .debug_struct("SharedBuffer")
                .field("len", &inner.mapping.len())
                .field("writable", &self.is_writable())
                .field("fd", &inner.fd)
                .finish(),
        }
    }
}

impl Encode for SharedBuffer {
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        match &self.inner {
            None => false.encode(encoder),
            Some(inner) => {
                true.encode(encoder)?;
                encoder.put_len(inner.mapping.len())?;
                encoder.put_fd(inner.fd.as_fd())
            }
        }
    }
}

impl Decode for SharedBuffer {
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        if !decoder.decode_field::<bool>("valid")? {
            return Ok(SharedBuffer::invalid());
        }
        let len = decoder.decode_field::<u32>("size")? as usize;
        let fd = decoder.take_fd().map_err(|e| e.in_field("fd"))?;
        SharedBuffer::from_received(fd, len)
    }
}
