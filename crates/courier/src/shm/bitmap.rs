//! [`ShareableBitmap`]: SerenityOS's `Gfx::ShareableBitmap`.

use std::ops::Range;

use super::{SharedBuffer, ShmError, check_layout};
use crate::codec::{Decode, DecodeError, DecodeErrorKind, Decoder, Encode, EncodeError, Encoder};
use crate::gfx::{Color, IntSize};
use crate::{Decode as DeriveDecode, Encode as DeriveEncode};

/// How a pixel is laid out in its 4 bytes: SerenityOS's `Gfx::BitmapFormat`.
///
/// On the wire: a `u8`, with SerenityOS's values (`Bgrx8888` = 1,
/// `Bgra8888` = 2, `Rgba8888` = 3). Names give the byte order in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, DeriveEncode, DeriveDecode)]
#[repr(u8)]
#[doc(alias = "Gfx::BitmapFormat")]
pub enum BitmapFormat {
    /// Blue, green, red, then an unused byte: the alpha reads as 255.
    #[doc(alias = "BGRx8888")]
    Bgrx8888 = 1,
    /// Blue, green, red, alpha: a little-endian `0xAARRGGBB`, SerenityOS's
    /// native format.
    #[default]
    #[doc(alias = "BGRA8888")]
    Bgra8888 = 2,
    /// Red, green, blue, alpha.
    #[doc(alias = "RGBA8888")]
    Rgba8888 = 3,
}

impl BitmapFormat {
    /// Bytes per pixel: 4 for every format.
    pub const BYTES_PER_PIXEL: u32 = 4;

    /// True when the alpha byte is meaningful.
    pub const fn has_alpha(self) -> bool {
        !matches!(self, BitmapFormat::Bgrx8888)
    }

    /// The color of a pixel's 4 bytes.
    ///
    /// ```
    /// use courier::gfx::Color;
    /// use courier::shm::BitmapFormat;
    ///
    /// assert_eq!(BitmapFormat::Bgra8888.read([3, 2, 1, 4]), Color::from_rgba(1, 2, 3, 4));
    /// assert_eq!(BitmapFormat::Bgrx8888.read([3, 2, 1, 4]), Color::from_rgba(1, 2, 3, 255));
    /// assert_eq!(BitmapFormat::Rgba8888.read([1, 2, 3, 4]), Color::from_rgba(1, 2, 3, 4));
    /// ```
    pub const fn read(self, [b0, b1, b2, b3]: [u8; 4]) -> Color {
        match self {
            BitmapFormat::Bgrx8888 => Color::from_rgba(b2, b1, b0, 255),
            BitmapFormat::Bgra8888 => Color::from_rgba(b2, b1, b0, b3),
            BitmapFormat::Rgba8888 => Color::from_rgba(b0, b1, b2, b3),
        }
    }

    /// The 4 bytes of a pixel of `color` (`Bgrx8888` stores the alpha in its
    /// unused byte).
    pub const fn write(self, color: Color) -> [u8; 4] {
        let (r, g, b, a) = (color.red(), color.green(), color.blue(), color.alpha());
        match self {
            BitmapFormat::Bgrx8888 | BitmapFormat::Bgra8888 => [b, g, r, a],
            BitmapFormat::Rgba8888 => [r, g, b, a],
        }
    }
}

/// A bitmap whose pixels live in shared memory: SerenityOS's
/// `Gfx::ShareableBitmap`, the `[Bitmap]` parameters of an `.ipc` file.
///
/// Rows are `pitch` bytes apart (at least `width * 4`), the first row at the
/// start of the buffer. There is also an *invalid* bitmap with no pixels
/// (SerenityOS's default-constructed `ShareableBitmap`), which is
/// [`Default`].
///
/// On the wire: a `bool` (valid), then, when valid, `width`, `height`, `pitch`
/// as `u32`, the [`BitmapFormat`] as a `u8`, then the [`SharedBuffer`]. On
/// receipt, the sides must be between 1 and
/// [`MAX_BITMAP_DIMENSION`](super::MAX_BITMAP_DIMENSION), the pitch at least
/// `width * 4`, and `pitch * height` bytes must fit the buffer; otherwise the
/// decode fails with [`DecodeErrorKind::Invalid`]. The buffer is checked
/// first, as any [`SharedBuffer`]: a memory file smaller than the size sent
/// fails with [`DecodeErrorKind::SharedBufferTooSmall`] (in field `buffer`).
///
/// # Example
///
/// ```
/// use courier::codec::{decode_from_parts, encode_to_parts};
/// use courier::gfx::Color;
/// use courier::shm::{BitmapFormat, ShareableBitmap};
///
/// let mut bitmap = ShareableBitmap::new(64, 32, BitmapFormat::Bgra8888)?;
/// bitmap.set_pixel(3, 4, Color::RED)?;
///
/// let (bytes, fds) = encode_to_parts(&bitmap)?;
/// let received: ShareableBitmap = decode_from_parts(&bytes, fds)?;
/// assert_eq!((received.width(), received.height()), (64, 32));
/// assert_eq!(received.pixel(3, 4), Some(Color::RED));
/// assert_eq!(received.pixel(64, 0), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
#[doc(alias = "Gfx::ShareableBitmap")]
pub struct ShareableBitmap {
    inner: Option<Inner>,
}

