//! courier's own gfx types: SerenityOS's `Gfx::IntPoint`, `IntSize`,
//! `IntRect`, their float variants, and `Color`.
//!
//! Their wire shapes are SerenityOS's: a point is `x, y`, a size `width,
//! height`, a rectangle its location then its size (`x, y, width, height`),
//! all `i32` (`f32` for the float variants); a color is one `u32`, ARGB.
//!
//! Values that come from a peer may be anything, so no method here can
//! overflow or panic: edges and areas are computed in `i64`, and a rectangle
//! with a negative width or height is empty.
//!
//! # Example
//!
//! ```
//! use courier::gfx::{IntPoint, IntRect};
//!
//! let window = IntRect::new(10, 20, 300, 200);
//! assert!(window.contains(IntPoint::new(10, 20)));
//! assert!(!window.contains(IntPoint::new(310, 20)));
//! let (bytes, _fds) = courier::codec::encode_to_parts(&window).unwrap();
//! assert_eq!(bytes.len(), 16);
//! ```

use crate::{Decode, Encode};

/// A point with integer coordinates: SerenityOS's `Gfx::IntPoint`.
///
/// Wire: `x`, `y`, each an `i32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Encode, Decode)]
#[doc(alias = "Gfx::IntPoint")]
pub struct IntPoint {
    /// Horizontal coordinate, growing to the right.
    pub x: i32,
    /// Vertical coordinate, growing downwards.
    pub y: i32,
}

impl IntPoint {
    /// The point `(x, y)`.
    pub const fn new(x: i32, y: i32) -> IntPoint {
        IntPoint { x, y }
    }

    /// This point moved by `(dx, dy)`, saturating at the `i32` range.
    ///
    /// ```
    /// # use courier::gfx::IntPoint;
    /// assert_eq!(IntPoint::new(1, 2).translated(3, -4), IntPoint::new(4, -2));
    /// ```
    pub const fn translated(self, dx: i32, dy: i32) -> IntPoint {
        IntPoint {
            x: self.x.saturating_add(dx),
            y: self.y.saturating_add(dy),
        }
    }
}

/// A size with integer sides: SerenityOS's `Gfx::IntSize`.
///
/// Wire: `width`, `height`, each an `i32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Encode, Decode)]
#[doc(alias = "Gfx::IntSize")]
pub struct IntSize {
    /// Width; zero or negative means empty.
    pub width: i32,
    /// Height; zero or negative means empty.
    pub height: i32,
}

impl IntSize {
    /// The size `width` x `height`.
    pub const fn new(width: i32, height: i32) -> IntSize {
        IntSize { width, height }
    }

    /// True when either side is zero or negative.
    ///
    /// ```
    /// # use courier::gfx::IntSize;
    /// assert!(IntSize::new(0, 5).is_empty());
    /// assert!(!IntSize::new(1, 1).is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.width <= 0 || self.height <= 0
    }

    /// `width * height`, or 0 for an empty size. Never overflows.
    ///
    /// ```
    /// # use courier::gfx::IntSize;
    /// assert_eq!(IntSize::new(640, 480).area(), 307_200);
    /// assert_eq!(IntSize::new(i32::MAX, i32::MAX).area(), 4_611_686_014_132_420_609);
    /// assert_eq!(IntSize::new(-3, 5).area(), 0);
    /// ```
    pub const fn area(self) -> u64 {
        if self.is_empty() {
            0
        } else {
            self.width as u64 * self.height as u64
        }
    }
}

/// A rectangle with integer coordinates: SerenityOS's `Gfx::IntRect`.
///
/// Wire: its location then its size, i.e. `x`, `y`, `width`, `height`, each
/// an `i32`. The rectangle covers `x <= px < x + width` and
/// `y <= py < y + height`.
///
/// # Example
///
/// ```
/// use courier::gfx::IntRect;
///
/// let a = IntRect::new(0, 0, 10, 10);
/// let b = IntRect::new(5, 5, 10, 10);
/// assert_eq!(a.intersect(b), Some(IntRect::new(5, 5, 5, 5)));
/// assert_eq!(a.intersect(IntRect::new(10, 0, 5, 5)), None);
/// assert_eq!(a.area(), 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Encode, Decode)]
#[doc(alias = "Gfx::IntRect")]
pub struct IntRect {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width; zero or negative means empty.
    pub width: i32,
    /// Height; zero or negative means empty.
    pub height: i32,
}

