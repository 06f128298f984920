//! [`Value`]: one value of any `.ipc` type, and how it prints for people.

use std::fmt::{self, Write as _};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use courier::gfx::{Color, FloatPoint, FloatRect, FloatSize, IntPoint, IntRect, IntSize};
use courier::shm::{BitmapFormat, BitmapSequence, ShareableBitmap, SharedBuffer};
use courier_idl::types::GfxType;

/// Byte strings longer than this print shortened with `{}`; `{:#}` prints
/// them whole.
const BYTES_SHOWN: usize = 64;

/// A value of any `.ipc` type, known only at run time.
///
/// Each variant is the dynamic counterpart of one row of the type table of
/// `docs/ipc-language.md` ([`courier_idl::types::IdlType`]). A value does not
/// carry its type: [`crate::encode_message`] checks it against the parameter's
/// type, and integers of any width are accepted for any integer type whose
/// range holds them.
///
/// Values that hold file descriptors or shared memory own them, so a `Value`
/// is not `Clone`; [`Value::try_clone`] duplicates the descriptors.
///
/// # Printing
///
/// [`Display`](fmt::Display) is compact and readable, close to Rust's debug
/// output: strings quoted, byte strings as `b"..."` with escapes (shortened
/// after 64 bytes unless printed with `{:#}`), fds as `fd 7`, shared memory
/// by its size. [`Value::to_json`] gives JSON that [`crate::parse_json`]
/// reads back (see the [crate docs](crate#json) for the conventions).
///
/// ```
/// use courier_value::Value;
///
/// let value = Value::Vector(vec![
///     Value::String("a\"b".into()),
///     Value::ByteString(b"x\xff".to_vec()),
///     Value::Optional(None),
///     Value::Optional(Some(Box::new(Value::U8(7)))),
///     Value::Variant { index: 1, value: Box::new(Value::Bool(true)) },
/// ]);
/// assert_eq!(value.to_string(), r#"["a\"b", b"x\xff", None, Some(7), V1(true)]"#);
/// ```
#[derive(Debug)]
pub enum Value {
    /// `bool`.
    Bool(bool),
    /// `i8`.
    I8(i8),
    /// `i16`.
    I16(i16),
    /// `i32`, `int`.
    I32(i32),
    /// `i64`.
    I64(i64),
    /// `u8`.
    U8(u8),
    /// `u16`.
    U16(u16),
    /// `u32`, `unsigned`.
    U32(u32),
    /// `u64`, `size_t`.
    U64(u64),
    /// `float`.
    F32(f32),
    /// `double`.
    F64(f64),
    /// `String` (and `[UTF8] ByteString`): UTF-8 text.
    String(String),
    /// `ByteString`: bytes with no encoding promise.
    ByteString(Vec<u8>),
    /// `ByteBuffer`: raw bytes.
    Bytes(Vec<u8>),
    /// `Vector<T>`.
    Vector(Vec<Value>),
    /// `HashMap<K, V>` or `OrderedHashMap<K, V>`: entries in wire order.
    Map(Vec<(Value, Value)>),
    /// `Optional<T>`.
    Optional(Option<Box<Value>>),
    /// `Variant<A, B, ...>`: the alternative's index (as on the wire) and
    /// its value.
    Variant {
        /// The index of the alternative, from 0.
        index: u8,
        /// The alternative's value.
        value: Box<Value>,
    },
    /// `Array<T, N>`: exactly `N` elements.
    Array(Vec<Value>),
    /// `IPC::File`: a file descriptor (received, or opened to be sent).
    File(OwnedFd),
    /// `Core::AnonymousBuffer`: shared memory (possibly the invalid buffer).
    SharedBuffer(SharedBuffer),
    /// `Gfx::ShareableBitmap`: a bitmap in shared memory (possibly invalid).
    Bitmap(ShareableBitmap),
    /// `Gfx::BitmapSequence`: frames in one shared buffer.
    BitmapSequence(BitmapSequence),
    /// `Gfx::IntRect`, `Gfx::Color` and the other geometry types.
    Gfx(Gfx),
}

