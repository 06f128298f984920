//! [`parse_arg`]: a value from one command-line word.

use std::fs::File;
use std::io::stdin;
use std::os::fd::{AsFd, OwnedFd};

use courier::gfx::Color;
use courier::shm::SharedBuffer;
use courier_idl::types::{GfxType, IdlType};
use serde_json::Value as Json;

use super::{bad_word, parse_json, quote, single_entry, user_type};
use crate::encode::int_range;
use crate::error::{ArgError, ArgErrorKind};
use crate::value::{Gfx, Value, gfx_field_names};

/// Parses one command-line word as a value of `ty`.
///
/// | type | word |
/// |---|---|
/// | `bool` | `true`, `false` |
/// | integers | decimal (`-12`) or hexadecimal (`0xff`, `-0x10`), checked against the type's range |
/// | `float`, `double` | a Rust float literal: `1.5`, `-2e3`, `NaN`, `inf` |
/// | `String`, `ByteString`, `ByteBuffer` | the word as it is, quotes and all |
/// | `Optional<T>` | `null` for absent, otherwise a word for `T` |
/// | `IPC::File` | `@path` opens the file read-only; `@-` is standard input |
/// | `Core::AnonymousBuffer` | `@path`: a new buffer holding the file's bytes; or JSON |
/// | `Gfx::IntRect`, `IntPoint`, ... | numbers separated by commas in wire order (`0,0,640,480`), or JSON |
/// | `Gfx::Color` | `#rrggbb`, `#rrggbbaa`, an ARGB number (`0xff336699`), or JSON |
/// | `Variant<...>` | JSON `{"<index or type>": value}`, else the first alternative that accepts the word |
/// | everything else | JSON text, read by [`parse_json`] |
///
/// # Errors
///
/// An [`ArgError`] saying what was expected and what was found; name the
/// parameter with [`ArgError::in_param`] (or use [`parse_args`](crate::parse_args), which does).
///
/// # Example
///
/// ```
/// use courier_idl::types::IdlType;
/// use courier_value::{Value, parse_arg};
///
/// assert_eq!(parse_arg(&IdlType::I16, "-0x10")?, Value::I16(-16));
/// let list = IdlType::Vector(Box::new(IdlType::U8));
/// assert_eq!(parse_arg(&list, "[1, 2]")?, Value::Vector(vec![Value::U8(1), Value::U8(2)]));
/// assert_eq!(
///     parse_arg(&IdlType::I8, "200").unwrap_err().to_string(),
///     "expected i8, got `200` (out of range -128..=127)"
/// );
/// # Ok::<(), courier_value::ArgError>(())
/// ```
pub fn parse_arg(ty: &IdlType, word: &str) -> Result<Value, ArgError> {
    match ty {
        IdlType::Bool => match word {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(bad_word(ty, word, "write `true` or `false`".to_owned())),
        },
        IdlType::I8
        | IdlType::I16
        | IdlType::I32
        | IdlType::I64
        | IdlType::U8
        | IdlType::U16
        | IdlType::U32
        | IdlType::U64 => parse_int(ty, word),
        IdlType::F32 | IdlType::F64 => parse_float(ty, word),
        IdlType::String => Ok(Value::String(word.to_owned())),
        IdlType::ByteString => Ok(Value::ByteString(word.as_bytes().to_vec())),
        IdlType::Bytes => Ok(Value::Bytes(word.as_bytes().to_vec())),
        IdlType::Optional(inner) => match word {
            "null" => Ok(Value::Optional(None)),
            _ => match parse_arg(inner, word) {
                Ok(value) => Ok(Value::Optional(Some(Box::new(value)))),
                // `{"some": null}` and other JSON of the optional itself.
                Err(error) => match serde_json::from_str::<Json>(word) {
                    Ok(json) => parse_json(ty, &json).map_err(|_| error),
                    Err(_) => Err(error),
                },
            },
        },
        IdlType::File => match word.strip_prefix('@') {
            Some(path) => open_file(path).map(Value::File),
            None => Err(bad_word(
                ty,
                word,
                "give a file as `@path`, or `@-` for standard input".to_owned(),
            )),
        },
        IdlType::SharedBuffer => match word.strip_prefix('@') {
            Some(path) => buffer_from_file(path).map(Value::SharedBuffer),
            None => json_word(ty, word),
        },
        IdlType::Gfx(GfxType::Color) => parse_color_word(word),
        IdlType::Gfx(gfx) if !word.starts_with(['{', '[']) => parse_gfx_word(*gfx, ty, word),
        IdlType::Variant(alternatives) => parse_variant_word(ty, alternatives, word),
        IdlType::User { path } => Err(user_type(path)),
        _ => json_word(ty, word),
    }
}