impl IntRect {
    /// The rectangle at `(x, y)` of `width` x `height`.
    pub const fn new(x: i32, y: i32, width: i32, height: i32) -> IntRect {
        IntRect {
            x,
            y,
            width,
            height,
        }
    }

    /// The rectangle at `location` of `size`.
    ///
    /// ```
    /// # use courier::gfx::{IntPoint, IntRect, IntSize};
    /// let r = IntRect::from_location_and_size(IntPoint::new(1, 2), IntSize::new(3, 4));
    /// assert_eq!(r, IntRect::new(1, 2, 3, 4));
    /// assert_eq!((r.location(), r.size()), (IntPoint::new(1, 2), IntSize::new(3, 4)));
    /// ```
    pub const fn from_location_and_size(location: IntPoint, size: IntSize) -> IntRect {
        IntRect {
            x: location.x,
            y: location.y,
            width: size.width,
            height: size.height,
        }
    }

    /// The top-left corner.
    pub const fn location(self) -> IntPoint {
        IntPoint {
            x: self.x,
            y: self.y,
        }
    }

    /// The width and height.
    pub const fn size(self) -> IntSize {
        IntSize {
            width: self.width,
            height: self.height,
        }
    }

    /// True when the width or height is zero or negative.
    pub const fn is_empty(self) -> bool {
        self.size().is_empty()
    }

    /// The number of points inside, 0 when empty. Never overflows.
    pub const fn area(self) -> u64 {
        self.size().area()
    }

    /// One past the right edge, `x + width`, in `i64` so it cannot overflow.
    pub const fn right(self) -> i64 {
        self.x as i64 + self.width as i64
    }

    /// One past the bottom edge, `y + height`, in `i64` so it cannot overflow.
    pub const fn bottom(self) -> i64 {
        self.y as i64 + self.height as i64
    }

    /// True when `point` lies inside.
    ///
    /// ```
    /// # use courier::gfx::{IntPoint, IntRect};
    /// let r = IntRect::new(0, 0, 2, 2);
    /// assert!(r.contains(IntPoint::new(1, 1)));
    /// assert!(!r.contains(IntPoint::new(2, 1)));
    /// ```
    pub const fn contains(self, point: IntPoint) -> bool {
        !self.is_empty()
            && point.x >= self.x
            && (point.x as i64) < self.right()
            && point.y >= self.y
            && (point.y as i64) < self.bottom()
    }

    /// True when `other` lies entirely inside (an empty `other` is inside
    /// anything).
    ///
    /// ```
    /// # use courier::gfx::IntRect;
    /// assert!(IntRect::new(0, 0, 10, 10).contains_rect(IntRect::new(2, 2, 8, 8)));
    /// assert!(!IntRect::new(0, 0, 10, 10).contains_rect(IntRect::new(2, 2, 9, 8)));
    /// ```
    pub const fn contains_rect(self, other: IntRect) -> bool {
        other.is_empty()
            || (!self.is_empty()
                && other.x >= self.x
                && other.y >= self.y
                && other.right() <= self.right()
                && other.bottom() <= self.bottom())
    }

    /// True when the two rectangles share at least one point.
    pub fn intersects(self, other: IntRect) -> bool {
        self.intersect(other).is_some()
    }

    /// The points both rectangles cover, or `None` when they share none.
    pub fn intersect(self, other: IntRect) -> Option<IntRect> {
        if self.is_empty() || other.is_empty() {
            return None;
        }
        let left = self.x.max(other.x);
        let top = self.y.max(other.y);
        let right = self.right().min(other.right());
        let bottom = self.bottom().min(other.bottom());
        if right <= left as i64 || bottom <= top as i64 {
            return None;
        }
        // Both fit: each is at most one of the input widths or heights.
        let width = i32::try_from(right - left as i64).ok()?;
        let height = i32::try_from(bottom - top as i64).ok()?;
        Some(IntRect::new(left, top, width, height))
    }