/// A value of one of the geometry and colour types of `Gfx`.
///
/// ```
/// use courier::gfx::IntRect;
/// use courier_value::{Gfx, Value};
///
/// let rect = Value::Gfx(Gfx::IntRect(IntRect::new(1, 2, 3, 4)));
/// assert_eq!(rect.to_string(), "IntRect { x: 1, y: 2, width: 3, height: 4 }");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Gfx {
    /// `Gfx::IntRect`.
    IntRect(IntRect),
    /// `Gfx::IntPoint`.
    IntPoint(IntPoint),
    /// `Gfx::IntSize`.
    IntSize(IntSize),
    /// `Gfx::Color`.
    Color(Color),
    /// `Gfx::FloatPoint`.
    FloatPoint(FloatPoint),
    /// `Gfx::FloatSize`.
    FloatSize(FloatSize),
    /// `Gfx::FloatRect`.
    FloatRect(FloatRect),
}

impl Gfx {
    /// Which gfx type this is.
    ///
    /// ```
    /// use courier::gfx::Color;
    /// use courier_idl::types::GfxType;
    /// use courier_value::Gfx;
    ///
    /// assert_eq!(Gfx::Color(Color::RED).ty(), GfxType::Color);
    /// ```
    pub fn ty(&self) -> GfxType {
        match self {
            Gfx::IntRect(_) => GfxType::IntRect,
            Gfx::IntPoint(_) => GfxType::IntPoint,
            Gfx::IntSize(_) => GfxType::IntSize,
            Gfx::Color(_) => GfxType::Color,
            Gfx::FloatPoint(_) => GfxType::FloatPoint,
            Gfx::FloatSize(_) => GfxType::FloatSize,
            Gfx::FloatRect(_) => GfxType::FloatRect,
        }
    }

    /// The named fields of a geometry value, in wire order; `None` for
    /// [`Gfx::Color`], which is one ARGB number.
    pub fn fields(&self) -> Option<Vec<(&'static str, GfxNumber)>> {
        use GfxNumber::{Float, Int};
        Some(match *self {
            Gfx::IntRect(r) => vec![
                ("x", Int(r.x)),
                ("y", Int(r.y)),
                ("width", Int(r.width)),
                ("height", Int(r.height)),
            ],
            Gfx::IntPoint(p) => vec![("x", Int(p.x)), ("y", Int(p.y))],
            Gfx::IntSize(s) => vec![("width", Int(s.width)), ("height", Int(s.height))],
            Gfx::FloatRect(r) => vec![
                ("x", Float(r.x)),
                ("y", Float(r.y)),
                ("width", Float(r.width)),
                ("height", Float(r.height)),
            ],
            Gfx::FloatPoint(p) => vec![("x", Float(p.x)), ("y", Float(p.y))],
            Gfx::FloatSize(s) => vec![("width", Float(s.width)), ("height", Float(s.height))],
            Gfx::Color(_) => return None,
        })
    }
}

/// One field of a gfx geometry value: `i32` for the `Int` types, `f32` for
/// the `Float` ones.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GfxNumber {
    /// A field of `IntRect`, `IntPoint` or `IntSize`.
    Int(i32),
    /// A field of `FloatRect`, `FloatPoint` or `FloatSize`.
    Float(f32),
}

/// The names of the fields of a gfx geometry type, in wire order (empty for
/// `Color`).
pub(crate) fn gfx_field_names(ty: GfxType) -> &'static [&'static str] {
    match ty {
        GfxType::IntRect | GfxType::FloatRect => &["x", "y", "width", "height"],
        GfxType::IntPoint | GfxType::FloatPoint => &["x", "y"],
        GfxType::IntSize | GfxType::FloatSize => &["width", "height"],
        GfxType::Color => &[],
    }
}

/// `#rrggbbaa`, the way colours print.
pub(crate) fn color_hex(color: Color) -> String {
    format!(
        "#{:02x}{:02x}{:02x}{:02x}",
        color.red(),
        color.green(),
        color.blue(),
        color.alpha()
    )
}

/// The name of a bitmap format as SerenityOS writes it: `BGRA8888`.
pub(crate) fn format_name(format: BitmapFormat) -> &'static str {
    match format {
        BitmapFormat::Bgrx8888 => "BGRx8888",
        BitmapFormat::Bgra8888 => "BGRA8888",
        BitmapFormat::Rgba8888 => "RGBA8888",
    }
}

