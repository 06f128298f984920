//! [`SharedBuffer`]: SerenityOS's `Core::AnonymousBuffer`.

use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{FileType, MemfdFlags, OFlags, SealFlags, SeekFrom};
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
/// of the file ([`DecodeErrorKind::SharedBufferTooSmall`] when the file is
/// smaller), so a peer cannot make the receiver touch memory that is not
/// there; see the [module docs](super) for what the peer can still change in
/// an unsealed buffer, and [`SharedBuffer::seal_read_only`] for how a sender
/// gives that up.
///
/// # No `SIGBUS` from a shrinking file
///
/// A received file that could still shrink would raise `SIGBUS` in the
/// receiver on the first touch of a page the sender cut off. So a buffer is
/// only ever mapped once its file is sealed against shrinking
/// (`F_SEAL_SHRINK`):
///
/// 1. a file that carries the seal already is mapped (courier's own buffers
///    are created with it);
/// 2. otherwise the receiver adds the seal itself, which works for any
///    memfd created with `MFD_ALLOW_SEALING` and without `F_SEAL_SEAL`, sent
///    with write access; the size is checked after sealing, so it cannot
///    drop in between;
/// 3. otherwise (a memfd without sealing, a `/dev/shm` file, a read-only fd)
///    the receiver takes a **private copy**: it reads the bytes with
///    `pread` (which returns short instead of faulting if the file shrinks
///    meanwhile: a [`DecodeErrorKind::SharedBufferTooSmall`] error) into a
///    new buffer of its own. Holes in the
///    sender's file stay holes, so a sparse file cannot make the receiver
///    commit memory the sender never did. The copy no longer shares memory
///    with the sender: writes on either side are not seen by the other
///    ([`SharedBuffer::is_private_copy`] says so).
///
/// Copying rather than refusing keeps peers that cannot seal (a C++ LibIPC
/// peer's `anon_create` memfds have no `MFD_ALLOW_SEALING`) working, at the
/// cost of one copy. A receiver that needs the shared mapping should require
/// `!is_private_copy()`.
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
    /// A receiver's copy of a file it could not protect against shrinking.
    private_copy: bool,
}

impl SharedBuffer {
    /// A new zeroed buffer of `len` bytes, mapped read-write.
    ///
    /// Its file is sealed against shrinking from the start
    /// (`F_SEAL_SHRINK`), so a receiver can map it without fear of `SIGBUS`
    /// (see [the type's docs](SharedBuffer#no-sigbus-from-a-shrinking-file)).
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
        rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK).map_err(|e| ShmError::Create {
            len,
            source: e.into(),
        })?;
        let mapping = Mapping::map(fd.as_fd(), len, Access::ReadWrite)
            .map_err(|source| ShmError::Map { len, source })?;
        Ok(SharedBuffer {
            inner: Some(Inner {
                fd,
                mapping,
                private_copy: false,
            }),
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
            inner: Some(Inner {
                fd,
                mapping,
                private_copy: inner.private_copy,
            }),
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

    /// True for a received buffer that is this process's private copy of
    /// the sender's memory, taken because the sender's file could not be
    /// sealed against shrinking (see
    /// [the type's docs](SharedBuffer#no-sigbus-from-a-shrinking-file)):
    /// it holds the bytes as they were on receipt, and writes on either
    /// side are no longer seen by the other. False for buffers made here,
    /// buffers mapped from the sender's file, and the invalid buffer.
    ///
    /// ```
    /// # use courier::codec::{decode_from_parts, encode_to_parts};
    /// # use courier::shm::SharedBuffer;
    /// // courier's own buffers are sealed against shrinking: shared, not copied.
    /// let buffer = SharedBuffer::from_bytes(b"shared")?;
    /// let (bytes, fds) = encode_to_parts(&buffer)?;
    /// let received: SharedBuffer = decode_from_parts(&bytes, fds)?;
    /// assert!(!received.is_private_copy());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_private_copy(&self) -> bool {
        self.inner.as_ref().is_some_and(|inner| inner.private_copy)
    }

    /// Maps a buffer received from a peer once its file can no longer
    /// shrink, after checking that it really holds the `len` bytes it
    /// claims; takes a private copy of a file that cannot be sealed.
    pub(super) fn from_received(fd: OwnedFd, len: usize) -> Result<SharedBuffer, DecodeError> {
        let stat = fstat_received(&fd)?;
        let file_type = FileType::from_raw_mode(stat.st_mode);
        if file_type != FileType::RegularFile {
            return Err(DecodeErrorKind::Invalid(format!(
                "the fd sent as a shared buffer is a {file_type:?}, not a memory file"
            ))
            .into());
        }
        if !seal_against_shrinking(fd.as_fd()) {
            check_size(fd.as_fd(), len)?;
            return copy_received(fd.as_fd(), len);
        }
        // Sealed: the size checked now is the smallest the file will ever be.
        check_size(fd.as_fd(), len)?;
        let mapping = map_received(fd.as_fd(), len).map_err(|e| {
            DecodeError::from(DecodeErrorKind::Io(format!(
                "mapping a received shared buffer of {len} bytes failed: {e}"
            )))
        })?;
        Ok(SharedBuffer {
            inner: Some(Inner {
                fd,
                mapping,
                private_copy: false,
            }),
        })
    }
}

