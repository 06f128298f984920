//! [`Value::to_json`]: values as JSON that [`crate::parse_json`] reads back.

use std::os::fd::AsRawFd;

use courier::shm::{BitmapSequence, ShareableBitmap, SharedBuffer};
use serde_json::{Map, Number, Value as Json, json};

use crate::decode::DecodedMessage;
use crate::value::{Gfx, GfxNumber, Value, color_hex, format_name};

/// How many bytes of a shared buffer `to_json` shows (as `"head"`).
pub(crate) const HEAD_BYTES: usize = 32;

impl Value {
    /// The value as JSON, in the conventions [`crate::parse_json`] reads
    /// (see the [crate docs](crate#json)), so that printing then parsing
    /// gives the value back, except for file descriptors and the contents of
    /// shared memory past its first 32 bytes.
    ///
    /// ```
    /// use courier_value::Value;
    ///
    /// let value = Value::Map(vec![(Value::from("a"), Value::Optional(None))]);
    /// assert_eq!(value.to_json().to_string(), r#"{"a":null}"#);
    /// assert_eq!(Value::F64(f64::NAN).to_json().to_string(), r#""NaN""#);
    /// assert_eq!(Value::Bytes(vec![0xff, 1]).to_json().to_string(), r#"{"hex":"ff01"}"#);
    /// ```
    pub fn to_json(&self) -> Json {
        match self {
            Value::Bool(v) => json!(v),
            Value::I8(v) => json!(v),
            Value::I16(v) => json!(v),
            Value::I32(v) => json!(v),
            Value::I64(v) => json!(v),
            Value::U8(v) => json!(v),
            Value::U16(v) => json!(v),
            Value::U32(v) => json!(v),
            Value::U64(v) => json!(v),
            Value::F32(v) => f32_json(*v),
            Value::F64(v) => f64_json(*v),
            Value::String(s) => json!(s),
            Value::ByteString(bytes) | Value::Bytes(bytes) => bytes_json(bytes),
            Value::Vector(items) | Value::Array(items) => {
                Json::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Map(entries) => map_json(entries),
            Value::Optional(None) => Json::Null,
            Value::Optional(Some(inner)) => match **inner {
                // `null` is the absent optional: a present one that holds an
                // optional says so, to stay distinct.
                Value::Optional(_) => json!({ "some": inner.to_json() }),
                _ => inner.to_json(),
            },
            Value::Variant { index, value } => {
                let mut object = Map::new();
                object.insert(index.to_string(), value.to_json());
                Json::Object(object)
            }
            Value::File(fd) => json!({ "fd": fd.as_raw_fd() }),
            Value::SharedBuffer(buffer) => buffer_json(buffer),
            Value::Bitmap(bitmap) => bitmap_json(bitmap),
            Value::BitmapSequence(sequence) => sequence_json(sequence),
            Value::Gfx(gfx) => gfx_json(gfx),
        }
    }
}

impl DecodedMessage {
    /// The message as JSON: `{"endpoint": "WindowServer", "magic": ...,
    /// "id": 1, "message": "CreateWindow", "args": {"rect": ..., "title":
    /// ...}}`, the arguments in wire order, each as [`Value::to_json`].
    ///
    /// ```
    /// use courier_value::{InterfaceSchema, decode_message};
    ///
    /// let schema = InterfaceSchema::from_source("E.ipc", "endpoint E { f(u8 a) =| }")?;
    /// let decoded = decode_message(schema.message_by_name(None, "f")?, &[5], Vec::new())?;
    /// assert_eq!(
    ///     decoded.to_json().to_string(),
    ///     r#"{"endpoint":"E","magic":3368849798,"id":1,"message":"f","args":{"a":5}}"#
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json(&self) -> Json {
        let mut args = Map::new();
        for arg in &self.args {
            args.insert(arg.name.clone(), arg.value.to_json());
        }
        json!({
            "endpoint": self.endpoint,
            "magic": self.magic,
            "id": self.id,
            "message": self.name,
            "args": Json::Object(args),
        })
    }
}

/// A non-finite float as the string `NaN`, `inf` or `-inf`.
fn non_finite(v: f64) -> Json {
    let text = if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "inf"
    } else {
        "-inf"
    };
    json!(text)
}

