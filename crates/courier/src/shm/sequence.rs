//! [`BitmapSequence`]: SerenityOS's `Gfx::BitmapSequence`.

use std::ops::Range;

use super::{BitmapFormat, ShareableBitmap, SharedBuffer, ShmError, check_layout};
use crate::codec::{Decode, DecodeError, DecodeErrorKind, Decoder, Encode, EncodeError, Encoder};
use crate::{Decode as DeriveDecode, Encode as DeriveEncode};

/// Where one frame of a [`BitmapSequence`] lies in the shared buffer.
///
/// On the wire: `width`, `height`, `pitch` as `u32`, the format as a `u8`,
/// then `offset` as a `u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, DeriveEncode, DeriveDecode)]
pub struct BitmapMetadata {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes from one row to the next, at least `width * 4`.
    pub pitch: u32,
    /// The pixel format.
    pub format: BitmapFormat,
    /// Where the first row starts in the buffer.
    pub offset: u32,
}

impl BitmapMetadata {
    /// Checks this frame against a buffer of `buffer_len` bytes and returns
    /// the byte range of its pixels.
    fn range(&self, buffer_len: usize) -> Result<Range<usize>, String> {
        check_layout(self.width, self.height, self.pitch, self.offset, buffer_len)
    }
}

/// Frames (some possibly absent) sharing one buffer: SerenityOS's
/// `Gfx::BitmapSequence`, for animations and multi-page images.
///
/// On the wire: a `u32` count, then for each frame a `bool` (present) and,
/// when present, its [`BitmapMetadata`]; then the [`SharedBuffer`] holding
/// every frame. On receipt each present frame is checked as a
/// [`ShareableBitmap`] is, and its `offset + pitch * height` must fit the
/// buffer; otherwise the decode fails with [`DecodeErrorKind::Invalid`] naming
/// the frame. A memory file smaller than the buffer's size fails first, with
/// [`DecodeErrorKind::SharedBufferTooSmall`] (in field `buffer`).
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
    /// Every present frame fits `buffer` (checked on construction).
    frames: Vec<Option<BitmapMetadata>>,
    buffer: SharedBuffer,
}

impl BitmapSequence {
    /// A sequence of zeroed frames of the given `(width, height, format)`,
    /// packed one after the other (`pitch = width * 4`) in a new buffer;
    /// `None` entries are absent frames.
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
            let pitch = width.saturating_mul(BitmapFormat::BYTES_PER_PIXEL);
            let offset = u32::try_from(total).map_err(|_| ShmError::TooLarge {
                len: usize::try_from(total).unwrap_or(usize::MAX),
            })?;
            let range = check_layout(width, height, pitch, 0, usize::MAX)
                .map_err(|why| ShmError::Layout(format!("frame {index}: {why}")))?;
            total += range.end as u64;
            metadata.push(Some(BitmapMetadata {
                width,
                height,
                pitch,
                format,
                offset,
            }));
        }
        let len = usize::try_from(total).map_err(|_| ShmError::TooLarge { len: usize::MAX })?;
        let buffer = if len == 0 {
            SharedBuffer::invalid()
        } else {
            SharedBuffer::new(len)?
        };
        Ok(BitmapSequence {
            frames: metadata,
            buffer,
        })
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
    /// gets.
    ///
    /// # Errors
    ///
    /// [`ShmError::Layout`] naming the first frame that does not fit.
    pub fn from_parts(
        frames: Vec<Option<BitmapMetadata>>,
        buffer: SharedBuffer,
    ) -> Result<BitmapSequence, ShmError> {
        check_frames(&frames, buffer.len())
            .map_err(|(index, why)| ShmError::Layout(format!("frame {index}: {why}")))?;
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

    /// The buffer holding every frame.
    pub fn buffer(&self) -> &SharedBuffer {
        &self.buffer
    }

    /// Frame `index`'s `pitch * height` bytes, `None` when absent or past the
    /// end. The peer may change them: see [`SharedBuffer::as_slice`].
    pub fn frame_pixels(&self, index: usize) -> Option<&[u8]> {
        let range = self.frame(index)?.range(self.buffer.len()).ok()?;
        self.buffer.as_slice().get(range)
    }

    /// Frame `index`'s bytes, writable; `None` when absent, past the end, or
    /// the buffer is read-only.
    pub fn frame_pixels_mut(&mut self, index: usize) -> Option<&mut [u8]> {
        let range = self.frame(index)?.range(self.buffer.len()).ok()?;
        self.buffer.as_mut_slice()?.get_mut(range)
    }

    /// A copy of frame `index` as a bitmap of its own (in a new buffer, rows
    /// packed), `Ok(None)` when absent or past the end.
    ///
    /// # Errors
    ///
    /// The errors of [`ShareableBitmap::new`].
    pub fn to_bitmap(&self, index: usize) -> Result<Option<ShareableBitmap>, ShmError> {
        let (Some(frame), Some(pixels)) = (self.frame(index), self.frame_pixels(index)) else {
            return Ok(None);
        };
        let mut bitmap = ShareableBitmap::new(frame.width, frame.height, frame.format)?;
        let row_bytes = frame.width as usize * 4;
        if let Some(target) = bitmap.pixels_mut() {
            for (target_row, source_row) in target
                .chunks_exact_mut(row_bytes)
                .zip(pixels.chunks(frame.pitch as usize))
            {
                target_row.copy_from_slice(&source_row[..row_bytes]);
            }
        }
        Ok(Some(bitmap))
    }
}

/// Checks every present frame against a buffer of `buffer_len` bytes.
fn check_frames(
    frames: &[Option<BitmapMetadata>],
    buffer_len: usize,
) -> Result<(), (usize, String)> {
    for (index, frame) in frames.iter().enumerate() {
        if let Some(frame) = frame {
            frame.range(buffer_len).map_err(|why| (index, why))?;
        }
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
        check_frames(&frames, buffer.len()).map_err(|(index, why)| {
            DecodeError::from(DecodeErrorKind::Invalid(why))
                .in_field(format!("[{index}]"))
                .in_field("frames")
        })?;
        Ok(BitmapSequence { frames, buffer })
    }
}
