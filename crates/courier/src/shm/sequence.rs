//! [`BitmapSequence`]: SerenityOS's `Gfx::BitmapSequence`.

use std::ops::Range;

use super::{
    BitmapFormat, ShareableBitmap, SharedBuffer, ShmError, check_sides, packed_len, sides_of,
};
use crate::codec::{Decode, DecodeError, DecodeErrorKind, Decoder, Encode, EncodeError, Encoder};
use crate::gfx::IntSize;
use crate::{Decode as DeriveDecode, Encode as DeriveEncode};

/// One frame of a [`BitmapSequence`] as the wire describes it: SerenityOS's
/// `Gfx::BitmapMetadata`.
///
/// On the wire, in this order: the format as a `u32`, the size as a
/// `Gfx::IntSize` (`i32` width, `i32` height), the scale as an `i32`, and
/// `size_in_bytes` as a `u64` (C++'s `size_t` on a 64-bit system). The frame
/// carries no offset: its pixels follow the previous present frame's in the
/// sequence's buffer (see [`BitmapSequence::frame_offset`]), rows packed
/// (`width * 4` bytes apart).
///
/// ```
/// use courier::gfx::IntSize;
/// use courier::shm::{BitmapFormat, BitmapMetadata};
///
/// let frame = BitmapMetadata::new(3, 2, BitmapFormat::Rgba8888)?;
/// assert_eq!(frame.size, IntSize::new(3, 2));
/// assert_eq!((frame.scale, frame.size_in_bytes), (1, 24));
/// assert_eq!((frame.width(), frame.height(), frame.pitch()), (3, 2, 12));
/// # Ok::<(), courier::shm::ShmError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, DeriveEncode, DeriveDecode)]
#[doc(alias = "Gfx::BitmapMetadata")]
pub struct BitmapMetadata {
    /// The pixel format.
    pub format: BitmapFormat,
    /// Width and height in pixels.
    pub size: IntSize,
    /// The scale factor; courier makes and takes 1 only.
    pub scale: i32,
    /// The bytes the frame takes in the buffer: at least
    /// `width * 4 * height` (the pixels, rows packed); the next frame starts
    /// this many bytes later.
    pub size_in_bytes: u64,
}

impl BitmapMetadata {
    /// The metadata of a frame of `width` x `height` pixels at scale 1, rows
    /// packed: `size_in_bytes = width * 4 * height`.
    ///
    /// # Errors
    ///
    /// [`ShmError::Layout`] when a side is 0 or larger than
    /// [`MAX_BITMAP_DIMENSION`](super::MAX_BITMAP_DIMENSION).
    pub fn new(width: u32, height: u32, format: BitmapFormat) -> Result<BitmapMetadata, ShmError> {
        check_sides(width, height).map_err(ShmError::Layout)?;
        Ok(BitmapMetadata {
            format,
            // Both fit: at most MAX_BITMAP_DIMENSION.
            size: IntSize::new(width as i32, height as i32),
            scale: 1,
            size_in_bytes: packed_len(width, height),
        })
    }

    /// Width in pixels (0 when the size's width is negative).
    pub fn width(&self) -> u32 {
        u32::try_from(self.size.width).unwrap_or(0)
    }

    /// Height in pixels (0 when the size's height is negative).
    pub fn height(&self) -> u32 {
        u32::try_from(self.size.height).unwrap_or(0)
    }

    /// Bytes from one row to the next: `width * 4` (rows are packed).
    pub fn pitch(&self) -> u32 {
        self.width().saturating_mul(BitmapFormat::BYTES_PER_PIXEL)
    }

    /// Checks the frame on its own: scale, sides, and a `size_in_bytes`
    /// that holds its pixels.
    fn check(&self) -> Result<(), FrameFault> {
        if self.scale != 1 {
            return Err(FrameFault::Scale(self.scale));
        }
        let (width, height) = sides_of(self.size).map_err(FrameFault::Layout)?;
        let needed = packed_len(width, height);
        if self.size_in_bytes < needed {
            return Err(FrameFault::Layout(format!(
                "a frame of {width}x{height} pixels needs {needed} bytes but its size_in_bytes \
                 is {}",
                self.size_in_bytes
            )));
        }
        Ok(())
    }
}

