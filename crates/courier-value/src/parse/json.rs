//! [`parse_json`]: a value from JSON.

use courier::gfx::{Color, FloatPoint, FloatRect, FloatSize, IntPoint, IntRect, IntSize};
use courier_idl::types::{GfxType, IdlType};
use serde_json::Value as Json;

use super::shm::{Fields, parse_bitmap, parse_buffer, parse_sequence};
use super::word::{
    alternative_named, int_value, is_float_gfx, open_file, parse_arg, parse_color_word,
    parse_gfx_word,
};
use super::{bad_json, single_entry, user_type};
use crate::encode::int_range;
use crate::error::ArgError;
use crate::value::{Gfx, Value, gfx_field_names};

/// Parses JSON as a value of `ty`.
///
/// | type | JSON |
/// |---|---|
/// | `bool` | `true`, `false` |
/// | integers | a number in range; or a string read as a word (`"0xff"`) |
/// | `float`, `double` | a number; or the strings `"NaN"`, `"inf"`, `"-inf"` |
/// | `String` | a string |
/// | `ByteString`, `ByteBuffer` | a string (its UTF-8 bytes), an array of byte values, or `{"hex": "00ff"}` |
/// | `Vector<T>`, `Array<T, N>` | an array (of exactly `N` elements) |
/// | `HashMap<K, V>`, `OrderedHashMap<K, V>` | an object whose keys are words for `K` (`{"1": "one"}`), or an array of `[key, value]` pairs |
/// | `Optional<T>` | `null` for absent, otherwise `T`'s JSON (`{"some": ...}` marks a present value when `T` is itself optional) |
/// | `Variant<...>` | `{"<index>": value}` or `{"<type>": value}` with the alternative's type as the `.ipc` language writes it (`{"1": "hi"}`, `{"String": "hi"}`) |
/// | `IPC::File` | `"@path"` or `{"path": "..."}`: the file opened read-only |
/// | `Core::AnonymousBuffer` | `"@path"`, `{"size": 4096}`, `{"text": "..."}`, `{"head": "<hex>", "size": n}`; `{"valid": false}` for the invalid buffer |
/// | `Gfx::ShareableBitmap` | `{"width": 2, "height": 2, "format": "BGRA8888"}` (zeroed pixels; `format` defaults to `BGRA8888`; `pitch` optional, and must be `width * 4`: the wire carries packed rows only); `{"valid": false}` |
/// | `Gfx::BitmapSequence` | `{"frames": [{"width": 1, "height": 1}, null]}` (frames as bitmaps, `null` for absent; a frame's `size_in_bytes` optional, at least `width * 4 * height`; its `offset` optional, and must be where the frame falls, right after the previous present frame; the buffer's `size` optional) |
/// | `Gfx::IntRect`, ... | an object of its fields (`{"x": 1, "y": 2, "width": 3, "height": 4}`), or an array of them in wire order |
/// | `Gfx::Color` | `"#rrggbb"`, `"#rrggbbaa"`, an ARGB number, or `{"red": 1, "green": 2, "blue": 3, "alpha": 255}` (`alpha` optional) |
///
/// The `"fd"` that [`Value::to_json`] prints for shared memory is ignored;
/// a file printed as `{"fd": 7}` cannot be read back (a number is no
/// descriptor of this process).
///
/// # Errors
///
/// An [`ArgError`] naming the place inside the value, the expected type and
/// what was found.
///
/// # Example
///
/// ```
/// use courier_idl::types::{GfxType, IdlType};
/// use courier_value::{Value, parse_json};
/// use serde_json::json;
///
/// let rect = parse_json(&IdlType::Gfx(GfxType::IntRect), &json!({"x": 1, "y": 2, "width": 3, "height": 4}))?;
/// assert_eq!(rect.to_string(), "IntRect { x: 1, y: 2, width: 3, height: 4 }");
///
/// let either = IdlType::Variant(vec![IdlType::I32, IdlType::String]);
/// let value = parse_json(&either, &json!({"String": "hi"}))?;
/// assert_eq!(value, Value::Variant { index: 1, value: Box::new(Value::from("hi")) });
///
/// let map = IdlType::HashMap(Box::new(IdlType::U8), Box::new(IdlType::Bool));
/// assert_eq!(
///     parse_json(&map, &json!({"1": true, "300": false})).unwrap_err().to_string(),
///     "at `300`: expected u8, got `300` (out of range 0..=255)"
/// );
/// # Ok::<(), courier_value::ArgError>(())
/// ```
pub fn parse_json(ty: &IdlType, json: &Json) -> Result<Value, ArgError> {
    match (ty, json) {
        (IdlType::Bool, Json::Bool(v)) => Ok(Value::Bool(*v)),
        (
            IdlType::I8
            | IdlType::I16
            | IdlType::I32
            | IdlType::I64
            | IdlType::U8
            | IdlType::U16
            | IdlType::U32
            | IdlType::U64,
            Json::Number(number),
        ) => {
            let value = match (number.as_i64(), number.as_u64()) {
                (Some(v), _) => i128::from(v),
                (None, Some(v)) => i128::from(v),
                (None, None) => {
                    return Err(bad_json(ty, json, "not an integer".to_owned()));
                }
            };
            int_value(ty, value).ok_or_else(|| {
                let (low, high) = int_range(ty).unwrap_or((0, 0));
                bad_json(ty, json, format!("out of range {low}..={high}"))
            })
        }
        (IdlType::F32 | IdlType::F64, Json::Number(number)) => {
            let value = number.as_f64().unwrap_or(f64::NAN);
            if *ty == IdlType::F64 {
                return Ok(Value::F64(value));
            }
            let narrow = value as f32;
            if narrow.is_infinite() {
                let detail = format!("out of range for a float, at most {:e}", f32::MAX);
                return Err(bad_json(ty, json, detail));
            }
            Ok(Value::F32(narrow))
        }
        (
            IdlType::Bool
            | IdlType::I8
            | IdlType::I16
            | IdlType::I32
            | IdlType::I64
            | IdlType::U8
            | IdlType::U16
            | IdlType::U32
            | IdlType::U64
            | IdlType::F32
            | IdlType::F64,
            Json::String(word),
        ) => parse_arg(ty, word),
        (IdlType::String, Json::String(s)) => Ok(Value::String(s.clone())),
        (IdlType::ByteString, _) => parse_bytes(ty, json).map(Value::ByteString),
        (IdlType::Bytes, _) => parse_bytes(ty, json).map(Value::Bytes),
        (IdlType::Vector(inner), Json::Array(items)) => {
            parse_items(inner, items).map(Value::Vector)
        }
        (IdlType::Array(inner, len), Json::Array(items)) => {
            if items.len() as u64 != *len {
                let detail = format!("{} elements, not {len}", items.len());
                return Err(bad_json(ty, json, detail));
            }
            parse_items(inner, items).map(Value::Array)
        }
        (IdlType::HashMap(key, value) | IdlType::OrderedHashMap(key, value), _) => {
            parse_map(ty, key, value, json)
        }
        (IdlType::Optional(_), Json::Null) => Ok(Value::Optional(None)),
        (IdlType::Optional(inner), _) => {
            let marked = match (&**inner, json) {
                (IdlType::Optional(_), Json::Object(object)) => single_entry(object)
                    .filter(|(key, _)| key.as_str() == "some")
                    .map(|(_, value)| value),
                _ => None,
            };
            let value = parse_json(inner, marked.unwrap_or(json))?;
            Ok(Value::Optional(Some(Box::new(value))))
        }
        (IdlType::Variant(alternatives), Json::Object(object)) => {
            let chosen = single_entry(object)
                .and_then(|(key, value)| Some((alternative_named(alternatives, key)?, value)));
            let Some((index, value)) = chosen else {
                return Err(bad_json(ty, json, variant_hint(alternatives)));
            };
            let value = parse_json(&alternatives[index], value)
                .map_err(|e| e.in_field(format!("V{index}")))?;
            Ok(Value::Variant {
                index: index as u8,
                value: Box::new(value),
            })
        }
        (IdlType::Variant(alternatives), _) => Err(bad_json(ty, json, variant_hint(alternatives))),
        (IdlType::File, _) => parse_file(ty, json),
        (IdlType::SharedBuffer, _) => parse_buffer(ty, json).map(Value::SharedBuffer),
        (IdlType::Bitmap, _) => parse_bitmap(ty, json).map(Value::Bitmap),
        (IdlType::BitmapSequence, _) => parse_sequence(ty, json).map(Value::BitmapSequence),
        (IdlType::Gfx(GfxType::Color), _) => parse_color(ty, json),
        (IdlType::Gfx(gfx), Json::String(word)) => parse_gfx_word(*gfx, ty, word),
        (IdlType::Gfx(gfx), _) => parse_gfx(*gfx, ty, json),
        (IdlType::User { path }, _) => Err(user_type(path)),
        (IdlType::String, _) => Err(bad_json(ty, json, "a JSON string".to_owned())),
        (IdlType::Vector(_) | IdlType::Array(..), _) => {
            Err(bad_json(ty, json, "a JSON array".to_owned()))
        }
        _ => Err(bad_json(ty, json, None)),
    }
}

