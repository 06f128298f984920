//! Decoding untrusted bytes into frames, within [`DecodeLimits`].
//!
//! [`decode`] is the whole pipeline of imaged without IPC: it sniffs the
//! format (the MIME type is only a hint for bytes that do not identify
//! themselves), reads the **header only**, checks the dimensions against
//! the limits, and only then decodes, so a decompression bomb costs a few
//! header bytes, not gigabytes. Animated GIF and WebP give every frame with
//! its duration and the loop count; other formats give one frame.

use std::io::Cursor;

use image::{AnimationDecoder, ImageDecoder, ImageFormat, ImageReader, RgbaImage};

/// Bounds on what one decode may produce. Every one is checked from the
/// image's header (or frame headers) before pixels are allocated.
///
/// ```
/// let limits = courier_imaged::DecodeLimits::default();
/// assert_eq!(limits.max_width, 16384);
/// assert_eq!(limits.max_pixels, 64 * 1024 * 1024);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The widest image accepted, in pixels (default 16384).
    pub max_width: u32,
    /// The tallest image accepted, in pixels (default 16384).
    pub max_height: u32,
    /// The most pixels of all frames together (default 64 Mi, 256 MiB of
    /// RGBA).
    pub max_pixels: u64,
    /// The most frames of an animation (default 4096).
    pub max_frames: usize,
    /// The largest encoded image accepted, in bytes (default 256 MiB).
    pub max_input_bytes: usize,
}

impl Default for DecodeLimits {
    fn default() -> DecodeLimits {
        DecodeLimits {
            max_width: 16384,
            max_height: 16384,
            max_pixels: 64 * 1024 * 1024,
            max_frames: 4096,
            max_input_bytes: 256 * 1024 * 1024,
        }
    }
}

impl DecodeLimits {
    /// Checks one frame's dimensions, and the pixels of all frames so far
    /// (`pixels_before`) plus this one, against the limits.
    fn check(&self, width: u32, height: u32, pixels_before: u64) -> Result<u64, DecodeError> {
        if width == 0 || height == 0 {
            return Err(DecodeError::Malformed(format!(
                "the image declares {width}x{height} pixels; both sides must be at least 1"
            )));
        }
        if width > self.max_width || height > self.max_height {
            return Err(DecodeError::TooLarge {
                width,
                height,
                max_width: self.max_width,
                max_height: self.max_height,
            });
        }
        let total = pixels_before + u64::from(width) * u64::from(height);
        if total > self.max_pixels {
            return Err(DecodeError::TooManyPixels {
                pixels: total,
                max_pixels: self.max_pixels,
            });
        }
        Ok(total)
    }

    /// The allocation budget handed to the `image` crate's own checks: the
    /// output of `max_pixels` in 16-bit RGBA, plus room for one more.
    fn image_limits(&self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(self.max_width);
        limits.max_image_height = Some(self.max_height);
        limits.max_alloc = Some(self.max_pixels.saturating_mul(8).saturating_add(64 << 20));
        limits
    }
}

/// Why an image could not be decoded. The message is what imaged sends in
/// `did_fail_to_decode_image`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Nothing to decode.
    #[error("the image is empty (0 bytes); send the bytes of a PNG, JPEG, GIF, BMP or WebP file")]
    Empty,
    /// The encoded image is larger than [`DecodeLimits::max_input_bytes`].
    #[error(
        "the encoded image is {len} bytes, more than the {max} bytes imaged accepts; \
         raise --max-input-bytes to allow it"
    )]
    InputTooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Neither the bytes nor the MIME type name a format imaged decodes.
    #[error(
        "unknown image format{}: the bytes do not start like a PNG, JPEG, GIF, BMP or WebP file",
        mime.as_ref().map(|m| format!(" (MIME type `{m}`)")).unwrap_or_default()
    )]
    UnknownFormat {
        /// The MIME type the client gave, if any.
        mime: Option<String>,
    },
    /// A side longer than the limits allow (checked from the header).
    #[error(
        "the image declares {width}x{height} pixels, larger than the {max_width}x{max_height} \
         imaged accepts; raise --max-width/--max-height to allow it"
    )]
    TooLarge {
        /// The declared width.
        width: u32,
        /// The declared height.
        height: u32,
        /// The widest allowed.
        max_width: u32,
        /// The tallest allowed.
        max_height: u32,
    },
    /// More pixels (all frames together) than the limits allow.
    #[error(
        "the image needs {pixels} pixels (all frames together), more than the {max_pixels} \
         imaged accepts; raise --max-pixels to allow it"
    )]
    TooManyPixels {
        /// The pixels needed so far.
        pixels: u64,
        /// The limit.
        max_pixels: u64,
    },
    /// An animation with more frames than the limits allow.
    #[error("the animation has more than {max_frames} frames; raise --max-frames to allow more")]
    TooManyFrames {
        /// The limit.
        max_frames: usize,
    },
    /// The bytes are not a valid image of their format.
    #[error("the image is malformed: {0}")]
    Malformed(String),
    /// The decode was cancelled before it finished.
    #[error("decoding was cancelled")]
    Cancelled,
}