impl Value {
    /// What kind of value this is, for error messages: `i32`, `string`,
    /// `vector`, `IntRect`...
    ///
    /// ```
    /// use courier_value::Value;
    /// assert_eq!(Value::ByteString(Vec::new()).kind(), "byte string");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::I8(_) => "i8",
            Value::I16(_) => "i16",
            Value::I32(_) => "i32",
            Value::I64(_) => "i64",
            Value::U8(_) => "u8",
            Value::U16(_) => "u16",
            Value::U32(_) => "u32",
            Value::U64(_) => "u64",
            Value::F32(_) => "float",
            Value::F64(_) => "double",
            Value::String(_) => "string",
            Value::ByteString(_) => "byte string",
            Value::Bytes(_) => "byte buffer",
            Value::Vector(_) => "vector",
            Value::Map(_) => "map",
            Value::Optional(_) => "optional",
            Value::Variant { .. } => "variant",
            Value::Array(_) => "array",
            Value::File(_) => "file descriptor",
            Value::SharedBuffer(_) => "shared buffer",
            Value::Bitmap(_) => "bitmap",
            Value::BitmapSequence(_) => "bitmap sequence",
            Value::Gfx(gfx) => gfx.ty().name(),
        }
    }

    /// The value of an integer of any width, `None` for anything else.
    ///
    /// ```
    /// use courier_value::Value;
    /// assert_eq!(Value::U64(u64::MAX).as_integer(), Some(u64::MAX as i128));
    /// assert_eq!(Value::Bool(true).as_integer(), None);
    /// ```
    pub fn as_integer(&self) -> Option<i128> {
        Some(match *self {
            Value::I8(v) => v.into(),
            Value::I16(v) => v.into(),
            Value::I32(v) => v.into(),
            Value::I64(v) => v.into(),
            Value::U8(v) => v.into(),
            Value::U16(v) => v.into(),
            Value::U32(v) => v.into(),
            Value::U64(v) => v.into(),
            _ => return None,
        })
    }

    /// A copy of the value; file descriptors are duplicated (close-on-exec),
    /// shared memory is mapped again (the copy shares the memory).
    ///
    /// # Errors
    ///
    /// The system's error when a descriptor cannot be duplicated or memory
    /// cannot be mapped (the process is out of descriptors or memory).
    ///
    /// ```
    /// use courier_value::Value;
    /// let value = Value::Vector(vec![Value::I32(1)]);
    /// assert_eq!(value.try_clone()?, value);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<Value> {
        let shm = |e: courier::shm::ShmError| io::Error::other(e.to_string());
        Ok(match self {
            Value::Bool(v) => Value::Bool(*v),
            Value::I8(v) => Value::I8(*v),
            Value::I16(v) => Value::I16(*v),
            Value::I32(v) => Value::I32(*v),
            Value::I64(v) => Value::I64(*v),
            Value::U8(v) => Value::U8(*v),
            Value::U16(v) => Value::U16(*v),
            Value::U32(v) => Value::U32(*v),
            Value::U64(v) => Value::U64(*v),
            Value::F32(v) => Value::F32(*v),
            Value::F64(v) => Value::F64(*v),
            Value::String(v) => Value::String(v.clone()),
            Value::ByteString(v) => Value::ByteString(v.clone()),
            Value::Bytes(v) => Value::Bytes(v.clone()),
            Value::Vector(items) => Value::Vector(clone_all(items)?),
            Value::Array(items) => Value::Array(clone_all(items)?),
            Value::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.try_clone()?, v.try_clone()?)))
                    .collect::<io::Result<_>>()?,
            ),
            Value::Optional(None) => Value::Optional(None),
            Value::Optional(Some(inner)) => Value::Optional(Some(Box::new(inner.try_clone()?))),
            Value::Variant { index, value } => Value::Variant {
                index: *index,
                value: Box::new(value.try_clone()?),
            },
            Value::File(fd) => Value::File(fd.try_clone()?),
            Value::SharedBuffer(buffer) => Value::SharedBuffer(buffer.try_clone().map_err(shm)?),
            Value::Bitmap(bitmap) => Value::Bitmap(clone_bitmap(bitmap).map_err(shm)?),
            Value::BitmapSequence(sequence) => Value::BitmapSequence(
                BitmapSequence::from_parts(
                    sequence.frames().to_vec(),
                    sequence.buffer().try_clone().map_err(shm)?,
                )
                .map_err(shm)?,
            ),
            Value::Gfx(gfx) => Value::Gfx(*gfx),
        })
    }
}

fn clone_all(items: &[Value]) -> io::Result<Vec<Value>> {
    items.iter().map(Value::try_clone).collect()
}

