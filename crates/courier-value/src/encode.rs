//! [`encode_message`]: [`Value`]s to a body and its fds, checked against
//! the schema.

use std::collections::HashSet;
use std::os::fd::{AsFd, OwnedFd};

use courier::{Encode, EncodeError, Encoder};
use courier_idl::types::IdlType;

use crate::error::{ArgError, ArgErrorKind, ValueError};
use crate::schema::MessageSchema;
use crate::value::{Gfx, Value};

/// Encodes the arguments of `message`, checking each value against its
/// parameter's type: the body, byte for byte what generated code sends, and
/// the fds to send with it (duplicates: `args` keeps its own).
///
/// Integers of any width are accepted for any integer type whose range holds
/// them, integers and floats for float types, a non-optional value for an
/// `Optional` (as present), a `String` for byte types and UTF-8 bytes for a
/// `String`, a `Vector` for an `Array` of the right length and the other way
/// round. A `HashMap`'s keys must be unique.
///
/// # Errors
///
/// [`ValueError::Arg`] naming the parameter and the expected type when a
/// value does not fit or the number of arguments is wrong (nothing is
/// encoded); [`ValueError::Encode`] when a length passes the wire's `u32`
/// or an fd cannot be duplicated.
///
/// # Example
///
/// ```
/// use courier_value::{InterfaceSchema, Value, encode_message};
///
/// let schema = InterfaceSchema::from_source("Demo.ipc", "endpoint Demo { set(u16 x, String s) =| }")?;
/// let set = schema.message_by_name(None, "set")?;
/// let (body, fds) = encode_message(set, &[Value::I32(7), Value::from("hi")])?;
/// assert_eq!(body, [7, 0, 2, 0, 0, 0, b'h', b'i']);
/// assert!(fds.is_empty());
///
/// let error = encode_message(set, &[Value::I32(-3), Value::from("hi")]).unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "message `set` of `Demo`: parameter `x`: expected u16, got i32 `-3` (out of range 0..=65535)"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_message(
    message: &MessageSchema,
    args: &[Value],
) -> Result<(Vec<u8>, Vec<OwnedFd>), ValueError> {
    if args.len() != message.params.len() {
        return Err(ValueError::Arg {
            message: message.describe(),
            source: ArgError::new(ArgErrorKind::Count {
                signature: message.signature(),
                expected: message.params.len(),
                got: args.len(),
            }),
        });
    }
    let mut encoder = Encoder::new();
    for (param, value) in message.params.iter().zip(args) {
        encode_value(&param.ty, value, &mut encoder).map_err(|fail| match fail {
            Fail::Arg(source) => ValueError::Arg {
                message: message.describe(),
                source: source.in_param(param.name.clone()),
            },
            Fail::Wire(source) => ValueError::Encode {
                message: message.describe(),
                source,
            },
        })?;
    }
    Ok(encoder.into_parts())
}

/// Checks `value` against `ty` and appends it to `encoder`, as
/// [`encode_message`] does for each argument.
///
/// # Errors
///
/// [`EncodeValueError::Arg`] when the value does not fit the type (the
/// error's path says where inside it), [`EncodeValueError::Wire`] when it
/// cannot be put on the wire.
///
/// ```
/// use courier::Encoder;
/// use courier_value::{IdlType, Value, encode_value};
///
/// let mut encoder = Encoder::new();
/// encode_value(&IdlType::Optional(Box::new(IdlType::U8)), &Value::I32(5), &mut encoder)?;
/// assert_eq!(encoder.bytes(), [1, 5]);
/// # Ok::<(), courier_value::EncodeValueError>(())
/// ```
pub fn encode_value(
    ty: &IdlType,
    value: &Value,
    encoder: &mut Encoder,
) -> Result<(), EncodeValueError> {
    encode(ty, value, encoder)
}

/// Why [`encode_value`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeValueError {
    /// The value does not fit the type.
    #[error(transparent)]
    Arg(ArgError),
    /// The value cannot be put on the wire.
    #[error(transparent)]
    Wire(EncodeError),
}

use EncodeValueError as Fail;

impl From<ArgError> for Fail {
    fn from(error: ArgError) -> Fail {
        Fail::Arg(error)
    }
}

impl From<EncodeError> for Fail {
    fn from(error: EncodeError) -> Fail {
        Fail::Wire(error)
    }
}

impl Fail {
    fn in_field(self, segment: impl Into<String>) -> Fail {
        match self {
            Fail::Arg(error) => Fail::Arg(error.in_field(segment)),
            wire => wire,
        }
    }
}

/// Longest rendering of a value shown in an error.
const SHOWN: usize = 60;