pub(super) fn json_word(ty: &IdlType, word: &str) -> Result<Value, ArgError> {
    let json: Json = serde_json::from_str(word).map_err(|e| {
        ArgError::expected(format!("{ty} as JSON"), quote(word), Some(format!("{e}")))
    })?;
    parse_json(ty, &json)
}

pub(super) fn parse_int(ty: &IdlType, word: &str) -> Result<Value, ArgError> {
    let (negative, digits) = match word.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, word.strip_prefix('+').unwrap_or(word)),
    };
    let (radix, digits) = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => (16, hex),
        None => (10, digits),
    };
    let not_a_number = || {
        bad_word(
            ty,
            word,
            "not an integer; write it in decimal or as 0x hex".to_owned(),
        )
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(not_a_number());
    }
    let (low, high) = int_range(ty).unwrap_or((0, 0));
    let out_of_range = || bad_word(ty, word, format!("out of range {low}..={high}"));
    let magnitude = u128::from_str_radix(digits, radix).map_err(|_| out_of_range())?;
    let magnitude = i128::try_from(magnitude).map_err(|_| out_of_range())?;
    let value = if negative { -magnitude } else { magnitude };
    int_value(ty, value).ok_or_else(out_of_range)
}

/// `value` as a [`Value`] of integer type `ty`, `None` when out of range.
pub(super) fn int_value(ty: &IdlType, value: i128) -> Option<Value> {
    Some(match ty {
        IdlType::I8 => Value::I8(value.try_into().ok()?),
        IdlType::I16 => Value::I16(value.try_into().ok()?),
        IdlType::I32 => Value::I32(value.try_into().ok()?),
        IdlType::I64 => Value::I64(value.try_into().ok()?),
        IdlType::U8 => Value::U8(value.try_into().ok()?),
        IdlType::U16 => Value::U16(value.try_into().ok()?),
        IdlType::U32 => Value::U32(value.try_into().ok()?),
        IdlType::U64 => Value::U64(value.try_into().ok()?),
        _ => return None,
    })
}

pub(super) fn is_infinity_word(word: &str) -> bool {
    let word = word.trim_start_matches(['+', '-']).to_ascii_lowercase();
    word == "inf" || word == "infinity"
}

pub(super) fn parse_float(ty: &IdlType, word: &str) -> Result<Value, ArgError> {
    let not_a_number = || {
        bad_word(
            ty,
            word,
            "not a number; write it like `1.5`, `-2e3`, `NaN` or `inf`".to_owned(),
        )
    };
    if *ty == IdlType::F64 {
        let value: f64 = word.parse().map_err(|_| not_a_number())?;
        if value.is_infinite() && !is_infinity_word(word) {
            return Err(bad_word(ty, word, "out of range for a double".to_owned()));
        }
        return Ok(Value::F64(value));
    }
    let value: f32 = word.parse().map_err(|_| not_a_number())?;
    if value.is_infinite() && !is_infinity_word(word) {
        let detail = format!("out of range for a float, at most {:e}", f32::MAX);
        return Err(bad_word(ty, word, detail));
    }
    Ok(Value::F32(value))
}

pub(super) fn open_file(path: &str) -> Result<OwnedFd, ArgError> {
    let io_error = |source| {
        ArgError::new(ArgErrorKind::File {
            path: path.to_owned(),
            source,
        })
    };
    if path == "-" {
        return stdin().as_fd().try_clone_to_owned().map_err(io_error);
    }
    File::open(path).map(OwnedFd::from).map_err(io_error)
}

pub(super) fn buffer_from_file(path: &str) -> Result<SharedBuffer, ArgError> {
    let bytes = std::fs::read(path).map_err(|source| {
        ArgError::new(ArgErrorKind::File {
            path: path.to_owned(),
            source,
        })
    })?;
    SharedBuffer::from_bytes(&bytes).map_err(|e| ArgError::new(ArgErrorKind::Shm(e)))
}