/// Why a frame does not fit.
enum FrameFault {
    /// A scale factor other than 1.
    Scale(i32),
    /// Sides, size or place in the buffer.
    Layout(String),
}

/// Frames (some possibly absent) sharing one buffer: SerenityOS's
/// `Gfx::BitmapSequence`, for animations and multi-page images.
///
/// # On the wire
///
/// As SerenityOS's LibGfx encodes it: a `Vector<Optional<BitmapMetadata>>`
/// (a `u32` count, then per frame a `bool` present and, when present, its
/// [`BitmapMetadata`]), then one [`SharedBuffer`] (`Core::AnonymousBuffer`:
/// `bool` valid, `u32` size, the fd) in which the present frames' pixels lie
/// back to back, in order, each `size_in_bytes` long, rows packed. A sequence
/// with no present frame sends the invalid buffer.
///
/// # On receipt
///
/// The buffer is checked first, as any [`SharedBuffer`] (a memory file
/// smaller than its size fails with
/// [`DecodeErrorKind::SharedBufferTooSmall`], in field `buffer`). Then the
/// receiver walks the present frames with a running offset, as SerenityOS
/// does: each frame's scale must be 1
/// ([`DecodeErrorKind::UnsupportedBitmapScale`]), its sides between 1 and
/// [`MAX_BITMAP_DIMENSION`](super::MAX_BITMAP_DIMENSION), its
/// `size_in_bytes` at least its pixels' `width * 4 * height`, and
/// `offset + size_in_bytes` must neither overflow nor run past the buffer
/// ([`DecodeErrorKind::Invalid`]); errors name the frame (`frames[2]`).
///
/// # Example
///
/// ```
/// use courier::codec::{decode_from_parts, encode_to_parts};
/// use courier::shm::{BitmapFormat, BitmapSequence};
///
/// let mut frames = BitmapSequence::new(&[
///     Some((2, 2, BitmapFormat::Bgra8888)),
///     None,
///     Some((1, 1, BitmapFormat::Rgba8888)),
/// ])?;
/// frames.frame_pixels_mut(2).unwrap().copy_from_slice(&[1, 2, 3, 4]);
/// assert_eq!(frames.frame_offset(2), Some(16));
///
/// let (bytes, fds) = encode_to_parts(&frames)?;
/// let received: BitmapSequence = decode_from_parts(&bytes, fds)?;
/// assert_eq!(received.len(), 3);
/// assert_eq!(received.frame_pixels(0).map(<[u8]>::len), Some(16));
/// assert_eq!(received.frame_pixels(1), None);
/// assert_eq!(received.frame_pixels(2), Some(&[1, 2, 3, 4][..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
#[doc(alias = "Gfx::BitmapSequence")]
pub struct BitmapSequence {
    /// Every present frame fits `buffer` at its running offset (checked on
    /// construction, so the offsets cannot overflow).
    frames: Vec<Option<BitmapMetadata>>,
    buffer: SharedBuffer,
}