    /// The smallest rectangle holding both (an empty one counts for
    /// nothing), or `None` when that rectangle's sides overflow `i32`.
    ///
    /// ```
    /// # use courier::gfx::IntRect;
    /// let u = IntRect::new(0, 0, 1, 1).united(IntRect::new(4, 5, 1, 1));
    /// assert_eq!(u, Some(IntRect::new(0, 0, 5, 6)));
    /// ```
    pub fn united(self, other: IntRect) -> Option<IntRect> {
        if other.is_empty() {
            return Some(self);
        }
        if self.is_empty() {
            return Some(other);
        }
        let left = self.x.min(other.x);
        let top = self.y.min(other.y);
        let width = i32::try_from(self.right().max(other.right()) - left as i64).ok()?;
        let height = i32::try_from(self.bottom().max(other.bottom()) - top as i64).ok()?;
        Some(IntRect::new(left, top, width, height))
    }

    /// This rectangle moved by `(dx, dy)`, saturating at the `i32` range.
    pub const fn translated(self, dx: i32, dy: i32) -> IntRect {
        IntRect {
            x: self.x.saturating_add(dx),
            y: self.y.saturating_add(dy),
            ..self
        }
    }
}

/// A point with `f32` coordinates: SerenityOS's `Gfx::FloatPoint`.
///
/// Wire: `x`, `y`, each an `f32`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Encode, Decode)]
#[doc(alias = "Gfx::FloatPoint")]
pub struct FloatPoint {
    /// Horizontal coordinate.
    pub x: f32,
    /// Vertical coordinate.
    pub y: f32,
}

impl FloatPoint {
    /// The point `(x, y)`.
    pub const fn new(x: f32, y: f32) -> FloatPoint {
        FloatPoint { x, y }
    }
}

impl From<IntPoint> for FloatPoint {
    fn from(point: IntPoint) -> FloatPoint {
        FloatPoint {
            x: point.x as f32,
            y: point.y as f32,
        }
    }
}

/// A size with `f32` sides: SerenityOS's `Gfx::FloatSize`.
///
/// Wire: `width`, `height`, each an `f32`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Encode, Decode)]
#[doc(alias = "Gfx::FloatSize")]
pub struct FloatSize {
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

impl FloatSize {
    /// The size `width` x `height`.
    pub const fn new(width: f32, height: f32) -> FloatSize {
        FloatSize { width, height }
    }
}

impl From<IntSize> for FloatSize {
    fn from(size: IntSize) -> FloatSize {
        FloatSize {
            width: size.width as f32,
            height: size.height as f32,
        }
    }
}

/// A rectangle with `f32` coordinates: SerenityOS's `Gfx::FloatRect`.
///
/// Wire: `x`, `y`, `width`, `height`, each an `f32`.
///
/// ```
/// use courier::gfx::{FloatRect, IntRect};
///
/// let r = FloatRect::from(IntRect::new(1, 2, 3, 4));
/// assert_eq!(r, FloatRect::new(1.0, 2.0, 3.0, 4.0));
/// assert!(r.contains(courier::gfx::FloatPoint::new(3.5, 5.9)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Encode, Decode)]
#[doc(alias = "Gfx::FloatRect")]
pub struct FloatRect {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

impl FloatRect {
    /// The rectangle at `(x, y)` of `width` x `height`.
    pub const fn new(x: f32, y: f32, width: f32, height: f32) -> FloatRect {
        FloatRect {
            x,
            y,
            width,
            height,
        }
    }

    /// The top-left corner.
    pub const fn location(self) -> FloatPoint {
        FloatPoint {
            x: self.x,
            y: self.y,
        }
    }