pub(super) fn parse_color_word(word: &str) -> Result<Value, ArgError> {
    let ty = IdlType::Gfx(GfxType::Color);
    if word.starts_with('{') {
        return json_word(&ty, word);
    }
    if let Some(hex) = word.strip_prefix('#') {
        let bad = || {
            bad_word(
                &ty,
                word,
                "write a colour as #rrggbb, #rrggbbaa or an ARGB number".to_owned(),
            )
        };
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let number = u32::from_str_radix(hex, 16).map_err(|_| bad())?;
        let [a, b, c, d] = number.to_be_bytes();
        let color = match hex.len() {
            6 => Color::from_rgb(b, c, d),
            8 => Color::from_rgba(a, b, c, d),
            _ => return Err(bad()),
        };
        return Ok(Value::Gfx(Gfx::Color(color)));
    }
    match parse_int(&IdlType::U32, word) {
        Ok(Value::U32(argb)) => Ok(Value::Gfx(Gfx::Color(Color::from_argb(argb)))),
        _ => Err(bad_word(
            &ty,
            word,
            "write a colour as #rrggbb, #rrggbbaa or an ARGB number".to_owned(),
        )),
    }
}

/// `0,0,640,480`: the fields in wire order.
pub(super) fn parse_gfx_word(gfx: GfxType, ty: &IdlType, word: &str) -> Result<Value, ArgError> {
    let names = gfx_field_names(gfx);
    let parts: Vec<&str> = word.split(',').map(str::trim).collect();
    if parts.len() != names.len() {
        return Err(bad_word(
            ty,
            word,
            format!(
                "{} numbers separated by commas ({}), or JSON",
                names.len(),
                names.join(", ")
            ),
        ));
    }
    let numbers: Vec<Json> = parts
        .iter()
        .zip(names)
        .map(|(part, name)| {
            let number = match is_float_gfx(gfx) {
                true => parse_float(&IdlType::F32, part),
                false => parse_int(&IdlType::I32, part),
            };
            number.map(|v| v.to_json()).map_err(|e| e.in_field(*name))
        })
        .collect::<Result<_, _>>()?;
    parse_json(ty, &Json::Array(numbers))
}

pub(super) fn is_float_gfx(gfx: GfxType) -> bool {
    matches!(
        gfx,
        GfxType::FloatPoint | GfxType::FloatSize | GfxType::FloatRect
    )
}

/// The alternative a JSON key names: its index or its type as the `.ipc`
/// language writes it.
pub(super) fn alternative_named(alternatives: &[IdlType], key: &str) -> Option<usize> {
    if let Ok(index) = key.parse::<usize>() {
        return (index < alternatives.len()).then_some(index);
    }
    let mut matching = alternatives
        .iter()
        .enumerate()
        .filter(|(_, alternative)| alternative.to_string() == key);
    match (matching.next(), matching.next()) {
        (Some((index, _)), None) => Some(index),
        _ => None,
    }
}

pub(super) fn parse_variant_word(
    ty: &IdlType,
    alternatives: &[IdlType],
    word: &str,
) -> Result<Value, ArgError> {
    let mut chosen_error = None;
    if let Ok(Json::Object(object)) = serde_json::from_str::<Json>(word) {
        if let Some((key, _)) = single_entry(&object) {
            if alternative_named(alternatives, key).is_some() {
                match parse_json(ty, &Json::Object(object)) {
                    Ok(value) => return Ok(value),
                    // Perhaps an alternative's own JSON (a map with one
                    // key): the alternatives get their turn below.
                    Err(error) => chosen_error = Some(error),
                }
            }
        }
    }
    for (index, alternative) in alternatives.iter().enumerate() {
        if let Ok(value) = parse_arg(alternative, word) {
            return Ok(Value::Variant {
                index: index as u8,
                value: Box::new(value),
            });
        }
    }
    if let Some(error) = chosen_error {
        return Err(error);
    }
    Err(bad_word(
        ty,
        word,
        "no alternative accepts it; choose one with {\"<index or type>\": value}".to_owned(),
    ))
}