fn f64_json(v: f64) -> Json {
    Number::from_f64(v).map_or_else(|| non_finite(v), Json::Number)
}

/// The shortest decimal that reads back as the same `f32` when it is also
/// exact through a double (`0.1`, not `0.10000000149011612`), else the
/// double holding the `f32` exactly.
fn f32_json(v: f32) -> Json {
    if !v.is_finite() {
        return non_finite(v.into());
    }
    let short: f64 = v.to_string().parse().unwrap_or(f64::from(v));
    let chosen = if short as f32 == v {
        short
    } else {
        f64::from(v)
    };
    f64_json(chosen)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn bytes_json(bytes: &[u8]) -> Json {
    match std::str::from_utf8(bytes) {
        Ok(text) => json!(text),
        Err(_) => json!({ "hex": hex(bytes) }),
    }
}

/// The text a map key prints as in a JSON object: what [`crate::parse_arg`]
/// reads back as the key type. `None` for keys that have no such text.
fn key_word(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::ByteString(bytes) | Value::Bytes(bytes) => {
            std::str::from_utf8(bytes).ok().map(str::to_owned)
        }
        Value::Bool(v) => Some(v.to_string()),
        other => other.as_integer().map(|v| v.to_string()),
    }
}

/// An object when every key has a word and the words are distinct, else a
/// list of `[key, value]` pairs.
fn map_json(entries: &[(Value, Value)]) -> Json {
    let mut object = Map::new();
    for (key, value) in entries {
        match key_word(key) {
            Some(word) if !object.contains_key(&word) => {
                object.insert(word, value.to_json());
            }
            _ => {
                return Json::Array(
                    entries
                        .iter()
                        .map(|(k, v)| json!([k.to_json(), v.to_json()]))
                        .collect(),
                );
            }
        }
    }
    Json::Object(object)
}

fn buffer_json(buffer: &SharedBuffer) -> Json {
    let Some(fd) = buffer.fd() else {
        return json!({ "valid": false });
    };
    let bytes = buffer.as_slice();
    json!({
        "size": buffer.len(),
        "head": hex(&bytes[..bytes.len().min(HEAD_BYTES)]),
        "fd": fd.as_raw_fd(),
    })
}

fn bitmap_json(bitmap: &ShareableBitmap) -> Json {
    if !bitmap.is_valid() {
        return json!({ "valid": false });
    }
    json!({
        "width": bitmap.width(),
        "height": bitmap.height(),
        "pitch": bitmap.pitch(),
        "format": format_name(bitmap.format()),
        "fd": bitmap.buffer().fd().map(|fd| fd.as_raw_fd()),
    })
}

fn sequence_json(sequence: &BitmapSequence) -> Json {
    let frames: Vec<Json> = sequence
        .frames()
        .iter()
        .enumerate()
        .map(|(index, frame)| match frame {
            None => Json::Null,
            Some(frame) => json!({
                "width": frame.width(),
                "height": frame.height(),
                "format": format_name(frame.format),
                "size_in_bytes": frame.size_in_bytes,
                "offset": sequence.frame_offset(index),
            }),
        })
        .collect();
    let buffer = sequence.buffer();
    json!({
        "frames": frames,
        "size": buffer.len(),
        "fd": buffer.fd().map(|fd| fd.as_raw_fd()),
    })
}

fn gfx_json(gfx: &Gfx) -> Json {
    let Some(fields) = gfx.fields() else {
        let Gfx::Color(color) = gfx else {
            return Json::Null;
        };
        return json!(color_hex(*color));
    };
    let mut object = Map::new();
    for (name, number) in fields {
        let json = match number {
            GfxNumber::Int(v) => json!(v),
            GfxNumber::Float(v) => f32_json(v),
        };
        object.insert(name.to_owned(), json);
    }
    Json::Object(object)
}
