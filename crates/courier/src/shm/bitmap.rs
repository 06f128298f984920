//! [`ShareableBitmap`]: SerenityOS's `Gfx::ShareableBitmap`.

use std::ops::Range;

use super::{SharedBuffer, ShmError, check_layout, packed_len, sides_of};
use crate::codec::{Decode, DecodeError, DecodeErrorKind, Decoder, Encode, EncodeError, Encoder};
use crate::gfx::{Color, IntSize};
use crate::{Decode as DeriveDecode, Encode as DeriveEncode};

/// How a pixel is laid out in its 4 bytes: SerenityOS's `Gfx::BitmapFormat`.
///
/// On the wire: a `u32`, with SerenityOS's values (`Bgrx8888` = 1,
/// `Bgra8888` = 2, `Rgba8888` = 3), as LibGfx sends it inside a
/// `Gfx::ShareableBitmap` or a frame of a `Gfx::BitmapSequence`. SerenityOS's
/// 0 (`Invalid`) and any other value fail to decode with
/// [`DecodeErrorKind::InvalidTag`]. Names give the byte order in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, DeriveEncode, DeriveDecode)]
#[repr(u32)]
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
/// Rows are `pitch` bytes apart, the first row at the start of the buffer.
/// A bitmap made by [`ShareableBitmap::new`] or received from a peer has
/// packed rows (`pitch = width * 4`), the only layout the wire can describe;
/// [`ShareableBitmap::from_buffer`] can wrap a buffer with wider rows, but
/// such a bitmap must be [packed](ShareableBitmap::to_packed) before it is
/// sent. There is also an *invalid* bitmap with no pixels (SerenityOS's
/// default-constructed `ShareableBitmap`), which is [`Default`]. A peer may
/// send it wherever a bitmap is expected (it is valid on the wire): a
/// handler that receives a `[Bitmap]` checks [`is_valid`](Self::is_valid)
/// before it computes with the sides, which are 0.
///
/// Sending a bitmap consumes it; [`try_clone`](Self::try_clone) keeps a
/// handle to the same pixels (shared, not copied).
///
/// # On the wire
///
/// As SerenityOS's LibGfx encodes it:
///
/// | field | encoding |
/// |---|---|
/// | valid | `bool`; the invalid bitmap ends here |
/// | pixels | the memory file as the next fd (an `IPC::File`: no bytes in the body) |
/// | size | `i32` width, `i32` height (a `Gfx::IntSize`) |
/// | scale | `u32`, always 1 |
/// | format | `u32`, a [`BitmapFormat`] |
///
/// Unlike a [`SharedBuffer`], no size travels with the fd: the receiver
/// derives it from the shape, `width * 4 * height` bytes, and maps that many
/// bytes of the file. Encoding a bitmap whose pitch is not `width * 4` fails
/// with [`EncodeError::BitmapNotPacked`].
///
/// # On receipt
///
/// - the sides must be between 1 and
///   [`MAX_BITMAP_DIMENSION`](super::MAX_BITMAP_DIMENSION)
///   ([`DecodeErrorKind::Invalid`], in field `size`);
/// - the scale must be 1 ([`DecodeErrorKind::UnsupportedBitmapScale`], in
///   field `scale`): courier keeps no scale factor, so it refuses a HiDPI
///   bitmap rather than map the wrong number of bytes;
/// - the format must be 1, 2 or 3 ([`DecodeErrorKind::InvalidTag`], in field
///   `format`);
/// - the fd is then taken as a [`SharedBuffer`] of the derived size, with
///   every check and protection a received buffer gets (in field `fd`): a
///   memory file smaller than the pixels fails with
///   [`DecodeErrorKind::SharedBufferTooSmall`], and a file that could still
///   shrink is sealed or copied, so no `SIGBUS` is possible.
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
/// // valid, width 64, height 32, scale 1, format 2; the pixels are the fd.
/// assert_eq!(bytes, [1, 64, 0, 0, 0, 32, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]);
/// assert_eq!(fds.len(), 1);
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
        let range = check_layout(width, height, pitch, usize::MAX).map_err(ShmError::Layout)?;
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

    /// A bitmap over an existing buffer, rows `pitch` bytes apart from its
    /// start, with the checks a received one gets.
    ///
    /// A `pitch` wider than `width * 4` is allowed here, but such a bitmap
    /// cannot be sent as it is (see [`ShareableBitmap::to_packed`]).
    ///
    /// ```
    /// use courier::codec::{EncodeError, encode_to_parts};
    /// use courier::shm::{BitmapFormat, ShareableBitmap, SharedBuffer};
    ///
    /// let buffer = SharedBuffer::new(2 * 16)?;
    /// let bitmap = ShareableBitmap::from_buffer(2, 2, 16, BitmapFormat::Rgba8888, buffer)?;
    /// assert_eq!(bitmap.pixels().len(), 32);
    /// assert!(matches!(encode_to_parts(&bitmap), Err(EncodeError::BitmapNotPacked { .. })));
    /// assert!(encode_to_parts(&bitmap.to_packed()?).is_ok());
    ///
    /// let small = SharedBuffer::new(8)?;
    /// assert!(ShareableBitmap::from_buffer(2, 2, 16, BitmapFormat::Rgba8888, small).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
        check_layout(width, height, pitch, buffer.len()).map_err(ShmError::Layout)?;
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

    /// True when the rows are packed (`pitch == width * 4`), the only layout
    /// the wire can describe, or the bitmap is invalid: such a bitmap can be
    /// sent as it is.
    pub fn is_packed(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|i| u64::from(i.pitch) == u64::from(i.width) * 4)
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

    /// A copy of this bitmap, in a new buffer, with its rows packed
    /// (`pitch = width * 4`), so that it can be sent; the invalid bitmap for
    /// the invalid bitmap. The copy shares no memory with this one.
    ///
    /// # Errors
    ///
    /// The errors of [`ShareableBitmap::new`].
    pub fn to_packed(&self) -> Result<ShareableBitmap, ShmError> {
        let Some(inner) = &self.inner else {
            return Ok(ShareableBitmap::invalid());
        };
        let mut copy = ShareableBitmap::new(inner.width, inner.height, inner.format)?;
        let row_bytes = inner.width as usize * 4;
        if let Some(target) = copy.pixels_mut() {
            for (y, row) in target.chunks_exact_mut(row_bytes).enumerate() {
                if let Some(source) = self.row(y as u32) {
                    row.copy_from_slice(source);
                }
            }
        }
        Ok(copy)
    }

    /// Another handle to the same pixels (the memory file is duplicated, not
    /// copied): what one writes, the other sees. For the invalid bitmap, the
    /// invalid bitmap.
    ///
    /// # Errors
    ///
    /// As [`SharedBuffer::try_clone`].
    pub fn try_clone(&self) -> Result<ShareableBitmap, ShmError> {
        let Some(inner) = &self.inner else {
            return Ok(ShareableBitmap::invalid());
        };
        Ok(ShareableBitmap {
            inner: Some(Inner {
                width: inner.width,
                height: inner.height,
                pitch: inner.pitch,
                format: inner.format,
                buffer: inner.buffer.try_clone()?,
            }),
        })
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

/// The scale factor courier sends, and the only one it takes.
const SCALE: u32 = 1;

impl Encode for ShareableBitmap {
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        let Some(inner) = &self.inner else {
            return false.encode(encoder);
        };
        // The sides are at most MAX_BITMAP_DIMENSION (checked on
        // construction): `width * 4` and the `i32` casts cannot overflow.
        let packed = inner.width * BitmapFormat::BYTES_PER_PIXEL;
        if inner.pitch != packed {
            return Err(EncodeError::BitmapNotPacked {
                width: inner.width,
                pitch: inner.pitch,
                packed,
            });
        }
        let Some(fd) = inner.buffer.fd() else {
            // Unreachable: construction checked that the buffer holds the
            // pixels, so it is valid.
            return Err(EncodeError::Invalid(
                "a valid bitmap has no shared buffer; make it with ShareableBitmap::new".to_owned(),
            ));
        };
        true.encode(encoder)?;
        encoder.put_fd(fd)?;
        IntSize::new(inner.width as i32, inner.height as i32).encode(encoder)?;
        SCALE.encode(encoder)?;
        inner.format.encode(encoder)
    }
}

