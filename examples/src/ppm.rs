//! Binary PPM (`P6`), the smallest real image format: the image decoder of
//! the examples decodes it into a [`ShareableBitmap`].
//!
//! A file is the text header `P6 <width> <height> <maxval>` (fields separated
//! by whitespace, `#` starting a comment up to the end of the line), one
//! whitespace byte, then `width * height` pixels of three bytes each, red,
//! green, blue, row by row. Only `maxval` 255 (one byte per channel) is
//! supported.
//!
//! ```
//! use courier::gfx::Color;
//! use courier_examples::ppm;
//!
//! // Two pixels: red, then blue.
//! let file = ppm::encode(2, 1, &[255, 0, 0, 0, 0, 255])?;
//! assert!(file.starts_with(b"P6\n2 1\n255\n"));
//! let bitmap = ppm::decode(&file)?;
//! assert_eq!((bitmap.width(), bitmap.height()), (2, 1));
//! assert_eq!(bitmap.pixel(0, 0), Some(Color::RED));
//! assert_eq!(bitmap.pixel(1, 0), Some(Color::BLUE));
//! # Ok::<(), ppm::PpmError>(())
//! ```

use std::fmt;

use courier::gfx::Color;
use courier::shm::{BitmapFormat, ShareableBitmap, ShmError};

/// The largest width or height [`decode`] accepts, so that a hostile header
/// cannot ask for gigabytes of shared memory.
pub const MAX_SIDE: u32 = 4096;

/// Why a PPM file could not be encoded or decoded.
#[derive(Debug)]
#[non_exhaustive]
pub enum PpmError {
    /// The file does not start with `P6`.
    NotPpm,
    /// The header is malformed.
    BadHeader(String),
    /// A side is 0 or larger than [`MAX_SIDE`].
    BadSize {
        /// The width in the header.
        width: u64,
        /// The height in the header.
        height: u64,
    },
    /// The pixel data is shorter or longer than the header says.
    WrongLength {
        /// Bytes of pixel data the header announces.
        expected: usize,
        /// Bytes of pixel data present.
        actual: usize,
    },
    /// The shared memory for the bitmap could not be created.
    Bitmap(ShmError),
}

impl fmt::Display for PpmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PpmError::NotPpm => write!(f, "not a binary PPM image: it does not start with `P6`"),
            PpmError::BadHeader(reason) => write!(f, "malformed PPM header: {reason}"),
            PpmError::BadSize { width, height } => write!(
                f,
                "a PPM image of {width}x{height} pixels is not supported: each side must be \
                 between 1 and {MAX_SIDE}"
            ),
            PpmError::WrongLength { expected, actual } => write!(
                f,
                "the PPM header announces {expected} bytes of pixels but the file has {actual}; \
                 the file is truncated or corrupt"
            ),
            PpmError::Bitmap(error) => write!(f, "could not create the bitmap: {error}"),
        }
    }
}

impl std::error::Error for PpmError {}

/// A PPM file of `width` x `height` pixels from their `rgb` bytes (three per
/// pixel, row by row).
///
/// # Errors
///
/// [`PpmError::BadSize`] for a side of 0 or over [`MAX_SIDE`],
/// [`PpmError::WrongLength`] when `rgb` does not hold `width * height * 3`
/// bytes.
pub fn encode(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>, PpmError> {
    let expected = data_len(u64::from(width), u64::from(height))?;
    if rgb.len() != expected {
        return Err(PpmError::WrongLength {
            expected,
            actual: rgb.len(),
        });
    }
    let mut file = format!("P6\n{width} {height}\n255\n").into_bytes();
    file.extend_from_slice(rgb);
    Ok(file)
}

/// Decodes a PPM file into a new [`ShareableBitmap`] (`Bgra8888`, opaque).
///
/// # Errors
///
/// A [`PpmError`] saying what is wrong with the file; never panics, whatever
/// the bytes.
pub fn decode(file: &[u8]) -> Result<ShareableBitmap, PpmError> {
    let mut header = Header { file, position: 0 };
    if !file.starts_with(b"P6") {
        return Err(PpmError::NotPpm);
    }
    header.position = 2;
    let width = header.number("width")?;
    let height = header.number("height")?;
    let maxval = header.number("maxval")?;
    if maxval != 255 {
        return Err(PpmError::BadHeader(format!(
            "maxval is {maxval}; only 255 (one byte per channel) is supported"
        )));
    }
    // Exactly one whitespace byte separates the header from the pixels.
    match file.get(header.position) {
        Some(byte) if byte.is_ascii_whitespace() => header.position += 1,
        _ => {
            return Err(PpmError::BadHeader(
                "expected one whitespace byte after maxval".to_string(),
            ));
        }
    }
    let expected = data_len(width, height)?;
    let data = &file[header.position..];
    if data.len() != expected {
        return Err(PpmError::WrongLength {
            expected,
            actual: data.len(),
        });
    }
    // Both sides were checked against MAX_SIDE by `data_len`.
    let (width, height) = (width as u32, height as u32);
    let mut bitmap =
        ShareableBitmap::new(width, height, BitmapFormat::Bgra8888).map_err(PpmError::Bitmap)?;
    let format = bitmap.format();
    let pitch = bitmap.pitch() as usize;
    let Some(pixels) = bitmap.pixels_mut() else {
        return Err(PpmError::Bitmap(ShmError::ReadOnly));
    };
    for (y, row) in data.chunks_exact(width as usize * 3).enumerate() {
        let out_row = &mut pixels[y * pitch..y * pitch + width as usize * 4];
        for (rgb, out) in row.chunks_exact(3).zip(out_row.chunks_exact_mut(4)) {
            out.copy_from_slice(&format.write(Color::from_rgb(rgb[0], rgb[1], rgb[2])));
        }
    }
    Ok(bitmap)
}

/// `width * height * 3`, after checking both sides.
fn data_len(width: u64, height: u64) -> Result<usize, PpmError> {
    let side_ok = |side: u64| (1..=u64::from(MAX_SIDE)).contains(&side);
    if !side_ok(width) || !side_ok(height) {
        return Err(PpmError::BadSize { width, height });
    }
    // At most 4096 * 4096 * 3: fits any usize of 32 bits or more.
    Ok((width * height * 3) as usize)
}

/// A cursor over the text header.
struct Header<'a> {
    file: &'a [u8],
    position: usize,
}