/// What [`decode`] produced: every frame in 8-bit RGBA, with durations.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedFrames {
    /// The frames, in order; one for a still image.
    pub frames: Vec<RgbaImage>,
    /// Each frame's duration in milliseconds (0 for a still image).
    pub durations: Vec<u32>,
    /// How many times the animation plays, as SerenityOS counts: 0 forever,
    /// 1 for a still image or a GIF without a loop extension.
    pub loop_count: u32,
    /// True for an animation (more than one frame, or declared animated).
    pub is_animated: bool,
}

/// Decodes `bytes` (PNG, JPEG, GIF, BMP or WebP; `mime` is a hint used only
/// when the bytes do not identify their format) into 8-bit RGBA frames.
///
/// `cancelled` is asked between frames; when it returns true the decode
/// stops with [`DecodeError::Cancelled`].
///
/// 16-bit images are reduced to 8 bits by rounding (`v * 255 / 65535`).
///
/// # Errors
///
/// [`DecodeError`]: limits exceeded (checked from the header before pixels
/// are allocated), unknown format, malformed data, cancelled.
///
/// # Example
///
/// ```
/// use courier_imaged::{DecodeLimits, decode};
///
/// // A 1x1 BMP, written by hand: a red pixel.
/// let mut bmp = Vec::new();
/// bmp.extend_from_slice(b"BM");
/// bmp.extend_from_slice(&58u32.to_le_bytes()); // file size
/// bmp.extend_from_slice(&[0; 4]);
/// bmp.extend_from_slice(&54u32.to_le_bytes()); // pixel offset
/// bmp.extend_from_slice(&40u32.to_le_bytes()); // BITMAPINFOHEADER
/// bmp.extend_from_slice(&1i32.to_le_bytes()); // width
/// bmp.extend_from_slice(&1i32.to_le_bytes()); // height
/// bmp.extend_from_slice(&1u16.to_le_bytes()); // planes
/// bmp.extend_from_slice(&24u16.to_le_bytes()); // bits per pixel
/// bmp.extend_from_slice(&[0; 24]);
/// bmp.extend_from_slice(&[0, 0, 255, 0]); // blue, green, red, padding
///
/// let decoded = decode(&bmp, None, &DecodeLimits::default(), &|| false)?;
/// assert_eq!(decoded.frames[0].get_pixel(0, 0).0, [255, 0, 0, 255]);
/// # Ok::<(), courier_imaged::DecodeError>(())
/// ```
pub fn decode(
    bytes: &[u8],
    mime: Option<&str>,
    limits: &DecodeLimits,
    cancelled: &dyn Fn() -> bool,
) -> Result<DecodedFrames, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if bytes.len() > limits.max_input_bytes {
        return Err(DecodeError::InputTooLarge {
            len: bytes.len(),
            max: limits.max_input_bytes,
        });
    }
    let format = sniff(bytes, mime)?;
    match format {
        ImageFormat::Gif => decode_gif(bytes, limits, cancelled),
        ImageFormat::WebP => decode_webp(bytes, limits, cancelled),
        _ => decode_still(bytes, format, limits),
    }
}

/// The format of `bytes`: from their magic number, else from `mime`.
fn sniff(bytes: &[u8], mime: Option<&str>) -> Result<ImageFormat, DecodeError> {
    let supported = |format: &ImageFormat| {
        matches!(
            format,
            ImageFormat::Png
                | ImageFormat::Jpeg
                | ImageFormat::Gif
                | ImageFormat::Bmp
                | ImageFormat::WebP
        )
    };
    if let Ok(format) = image::guess_format(bytes) {
        if supported(&format) {
            return Ok(format);
        }
    }
    mime.and_then(ImageFormat::from_mime_type)
        .filter(supported)
        .ok_or_else(|| DecodeError::UnknownFormat {
            mime: mime.map(str::to_owned),
        })
}

fn malformed(error: image::ImageError) -> DecodeError {
    match error {
        image::ImageError::Limits(limit) => {
            DecodeError::Malformed(format!("it needs more memory than allowed ({limit})"))
        }
        other => DecodeError::Malformed(other.to_string()),
    }
}

