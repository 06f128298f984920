//! The pictures of the tour, made on the spot: a PNG (a gradient with a
//! disc and a bar: shapes, no text), an animated GIF (a square that moves,
//! one duration per frame), a malformed image, and bitmaps in shared
//! memory for the clipboard and the windows.

use std::io::Cursor;

use courier::gfx::Color;
use courier::shm::{BitmapFormat, ShareableBitmap};
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, ImageFormat, Rgba, RgbaImage};

use crate::fail::{Context, Result};

/// Size of the PNG.
pub const PNG_SIZE: (u32, u32) = (200, 140);

/// Side of the GIF's square frames.
pub const GIF_SIDE: u32 = 48;

/// Each GIF frame's duration in milliseconds (GIF counts in hundredths of
/// a second, so these survive the trip exactly).
pub const GIF_DURATIONS: [u32; 4] = [100, 200, 300, 400];

/// The PNG's pixels: a blue-to-orange gradient, a pale disc and a dark
/// bar; opaque everywhere.
pub fn png_pixels() -> RgbaImage {
    let (width, height) = PNG_SIZE;
    RgbaImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let (dx, dy) = (x as f32 - 140.0, y as f32 - 60.0);
        if dx * dx + dy * dy < 38.0 * 38.0 {
            Rgba([250, 236, 180, 255])
        } else if (24..96).contains(&x) && (92..112).contains(&y) {
            Rgba([30, 34, 48, 255])
        } else {
            let red = (40.0 + 200.0 * fx) as u8;
            let green = (90.0 + 80.0 * fy) as u8;
            let blue = (220.0 - 160.0 * fx) as u8;
            Rgba([red, green, blue, 255])
        }
    })
}

/// [`png_pixels`] encoded as a PNG file.
pub fn png() -> Result<Vec<u8>> {
    encode_png(&png_pixels())
}

/// `pixels` as a PNG file.
pub fn encode_png(pixels: &RgbaImage) -> Result<Vec<u8>> {
    let mut bytes = Cursor::new(Vec::new());
    pixels
        .write_to(&mut bytes, ImageFormat::Png)
        .context("could not encode the tour's PNG")?;
    Ok(bytes.into_inner())
}

/// An animated GIF, looping forever: a square crossing the frame, one
/// frame per entry of [`GIF_DURATIONS`].
pub fn gif() -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        encoder
            .set_repeat(Repeat::Infinite)
            .context("could not encode the tour's GIF")?;
        for (index, &millis) in GIF_DURATIONS.iter().enumerate() {
            let left = index as u32 * 10;
            let frame = RgbaImage::from_fn(GIF_SIDE, GIF_SIDE, |x, y| {
                if (left..left + 16).contains(&x) && (16..32).contains(&y) {
                    Rgba([230, 60, 60, 255])
                } else {
                    Rgba([20, 24, 40, 255])
                }
            });
            let delay = Delay::from_numer_denom_ms(millis, 1);
            encoder
                .encode_frame(image::Frame::from_parts(frame, 0, 0, delay))
                .context("could not encode the tour's GIF")?;
        }
    }
    Ok(bytes)
}

/// A file that says it is a PNG (the signature is right) and then is not:
/// a header chunk of the wrong length and a bad checksum.
pub fn malformed_png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 7]);
    bytes.extend_from_slice(b"IHDR\xff\xff\xff\xff\x00\x00\x00");
    bytes.extend_from_slice(b"definitely not deflate");
    bytes
}

/// A bitmap in shared memory (BGRA8888) with `pixels` in it.
pub fn bitmap_from_rgba(width: u32, height: u32, rgba: &[u8]) -> Result<ShareableBitmap> {
    let mut bitmap = ShareableBitmap::new(width, height, BitmapFormat::Bgra8888)
        .context("could not make a bitmap in shared memory")?;
    for (index, pixel) in rgba.chunks_exact(4).enumerate() {
        let (x, y) = (index as u32 % width, index as u32 / width);
        bitmap
            .set_pixel(
                x,
                y,
                Color::from_rgba(pixel[0], pixel[1], pixel[2], pixel[3]),
            )
            .context("could not draw into a bitmap")?;
    }
    Ok(bitmap)
}

/// A bitmap drawn pixel by pixel from `paint(x, y)`.
pub fn bitmap_from_fn(
    width: u32,
    height: u32,
    paint: impl Fn(u32, u32) -> Color,
) -> Result<ShareableBitmap> {
    let mut bitmap = ShareableBitmap::new(width, height, BitmapFormat::Bgra8888)
        .context("could not make a bitmap in shared memory")?;
    for y in 0..height {
        for x in 0..width {
            bitmap
                .set_pixel(x, y, paint(x, y))
                .context("could not draw into a bitmap")?;
        }
    }
    Ok(bitmap)
}

/// The card the tour copies to the clipboard: four coloured quarters.
pub fn card(width: u32, height: u32) -> Result<ShareableBitmap> {
    bitmap_from_fn(width, height, |x, y| {
        match (x < width / 2, y < height / 2) {
            (true, true) => Color::from_rgb(220, 50, 47),
            (false, true) => Color::from_rgb(133, 153, 0),
            (true, false) => Color::from_rgb(38, 139, 210),
            (false, false) => Color::from_rgb(181, 137, 0),
        }
    })
}

/// The second window's picture: translucent teal with an opaque frame and
/// diagonal stripes, so the window beneath shows through.
pub fn overlay(width: u32, height: u32) -> Result<ShareableBitmap> {
    bitmap_from_fn(width, height, |x, y| {
        let border = x < 4 || y < 4 || x >= width - 4 || y >= height - 4;
        if border {
            Color::from_rgb(240, 240, 240)
        } else if (x + y) % 24 < 6 {
            Color::from_rgba(255, 255, 255, 200)
        } else {
            Color::from_rgba(0, 160, 150, 150)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_png_decodes_to_its_pixels() {
        let decoded = image::load_from_memory(&png().unwrap()).unwrap().to_rgba8();
        assert_eq!(decoded, png_pixels());
    }

    #[test]
    fn the_gif_has_a_frame_per_duration() {
        use image::AnimationDecoder;
        let bytes = gif().unwrap();
        let decoder = image::codecs::gif::GifDecoder::new(Cursor::new(bytes)).unwrap();
        let durations: Vec<u32> = decoder
            .into_frames()
            .map(|frame| {
                let (numer, denom) = frame.unwrap().delay().numer_denom_ms();
                numer / denom
            })
            .collect();
        assert_eq!(durations, GIF_DURATIONS);
    }

    #[test]
    fn the_malformed_png_does_not_decode() {
        assert!(image::load_from_memory(&malformed_png()).is_err());
    }
}