impl BitmapSequence {
    /// A sequence of zeroed frames of the given `(width, height, format)`,
    /// packed one after the other in a new buffer; `None` entries are absent
    /// frames.
    ///
    /// # Errors
    ///
    /// [`ShmError::Layout`] for a frame with a side of 0 or larger than
    /// [`MAX_BITMAP_DIMENSION`](super::MAX_BITMAP_DIMENSION),
    /// [`ShmError::TooLarge`] when all frames together pass the wire's `u32`
    /// size, or the errors of [`SharedBuffer::new`].
    pub fn new(frames: &[Option<(u32, u32, BitmapFormat)>]) -> Result<BitmapSequence, ShmError> {
        let mut metadata = Vec::with_capacity(frames.len());
        let mut total: u64 = 0;
        for (index, frame) in frames.iter().enumerate() {
            let Some((width, height, format)) = *frame else {
                metadata.push(None);
                continue;
            };
            let frame =
                BitmapMetadata::new(width, height, format).map_err(|error| match error {
                    ShmError::Layout(why) => ShmError::Layout(format!("frame {index}: {why}")),
                    other => other,
                })?;
            total = total.saturating_add(frame.size_in_bytes);
            metadata.push(Some(frame));
        }
        let len = usize::try_from(total).unwrap_or(usize::MAX);
        let buffer = if len == 0 {
            SharedBuffer::invalid()
        } else {
            SharedBuffer::new(len)?
        };
        BitmapSequence::from_parts(metadata, buffer)
    }

    /// A sequence holding copies of `bitmaps` (`None` and invalid bitmaps
    /// become absent frames), packed in a new buffer.
    ///
    /// # Errors
    ///
    /// As [`BitmapSequence::new`].
    pub fn from_bitmaps<'a>(
        bitmaps: impl IntoIterator<Item = Option<&'a ShareableBitmap>>,
    ) -> Result<BitmapSequence, ShmError> {
        let bitmaps: Vec<Option<&ShareableBitmap>> = bitmaps
            .into_iter()
            .map(|b| b.filter(|b| b.is_valid()))
            .collect();
        let shapes: Vec<_> = bitmaps
            .iter()
            .map(|b| b.map(|b| (b.width(), b.height(), b.format())))
            .collect();
        let mut sequence = BitmapSequence::new(&shapes)?;
        for (index, bitmap) in bitmaps.iter().enumerate() {
            let Some(bitmap) = bitmap else { continue };
            let Some(target) = sequence.frame_pixels_mut(index) else {
                continue;
            };
            let row_bytes = bitmap.width() as usize * 4;
            for (y, row) in target.chunks_exact_mut(row_bytes).enumerate() {
                if let Some(source) = bitmap.row(y as u32) {
                    row.copy_from_slice(source);
                }
            }
        }
        Ok(sequence)
    }

    /// A sequence over an existing buffer, with the checks a received one
    /// gets: the present frames lie back to back from the start of
    /// `buffer`, each `size_in_bytes` long.
    ///
    /// # Errors
    ///
    /// [`ShmError::Layout`] naming the first frame that does not fit (or
    /// whose scale is not 1).
    pub fn from_parts(
        frames: Vec<Option<BitmapMetadata>>,
        buffer: SharedBuffer,
    ) -> Result<BitmapSequence, ShmError> {
        check_frames(&frames, buffer.len()).map_err(|(index, fault)| {
            let why = match fault {
                FrameFault::Scale(scale) => format!(
                    "scale factor {scale} is not supported; courier lays out frames at scale 1"
                ),
                FrameFault::Layout(why) => why,
            };
            ShmError::Layout(format!("frame {index}: {why}"))
        })?;
        Ok(BitmapSequence { frames, buffer })
    }

    /// The number of frames, absent ones included.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when there are no frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Every frame's metadata, `None` for absent frames.
    pub fn frames(&self) -> &[Option<BitmapMetadata>] {
        &self.frames
    }

    /// Frame `index`'s metadata, `None` when absent or past the end.
    pub fn frame(&self, index: usize) -> Option<&BitmapMetadata> {
        self.frames.get(index)?.as_ref()
    }

    /// Where frame `index`'s pixels start in the buffer: the sum of the
    /// `size_in_bytes` of the present frames before it. `None` when absent
    /// or past the end.
    pub fn frame_offset(&self, index: usize) -> Option<usize> {
        Some(self.frame_range(index)?.start)
    }

    /// The buffer holding every frame.
    pub fn buffer(&self) -> &SharedBuffer {
        &self.buffer
    }

    /// Frame `index`'s `width * 4 * height` bytes of pixels, rows packed;
    /// `None` when absent or past the end. The peer may change them: see
    /// [`SharedBuffer::as_slice`].
    pub fn frame_pixels(&self, index: usize) -> Option<&[u8]> {
        let range = self.frame_range(index)?;
        self.buffer.as_slice().get(range)
    }

    /// Frame `index`'s pixels, writable; `None` when absent, past the end,
    /// or the buffer is read-only.
    pub fn frame_pixels_mut(&mut self, index: usize) -> Option<&mut [u8]> {
        let range = self.frame_range(index)?;
        self.buffer.as_mut_slice()?.get_mut(range)
    }

    /// A copy of frame `index` as a bitmap of its own (in a new buffer),
    /// `Ok(None)` when absent or past the end.
    ///
    /// # Errors
    ///
    /// The errors of [`ShareableBitmap::new`].
    pub fn to_bitmap(&self, index: usize) -> Result<Option<ShareableBitmap>, ShmError> {
        let (Some(frame), Some(pixels)) = (self.frame(index), self.frame_pixels(index)) else {
            return Ok(None);
        };
        let mut bitmap = ShareableBitmap::new(frame.width(), frame.height(), frame.format)?;
        if let Some(target) = bitmap.pixels_mut() {
            // Both are the frame's pixels, rows packed: the same length.
            if target.len() == pixels.len() {
                target.copy_from_slice(pixels);
            }
        }
        Ok(Some(bitmap))
    }

    /// The byte range of frame `index`'s pixels: walks the frames before it
    /// (construction checked that no sum overflows or passes the buffer).
    fn frame_range(&self, index: usize) -> Option<Range<usize>> {
        let frame = self.frame(index)?;
        let offset: u64 = self.frames[..index]
            .iter()
            .flatten()
            .map(|frame| frame.size_in_bytes)
            .sum();
        let start = usize::try_from(offset).ok()?;
        let len = usize::try_from(packed_len(frame.width(), frame.height())).ok()?;
        Some(start..start.checked_add(len)?)
    }
}