fn fstat_received(fd: &OwnedFd) -> Result<rustix::fs::Stat, DecodeError> {
    rustix::fs::fstat(fd).map_err(|e| {
        DecodeError::from(DecodeErrorKind::Io(format!(
            "fstat of a received shared buffer failed: {e}"
        )))
    })
}

/// Fails with [`DecodeErrorKind::SharedBufferTooSmall`] unless the file
/// behind `fd` holds at least `len` bytes.
fn check_size(fd: BorrowedFd<'_>, len: usize) -> Result<(), DecodeError> {
    let stat = rustix::fs::fstat(fd).map_err(|e| {
        DecodeError::from(DecodeErrorKind::Io(format!(
            "fstat of a received shared buffer failed: {e}"
        )))
    })?;
    let actual = u64::try_from(stat.st_size).unwrap_or(0);
    if actual < len as u64 {
        return Err(DecodeErrorKind::SharedBufferTooSmall {
            claimed: len as u64,
            actual,
        }
        .into());
    }
    Ok(())
}

/// Makes sure the file behind `fd` can never shrink: true when it carries
/// `F_SEAL_SHRINK` already or this call added it, false when it cannot be
/// sealed (not a sealable memfd, `F_SEAL_SEAL` set, or no write access).
fn seal_against_shrinking(fd: BorrowedFd<'_>) -> bool {
    if rustix::fs::fcntl_get_seals(fd).is_ok_and(|seals| seals.contains(SealFlags::SHRINK)) {
        return true;
    }
    rustix::fs::fcntl_add_seals(fd, SealFlags::SHRINK).is_ok()
}

/// Copies the first `len` bytes of the sender's file into a new buffer of
/// this process, reading (never mapping) the sender's file, and skipping its
/// holes so that the copy commits no more memory than the sender's file.
fn copy_received(fd: BorrowedFd<'_>, len: usize) -> Result<SharedBuffer, DecodeError> {
    let mut copy = SharedBuffer::new(len).map_err(|e| {
        DecodeError::from(DecodeErrorKind::Io(format!(
            "could not make a private copy of a received shared buffer that cannot be sealed: {e}"
        )))
    })?;
    let Some(memory) = copy.as_mut_slice() else {
        return Ok(copy);
    };
    // SEEK_DATA and SEEK_HOLE move the file offset, which the sender shares:
    // put it back afterwards.
    let offset = rustix::fs::seek(fd, SeekFrom::Current(0)).ok();
    let result = copy_data(fd, memory);
    if let Some(offset) = offset {
        let _ = rustix::fs::seek(fd, SeekFrom::Start(offset));
    }
    result?;
    if let Some(inner) = copy.inner.as_mut() {
        inner.private_copy = true;
    }
    Ok(copy)
}

