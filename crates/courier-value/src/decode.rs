//! [`decode_message`]: a body and its fds to [`Value`]s, by the schema.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::os::fd::OwnedFd;

use courier::codec::{DecodeErrorKind, Decoder};
use courier::gfx::{Color, FloatPoint, FloatRect, FloatSize, IntPoint, IntRect, IntSize};
use courier::shm::{BitmapSequence, ShareableBitmap, SharedBuffer};
use courier::{ByteString, Decode, DecodeError};
use courier_idl::types::{GfxType, IdlType};

use crate::error::{ValueError, join_path};
use crate::schema::{InterfaceSchema, MessageKind, MessageSchema};
use crate::value::{Gfx, Value};

/// A message decoded by its schema: which message it is and its arguments.
///
/// [`Display`](fmt::Display) prints it as a call,
/// `create_window(rect: IntRect { x: 0, y: 0, width: 10, height: 10 }, title: "hi")`;
/// [`DecodedMessage::to_json`] as an object.
#[derive(Debug, PartialEq)]
pub struct DecodedMessage {
    /// The endpoint's name as written.
    pub endpoint: String,
    /// The endpoint's magic.
    pub magic: u32,
    /// The message id.
    pub id: u32,
    /// The message's name (a response's ends in `Response` or `_response`).
    pub name: String,
    /// Request, one-way or response.
    pub kind: MessageKind,
    /// The arguments, in wire order.
    pub args: Vec<Arg>,
}

/// One decoded argument.
#[derive(Debug, PartialEq)]
pub struct Arg {
    /// The parameter's name as written.
    pub name: String,
    /// The parameter's type.
    pub ty: IdlType,
    /// The value.
    pub value: Value,
}

impl DecodedMessage {
    /// The value of the argument named `name`.
    pub fn arg(&self, name: &str) -> Option<&Value> {
        self.args.iter().find(|a| a.name == name).map(|a| &a.value)
    }

    /// The values, in wire order (what [`crate::encode_message`] takes).
    pub fn into_values(self) -> Vec<Value> {
        self.args.into_iter().map(|a| a.value).collect()
    }
}

impl fmt::Display for DecodedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        for (index, arg) in self.args.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}: ", arg.name)?;
            fmt::Display::fmt(&arg.value, f)?;
        }
        f.write_str(")")
    }
}

/// Decodes the body of `message`: every parameter in order, with the same
/// rules as generated code. Every byte and every fd must be used; the fds
/// of a failed decode are closed.
///
/// # Errors
///
/// [`ValueError::Decode`] for a malformed body (too short, bytes or fds left
/// over, a count larger than what is left, an invalid bool, tag, UTF-8 or
/// shared memory), naming the parameter path (`in `rect.width``);
/// [`ValueError::UserType`] when the body reaches a user type, whose layout
/// is unknown at run time.
///
/// Never panics, and never reserves memory for more elements than the bytes
/// (or fds) left could hold, whatever the counts say.
///
/// # Example
///
/// ```
/// use courier_value::{InterfaceSchema, Value, decode_message};
///
/// let schema = InterfaceSchema::from_source("Demo.ipc", "endpoint Demo { set(u16 x, String s) =| }")?;
/// let set = schema.message_by_name(None, "set")?;
/// let decoded = decode_message(set, &[7, 0, 2, 0, 0, 0, b'h', b'i'], Vec::new())?;
/// assert_eq!(decoded.arg("x"), Some(&Value::U16(7)));
/// assert_eq!(decoded.to_string(), r#"set(x: 7, s: "hi")"#);
///
/// let error = decode_message(set, &[7, 0, 9], Vec::new()).unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "message `set` of `Demo`: in `s`: message ends early: 4 more bytes needed, 1 left"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_message(
    message: &MessageSchema,
    body: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<DecodedMessage, ValueError> {
    let mut reader = Reader {
        body,
        decoder: Decoder::new(body, fds),
    };
    let mut args = Vec::with_capacity(message.params.len());
    for param in &message.params {
        let value = reader
            .value(&param.ty)
            .map_err(|fail| fail.in_field(param.name.clone()))
            .map_err(|fail| fail.into_error(message))?;
        args.push(Arg {
            name: param.name.clone(),
            ty: param.ty.clone(),
            value,
        });
    }
    reader
        .decoder
        .finish()
        .map_err(|source| ValueError::Decode {
            message: message.describe(),
            source,
        })?;
    Ok(DecodedMessage {
        endpoint: message.endpoint.clone(),
        magic: message.magic,
        id: message.id,
        name: message.name.clone(),
        kind: message.kind,
        args,
    })
}

