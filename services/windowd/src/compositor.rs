//! [`Framebuffer`]: the screen, and how bitmaps are drawn onto it.
//!
//! No IPC here: a framebuffer is an opaque RGBA image; [`Framebuffer::draw`]
//! puts a bitmap on it at a position, clipped to the screen, blending
//! source-over with the bitmap's alpha.

use std::io::Write;

use courier::gfx::{Color, IntPoint, IntRect, IntSize};
use courier::shm::{BitmapFormat, ShareableBitmap, ShmError};

/// An opaque screen of `width` x `height` pixels, 4 bytes each in RGBA
/// order, rows packed.
///
/// ```
/// use courier::gfx::{Color, IntPoint, IntSize};
/// use courier::shm::{BitmapFormat, ShareableBitmap};
/// use courier_windowd::compositor::Framebuffer;
///
/// let mut screen = Framebuffer::new(IntSize::new(4, 4), Color::BLACK);
/// let mut red = ShareableBitmap::new(2, 2, BitmapFormat::Bgra8888)?;
/// for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
///     red.set_pixel(x, y, Color::RED)?;
/// }
/// screen.draw(IntPoint::new(3, 3), &red); // clipped to one pixel
/// assert_eq!(screen.pixel(3, 3), Some(Color::RED));
/// assert_eq!(screen.pixel(2, 2), Some(Color::BLACK));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Framebuffer {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

/// Blends `source` over the opaque `destination` (RGBA bytes):
/// `out = (source * a + destination * (255 - a)) / 255`, rounded, per
/// channel; the result stays opaque.
pub fn blend_over(source: Color, destination: [u8; 4]) -> [u8; 4] {
    let alpha = u32::from(source.alpha());
    match alpha {
        255 => [source.red(), source.green(), source.blue(), 255],
        0 => [destination[0], destination[1], destination[2], 255],
        _ => {
            let mix = |s: u8, d: u8| {
                let value = (u32::from(s) * alpha + u32::from(d) * (255 - alpha) + 127) / 255;
                value as u8 // at most 255
            };
            [
                mix(source.red(), destination[0]),
                mix(source.green(), destination[1]),
                mix(source.blue(), destination[2]),
                255,
            ]
        }
    }
}

impl Framebuffer {
    /// A screen of `size` filled with `background` (its alpha is ignored:
    /// the screen is opaque). A side that is not positive gives an empty
    /// screen.
    pub fn new(size: IntSize, background: Color) -> Framebuffer {
        let width = u32::try_from(size.width).unwrap_or(0);
        let height = u32::try_from(size.height).unwrap_or(0);
        let pixel = [background.red(), background.green(), background.blue(), 255];
        let count = width as usize * height as usize;
        Framebuffer {
            width,
            height,
            pixels: pixel.repeat(count),
        }
    }

    /// The width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// The height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The RGBA bytes, rows packed.
    pub fn as_rgba(&self) -> &[u8] {
        &self.pixels
    }

    /// The colour at `(x, y)`, or `None` outside the screen.
    pub fn pixel(&self, x: u32, y: u32) -> Option<Color> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let start = (y as usize * self.width as usize + x as usize) * 4;
        let bytes = self.pixels.get(start..start + 4)?;
        Some(Color::from_rgba(bytes[0], bytes[1], bytes[2], bytes[3]))
    }

    /// Draws `bitmap` with its top-left corner at `at`, clipped to the
    /// screen, each pixel blended over the screen with its alpha
    /// (`Bgrx8888` pixels are opaque). An invalid bitmap draws nothing.
    pub fn draw(&mut self, at: IntPoint, bitmap: &ShareableBitmap) {
        let screen = IntRect::new(0, 0, self.width as i32, self.height as i32);
        let area = IntRect::new(at.x, at.y, bitmap.width() as i32, bitmap.height() as i32);
        let Some(visible) = screen.intersect(area) else {
            return;
        };
        let format = bitmap.format();
        // In the bitmap: the first column and how many; all non-negative as
        // `visible` lies inside `area`.
        let first_column = (visible.x - at.x) as usize;
        let columns = visible.width as usize;
        for row in 0..visible.height {
            let screen_y = visible.y + row;
            let Some(source) = bitmap.row((screen_y - at.y) as u32) else {
                return;
            };
            let Some(source) = source.get(first_column * 4..(first_column + columns) * 4) else {
                return;
            };
            let start = (screen_y as usize * self.width as usize + visible.x as usize) * 4;
            let Some(destination) = self.pixels.get_mut(start..start + columns * 4) else {
                return;
            };
            blend_row(format, source, destination);
        }
    }

    /// Writes the screen as an 8-bit RGB PNG to `writer`.
    ///
    /// # Errors
    ///
    /// When writing fails, or the screen is empty.
    pub fn write_png(&self, writer: impl Write) -> Result<(), png::EncodingError> {
        let mut encoder = png::Encoder::new(writer, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        let rgb: Vec<u8> = self
            .pixels
            .chunks_exact(4)
            .flat_map(|pixel| [pixel[0], pixel[1], pixel[2]])
            .collect();
        writer.write_image_data(&rgb)?;
        writer.finish()
    }

    /// The screen as a new `Rgba8888` bitmap in shared memory, sealed
    /// read-only.
    ///
    /// # Errors
    ///
    /// When the shared memory cannot be made, or the screen is empty.
    pub fn to_bitmap(&self) -> Result<ShareableBitmap, ShmError> {
        let mut bitmap = ShareableBitmap::new(self.width, self.height, BitmapFormat::Rgba8888)?;
        if let Some(pixels) = bitmap.pixels_mut() {
            pixels.copy_from_slice(&self.pixels);
        }
        bitmap.seal_read_only()?;
        Ok(bitmap)
    }
}

