//! Dynamic values of `.ipc` types: encode, decode, parse and print messages
//! known only at run time.
//!
//! Generated code knows its interfaces at compile time. The `courier`
//! command does not: it meets a service, reads its `.ipc` text, and must
//! still build a request from command-line words, decode the response, and
//! decode whatever traffic it watches. This crate is that machinery, with
//! the same wire rules as generated code (`docs/wire-format.md`, "Message
//! bodies") and no sockets.
//!
//! - [`InterfaceSchema`]: the endpoints and messages of `.ipc` text, found by
//!   magic and id (what a frame carries) or by name in either spelling.
//! - [`Value`]: one value of any `.ipc` type.
//! - [`decode_message`] and [`encode_message`]: a body and its fds to values
//!   and back, checked against the message's parameter types.
//! - [`parse_arg`], [`parse_args`], [`parse_json`], [`parse_json_args`]:
//!   values from command-line words and JSON.
//! - Printing: [`Value`]'s `Display` for people, [`Value::to_json`] for
//!   tools (read back by [`parse_json`]).
//!
//! # Example
//!
//! ```
//! use courier_value::{InterfaceSchema, decode_message, encode_message, parse_args};
//!
//! let schema = InterfaceSchema::from_source(
//!     "WindowServer.ipc",
//!     "endpoint WindowServer {\n\
//!          CreateWindow(Gfx::IntRect rect, String title, Vector<u8> tags) => (i32 window_id)\n\
//!      }\n",
//! )?;
//!
//! // `courier call WindowServer create_window 0,0,640,480 Hello '[1,2]'`
//! let request = schema.message_by_name(None, "create_window")?;
//! let args = parse_args(request, &["0,0,640,480", "Hello", "[1,2]"])?;
//! let (body, fds) = encode_message(request, &args)?;
//!
//! // ... and on the other side, or in `courier monitor`:
//! let decoded = decode_message(request, &body, fds)?;
//! assert_eq!(
//!     decoded.to_string(),
//!     r#"CreateWindow(rect: IntRect { x: 0, y: 0, width: 640, height: 480 }, title: "Hello", tags: [1, 2])"#
//! );
//! assert_eq!(
//!     decoded.to_json()["args"].to_string(),
//!     r#"{"rect":{"x":0,"y":0,"width":640,"height":480},"title":"Hello","tags":[1,2]}"#
//! );
//!
//! // Type errors are found before anything is sent.
//! let error = parse_args(request, &["0,0,640", "Hello", "[1,2]"]).unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     "message `CreateWindow` of `WindowServer`: parameter `rect`: expected Gfx::IntRect, \
//!      got `0,0,640` (4 numbers separated by commas (x, y, width, height), or JSON)"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Command-line words
//!
//! One word per parameter; [`parse_arg`] has the table. In short: numbers
//! in decimal or `0x` hex (range-checked), `true`/`false`, strings as they
//! are, `@path` for a file (opened read-only), `null` for an absent
//! optional, `0,0,640,480` for a rectangle, `#rrggbb` for a colour, and JSON
//! text for everything else.
//!
//! # JSON
//!
//! [`parse_json`] has the table; [`Value::to_json`] prints the same
//! conventions, so that print then parse gives the value back (except file
//! descriptors, and shared memory past its size, shape and first bytes):
//!
//! - numbers as JSON numbers; a float that is not finite as `"NaN"`, `"inf"`
//!   or `"-inf"`;
//! - byte strings as strings when UTF-8, else `{"hex": "..."}`;
//! - maps as objects when every key has a word (strings, integers, `bool`),
//!   else as arrays of `[key, value]` pairs; objects keep their order, so an
//!   `OrderedHashMap` keeps its order too;
//! - an absent optional as `null`, a present one as its value;
//! - a variant as `{"<index>": value}` (parsing also accepts the
//!   alternative's type: `{"String": "hi"}`);
//! - a file as `{"fd": 7}`; shared memory by its size, shape and fd
//!   (`{"size": 4096, "head": "68656c6c6f", "fd": 8}`, `{"width": 2,
//!   "height": 2, "pitch": 8, "format": "BGRA8888", "fd": 9}`); the invalid
//!   buffer or bitmap as `{"valid": false}`;
//! - gfx geometry as objects of their fields, a colour as `"#rrggbbaa"`.
//!
//! # What cannot be done at run time
//!
//! A user type (`Geometry::Point3`, any name that is not built in) has a
//! layout that only its Rust code knows. Decoding stops there with
//! [`ValueError::UserType`] naming the type and where it is; parsing and
//! encoding one fail with [`ArgErrorKind::UserType`].
//!
//! # Untrusted input
//!
//! Decoding follows courier's codec: it never panics, checks every count
//! against what is left of the body before reserving anything, requires
//! every byte and fd to be used, and checks shared memory (its real size,
//! bitmap layouts) before mapping it. Recursion follows the `.ipc` type, not
//! the input, so a body cannot make it deeper. A dynamic value is larger
//! than its wire bytes (a `Vector<u8>` of `n` bytes is `n` values), so the
//! memory a body costs is a constant multiple of its size.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod decode;
mod encode;
mod error;
mod json;
mod parse;
mod schema;
mod value;

pub use decode::{Arg, DecodedMessage, decode_message};
pub use encode::{EncodeValueError, encode_message, encode_value};
pub use error::{ArgError, ArgErrorKind, ValueError};
pub use parse::{parse_arg, parse_args, parse_json, parse_json_args};
pub use schema::{
    EndpointSchema, InterfaceSchema, MessageKind, MessageSchema, ParamSchema, SchemaError,
};
pub use value::{Gfx, GfxNumber, Value};

/// The `.ipc` types, re-exported for callers of [`parse_arg`] and
/// [`parse_json`].
pub use courier_idl::types::{GfxType, IdlType};