impl InterfaceSchema {
    /// Decodes the body of the frame whose header names endpoint `magic`
    /// and message `id`: [`InterfaceSchema::message`], then
    /// [`decode_message`].
    ///
    /// # Errors
    ///
    /// [`ValueError::UnknownMessage`] when the interface has no such
    /// message, or the errors of [`decode_message`].
    ///
    /// ```
    /// use courier_value::InterfaceSchema;
    ///
    /// let schema = InterfaceSchema::from_source("E.ipc", "endpoint E { f(u8 a) => (bool ok) }")?;
    /// let magic = schema.endpoints[0].magic;
    /// assert_eq!(schema.decode(magic, 2, &[1], Vec::new())?.to_string(), "f_response(ok: true)");
    /// assert_eq!(
    ///     schema.decode(magic, 3, &[], Vec::new()).unwrap_err().to_string(),
    ///     "endpoint `E` (magic 3368849798) has no message with id 3; \
    ///      the peer may have been built from another version of the interface"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decode(
        &self,
        magic: u32,
        id: u32,
        body: &[u8],
        fds: Vec<OwnedFd>,
    ) -> Result<DecodedMessage, ValueError> {
        let Some(message) = self.message(magic, id) else {
            return Err(ValueError::UnknownMessage {
                endpoint: self.endpoint_by_magic(magic).map(|e| e.name.clone()),
                magic,
                id,
            });
        };
        decode_message(message, body, fds)
    }
}

/// Why a value could not be decoded, before the message is known.
enum Fail {
    Wire(DecodeError),
    User {
        /// Innermost first.
        path: Vec<Cow<'static, str>>,
        type_name: String,
    },
}

impl Fail {
    fn in_field(self, segment: impl Into<Cow<'static, str>>) -> Fail {
        match self {
            Fail::Wire(error) => Fail::Wire(error.in_field(segment)),
            Fail::User {
                mut path,
                type_name,
            } => {
                path.push(segment.into());
                Fail::User { path, type_name }
            }
        }
    }

    fn into_error(self, message: &MessageSchema) -> ValueError {
        match self {
            Fail::Wire(source) => ValueError::Decode {
                message: message.describe(),
                source,
            },
            Fail::User { path, type_name } => ValueError::UserType {
                message: message.describe(),
                path: join_path(path.iter().rev().map(|s| s.as_ref())),
                type_name,
            },
        }
    }
}

impl From<DecodeError> for Fail {
    fn from(error: DecodeError) -> Fail {
        Fail::Wire(error)
    }
}

fn invalid(why: String) -> Fail {
    Fail::Wire(DecodeErrorKind::Invalid(why).into())
}