fn clone_bitmap(bitmap: &ShareableBitmap) -> Result<ShareableBitmap, courier::shm::ShmError> {
    if !bitmap.is_valid() {
        return Ok(ShareableBitmap::invalid());
    }
    ShareableBitmap::from_buffer(
        bitmap.width(),
        bitmap.height(),
        bitmap.pitch(),
        bitmap.format(),
        bitmap.buffer().try_clone()?,
    )
}

/// Equality of contents. Floats compare as numbers (`NaN` is not equal to
/// itself); two file descriptors are equal when they refer to the same file
/// (same device and inode); shared buffers, bitmaps and sequences when their
/// shapes and bytes are equal.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value as V;
        match (self, other) {
            (V::Bool(a), V::Bool(b)) => a == b,
            (V::I8(a), V::I8(b)) => a == b,
            (V::I16(a), V::I16(b)) => a == b,
            (V::I32(a), V::I32(b)) => a == b,
            (V::I64(a), V::I64(b)) => a == b,
            (V::U8(a), V::U8(b)) => a == b,
            (V::U16(a), V::U16(b)) => a == b,
            (V::U32(a), V::U32(b)) => a == b,
            (V::U64(a), V::U64(b)) => a == b,
            (V::F32(a), V::F32(b)) => a == b,
            (V::F64(a), V::F64(b)) => a == b,
            (V::String(a), V::String(b)) => a == b,
            (V::ByteString(a), V::ByteString(b)) | (V::Bytes(a), V::Bytes(b)) => a == b,
            (V::Vector(a), V::Vector(b)) | (V::Array(a), V::Array(b)) => a == b,
            (V::Map(a), V::Map(b)) => a == b,
            (V::Optional(a), V::Optional(b)) => a == b,
            (V::Variant { index: a, value: x }, V::Variant { index: b, value: y }) => {
                a == b && x == y
            }
            (V::File(a), V::File(b)) => same_file(a, b),
            (V::SharedBuffer(a), V::SharedBuffer(b)) => same_buffer(a, b),
            (V::Bitmap(a), V::Bitmap(b)) => {
                a.is_valid() == b.is_valid()
                    && (a.width(), a.height(), a.pitch(), a.format())
                        == (b.width(), b.height(), b.pitch(), b.format())
                    && a.pixels() == b.pixels()
            }
            (V::BitmapSequence(a), V::BitmapSequence(b)) => {
                a.frames() == b.frames() && same_buffer(a.buffer(), b.buffer())
            }
            (V::Gfx(a), V::Gfx(b)) => a == b,
            _ => false,
        }
    }
}

fn same_buffer(a: &SharedBuffer, b: &SharedBuffer) -> bool {
    a.is_valid() == b.is_valid() && a.as_slice() == b.as_slice()
}