/// `` i32 `-3` ``: the value's kind and a short rendering.
pub(crate) fn describe(value: &Value) -> String {
    format!("{} `{}`", value.kind(), shorten(&value.to_string()))
}

pub(crate) fn shorten(text: &str) -> String {
    if text.chars().count() <= SHOWN {
        return text.to_owned();
    }
    let head: String = text.chars().take(SHOWN).collect();
    format!("{head}...")
}

fn mismatch(ty: &IdlType, value: &Value) -> Fail {
    Fail::Arg(ArgError::expected(ty, describe(value), None))
}

/// The range of an integer type.
pub(crate) fn int_range(ty: &IdlType) -> Option<(i128, i128)> {
    Some(match ty {
        IdlType::I8 => (i8::MIN.into(), i8::MAX.into()),
        IdlType::I16 => (i16::MIN.into(), i16::MAX.into()),
        IdlType::I32 => (i32::MIN.into(), i32::MAX.into()),
        IdlType::I64 => (i64::MIN.into(), i64::MAX.into()),
        IdlType::U8 => (0, u8::MAX.into()),
        IdlType::U16 => (0, u16::MAX.into()),
        IdlType::U32 => (0, u32::MAX.into()),
        IdlType::U64 => (0, u64::MAX.into()),
        _ => return None,
    })
}

/// Puts integer `v`, already checked against the range of `ty`, on the wire.
fn put_int(ty: &IdlType, v: i128, encoder: &mut Encoder) -> Result<(), EncodeError> {
    // The casts cannot truncate: the caller checked `int_range(ty)`.
    match ty {
        IdlType::I8 => (v as i8).encode(encoder),
        IdlType::I16 => (v as i16).encode(encoder),
        IdlType::I32 => (v as i32).encode(encoder),
        IdlType::I64 => (v as i64).encode(encoder),
        IdlType::U8 => (v as u8).encode(encoder),
        IdlType::U16 => (v as u16).encode(encoder),
        IdlType::U32 => (v as u32).encode(encoder),
        _ => (v as u64).encode(encoder),
    }
}

fn encode(ty: &IdlType, value: &Value, encoder: &mut Encoder) -> Result<(), Fail> {
    if let Some((low, high)) = int_range(ty) {
        let Some(v) = value.as_integer() else {
            return Err(mismatch(ty, value));
        };
        if v < low || v > high {
            let detail = format!("out of range {low}..={high}");
            return Err(Fail::Arg(ArgError::expected(
                ty,
                describe(value),
                Some(detail),
            )));
        }
        return Ok(put_int(ty, v, encoder)?);
    }
    match (ty, value) {
        (IdlType::Bool, Value::Bool(v)) => v.encode(encoder)?,
        (IdlType::F32 | IdlType::F64, _) => encode_float(ty, value, encoder)?,
        (IdlType::String, Value::String(s)) => s.encode(encoder)?,
        (IdlType::String, Value::ByteString(bytes) | Value::Bytes(bytes)) => {
            let Ok(text) = std::str::from_utf8(bytes) else {
                return Err(Fail::Arg(ArgError::expected(
                    ty,
                    describe(value),
                    Some("not UTF-8".to_owned()),
                )));
            };
            text.encode(encoder)?;
        }
        (IdlType::ByteString | IdlType::Bytes, Value::String(s)) => s.as_bytes().encode(encoder)?,
        (IdlType::ByteString | IdlType::Bytes, Value::ByteString(bytes) | Value::Bytes(bytes)) => {
            bytes.encode(encoder)?
        }
        (IdlType::Vector(inner), Value::Vector(items) | Value::Array(items)) => {
            encoder.put_len(items.len())?;
            encode_items(inner, items, encoder)?;
        }
        (IdlType::Array(inner, len), Value::Vector(items) | Value::Array(items)) => {
            if items.len() as u64 != *len {
                let detail = format!("{} elements, not {len}", items.len());
                return Err(Fail::Arg(ArgError::expected(
                    ty,
                    describe(value),
                    Some(detail),
                )));
            }
            encoder.put_len(items.len())?;
            encode_items(inner, items, encoder)?;
        }
        (IdlType::HashMap(key, val), Value::Map(entries)) => {
            encode_entries(key, val, entries, true, encoder)?;
        }
        (IdlType::OrderedHashMap(key, val), Value::Map(entries)) => {
            encode_entries(key, val, entries, false, encoder)?;
        }
        (IdlType::Optional(_), Value::Optional(None)) => false.encode(encoder)?,
        (IdlType::Optional(inner), Value::Optional(Some(present))) => {
            true.encode(encoder)?;
            encode(inner, present, encoder)?;
        }
        (IdlType::Optional(inner), present) => {
            true.encode(encoder)?;
            encode(inner, present, encoder)?;
        }
        (
            IdlType::Variant(alternatives),
            Value::Variant {
                index,
                value: inner,
            },
        ) => {
            let Some(alternative) = alternatives.get(usize::from(*index)) else {
                let detail = format!(
                    "index {index}, but there are {} alternatives",
                    alternatives.len()
                );
                return Err(Fail::Arg(ArgError::expected(
                    ty,
                    describe(value),
                    Some(detail),
                )));
            };
            index.encode(encoder)?;
            encode(alternative, inner, encoder).map_err(|f| f.in_field(format!("V{index}")))?;
        }
        (IdlType::File, Value::File(fd)) => encoder.put_fd(fd.as_fd())?,
        (IdlType::SharedBuffer, Value::SharedBuffer(buffer)) => buffer.encode(encoder)?,
        (IdlType::Bitmap, Value::Bitmap(bitmap)) => bitmap.encode(encoder)?,
        (IdlType::BitmapSequence, Value::BitmapSequence(sequence)) => sequence.encode(encoder)?,
        (IdlType::Gfx(expected), Value::Gfx(gfx)) if gfx.ty() == *expected => {
            encode_gfx(gfx, encoder)?;
        }
        (IdlType::User { path }, _) => {
            return Err(Fail::Arg(ArgError::new(ArgErrorKind::UserType {
                type_name: path.clone(),
            })));
        }
        _ => return Err(mismatch(ty, value)),
    }
    Ok(())
}

