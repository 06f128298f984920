//! File descriptors: no bytes, the fd travels beside the body.
//!
//! Encoding duplicates the fd (the caller keeps its own; the duplicate is
//! close-on-exec). Decoding takes the next fd that arrived with the body; the
//! transport receives with `MSG_CMSG_CLOEXEC`, so it is close-on-exec
//! already.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::codec::{Decode, DecodeError, Decoder, Encode, EncodeError, Encoder};

impl Encode for OwnedFd {
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        encoder.put_fd(self.as_fd())
    }
}

impl Decode for OwnedFd {
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        decoder.take_fd()
    }
}

impl Encode for BorrowedFd<'_> {
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        encoder.put_fd(*self)
    }
}

impl Encode for File {
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        encoder.put_fd(self.as_fd())
    }
}

impl Decode for File {
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        decoder.take_fd().map(File::from)
    }
}