#[derive(Debug)]
struct Inner {
    width: u32,
    height: u32,
    pitch: u32,
    format: BitmapFormat,
    /// Holds at least `pitch * height` bytes (checked on construction).
    buffer: SharedBuffer,
}

static INVALID_BUFFER: SharedBuffer = SharedBuffer::invalid();

impl ShareableBitmap {
    /// A new bitmap of `width` x `height` transparent-black pixels, rows
    /// packed (`pitch = width * 4`).
    ///
    /// # Errors
    ///
    /// [`ShmError::Layout`] when a side is 0 or larger than
    /// [`MAX_BITMAP_DIMENSION`](super::MAX_BITMAP_DIMENSION), or the errors of
    /// [`SharedBuffer::new`].
    pub fn new(width: u32, height: u32, format: BitmapFormat) -> Result<ShareableBitmap, ShmError> {
        let pitch = width.saturating_mul(BitmapFormat::BYTES_PER_PIXEL);
        let range = check_layout(width, height, pitch, 0, usize::MAX).map_err(ShmError::Layout)?;
        let buffer = SharedBuffer::new(range.end)?;
        Ok(ShareableBitmap {
            inner: Some(Inner {
                width,
                height,
                pitch,
                format,
                buffer,
            }),
        })
    }

    /// A bitmap over an existing buffer, with the checks a received one gets.
    ///
    /// ```
    /// use courier::shm::{BitmapFormat, ShareableBitmap, SharedBuffer};
    ///
    /// let buffer = SharedBuffer::new(2 * 16)?;
    /// let bitmap = ShareableBitmap::from_buffer(2, 2, 16, BitmapFormat::Rgba8888, buffer)?;
    /// assert_eq!(bitmap.pixels().len(), 32);
    /// let small = SharedBuffer::new(8)?;
    /// assert!(ShareableBitmap::from_buffer(2, 2, 16, BitmapFormat::Rgba8888, small).is_err());
    /// # Ok::<(), courier::shm::ShmError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ShmError::Layout`] when the sides, the pitch or the size do not fit.
    pub fn from_buffer(
        width: u32,
        height: u32,
        pitch: u32,
        format: BitmapFormat,
        buffer: SharedBuffer,
    ) -> Result<ShareableBitmap, ShmError> {
        check_layout(width, height, pitch, 0, buffer.len()).map_err(ShmError::Layout)?;
        Ok(ShareableBitmap {
            inner: Some(Inner {
                width,
                height,
                pitch,
                format,
                buffer,
            }),
        })
    }

    /// The invalid bitmap: no pixels (also [`ShareableBitmap::default`]).
    pub const fn invalid() -> ShareableBitmap {
        ShareableBitmap { inner: None }
    }

    /// False for the invalid bitmap.
    pub fn is_valid(&self) -> bool {
        self.inner.is_some()
    }

    /// Width in pixels (0 when invalid).
    pub fn width(&self) -> u32 {
        self.inner.as_ref().map_or(0, |i| i.width)
    }

    /// Height in pixels (0 when invalid).
    pub fn height(&self) -> u32 {
        self.inner.as_ref().map_or(0, |i| i.height)
    }

    /// Bytes from one row to the next (0 when invalid).
    pub fn pitch(&self) -> u32 {
        self.inner.as_ref().map_or(0, |i| i.pitch)
    }

    /// The pixel format ([`BitmapFormat::default`] when invalid).
    pub fn format(&self) -> BitmapFormat {
        self.inner
            .as_ref()
            .map_or_else(BitmapFormat::default, |i| i.format)
    }

    /// Width and height as a [`IntSize`] (the sides fit in `i32`).
    pub fn size(&self) -> IntSize {
        IntSize::new(self.width() as i32, self.height() as i32)
    }

    /// The shared buffer holding the pixels (the invalid buffer when the
    /// bitmap is invalid).
    pub fn buffer(&self) -> &SharedBuffer {
        self.inner.as_ref().map_or(&INVALID_BUFFER, |i| &i.buffer)
    }