fn blend_row(format: BitmapFormat, source: &[u8], destination: &mut [u8]) {
    for (source, destination) in source.chunks_exact(4).zip(destination.chunks_exact_mut(4)) {
        let color = format.read([source[0], source[1], source[2], source[3]]);
        let below = [
            destination[0],
            destination[1],
            destination[2],
            destination[3],
        ];
        destination.copy_from_slice(&blend_over(color, below));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(width: u32, height: u32, format: BitmapFormat, color: Color) -> ShareableBitmap {
        let mut bitmap = ShareableBitmap::new(width, height, format).unwrap();
        for y in 0..height {
            for x in 0..width {
                bitmap.set_pixel(x, y, color).unwrap();
            }
        }
        bitmap
    }

    #[test]
    fn blending_is_source_over() {
        let below = [0, 0, 200, 255];
        assert_eq!(blend_over(Color::RED, below), [255, 0, 0, 255]);
        assert_eq!(
            blend_over(Color::RED.with_alpha(0), below),
            [0, 0, 200, 255]
        );
        // Half red over blue: (255 * 128 + 0 * 127) / 255 = 128, (200 * 127) / 255 = 100.
        assert_eq!(
            blend_over(Color::from_rgba(255, 0, 0, 128), below),
            [128, 0, 100, 255]
        );
    }

    #[test]
    fn every_format_draws_its_colour() {
        let colour = Color::from_rgb(10, 20, 30);
        for format in [
            BitmapFormat::Bgrx8888,
            BitmapFormat::Bgra8888,
            BitmapFormat::Rgba8888,
        ] {
            let mut screen = Framebuffer::new(IntSize::new(2, 1), Color::WHITE);
            screen.draw(IntPoint::new(1, 0), &solid(1, 1, format, colour));
            assert_eq!(screen.pixel(1, 0), Some(colour), "{format:?}");
            assert_eq!(screen.pixel(0, 0), Some(Color::WHITE), "{format:?}");
        }
    }

    #[test]
    fn bitmaps_are_clipped_on_every_side() {
        let mut screen = Framebuffer::new(IntSize::new(4, 3), Color::BLACK);
        let green = solid(3, 3, BitmapFormat::Bgra8888, Color::GREEN);
        screen.draw(IntPoint::new(-2, -2), &green); // (0, 0) only
        screen.draw(IntPoint::new(3, 2), &green); // (3, 2) only
        screen.draw(IntPoint::new(i32::MAX, 0), &green); // nowhere
        screen.draw(IntPoint::new(i32::MIN, i32::MIN), &green); // nowhere
        let lit: Vec<(u32, u32)> = (0..3)
            .flat_map(|y| (0..4).map(move |x| (x, y)))
            .filter(|&(x, y)| screen.pixel(x, y) == Some(Color::GREEN))
            .collect();
        assert_eq!(lit, [(0, 0), (3, 2)]);
        assert_eq!(screen.pixel(4, 0), None);
    }

    #[test]
    fn a_png_decodes_to_the_screen() {
        let mut screen = Framebuffer::new(IntSize::new(3, 2), Color::BLUE);
        screen.draw(
            IntPoint::new(1, 1),
            &solid(1, 1, BitmapFormat::Rgba8888, Color::RED),
        );
        let mut file = Vec::new();
        screen.write_png(&mut file).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(file));
        let mut reader = decoder.read_info().unwrap();
        let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut rgb).unwrap();
        assert_eq!((info.width, info.height), (3, 2));
        assert_eq!(&rgb[..3], [0, 0, 255]);
        assert_eq!(&rgb[(3 + 1) * 3..(3 + 1) * 3 + 3], [255, 0, 0]);
    }

    #[test]
    fn the_screen_as_a_bitmap_is_sealed() {
        let screen = Framebuffer::new(IntSize::new(2, 2), Color::GREEN);
        let bitmap = screen.to_bitmap().unwrap();
        assert!(bitmap.is_sealed());
        assert_eq!(bitmap.pixel(1, 1), Some(Color::GREEN));
    }
}
