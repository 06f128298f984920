//! Shared memory: buffers and bitmaps that travel as an fd, not as bytes.
//!
//! - [`SharedBuffer`]: SerenityOS's `Core::AnonymousBuffer`, a memfd mapped
//!   into both processes.
//! - [`ShareableBitmap`]: SerenityOS's `Gfx::ShareableBitmap` (the `[Bitmap]`
//!   attribute of an `.ipc` parameter), pixels in a [`SharedBuffer`].
//! - [`BitmapSequence`]: SerenityOS's `Gfx::BitmapSequence`, several frames
//!   back to back in one [`SharedBuffer`].
//!
//! Each is encoded as SerenityOS's LibCore and LibGfx encode it, so a body
//! is byte-identical to the C++ system's (each type's docs give the layout).
//! Sending one duplicates the fd; the receiver maps the same memory, so a
//! write on either side is seen by the other without another message.
//!
//! # Untrusted peers
//!
//! Decoding checks what the peer claims against what it sent, so a lying
//! peer gets a decode error instead of a `SIGBUS`: a buffer's size against
//! the real size of its file (`fstat`), failing with
//! [`DecodeErrorKind::SharedBufferTooSmall`](crate::codec::DecodeErrorKind::SharedBufferTooSmall);
//! a bitmap's pixels (`width * 4 * height` bytes, derived from its size,
//! since no byte count travels with its fd) the same way; every frame of a
//! sequence against the buffer, failing with
//! [`DecodeErrorKind::Invalid`](crate::codec::DecodeErrorKind::Invalid)
//! (the buffer itself is checked first, as a [`SharedBuffer`]). A scale
//! factor other than 1 is refused with
//! [`DecodeErrorKind::UnsupportedBitmapScale`](crate::codec::DecodeErrorKind::UnsupportedBitmapScale).
//!
//! A received file that could still **shrink** is never mapped: the receiver
//! maps only files sealed against shrinking (courier's own buffers are
//! created so, and the receiver adds the seal itself when it can), and
//! takes a private copy of any other, so a sender that truncates its file
//! after sending cannot raise `SIGBUS` in the receiver (see
//! [`SharedBuffer`]'s docs, "No `SIGBUS` from a shrinking file").
//!
//! One hazard remains with a buffer that is not sealed read-only, and it is
//! the nature of shared memory: the peer can **change the bytes** at any
//! moment, even while you hold a slice over them (treat them as untrusted
//! input, copy out before validating, never derive an unsafe invariant from
//! them). A sender that calls [`SharedBuffer::seal_read_only`] gives that up
//! for good, and the receiver can check it with [`SharedBuffer::is_sealed`].

mod bitmap;
mod buffer;
mod sequence;

pub use bitmap::{BitmapFormat, ShareableBitmap};
pub use buffer::SharedBuffer;
pub use sequence::{BitmapMetadata, BitmapSequence};

use std::io;

/// Why a shared-memory operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShmError {
    /// A buffer larger than the wire's `u32` size field can describe.
    #[error(
        "a shared buffer of {len} bytes is larger than the 4294967295 bytes the wire can describe; \
         split the data over several buffers"
    )]
    TooLarge {
        /// The requested size.
        len: usize,
    },
    /// The memory file could not be created or sized.
    #[error(
        "could not create a shared memory file of {len} bytes: {source}; \
         check the process's memory and descriptor limits"
    )]
    Create {
        /// The requested size.
        len: usize,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// The memory file could not be mapped.
    #[error("could not map {len} bytes of shared memory: {source}")]
    Map {
        /// The length to map.
        len: usize,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// The buffer could not be sealed.
    #[error(
        "could not seal the shared buffer read-only: {source}; sealing needs a buffer made by \
         SharedBuffer::new and no other writable mapping of it (drop other writable copies first)"
    )]
    Seal {
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// A write to a buffer that is mapped read-only.
    #[error(
        "the shared buffer is read-only (sealed, or received without write access); \
         copy it into a new buffer to change it"
    )]
    ReadOnly,
    /// An operation that needs memory on an invalid (empty) buffer or bitmap.
    #[error("the shared buffer or bitmap is invalid: it holds no memory")]
    Invalid,
    /// Bitmap dimensions, pitch or offsets that do not fit their buffer.
    #[error("{0}")]
    Layout(String),
    /// A pixel outside the bitmap.
    #[error("pixel ({x}, {y}) is outside the {width}x{height} bitmap")]
    OutOfBounds {
        /// The column asked for.
        x: u32,
        /// The row asked for.
        y: u32,
        /// The bitmap's width.
        width: u32,
        /// The bitmap's height.
        height: u32,
    },
}

/// The largest width or height a received bitmap may have.
pub const MAX_BITMAP_DIMENSION: u32 = 32768;

/// Checks a bitmap's sides: each in `1..=MAX_BITMAP_DIMENSION`.
pub(crate) fn check_sides(width: u32, height: u32) -> Result<(), String> {
    if width == 0 || height == 0 || width > MAX_BITMAP_DIMENSION || height > MAX_BITMAP_DIMENSION {
        return Err(format!(
            "bitmap of {width}x{height} pixels: each side must be between 1 and \
             {MAX_BITMAP_DIMENSION}"
        ));
    }
    Ok(())
}

/// The sides of a size read from the wire (`i32`s), checked as
/// [`check_sides`] does.
pub(crate) fn sides_of(size: crate::gfx::IntSize) -> Result<(u32, u32), String> {
    match (u32::try_from(size.width), u32::try_from(size.height)) {
        (Ok(width), Ok(height)) => check_sides(width, height).map(|()| (width, height)),
        _ => Err(format!(
            "bitmap of {}x{} pixels: each side must be between 1 and {MAX_BITMAP_DIMENSION}",
            size.width, size.height
        )),
    }
}

/// The bytes of a bitmap whose rows are packed (`width * 4` bytes apart),
/// as SerenityOS lays out every bitmap it sends: `width * 4 * height`.
/// Exact for any `u32` sides.
pub(crate) fn packed_len(width: u32, height: u32) -> u64 {
    u64::from(width) * u64::from(BitmapFormat::BYTES_PER_PIXEL) * u64::from(height)
}

/// Checks one bitmap layout against the buffer that holds it: sides in
/// `1..=MAX_BITMAP_DIMENSION`, `pitch >= width * 4`, and
/// `pitch * height <= buffer_len`, all in checked arithmetic. Returns the
/// byte range of the pixels (from the start of the buffer).
pub(crate) fn check_layout(
    width: u32,
    height: u32,
    pitch: u32,
    buffer_len: usize,
) -> Result<std::ops::Range<usize>, String> {
    check_sides(width, height)?;
    let row_bytes = u64::from(width) * u64::from(BitmapFormat::BYTES_PER_PIXEL);
    if u64::from(pitch) < row_bytes {
        return Err(format!(
            "bitmap pitch of {pitch} bytes is less than its {width} pixels of 4 bytes need \
             ({row_bytes} bytes)"
        ));
    }
    let end = u64::from(pitch) * u64::from(height);
    if end > buffer_len as u64 {
        return Err(format!(
            "bitmap rows need {end} bytes ({height} rows of {pitch} bytes) but the shared \
             buffer holds only {buffer_len} bytes"
        ));
    }
    // Fits in usize: `end <= buffer_len`.
    Ok(0..end as usize)
}