/// The fewest bytes a value of `ty` takes on the wire (fds take none).
pub(crate) fn min_bytes(ty: &IdlType) -> usize {
    match ty {
        IdlType::Bool | IdlType::I8 | IdlType::U8 => 1,
        IdlType::I16 | IdlType::U16 => 2,
        IdlType::I32 | IdlType::U32 | IdlType::F32 => 4,
        IdlType::I64 | IdlType::U64 | IdlType::F64 => 8,
        IdlType::String | IdlType::ByteString | IdlType::Bytes => 4,
        IdlType::Vector(_) | IdlType::HashMap(..) | IdlType::OrderedHashMap(..) => 4,
        IdlType::Optional(_) | IdlType::SharedBuffer | IdlType::Bitmap => 1,
        IdlType::Variant(alternatives) => 1 + alternatives.iter().map(min_bytes).min().unwrap_or(0),
        IdlType::Array(inner, len) => {
            let elements = usize::try_from(*len).unwrap_or(usize::MAX);
            elements.saturating_mul(min_bytes(inner)).saturating_add(4)
        }
        // The frame count, then the buffer's valid flag.
        IdlType::BitmapSequence => 5,
        IdlType::Gfx(gfx) => match gfx {
            GfxType::IntRect | GfxType::FloatRect => 16,
            GfxType::IntPoint | GfxType::IntSize | GfxType::FloatPoint | GfxType::FloatSize => 8,
            GfxType::Color => 4,
        },
        IdlType::File | IdlType::User { .. } => 0,
    }
}

struct Reader<'a> {
    body: &'a [u8],
    decoder: Decoder<'a>,
}

impl<'a> Reader<'a> {
    fn position(&self) -> usize {
        self.body.len() - self.decoder.remaining()
    }

    fn take<T: Decode>(&mut self) -> Result<T, Fail> {
        Ok(T::decode(&mut self.decoder)?)
    }

    fn value(&mut self, ty: &IdlType) -> Result<Value, Fail> {
        Ok(match ty {
            IdlType::Bool => Value::Bool(self.take()?),
            IdlType::I8 => Value::I8(self.take()?),
            IdlType::I16 => Value::I16(self.take()?),
            IdlType::I32 => Value::I32(self.take()?),
            IdlType::I64 => Value::I64(self.take()?),
            IdlType::U8 => Value::U8(self.take()?),
            IdlType::U16 => Value::U16(self.take()?),
            IdlType::U32 => Value::U32(self.take()?),
            IdlType::U64 => Value::U64(self.take()?),
            IdlType::F32 => Value::F32(self.take()?),
            IdlType::F64 => Value::F64(self.take()?),
            IdlType::String => Value::String(self.take()?),
            IdlType::ByteString => Value::ByteString(self.take::<ByteString>()?.into_bytes()),
            IdlType::Bytes => Value::Bytes(self.take()?),
            IdlType::Vector(inner) => Value::Vector(self.elements(inner)?),
            IdlType::HashMap(key, value) => Value::Map(self.entries(key, value, true)?),
            IdlType::OrderedHashMap(key, value) => Value::Map(self.entries(key, value, false)?),
            IdlType::Optional(inner) => {
                if self.take::<bool>()? {
                    Value::Optional(Some(Box::new(self.value(inner)?)))
                } else {
                    Value::Optional(None)
                }
            }
            IdlType::Variant(alternatives) => {
                let index: u8 = self.take()?;
                let Some(alternative) = alternatives.get(usize::from(index)) else {
                    return Err(invalid(format!(
                        "variant index {index} is out of range for `{ty}`, which has {} \
                         alternatives",
                        alternatives.len()
                    )));
                };
                let value = self
                    .value(alternative)
                    .map_err(|fail| fail.in_field(format!("V{index}")))?;
                Value::Variant {
                    index,
                    value: Box::new(value),
                }
            }
            IdlType::Array(inner, len) => Value::Array(self.array(inner, *len)?),
            IdlType::File => Value::File(self.decoder.take_fd()?),
            IdlType::SharedBuffer => Value::SharedBuffer(self.take::<SharedBuffer>()?),
            IdlType::Bitmap => Value::Bitmap(self.take::<ShareableBitmap>()?),
            IdlType::BitmapSequence => Value::BitmapSequence(self.take::<BitmapSequence>()?),
            IdlType::Gfx(gfx) => Value::Gfx(match gfx {
                GfxType::IntRect => Gfx::IntRect(self.take::<IntRect>()?),
                GfxType::IntPoint => Gfx::IntPoint(self.take::<IntPoint>()?),
                GfxType::IntSize => Gfx::IntSize(self.take::<IntSize>()?),
                GfxType::Color => Gfx::Color(self.take::<Color>()?),
                GfxType::FloatPoint => Gfx::FloatPoint(self.take::<FloatPoint>()?),
                GfxType::FloatSize => Gfx::FloatSize(self.take::<FloatSize>()?),
                GfxType::FloatRect => Gfx::FloatRect(self.take::<FloatRect>()?),
            }),
            IdlType::User { path } => {
                return Err(Fail::User {
                    path: Vec::new(),
                    type_name: path.clone(),
                });
            }
        })
    }