/// PNG, JPEG, BMP: one frame.
fn decode_still(
    bytes: &[u8],
    format: ImageFormat,
    limits: &DecodeLimits,
) -> Result<DecodedFrames, DecodeError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    // Only the memory budget here: the dimensions are ours to check, with
    // an error that names them.
    let mut header_limits = image::Limits::default();
    header_limits.max_alloc = limits.image_limits().max_alloc;
    reader.limits(header_limits);
    // Reads the header only.
    let mut decoder = reader.into_decoder().map_err(malformed)?;
    let (width, height) = decoder.dimensions();
    limits.check(width, height, 0)?;
    decoder
        .set_limits(limits.image_limits())
        .map_err(malformed)?;
    let image = image::DynamicImage::from_decoder(decoder).map_err(malformed)?;
    Ok(DecodedFrames {
        frames: vec![image.to_rgba8()],
        durations: vec![0],
        loop_count: 1,
        is_animated: false,
    })
}

/// GIF: every frame, composited to the logical screen as browsers show them.
fn decode_gif(
    bytes: &[u8],
    limits: &DecodeLimits,
    cancelled: &dyn Fn() -> bool,
) -> Result<DecodedFrames, DecodeError> {
    let mut decoder = image::codecs::gif::GifDecoder::new(Cursor::new(bytes)).map_err(malformed)?;
    let (width, height) = decoder.dimensions();
    limits.check(width, height, 0)?;
    decoder
        .set_limits(limits.image_limits())
        .map_err(malformed)?;
    let loop_count = gif_loop_count(bytes);
    let mut frames = Vec::new();
    let mut durations = Vec::new();
    let mut pixels = 0;
    for frame in decoder.into_frames() {
        if cancelled() {
            return Err(DecodeError::Cancelled);
        }
        if frames.len() == limits.max_frames {
            return Err(DecodeError::TooManyFrames {
                max_frames: limits.max_frames,
            });
        }
        let frame = frame.map_err(malformed)?;
        let (numerator, denominator) = frame.delay().numer_denom_ms();
        let buffer = frame.into_buffer();
        pixels = limits.check(buffer.width(), buffer.height(), pixels)?;
        durations.push(numerator.checked_div(denominator).unwrap_or(0));
        frames.push(buffer);
    }
    if frames.is_empty() {
        return Err(DecodeError::Malformed(
            "the GIF holds no frames".to_string(),
        ));
    }
    Ok(DecodedFrames {
        is_animated: frames.len() > 1,
        frames,
        durations,
        loop_count,
    })
}

/// The loop count of a GIF's NETSCAPE2.0 (or ANIMEXTS1.0) extension as
/// SerenityOS reports it: 0 forever, 1 when there is no such extension.
/// Walks the blocks up to the first image; never reads past the end.
fn gif_loop_count(bytes: &[u8]) -> u32 {
    const NO_LOOP_EXTENSION: u32 = 1;
    let get = |i: usize| bytes.get(i).copied();
    let Some(flags) = get(10) else {
        return NO_LOOP_EXTENSION;
    };
    let mut at = 13;
    if flags & 0x80 != 0 {
        at += 3 << ((flags & 0x07) + 1);
    }
    // Extensions come before the image they apply to; the loop extension
    // precedes the first image in every encoder we know of.
    while get(at) == Some(0x21) {
        let label = get(at + 1);
        at += 2;
        let first_block = at;
        if label == Some(0xFF) {
            let identifier = bytes.get(first_block + 1..first_block + 12);
            let is_loop = matches!(identifier, Some(b"NETSCAPE2.0") | Some(b"ANIMEXTS1.0"));
            let data = bytes.get(first_block + 12..first_block + 16);
            if let (true, Some(&[3, 1, low, high])) = (is_loop, data) {
                return u32::from(u16::from_le_bytes([low, high]));
            }
        }
        // Skip the sub-blocks up to the terminator.
        loop {
            match get(at) {
                Some(0) => {
                    at += 1;
                    break;
                }
                Some(len) => at += 1 + usize::from(len),
                None => return NO_LOOP_EXTENSION,
            }
        }
    }
    NO_LOOP_EXTENSION
}