/// Reads the data regions of `fd` that fall in `0..memory.len()` into
/// `memory` (zeroed, so holes need no copy).
fn copy_data(fd: BorrowedFd<'_>, memory: &mut [u8]) -> Result<(), DecodeError> {
    let len = memory.len() as u64;
    let mut at = 0u64;
    while at < len {
        let (start, end) = match rustix::fs::seek(fd, SeekFrom::Data(at)) {
            // No data past `at`: the rest is a hole.
            Err(Errno::NXIO) => return Ok(()),
            // The file system cannot tell holes: copy everything.
            Err(_) => (at, len),
            Ok(start) => {
                let end = rustix::fs::seek(fd, SeekFrom::Hole(start)).unwrap_or(len);
                (start, end.min(len))
            }
        };
        if start >= len {
            return Ok(());
        }
        read_exact_at(fd, &mut memory[start as usize..end as usize], start, len)?;
        at = end.max(start + 1);
    }
    Ok(())
}

/// Fills `buffer` from `fd` at `offset`; a short read means the sender
/// shrank the file while it was being copied, below the `claimed` size
/// ([`DecodeErrorKind::SharedBufferTooSmall`], with the size it had when the
/// read stopped).
fn read_exact_at(
    fd: BorrowedFd<'_>,
    buffer: &mut [u8],
    offset: u64,
    claimed: u64,
) -> Result<(), DecodeError> {
    let mut done = 0;
    while done < buffer.len() {
        match rustix::io::pread(fd, &mut buffer[done..], offset + done as u64) {
            Ok(0) => {
                return Err(DecodeErrorKind::SharedBufferTooSmall {
                    claimed,
                    actual: offset + done as u64,
                }
                .into());
            }
            Ok(n) => done += n,
            Err(Errno::INTR) => {}
            Err(e) => {
                return Err(DecodeErrorKind::Io(format!(
                    "reading a received shared buffer that cannot be sealed failed: {e}"
                ))
                .into());
            }
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use std::os::fd::{AsFd, OwnedFd};

    use rustix::fs::{MemfdFlags, SealFlags};

    use super::SharedBuffer;
    use crate::codec::{DecodeErrorKind, decode_from_parts, encode_to_parts};

    /// The wire form of a valid buffer of `len` bytes over `fd`.
    fn receive(fd: OwnedFd, len: u32) -> Result<SharedBuffer, crate::codec::DecodeError> {
        let mut bytes = vec![1];
        bytes.extend_from_slice(&len.to_le_bytes());
        decode_from_parts(&bytes, vec![fd])
    }

    fn memfd(flags: MemfdFlags, len: u64) -> OwnedFd {
        let fd = rustix::fs::memfd_create("test", flags | MemfdFlags::CLOEXEC).unwrap();
        rustix::fs::ftruncate(&fd, len).unwrap();
        fd
    }

    fn seals(fd: &OwnedFd) -> SealFlags {
        rustix::fs::fcntl_get_seals(fd).unwrap()
    }

    #[test]
    fn new_buffers_are_sealed_against_shrinking_from_the_start() {
        let buffer = SharedBuffer::new(4096).unwrap();
        let fd = buffer.fd().unwrap();
        assert!(
            rustix::fs::fcntl_get_seals(fd)
                .unwrap()
                .contains(SealFlags::SHRINK)
        );
        assert!(rustix::fs::ftruncate(fd, 0).is_err(), "it cannot shrink");
        assert!(!buffer.is_sealed(), "but it is not sealed read-only");
        let (bytes, fds) = encode_to_parts(&buffer).unwrap();
        let received: SharedBuffer = decode_from_parts(&bytes, fds).unwrap();
        assert!(!received.is_private_copy());
    }

    #[test]
    fn a_sealable_file_is_sealed_by_the_receiver_and_stays_shared() {
        let fd = memfd(MemfdFlags::ALLOW_SEALING, 8192);
        let mine = fd.try_clone().unwrap();
        assert!(!seals(&mine).contains(SealFlags::SHRINK));
        let received = receive(fd, 8192).unwrap();
        assert!(!received.is_private_copy());
        assert!(seals(&mine).contains(SealFlags::SHRINK));
        assert!(
            rustix::fs::ftruncate(&mine, 0).is_err(),
            "the sender can no longer shrink it"
        );
        rustix::io::pwrite(&mine, b"shared", 100).unwrap();
        assert_eq!(&received.as_slice()[100..106], b"shared");
    }

    #[test]
    fn an_unsealable_file_is_copied_holes_and_all() {
        let len = 4 << 20;
        let fd = memfd(MemfdFlags::empty(), len);
        rustix::io::pwrite(&fd, b"start", 0).unwrap();
        rustix::io::pwrite(&fd, b"middle", 2 << 20).unwrap();
        rustix::io::pwrite(&fd, b"end", len - 3).unwrap();
        let mine = fd.try_clone().unwrap();
        let offset = rustix::fs::seek(&mine, rustix::fs::SeekFrom::Start(17)).unwrap();
        let received = receive(fd, len as u32).unwrap();
        assert!(received.is_private_copy());
        let memory = received.as_slice();
        assert_eq!(&memory[..5], b"start");
        assert_eq!(&memory[2 << 20..(2 << 20) + 6], b"middle");
        assert_eq!(&memory[memory.len() - 3..], b"end");
        assert!(memory[5..2 << 20].iter().all(|&b| b == 0));
        // The sender's file offset is where it was.
        let now = rustix::fs::seek(&mine, rustix::fs::SeekFrom::Current(0)).unwrap();
        assert_eq!(now, offset);
        // The sender's truncation no longer matters, nor do its writes.
        rustix::fs::ftruncate(&mine, 0).unwrap();
        assert_eq!(&received.as_slice()[..5], b"start");
        assert!(received.try_clone().unwrap().is_private_copy());
    }

    #[test]
    fn a_sparse_unsealable_file_does_not_make_the_receiver_commit_memory() {
        // 1 GiB claimed, one page written: the copy holds one page too.
        let len: u64 = 1 << 30;
        let fd = memfd(MemfdFlags::empty(), len);
        rustix::io::pwrite(&fd, b"x", 12345).unwrap();
        let received = receive(fd, len as u32).unwrap();
        assert!(received.is_private_copy());
        let stat = rustix::fs::fstat(received.fd().unwrap()).unwrap();
        let allocated = stat.st_blocks as u64 * 512;
        assert!(allocated <= 1 << 20, "the copy allocated {allocated} bytes");
        assert_eq!(received.as_slice()[12345], b'x');
    }

    #[test]
    fn a_file_sealed_against_sealing_is_copied() {
        let fd = memfd(MemfdFlags::ALLOW_SEALING, 4096);
        rustix::fs::fcntl_add_seals(&fd, SealFlags::SEAL).unwrap();
        rustix::io::pwrite(&fd, b"sealed", 0).unwrap();
        let received = receive(fd, 4096).unwrap();
        assert!(received.is_private_copy());
        assert_eq!(&received.as_slice()[..6], b"sealed");
    }

    #[test]
    fn a_file_smaller_than_claimed_is_refused_before_any_copy() {
        let fd = memfd(MemfdFlags::empty(), 100);
        let error = receive(fd, 4096).unwrap_err();
        assert_eq!(
            error.kind(),
            &DecodeErrorKind::SharedBufferTooSmall {
                claimed: 4096,
                actual: 100
            }
        );
    }

    #[test]
    fn a_file_that_shrinks_during_the_copy_is_refused() {
        // What a sender truncating its file mid-copy leaves: the claimed
        // 8192 bytes, data up to 4096 only.
        let fd = memfd(MemfdFlags::empty(), 4096);
        rustix::io::pwrite(&fd, b"data", 0).unwrap();
        let mut memory = vec![0; 8192];
        let error = super::read_exact_at(fd.as_fd(), &mut memory, 0, 8192).unwrap_err();
        assert_eq!(
            error.kind(),
            &DecodeErrorKind::SharedBufferTooSmall {
                claimed: 8192,
                actual: 4096
            }
        );
        assert_eq!(&memory[..4], b"data");
    }
}