    /// The width and height.
    pub const fn size(self) -> FloatSize {
        FloatSize {
            width: self.width,
            height: self.height,
        }
    }

    /// True when `point` lies inside (`x <= px < x + width`, likewise for y).
    pub fn contains(self, point: FloatPoint) -> bool {
        point.x >= self.x
            && point.x < self.x + self.width
            && point.y >= self.y
            && point.y < self.y + self.height
    }
}

impl From<IntRect> for FloatRect {
    fn from(rect: IntRect) -> FloatRect {
        FloatRect::new(
            rect.x as f32,
            rect.y as f32,
            rect.width as f32,
            rect.height as f32,
        )
    }
}

/// A 32-bit color with alpha: SerenityOS's `Gfx::Color`.
///
/// Wire: one `u32`, `0xAARRGGBB`.
///
/// # Example
///
/// ```
/// use courier::gfx::Color;
///
/// let orange = Color::from_rgb(0xff, 0x80, 0x00);
/// assert_eq!(orange.argb(), 0xffff8000);
/// assert_eq!((orange.red(), orange.green(), orange.blue(), orange.alpha()), (255, 128, 0, 255));
/// assert_eq!(Color::from_rgba(1, 2, 3, 4), Color::from_argb(0x04010203));
/// let (bytes, _) = courier::codec::encode_to_parts(&orange).unwrap();
/// assert_eq!(bytes, [0x00, 0x80, 0xff, 0xff]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Encode, Decode)]
#[doc(alias = "Gfx::Color")]
pub struct Color {
    argb: u32,
}

impl Color {
    /// Fully transparent black.
    pub const TRANSPARENT: Color = Color::from_argb(0);
    /// Opaque black.
    pub const BLACK: Color = Color::from_rgb(0, 0, 0);
    /// Opaque white.
    pub const WHITE: Color = Color::from_rgb(255, 255, 255);
    /// Opaque red.
    pub const RED: Color = Color::from_rgb(255, 0, 0);
    /// Opaque green.
    pub const GREEN: Color = Color::from_rgb(0, 255, 0);
    /// Opaque blue.
    pub const BLUE: Color = Color::from_rgb(0, 0, 255);

    /// The color whose value is `argb` (`0xAARRGGBB`).
    pub const fn from_argb(argb: u32) -> Color {
        Color { argb }
    }

    /// An opaque color.
    pub const fn from_rgb(red: u8, green: u8, blue: u8) -> Color {
        Color::from_rgba(red, green, blue, 255)
    }

    /// A color with alpha (255 is opaque).
    pub const fn from_rgba(red: u8, green: u8, blue: u8, alpha: u8) -> Color {
        Color::from_argb(u32::from_be_bytes([alpha, red, green, blue]))
    }

    /// The value as `0xAARRGGBB`, as on the wire (SerenityOS's `value()`).
    pub const fn argb(self) -> u32 {
        self.argb
    }

    /// The red channel.
    pub const fn red(self) -> u8 {
        self.argb.to_be_bytes()[1]
    }

    /// The green channel.
    pub const fn green(self) -> u8 {
        self.argb.to_be_bytes()[2]
    }

    /// The blue channel.
    pub const fn blue(self) -> u8 {
        self.argb.to_be_bytes()[3]
    }

    /// The alpha channel (255 is opaque).
    pub const fn alpha(self) -> u8 {
        self.argb.to_be_bytes()[0]
    }

    /// This color with its alpha replaced.
    ///
    /// ```
    /// # use courier::gfx::Color;
    /// assert_eq!(Color::RED.with_alpha(0x80).argb(), 0x80ff0000);
    /// ```
    pub const fn with_alpha(self, alpha: u8) -> Color {
        Color::from_rgba(self.red(), self.green(), self.blue(), alpha)
    }
}

/// Prints `#rrggbbaa`, as SerenityOS's `Color::to_byte_string()` does.
impl std::fmt::Debug for Color {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "#{:02x}{:02x}{:02x}{:02x}",
            self.red(),
            self.green(),
            self.blue(),
            self.alpha()
        )
    }
}