fn encode_float(ty: &IdlType, value: &Value, encoder: &mut Encoder) -> Result<(), Fail> {
    // Same width: the bits as they are (a NaN keeps its payload).
    match (ty, value) {
        (IdlType::F32, Value::F32(v)) => return Ok(v.encode(encoder)?),
        (IdlType::F64, Value::F64(v)) => return Ok(v.encode(encoder)?),
        _ => {}
    }
    let number = match value {
        Value::F32(v) => f64::from(*v),
        Value::F64(v) => *v,
        other => match other.as_integer() {
            // Integers are exact up to 2^53 in a double; past that the
            // nearest double is what a C++ sender would send too.
            Some(v) => v as f64,
            None => return Err(mismatch(ty, value)),
        },
    };
    if *ty == IdlType::F64 {
        return Ok(number.encode(encoder)?);
    }
    let narrow = number as f32;
    if number.is_finite() && narrow.is_infinite() {
        return Err(Fail::Arg(ArgError::expected(
            ty,
            describe(value),
            Some(format!("out of range for a float, at most {:e}", f32::MAX)),
        )));
    }
    Ok(narrow.encode(encoder)?)
}

fn encode_gfx(gfx: &Gfx, encoder: &mut Encoder) -> Result<(), EncodeError> {
    match gfx {
        Gfx::IntRect(v) => v.encode(encoder),
        Gfx::IntPoint(v) => v.encode(encoder),
        Gfx::IntSize(v) => v.encode(encoder),
        Gfx::Color(v) => v.encode(encoder),
        Gfx::FloatPoint(v) => v.encode(encoder),
        Gfx::FloatSize(v) => v.encode(encoder),
        Gfx::FloatRect(v) => v.encode(encoder),
    }
}

fn encode_items(inner: &IdlType, items: &[Value], encoder: &mut Encoder) -> Result<(), Fail> {
    for (index, item) in items.iter().enumerate() {
        encode(inner, item, encoder).map_err(|f| f.in_field(format!("[{index}]")))?;
    }
    Ok(())
}

fn encode_entries(
    key_ty: &IdlType,
    value_ty: &IdlType,
    entries: &[(Value, Value)],
    unique: bool,
    encoder: &mut Encoder,
) -> Result<(), Fail> {
    encoder.put_len(entries.len())?;
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    for (index, (key, value)) in entries.iter().enumerate() {
        let entry = |f: Fail| f.in_field(format!("[{index}]"));
        let start = encoder.bytes().len();
        encode(key_ty, key, encoder).map_err(|f| entry(f.in_field("key")))?;
        if unique && !seen.insert(encoder.bytes()[start..].to_vec()) {
            return Err(entry(
                Fail::Arg(ArgError::expected(
                    format!(
                        "a key not seen before in the {}",
                        IdlType::HashMap(Box::new(key_ty.clone()), Box::new(value_ty.clone()))
                    ),
                    describe(key),
                    Some("a HashMap's keys must be unique".to_owned()),
                ))
                .in_field("key"),
            ));
        }
        encode(value_ty, value, encoder).map_err(|f| entry(f.in_field("value")))?;
    }
    Ok(())
}