    /// The `pitch * height` bytes of the pixels, rows one after the other
    /// (empty when invalid). The peer may change them: see
    /// [`SharedBuffer::as_slice`].
    pub fn pixels(&self) -> &[u8] {
        let range = self.pixel_range();
        self.buffer().as_slice().get(range).unwrap_or(&[])
    }

    /// The pixels, writable, or `None` when the bitmap is invalid or its
    /// buffer is read-only.
    pub fn pixels_mut(&mut self) -> Option<&mut [u8]> {
        let range = self.pixel_range();
        self.inner.as_mut()?.buffer.as_mut_slice()?.get_mut(range)
    }

    /// The `width * 4` bytes of row `y`, or `None` past the last row.
    pub fn row(&self, y: u32) -> Option<&[u8]> {
        let inner = self.inner.as_ref()?;
        if y >= inner.height {
            return None;
        }
        let start = y as usize * inner.pitch as usize;
        let end = start + inner.width as usize * 4;
        self.pixels().get(start..end)
    }

    /// The color at `(x, y)`, or `None` outside the bitmap.
    pub fn pixel(&self, x: u32, y: u32) -> Option<Color> {
        let range = self.pixel_at(x, y).ok()?;
        let bytes: [u8; 4] = self.pixels().get(range)?.try_into().ok()?;
        Some(self.format().read(bytes))
    }

    /// Sets the color at `(x, y)`.
    ///
    /// # Errors
    ///
    /// [`ShmError::OutOfBounds`] outside the bitmap, [`ShmError::Invalid`]
    /// for the invalid bitmap, [`ShmError::ReadOnly`] when the buffer is
    /// read-only.
    pub fn set_pixel(&mut self, x: u32, y: u32, color: Color) -> Result<(), ShmError> {
        let range = self.pixel_at(x, y)?;
        let bytes = self.format().write(color);
        let pixels = self.pixels_mut().ok_or(ShmError::ReadOnly)?;
        if let Some(slot) = pixels.get_mut(range) {
            slot.copy_from_slice(&bytes);
        }
        Ok(())
    }

    /// Seals the pixels read-only: see [`SharedBuffer::seal_read_only`].
    ///
    /// # Errors
    ///
    /// As [`SharedBuffer::seal_read_only`].
    pub fn seal_read_only(&mut self) -> Result<(), ShmError> {
        match &mut self.inner {
            None => Err(ShmError::Invalid),
            Some(inner) => inner.buffer.seal_read_only(),
        }
    }

    /// True when nobody can change the pixels any more: see
    /// [`SharedBuffer::is_sealed`].
    pub fn is_sealed(&self) -> bool {
        self.buffer().is_sealed()
    }

    fn pixel_range(&self) -> Range<usize> {
        self.inner
            .as_ref()
            .map_or(0..0, |i| 0..i.pitch as usize * i.height as usize)
    }

    fn pixel_at(&self, x: u32, y: u32) -> Result<Range<usize>, ShmError> {
        let inner = self.inner.as_ref().ok_or(ShmError::Invalid)?;
        if x >= inner.width || y >= inner.height {
            return Err(ShmError::OutOfBounds {
                x,
                y,
                width: inner.width,
                height: inner.height,
            });
        }
        let start = y as usize * inner.pitch as usize + x as usize * 4;
        Ok(start..start + 4)
    }
}

impl Encode for ShareableBitmap {
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        let Some(inner) = &self.inner else {
            return false.encode(encoder);
        };
        true.encode(encoder)?;
        inner.width.encode(encoder)?;
        inner.height.encode(encoder)?;
        inner.pitch.encode(encoder)?;
        inner.format.encode(encoder)?;
        inner.buffer.encode(encoder)
    }
}

impl Decode for ShareableBitmap {
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        if !decoder.decode_field::<bool>("valid")? {
            return Ok(ShareableBitmap::invalid());
        }
        let width = decoder.decode_field("width")?;
        let height = decoder.decode_field("height")?;
        let pitch = decoder.decode_field("pitch")?;
        let format = decoder.decode_field("format")?;
        let buffer: SharedBuffer = decoder.decode_field("buffer")?;
        if !buffer.is_valid() {
            return Err(DecodeErrorKind::Invalid(
                "a valid bitmap arrived with an invalid shared buffer".to_owned(),
            )
            .into());
        }
        check_layout(width, height, pitch, 0, buffer.len()).map_err(DecodeErrorKind::Invalid)?;
        Ok(ShareableBitmap {
            inner: Some(Inner {
                width,
                height,
                pitch,
                format,
                buffer,
            }),
        })
    }
}