pub(super) fn variant_hint(alternatives: &[IdlType]) -> String {
    let names: Vec<String> = alternatives.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        "write {{\"<index or type>\": value}} with an index below {} or one of {}",
        alternatives.len(),
        names.join(", ")
    )
}

pub(super) fn parse_items(inner: &IdlType, items: &[Json]) -> Result<Vec<Value>, ArgError> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| parse_json(inner, item).map_err(|e| e.in_field(format!("[{index}]"))))
        .collect()
}

pub(super) fn parse_bytes(ty: &IdlType, json: &Json) -> Result<Vec<u8>, ArgError> {
    let hint = || Some("a string, an array of byte values, or {\"hex\": \"00ff\"}".to_owned());
    match json {
        Json::String(s) => Ok(s.as_bytes().to_vec()),
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                match parse_json(&IdlType::U8, item) {
                    Ok(Value::U8(byte)) => Ok(byte),
                    Ok(_) => Err(bad_json(&IdlType::U8, item, None)),
                    Err(e) => Err(e),
                }
                .map_err(|e| e.in_field(format!("[{index}]")))
            })
            .collect(),
        Json::Object(object) => match single_entry(object) {
            Some((key, Json::String(text))) if key == "hex" => from_hex(text).ok_or_else(|| {
                bad_json(
                    ty,
                    json,
                    "`hex` must be pairs of hexadecimal digits".to_owned(),
                )
            }),
            _ => Err(bad_json(ty, json, hint())),
        },
        _ => Err(bad_json(ty, json, hint())),
    }
}

pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

pub(super) fn parse_map(
    ty: &IdlType,
    key_ty: &IdlType,
    value_ty: &IdlType,
    json: &Json,
) -> Result<Value, ArgError> {
    match json {
        Json::Object(object) => object
            .iter()
            .map(|(key, value)| {
                let key_value = parse_arg(key_ty, key).map_err(|e| e.in_field(key.clone()))?;
                let value = parse_json(value_ty, value).map_err(|e| e.in_field(key.clone()))?;
                Ok((key_value, value))
            })
            .collect::<Result<_, _>>()
            .map(Value::Map),
        Json::Array(pairs) => pairs
            .iter()
            .enumerate()
            .map(|(index, pair)| {
                let entry = |e: ArgError| e.in_field(format!("[{index}]"));
                let Json::Array(two) = pair else {
                    return Err(entry(bad_json(
                        ty,
                        pair,
                        "an entry is a [key, value] pair".to_owned(),
                    )));
                };
                let [key, value] = two.as_slice() else {
                    return Err(entry(bad_json(
                        ty,
                        pair,
                        "an entry is a [key, value] pair".to_owned(),
                    )));
                };
                let key = parse_json(key_ty, key).map_err(|e| entry(e.in_field("key")))?;
                let value = parse_json(value_ty, value).map_err(|e| entry(e.in_field("value")))?;
                Ok((key, value))
            })
            .collect::<Result<_, _>>()
            .map(Value::Map),
        _ => Err(bad_json(
            ty,
            json,
            "an object, or an array of [key, value] pairs".to_owned(),
        )),
    }
}