impl Decode for ShareableBitmap {
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        if !decoder.decode_field::<bool>("valid")? {
            return Ok(ShareableBitmap::invalid());
        }
        let fd = decoder.take_fd().map_err(|e| e.in_field("fd"))?;
        let size: IntSize = decoder.decode_field("size")?;
        let scale: u32 = decoder.decode_field("scale")?;
        let format: BitmapFormat = decoder.decode_field("format")?;
        if scale != SCALE {
            return Err(DecodeError::from(DecodeErrorKind::UnsupportedBitmapScale {
                scale: i64::from(scale),
            })
            .in_field("scale"));
        }
        let invalid_size = |why| DecodeError::from(DecodeErrorKind::Invalid(why)).in_field("size");
        let (width, height) = sides_of(size).map_err(invalid_size)?;
        let len = packed_len(width, height);
        let len = usize::try_from(len).map_err(|_| {
            invalid_size(format!(
                "bitmap of {width}x{height} pixels needs {len} bytes, more than this platform \
                 can map"
            ))
        })?;
        let buffer = SharedBuffer::from_received(fd, len).map_err(|e| e.in_field("fd"))?;
        Ok(ShareableBitmap {
            inner: Some(Inner {
                width,
                height,
                pitch: width * BitmapFormat::BYTES_PER_PIXEL,
                format,
                buffer,
            }),
        })
    }
}