/// Walks the present frames with a running offset, as SerenityOS's receiver
/// does, checking each against a buffer of `buffer_len` bytes; fails with
/// the first frame that does not fit.
fn check_frames(
    frames: &[Option<BitmapMetadata>],
    buffer_len: usize,
) -> Result<(), (usize, FrameFault)> {
    let mut offset: u64 = 0;
    for (index, frame) in frames.iter().enumerate() {
        let Some(frame) = frame else {
            continue;
        };
        frame.check().map_err(|fault| (index, fault))?;
        let end = offset
            .checked_add(frame.size_in_bytes)
            .filter(|end| *end <= buffer_len as u64)
            .ok_or_else(|| {
                let why = format!(
                    "the frame needs {} bytes from offset {offset} but the shared buffer holds \
                     only {buffer_len} bytes",
                    frame.size_in_bytes
                );
                (index, FrameFault::Layout(why))
            })?;
        offset = end;
    }
    Ok(())
}

impl Encode for BitmapSequence {
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        self.frames.encode(encoder)?;
        self.buffer.encode(encoder)
    }
}

impl Decode for BitmapSequence {
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let frames: Vec<Option<BitmapMetadata>> = decoder.decode_field("frames")?;
        let buffer: SharedBuffer = decoder.decode_field("buffer")?;
        check_frames(&frames, buffer.len()).map_err(|(index, fault)| {
            let error = match fault {
                FrameFault::Scale(scale) => {
                    DecodeError::from(DecodeErrorKind::UnsupportedBitmapScale {
                        scale: i64::from(scale),
                    })
                    .in_field("scale")
                }
                FrameFault::Layout(why) => DecodeError::from(DecodeErrorKind::Invalid(why)),
            };
            error.in_field(format!("[{index}]")).in_field("frames")
        })?;
        Ok(BitmapSequence { frames, buffer })
    }
}
