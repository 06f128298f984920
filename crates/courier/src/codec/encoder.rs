use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::{Encode, EncodeError};

/// Collects the bytes and the fds of one message body.
///
/// The bytes are written in order; fds are kept beside them, in the order
/// they were appended, and travel with the body (SCM_RIGHTS on a socket).
#[derive(Debug, Default)]
pub struct Encoder {
    bytes: Vec<u8>,
    fds: Vec<OwnedFd>,
}

impl Encoder {
    /// An empty encoder.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// An empty encoder with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Encoder {
        Encoder {
            bytes: Vec::with_capacity(capacity),
            fds: Vec::new(),
        }
    }

    /// An encoder that appends to `bytes` (reusing its allocation).
    pub fn from_vec(bytes: Vec<u8>) -> Encoder {
        Encoder {
            bytes,
            fds: Vec::new(),
        }
    }

    /// Encodes `value` (shorthand for `value.encode(self)`).
    ///
    /// # Errors
    ///
    /// See [`Encode::encode`].
    #[inline]
    pub fn encode<T: Encode + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        value.encode(self)
    }

    /// Appends raw bytes.
    #[inline]
    pub fn put_bytes(&mut self, bytes: &[u8]) {
        if bytes.len() > self.bytes.capacity() - self.bytes.len() {
            // Room for all of it at once; huge pages when that is large.
            self.bytes.reserve(bytes.len());
            crate::sys::mm::advise_huge_pages(&mut self.bytes);
        }
        self.bytes.extend_from_slice(bytes);
    }

    /// Appends a `u32` length or count.
    ///
    /// # Errors
    ///
    /// [`EncodeError`] when `len` does not fit in a `u32`.
    #[inline]
    pub fn put_len(&mut self, len: usize) -> Result<(), EncodeError> {
        let len = u32::try_from(len).map_err(|_| EncodeError::too_long(len))?;
        self.put_bytes(&len.to_le_bytes());
        Ok(())
    }

    /// Appends a duplicate of `fd` (the caller keeps its own). The duplicate
    /// is close-on-exec.
    ///
    /// # Errors
    ///
    /// [`EncodeError`] when the process is out of descriptors.
    pub fn put_fd(&mut self, fd: BorrowedFd<'_>) -> Result<(), EncodeError> {
        let dup = fd.try_clone_to_owned().map_err(EncodeError::dup_failed)?;
        self.fds.push(dup);
        Ok(())
    }

    /// Appends an fd the encoder takes ownership of.
    pub fn put_owned_fd(&mut self, fd: OwnedFd) {
        self.fds.push(fd);
    }

    /// Appends a duplicate of anything that has an fd.
    ///
    /// # Errors
    ///
    /// See [`Encoder::put_fd`].
    pub fn put_as_fd(&mut self, value: &impl AsFd) -> Result<(), EncodeError> {
        self.put_fd(value.as_fd())
    }

    /// The bytes written so far.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The number of fds appended so far.
    pub fn fd_count(&self) -> usize {
        self.fds.len()
    }

    /// Mutable access to the byte buffer, for bulk writers.
    #[doc(hidden)]
    pub fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// The bytes and the fds.
    pub fn into_parts(self) -> (Vec<u8>, Vec<OwnedFd>) {
        (self.bytes, self.fds)
    }
}