/// WebP, still or animated, through `image-webp`, which reports the loop
/// count.
fn decode_webp(
    bytes: &[u8],
    limits: &DecodeLimits,
    cancelled: &dyn Fn() -> bool,
) -> Result<DecodedFrames, DecodeError> {
    let webp_error = |e: image_webp::DecodingError| DecodeError::Malformed(e.to_string());
    let mut decoder = image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(webp_error)?;
    let (width, height) = decoder.dimensions();
    limits.check(width, height, 0)?;
    let has_alpha = decoder.has_alpha();
    let channels = if has_alpha { 4 } else { 3 };
    let frame_bytes = decoder.output_buffer_size().ok_or_else(|| {
        DecodeError::Malformed("the WebP image is too large to describe in memory".to_string())
    })?;
    if !decoder.is_animated() {
        let mut buffer = vec![0; frame_bytes];
        decoder.read_image(&mut buffer).map_err(webp_error)?;
        return Ok(DecodedFrames {
            frames: vec![to_rgba(width, height, channels, &buffer)?],
            durations: vec![0],
            loop_count: 1,
            is_animated: false,
        });
    }
    let loop_count = match decoder.loop_count() {
        image_webp::LoopCount::Forever => 0,
        image_webp::LoopCount::Times(n) => u32::from(n.get()),
    };
    let count = usize::try_from(decoder.num_frames()).unwrap_or(usize::MAX);
    if count > limits.max_frames {
        return Err(DecodeError::TooManyFrames {
            max_frames: limits.max_frames,
        });
    }
    // Checked before any frame is allocated: every frame is a full canvas.
    limits.check(
        width,
        height,
        u64::from(width) * u64::from(height) * (count as u64).saturating_sub(1),
    )?;
    let mut frames = Vec::with_capacity(count);
    let mut durations = Vec::with_capacity(count);
    let mut buffer = vec![0; frame_bytes];
    for _ in 0..count {
        if cancelled() {
            return Err(DecodeError::Cancelled);
        }
        let duration = decoder.read_frame(&mut buffer).map_err(webp_error)?;
        frames.push(to_rgba(width, height, channels, &buffer)?);
        durations.push(duration);
    }
    Ok(DecodedFrames {
        frames,
        durations,
        loop_count,
        is_animated: true,
    })
}

/// RGB or RGBA bytes as an RGBA image.
fn to_rgba(
    width: u32,
    height: u32,
    channels: usize,
    bytes: &[u8],
) -> Result<RgbaImage, DecodeError> {
    let rgba: Vec<u8> = if channels == 4 {
        bytes.to_vec()
    } else {
        bytes
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect()
    };
    RgbaImage::from_raw(width, height, rgba).ok_or_else(|| {
        DecodeError::Malformed(format!(
            "the decoder gave {} bytes for {width}x{height} pixels",
            bytes.len()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        image::RgbaImage::from_pixel(width, height, image::Rgba([1, 2, 3, 4]))
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    #[test]
    fn a_png_decodes_to_its_pixels() {
        let decoded = decode(&png(3, 2), None, &DecodeLimits::default(), &|| false).unwrap();
        assert_eq!(decoded.frames.len(), 1);
        assert_eq!(decoded.frames[0].dimensions(), (3, 2));
        assert_eq!(decoded.frames[0].get_pixel(2, 1).0, [1, 2, 3, 4]);
        assert!(!decoded.is_animated);
    }

    #[test]
    fn limits_are_checked_from_the_header() {
        let limits = DecodeLimits {
            max_width: 2,
            ..DecodeLimits::default()
        };
        let error = decode(&png(3, 2), None, &limits, &|| false).unwrap_err();
        assert!(
            matches!(error, DecodeError::TooLarge { width: 3, .. }),
            "{error}"
        );
        let limits = DecodeLimits {
            max_pixels: 5,
            ..DecodeLimits::default()
        };
        let error = decode(&png(3, 2), None, &limits, &|| false).unwrap_err();
        assert!(
            matches!(error, DecodeError::TooManyPixels { pixels: 6, .. }),
            "{error}"
        );
    }

    #[test]
    fn the_mime_type_is_only_a_hint() {
        // The bytes win over a wrong MIME type...
        assert!(
            decode(
                &png(1, 1),
                Some("image/gif"),
                &DecodeLimits::default(),
                &|| false
            )
            .is_ok()
        );
        // ...and garbage is refused whatever it claims.
        let error = decode(
            b"garbage!",
            Some("text/plain"),
            &DecodeLimits::default(),
            &|| false,
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown image format (MIME type `text/plain`): the bytes do not start like a PNG, \
             JPEG, GIF, BMP or WebP file"
        );
        assert_eq!(
            decode(b"", None, &DecodeLimits::default(), &|| false).unwrap_err(),
            DecodeError::Empty
        );
    }

    #[test]
    fn gif_loop_counts() {
        // Header, screen 1x1 without a colour table, then the extension.
        let mut gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec();
        assert_eq!(gif_loop_count(&gif), 1);
        gif.extend_from_slice(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x05\x00\x00");
        assert_eq!(gif_loop_count(&gif), 5);
        // Truncated anywhere: no panic.
        for end in 0..gif.len() {
            let _ = gif_loop_count(&gif[..end]);
        }
    }

    #[test]
    fn cancelling_stops_an_animation() {
        let mut bytes = Vec::new();
        {
            let mut encoder = image::codecs::gif::GifEncoder::new(&mut bytes);
            let frames = (0..2).map(|_| {
                image::Frame::new(image::RgbaImage::from_pixel(
                    2,
                    2,
                    image::Rgba([9, 9, 9, 255]),
                ))
            });
            encoder.encode_frames(frames).unwrap();
        }
        let error = decode(&bytes, None, &DecodeLimits::default(), &|| true).unwrap_err();
        assert_eq!(error, DecodeError::Cancelled);
    }
}
