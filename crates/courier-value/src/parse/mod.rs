//! [`parse_arg`] and [`parse_json`]: values from command-line words and
//! JSON, checked against their type.
//!
//! `word` reads command-line words, `json` reads JSON, `shm` the JSON of
//! shared memory; this file holds the message-level entry points and the
//! error helpers they share.

mod json;
mod shm;
mod word;

pub use json::parse_json;
pub use word::parse_arg;

use courier_idl::types::IdlType;
use serde_json::{Map, Value as Json};

use crate::encode::shorten;
use crate::error::{ArgError, ArgErrorKind, ValueError};
use crate::schema::MessageSchema;
use crate::value::Value;

/// `` `word` ``, shortened, for "got" in errors.
fn quote(text: &str) -> String {
    format!("`{}`", shorten(text))
}

fn quote_json(json: &Json) -> String {
    quote(&json.to_string())
}

fn bad_word(ty: &IdlType, word: &str, detail: impl Into<Option<String>>) -> ArgError {
    ArgError::expected(ty, quote(word), detail.into())
}

fn bad_json(ty: &IdlType, json: &Json, detail: impl Into<Option<String>>) -> ArgError {
    ArgError::expected(ty, quote_json(json), detail.into())
}

fn user_type(path: &str) -> ArgError {
    ArgError::new(ArgErrorKind::UserType {
        type_name: path.to_owned(),
    })
}

/// Parses the words of a command line as the arguments of `message`, one
/// word per parameter ([`parse_arg`]).
///
/// # Errors
///
/// [`ValueError::Arg`] for the wrong number of words or a word that does not
/// fit, naming the parameter and its type.
///
/// ```
/// use courier_value::{InterfaceSchema, parse_args};
///
/// let schema = InterfaceSchema::from_source("E.ipc", "endpoint E { f(u32 width, String s) =| }")?;
/// let f = schema.message_by_name(None, "f")?;
/// assert_eq!(parse_args(f, &["3", "x"])?.len(), 2);
/// assert_eq!(
///     parse_args(f, &["-3", "x"]).unwrap_err().to_string(),
///     "message `f` of `E`: parameter `width`: expected u32, got `-3` (out of range 0..=4294967295)"
/// );
/// assert_eq!(
///     parse_args(f, &["3"]).unwrap_err().to_string(),
///     "message `f` of `E`: `f(u32 width, String s)` takes 2 arguments, got 1"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_args<S: AsRef<str>>(
    message: &MessageSchema,
    words: &[S],
) -> Result<Vec<Value>, ValueError> {
    check_count(message, words.len())?;
    message
        .params
        .iter()
        .zip(words)
        .map(|(param, word)| {
            parse_arg(&param.ty, word.as_ref()).map_err(|e| ValueError::Arg {
                message: message.describe(),
                source: e.in_param(param.name.clone()),
            })
        })
        .collect()
}

/// Parses the arguments of `message` from JSON: an object by parameter name
/// (`{"rect": {...}, "title": "hi"}`, every parameter present, no others) or
/// an array in parameter order.
///
/// # Errors
///
/// [`ValueError::Arg`] for a missing, unknown or ill-typed argument, naming
/// the parameter.
///
/// ```
/// use courier_value::{InterfaceSchema, Value, parse_json_args};
///
/// let schema = InterfaceSchema::from_source("E.ipc", "endpoint E { f(u32 a, Optional<String> b) =| }")?;
/// let f = schema.message_by_name(None, "f")?;
/// let json = serde_json::json!({"a": 1, "b": null});
/// assert_eq!(parse_json_args(f, &json)?, [Value::U32(1), Value::Optional(None)]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_json_args(message: &MessageSchema, json: &Json) -> Result<Vec<Value>, ValueError> {
    let fail = |source: ArgError| ValueError::Arg {
        message: message.describe(),
        source,
    };
    match json {
        Json::Array(items) => {
            check_count(message, items.len())?;
            message
                .params
                .iter()
                .zip(items)
                .map(|(param, item)| {
                    parse_json(&param.ty, item).map_err(|e| fail(e.in_param(param.name.clone())))
                })
                .collect()
        }
        Json::Object(object) => {
            if let Some(unknown) = object
                .keys()
                .find(|key| !message.params.iter().any(|p| &p.name == *key))
            {
                return Err(fail(ArgError::expected(
                    format!("the parameters of `{}`", message.signature()),
                    format!("`{unknown}`"),
                    Some("no parameter has that name".to_owned()),
                )));
            }
            message
                .params
                .iter()
                .map(|param| match object.get(&param.name) {
                    Some(item) => parse_json(&param.ty, item)
                        .map_err(|e| fail(e.in_param(param.name.clone()))),
                    None => Err(fail(
                        ArgError::expected(&param.ty, "nothing", Some("missing".to_owned()))
                            .in_param(param.name.clone()),
                    )),
                })
                .collect()
        }
        other => Err(fail(ArgError::expected(
            format!("the arguments of `{}`", message.signature()),
            quote_json(other),
            Some("give a JSON object by parameter name or an array in order".to_owned()),
        ))),
    }
}

fn check_count(message: &MessageSchema, got: usize) -> Result<(), ValueError> {
    if got == message.params.len() {
        return Ok(());
    }
    Err(ValueError::Arg {
        message: message.describe(),
        source: ArgError::new(ArgErrorKind::Count {
            signature: message.signature(),
            expected: message.params.len(),
            got,
        }),
    })
}

fn single_entry(object: &Map<String, Json>) -> Option<(&String, &Json)> {
    let mut entries = object.iter();
    match (entries.next(), entries.next()) {
        (Some(entry), None) => Some(entry),
        _ => None,
    }
}

fn shm(error: courier::shm::ShmError) -> ArgError {
    ArgError::new(ArgErrorKind::Shm(error))
}