    /// How many elements of at least `min` bytes each to reserve room for:
    /// never more than what is left could hold.
    fn reservation(&self, count: usize, min: usize) -> usize {
        let room = match min {
            0 => self.decoder.remaining_fds(),
            min => self.decoder.remaining() / min,
        };
        count.min(room)
    }

    fn elements(&mut self, inner: &IdlType) -> Result<Vec<Value>, Fail> {
        let min = min_bytes(inner);
        let count = self.decoder.take_count(min)?;
        self.element_loop(inner, count, min)
    }

    fn element_loop(
        &mut self,
        inner: &IdlType,
        count: usize,
        min: usize,
    ) -> Result<Vec<Value>, Fail> {
        let mut items = Vec::with_capacity(self.reservation(count, min));
        for index in 0..count {
            let item = self
                .value(inner)
                .map_err(|fail| fail.in_field(format!("[{index}]")))?;
            items.push(item);
        }
        Ok(items)
    }

    fn array(&mut self, inner: &IdlType, len: u64) -> Result<Vec<Value>, Fail> {
        let found: u32 = self.take()?;
        if u64::from(found) != len {
            return Err(Fail::Wire(
                DecodeErrorKind::WrongArrayLength {
                    expected: usize::try_from(len).unwrap_or(usize::MAX),
                    found: found.into(),
                }
                .into(),
            ));
        }
        let count = found as usize;
        let min = min_bytes(inner);
        let fits = match min {
            0 => count <= self.decoder.remaining() + self.decoder.remaining_fds(),
            min => count
                .checked_mul(min)
                .is_some_and(|n| n <= self.decoder.remaining()),
        };
        if !fits {
            return Err(Fail::Wire(
                DecodeErrorKind::CountTooLarge {
                    count: found.into(),
                    available: self.decoder.remaining(),
                }
                .into(),
            ));
        }
        self.element_loop(inner, count, min)
    }

    /// The entries of a map; with `unique`, a key whose bytes arrived
    /// before is an error (as the generated `HashMap` decoding says; an
    /// `OrderedHashMap` is a list of pairs in generated code and keeps
    /// repeats).
    fn entries(
        &mut self,
        key_ty: &IdlType,
        value_ty: &IdlType,
        unique: bool,
    ) -> Result<Vec<(Value, Value)>, Fail> {
        let min = min_bytes(key_ty).saturating_add(min_bytes(value_ty));
        let count = self.decoder.take_count(min)?;
        let mut entries = Vec::with_capacity(self.reservation(count, min));
        let mut seen: HashSet<&'a [u8]> = HashSet::new();
        for index in 0..count {
            let entry = |fail: Fail| fail.in_field(format!("[{index}]"));
            let start = self.position();
            let key = self
                .value(key_ty)
                .map_err(|fail| entry(fail.in_field("key")))?;
            let key_bytes = &self.body[start..self.position()];
            let value = self
                .value(value_ty)
                .map_err(|fail| entry(fail.in_field("value")))?;
            if unique && !seen.insert(key_bytes) {
                return Err(entry(invalid(
                    "the map has this key twice; a map's keys must be unique".to_owned(),
                )));
            }
            entries.push((key, value));
        }
        Ok(entries)
    }
}