pub(super) fn parse_file(ty: &IdlType, json: &Json) -> Result<Value, ArgError> {
    let path = match json {
        Json::String(word) => word.strip_prefix('@'),
        Json::Object(object) => match single_entry(object) {
            Some((key, Json::String(path))) if key == "path" => Some(path.as_str()),
            _ => None,
        },
        _ => None,
    };
    match path {
        Some(path) => open_file(path).map(Value::File),
        None => Err(bad_json(
            ty,
            json,
            "give a file as \"@path\" or {\"path\": \"...\"}; a printed fd number cannot be sent"
                .to_owned(),
        )),
    }
}

pub(super) fn parse_color(ty: &IdlType, json: &Json) -> Result<Value, ArgError> {
    match json {
        Json::String(word) => parse_color_word(word),
        Json::Number(_) => match parse_json(&IdlType::U32, json) {
            Ok(Value::U32(argb)) => Ok(Value::Gfx(Gfx::Color(Color::from_argb(argb)))),
            _ => Err(bad_json(ty, json, "an ARGB number is a u32".to_owned())),
        },
        _ => {
            let fields = Fields::new(
                ty,
                json,
                &["red", "green", "blue", "alpha"],
                "\"#rrggbb\", \"#rrggbbaa\", an ARGB number or {\"red\", \"green\", \"blue\", \"alpha\"}",
            )?;
            let channel = |name: &str, default: Option<u8>| -> Result<u8, ArgError> {
                match fields.get(name) {
                    None => {
                        default.ok_or_else(|| bad_json(ty, json, format!("`{name}` is missing")))
                    }
                    Some(json) => match parse_json(&IdlType::U8, json)
                        .map_err(|e| e.in_field(name.to_owned()))?
                    {
                        Value::U8(v) => Ok(v),
                        _ => Ok(0),
                    },
                }
            };
            let color = Color::from_rgba(
                channel("red", None)?,
                channel("green", None)?,
                channel("blue", None)?,
                channel("alpha", Some(255))?,
            );
            Ok(Value::Gfx(Gfx::Color(color)))
        }
    }
}

pub(super) fn parse_gfx(gfx: GfxType, ty: &IdlType, json: &Json) -> Result<Value, ArgError> {
    let names = gfx_field_names(gfx);
    let hint = format!(
        "an object of {} or an array of them in that order",
        names.join(", ")
    );
    let values: Vec<&Json> = match json {
        Json::Array(items) if items.len() == names.len() => items.iter().collect(),
        Json::Object(_) => {
            let fields = Fields::new(ty, json, names, &hint)?;
            names
                .iter()
                .map(|name| {
                    fields
                        .get(name)
                        .ok_or_else(|| bad_json(ty, json, format!("`{name}` is missing")))
                })
                .collect::<Result<_, _>>()?
        }
        _ => return Err(bad_json(ty, json, hint)),
    };
    if is_float_gfx(gfx) {
        let mut numbers = [0f32; 4];
        for ((slot, value), name) in numbers.iter_mut().zip(&values).zip(names) {
            if let Value::F32(v) =
                parse_json(&IdlType::F32, value).map_err(|e| e.in_field(*name))?
            {
                *slot = v;
            }
        }
        let [a, b, c, d] = numbers;
        return Ok(Value::Gfx(match gfx {
            GfxType::FloatPoint => Gfx::FloatPoint(FloatPoint::new(a, b)),
            GfxType::FloatSize => Gfx::FloatSize(FloatSize::new(a, b)),
            _ => Gfx::FloatRect(FloatRect::new(a, b, c, d)),
        }));
    }
    let mut numbers = [0i32; 4];
    for ((slot, value), name) in numbers.iter_mut().zip(&values).zip(names) {
        if let Value::I32(v) = parse_json(&IdlType::I32, value).map_err(|e| e.in_field(*name))? {
            *slot = v;
        }
    }
    let [a, b, c, d] = numbers;
    Ok(Value::Gfx(match gfx {
        GfxType::IntPoint => Gfx::IntPoint(IntPoint::new(a, b)),
        GfxType::IntSize => Gfx::IntSize(IntSize::new(a, b)),
        _ => Gfx::IntRect(IntRect::new(a, b, c, d)),
    }))
}