impl Header<'_> {
    /// Skips whitespace and comments, then reads a decimal number.
    fn number(&mut self, what: &str) -> Result<u64, PpmError> {
        self.skip_blanks();
        let start = self.position;
        while self.file.get(self.position).is_some_and(u8::is_ascii_digit) {
            self.position += 1;
        }
        let digits = &self.file[start..self.position];
        if digits.is_empty() {
            return Err(PpmError::BadHeader(format!(
                "expected the {what} at byte {start}"
            )));
        }
        if digits.len() > 9 {
            return Err(PpmError::BadHeader(format!("the {what} is too large")));
        }
        // At most nine ASCII digits: parses, and fits a u64.
        let text = std::str::from_utf8(digits).unwrap_or("0");
        Ok(text.parse().unwrap_or(0))
    }

    fn skip_blanks(&mut self) {
        loop {
            match self.file.get(self.position) {
                Some(byte) if byte.is_ascii_whitespace() => self.position += 1,
                Some(b'#') => {
                    while self.file.get(self.position).is_some_and(|&b| b != b'\n') {
                        self.position += 1;
                    }
                }
                _ => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_comments() {
        let file =
            b"P6 # a comment\n2 2 # another\n255\n\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c";
        let bitmap = decode(file).unwrap();
        assert_eq!(bitmap.pixel(0, 0), Some(Color::from_rgb(1, 2, 3)));
        assert_eq!(bitmap.pixel(1, 1), Some(Color::from_rgb(10, 11, 12)));
        let encoded = encode(2, 2, &file[file.len() - 12..]).unwrap();
        assert_eq!(
            decode(&encoded).unwrap().pixel(1, 0),
            Some(Color::from_rgb(4, 5, 6))
        );
    }

    #[test]
    fn bad_files_are_errors() {
        let cases: [(&[u8], &str); 7] = [
            (b"", "not a binary PPM image: it does not start with `P6`"),
            (
                b"P3 1 1 255\n",
                "not a binary PPM image: it does not start with `P6`",
            ),
            (
                b"P6 1 x",
                "malformed PPM header: expected the height at byte 5",
            ),
            (
                b"P6 1 1 65535\n",
                "malformed PPM header: maxval is 65535; only 255 (one byte per channel) is supported",
            ),
            (
                b"P6 0 1 255\n",
                "a PPM image of 0x1 pixels is not supported: each side must be between 1 and 4096",
            ),
            (
                b"P6 1 1 255\nab",
                "the PPM header announces 3 bytes of pixels but the file has 2; the file is truncated or corrupt",
            ),
            (
                b"P6 99999999999 1 255\n",
                "malformed PPM header: the width is too large",
            ),
        ];
        for (file, message) in cases {
            assert_eq!(decode(file).unwrap_err().to_string(), message);
        }
        assert!(matches!(
            encode(2, 1, &[0; 5]),
            Err(PpmError::WrongLength {
                expected: 6,
                actual: 5
            })
        ));
    }
}
