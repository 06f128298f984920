use std::collections::VecDeque;
use std::os::fd::OwnedFd;

use super::{Decode, DecodeError, DecodeErrorKind};

/// Reads values from one message body and hands out its fds in order.
///
/// Fds not taken by the time the decoder is dropped are closed.
#[derive(Debug)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    fds: VecDeque<OwnedFd>,
}

impl<'a> Decoder<'a> {
    /// A decoder over `bytes`, with the fds that arrived with them.
    pub fn new(bytes: &'a [u8], fds: Vec<OwnedFd>) -> Decoder<'a> {
        Decoder {
            bytes,
            pos: 0,
            fds: fds.into(),
        }
    }

    /// Decodes a `T` (shorthand for `T::decode(self)`).
    ///
    /// # Errors
    ///
    /// See [`Decode::decode`].
    #[inline]
    pub fn decode<T: Decode>(&mut self) -> Result<T, DecodeError> {
        T::decode(self)
    }

    /// Decodes a `T` and, on failure, adds `field` to the error's path.
    ///
    /// # Errors
    ///
    /// See [`Decode::decode`].
    #[inline]
    pub fn decode_field<T: Decode>(&mut self, field: &'static str) -> Result<T, DecodeError> {
        T::decode(self).map_err(|e| e.in_field(field))
    }

    /// Bytes not yet read.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Fds not yet taken.
    #[inline]
    pub fn remaining_fds(&self) -> usize {
        self.fds.len()
    }

    /// Takes the next `n` bytes.
    ///
    /// # Errors
    ///
    /// [`DecodeErrorKind::Truncated`] when fewer than `n` are left.
    #[inline]
    pub fn take_bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let available = self.remaining();
        if n > available {
            return Err(DecodeErrorKind::Truncated {
                needed: n,
                available,
            }
            .into());
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.bytes[start..self.pos])
    }

    /// Takes the next `N` bytes as an array.
    ///
    /// # Errors
    ///
    /// [`DecodeErrorKind::Truncated`] when fewer than `N` are left.
    #[inline]
    pub fn take_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take_bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Reads a `u32` count and checks that `count * min_element_bytes` bytes
    /// (or, for elements made of fds only, `count` fds) could still be there.
    ///
    /// # Errors
    ///
    /// [`DecodeErrorKind::Truncated`] or [`DecodeErrorKind::CountTooLarge`].
    pub fn take_count(&mut self, min_element_bytes: usize) -> Result<usize, DecodeError> {
        let count = u32::from_le_bytes(self.take_array()?) as usize;
        let available = self.remaining();
        let fits = if min_element_bytes == 0 {
            count <= available + self.remaining_fds()
        } else {
            count
                .checked_mul(min_element_bytes)
                .is_some_and(|n| n <= available)
        };
        if !fits {
            return Err(DecodeErrorKind::CountTooLarge {
                count: count as u64,
                available,
            }
            .into());
        }
        Ok(count)
    }

    /// Takes the next fd.
    ///
    /// # Errors
    ///
    /// [`DecodeErrorKind::MissingFd`] when none is left.
    pub fn take_fd(&mut self) -> Result<OwnedFd, DecodeError> {
        self.fds
            .pop_front()
            .ok_or_else(|| DecodeErrorKind::MissingFd.into())
    }

    /// Checks that every byte and every fd was used. Unused fds are closed.
    ///
    /// # Errors
    ///
    /// [`DecodeErrorKind::TrailingBytes`] or [`DecodeErrorKind::UnclaimedFds`].
    pub fn finish(mut self) -> Result<(), DecodeError> {
        if self.remaining() > 0 {
            return Err(DecodeErrorKind::TrailingBytes(self.remaining()).into());
        }
        if !self.fds.is_empty() {
            let n = self.fds.len();
            self.fds.clear();
            return Err(DecodeErrorKind::UnclaimedFds(n).into());
        }
        Ok(())
    }

    /// The default element loop behind [`Decode::decode_vec`]: reserves no
    /// more than the bytes left could hold, then decodes one by one.
    #[doc(hidden)]
    pub fn decode_vec_default<T: Decode>(&mut self, count: usize) -> Result<Vec<T>, DecodeError> {
        let element_size = std::mem::size_of::<T>().max(1);
        let mut out = Vec::with_capacity(count.min(self.remaining() / element_size));
        for index in 0..count {
            let before = (self.remaining(), self.remaining_fds());
            let item = T::decode(self).map_err(|e| e.in_field(format!("[{index}]")))?;
            if (self.remaining(), self.remaining_fds()) == before {
                // An element that takes nothing from the wire would let a
                // tiny message claim billions of them.
                return Err(DecodeError::from(DecodeErrorKind::Invalid(format!(
                    "elements of `{}` take no bytes, so a count cannot be trusted",
                    std::any::type_name::<T>()
                )))
                .in_field(format!("[{index}]")));
            }
            out.push(item);
        }
        Ok(out)
    }
}