fn same_file(a: &OwnedFd, b: &OwnedFd) -> bool {
    let identity = |fd: &OwnedFd| -> Option<(u64, u64)> {
        let file = std::fs::File::from(fd.as_fd().try_clone_to_owned().ok()?);
        let metadata = file.metadata().ok()?;
        Some((metadata.dev(), metadata.ino()))
    };
    match (identity(a), identity(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

macro_rules! from_primitive {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl From<$ty> for Value {
            fn from(value: $ty) -> Value {
                Value::$variant(value)
            }
        }
    )*};
}

from_primitive! {
    bool => Bool, i8 => I8, i16 => I16, i32 => I32, i64 => I64,
    u8 => U8, u16 => U16, u32 => U32, u64 => U64, f32 => F32, f64 => F64,
    String => String,
}

impl From<&str> for Value {
    fn from(value: &str) -> Value {
        Value::String(value.to_owned())
    }
}

impl From<OwnedFd> for Value {
    fn from(fd: OwnedFd) -> Value {
        Value::File(fd)
    }
}

impl From<Gfx> for Value {
    fn from(gfx: Gfx) -> Value {
        Value::Gfx(gfx)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Value {
        Value::Optional(value.map(|v| Box::new(v.into())))
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(items: Vec<T>) -> Value {
        Value::Vector(items.into_iter().map(Into::into).collect())
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(v) => write!(f, "{v}"),
            Value::I8(v) => write!(f, "{v}"),
            Value::I16(v) => write!(f, "{v}"),
            Value::I32(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::U8(v) => write!(f, "{v}"),
            Value::U16(v) => write!(f, "{v}"),
            Value::U32(v) => write!(f, "{v}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v:?}"),
            Value::F64(v) => write!(f, "{v:?}"),
            Value::String(v) => write!(f, "{v:?}"),
            Value::ByteString(bytes) | Value::Bytes(bytes) => write_bytes(f, bytes, f.alternate()),
            Value::Vector(items) | Value::Array(items) => {
                f.write_char('[')?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    fmt::Display::fmt(item, f)?;
                }
                f.write_char(']')
            }
            Value::Map(entries) => {
                f.write_char('{')?;
                for (index, (key, value)) in entries.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    fmt::Display::fmt(key, f)?;
                    f.write_str(": ")?;
                    fmt::Display::fmt(value, f)?;
                }
                f.write_char('}')
            }
            Value::Optional(None) => f.write_str("None"),
            Value::Optional(Some(inner)) => {
                f.write_str("Some(")?;
                fmt::Display::fmt(inner, f)?;
                f.write_char(')')
            }
            Value::Variant { index, value } => {
                write!(f, "V{index}(")?;
                fmt::Display::fmt(value, f)?;
                f.write_char(')')
            }
            Value::File(fd) => write!(f, "fd {}", fd.as_raw_fd()),
            Value::SharedBuffer(buffer) => write_buffer(f, buffer),
            Value::Bitmap(bitmap) => write_bitmap(f, bitmap),
            Value::BitmapSequence(sequence) => write_sequence(f, sequence),
            Value::Gfx(gfx) => fmt::Display::fmt(gfx, f),
        }
    }
}

impl fmt::Display for Gfx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(fields) = self.fields() else {
            let Gfx::Color(color) = self else {
                return Ok(());
            };
            return write!(f, "Color({})", color_hex(*color));
        };
        write!(f, "{} {{ ", self.ty().name())?;
        for (index, (name, number)) in fields.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            match number {
                GfxNumber::Int(v) => write!(f, "{name}: {v}")?,
                GfxNumber::Float(v) => write!(f, "{name}: {v:?}")?,
            }
        }
        f.write_str(" }")
    }
}

/// `b"..."` with Rust's escapes; shortened after [`BYTES_SHOWN`] bytes
/// unless `whole`.
fn write_bytes(f: &mut fmt::Formatter<'_>, bytes: &[u8], whole: bool) -> fmt::Result {
    let shown = if whole {
        bytes
    } else {
        &bytes[..bytes.len().min(BYTES_SHOWN)]
    };
    f.write_str("b\"")?;
    for &byte in shown {
        match byte {
            b'"' => f.write_str("\\\"")?,
            b'\\' => f.write_str("\\\\")?,
            b'\n' => f.write_str("\\n")?,
            b'\r' => f.write_str("\\r")?,
            b'\t' => f.write_str("\\t")?,
            0x20..=0x7e => f.write_char(char::from(byte))?,
            _ => write!(f, "\\x{byte:02x}")?,
        }
    }
    f.write_char('"')?;
    if shown.len() < bytes.len() {
        write!(f, "... ({} bytes)", bytes.len())?;
    }
    Ok(())
}

fn write_buffer(f: &mut fmt::Formatter<'_>, buffer: &SharedBuffer) -> fmt::Result {
    if !buffer.is_valid() {
        return f.write_str("<invalid shared buffer>");
    }
    write!(f, "<shared buffer, {} bytes", buffer.len())?;
    if f.alternate() {
        f.write_str(": ")?;
        write_bytes(f, buffer.as_slice(), false)?;
    }
    f.write_char('>')
}

fn write_bitmap(f: &mut fmt::Formatter<'_>, bitmap: &ShareableBitmap) -> fmt::Result {
    if !bitmap.is_valid() {
        return f.write_str("<invalid bitmap>");
    }
    write!(
        f,
        "<bitmap {}x{} {}, pitch {}>",
        bitmap.width(),
        bitmap.height(),
        format_name(bitmap.format()),
        bitmap.pitch()
    )
}

fn write_sequence(f: &mut fmt::Formatter<'_>, sequence: &BitmapSequence) -> fmt::Result {
    write!(f, "<bitmap sequence, {} frames", sequence.len())?;
    for (index, frame) in sequence.frames().iter().enumerate() {
        f.write_str(if index == 0 { ": " } else { ", " })?;
        match frame {
            None => f.write_str("none")?,
            Some(frame) => write!(
                f,
                "{}x{} {}",
                frame.width(),
                frame.height(),
                format_name(frame.format)
            )?,
        }
    }
    f.write_char('>')
}
