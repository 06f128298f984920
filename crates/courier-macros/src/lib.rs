//! Derive macros for courier's `Encode` and `Decode` traits.
//!
//! Use them through the `courier` crate, which re-exports both:
//!
//! ```
//! use courier::codec::{decode_from_parts, encode_to_parts};
//! use courier::{Decode, Encode};
//!
//! #[derive(Debug, PartialEq, Encode, Decode)]
//! struct Window {
//!     id: i32,
//!     title: String,
//! }
//!
//! let window = Window { id: 7, title: "hi".to_owned() };
//! let (bytes, fds) = encode_to_parts(&window).unwrap();
//! assert_eq!(bytes, [7, 0, 0, 0, 2, 0, 0, 0, b'h', b'i']);
//! assert_eq!(decode_from_parts::<Window>(&bytes, fds).unwrap(), window);
//! ```
//!
//! # What the derives generate
//!
//! - **Structs** (named, tuple or unit): every field in declaration order,
//!   nothing else on the wire. `Decode` adds the field's name to the path of
//!   any error (`title`, or `0` for a tuple field).
//! - **Fieldless enums** (every variant a unit variant): the discriminant as
//!   the integer type of the enum's `#[repr]` (`u8`, `i8`, `u16`, `i16`,
//!   `u32`, `i32`, `u64` or `i64`), `i32` without one (C++'s default `int`
//!   underlying type, which SerenityOS's `enum class`es use). Decoding a value
//!   that is no variant fails with `DecodeErrorKind::InvalidTag` naming the
//!   enum.
//! - **Enums with data**: a `u8` index (the variant's position, counting from
//!   0, whatever explicit discriminants say), then the variant's fields.
//!   At most 256 variants.
//! - **Generics**: every type parameter gets an `Encode` (or `Decode`) bound.
//!
//! Generated impls reach the runtime as `::courier`, inside an anonymous
//! `const _: () = { use ::courier as _courier; ... };` block so that nothing
//! leaks into the user's namespace. When courier is not a direct dependency
//! under that name, say where it is with `#[courier(crate = "path")]`:
//!
//! ```
//! mod my_runtime {
//!     pub use courier;
//! }
//!
//! #[derive(my_runtime::courier::Encode)]
//! #[courier(crate = "my_runtime::courier")]
//! struct Point {
//!     x: i32,
//!     y: i32,
//! }
//! # let (bytes, _) = courier::codec::encode_to_parts(&Point { x: 1, y: 2 }).unwrap();
//! # assert_eq!(bytes.len(), 8);
//! ```
//!
//! Every mistake (a union, an unknown attribute, too many variants...) is
//! reported at its span, all of them in one build.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod attrs;
mod decode;
mod encode;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `courier::Encode`: the value's fields in declaration order,
/// enums as their discriminant (fieldless) or a `u8` index and fields.
///
/// See the [crate documentation](crate) for the wire shapes and the
/// `#[courier(crate = "...")]` attribute.
///
/// ```
/// use courier::Encode;
///
/// #[derive(Encode)]
/// #[repr(u8)]
/// enum Level {
///     Low = 1,
///     High = 2,
/// }
///
/// #[derive(Encode)]
/// enum Event {
///     Click { x: i32, y: i32 },
///     Key(Level),
/// }
///
/// let (bytes, _) = courier::codec::encode_to_parts(&Event::Key(Level::High)).unwrap();
/// assert_eq!(bytes, [1, 2]); // variant index 1, then the u8 discriminant
/// ```
#[proc_macro_derive(Encode, attributes(courier))]
pub fn derive_encode(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    encode::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `courier::Decode`, the inverse of `#[derive(Encode)]`; each
/// field's errors carry the field's name in their path.
///
/// See the [crate documentation](crate) for the wire shapes and the
/// `#[courier(crate = "...")]` attribute.
///
/// ```
/// use courier::Decode;
/// use courier::codec::{DecodeErrorKind, decode_from_parts};
///
/// #[derive(Debug, Decode)]
/// enum Mode {
///     Off,
///     On,
/// }
///
/// #[derive(Debug, Decode)]
/// struct Settings {
///     mode: Mode,
/// }
///
/// let error = decode_from_parts::<Settings>(&7i32.to_le_bytes(), Vec::new()).unwrap_err();
/// assert_eq!(error.kind(), &DecodeErrorKind::InvalidTag { tag: 7, type_name: "Mode" });
/// assert_eq!(error.to_string(), "in `mode`: 7 is not a valid tag or value for `Mode`");
/// ```
#[proc_macro_derive(Decode, attributes(courier))]
pub fn derive_decode(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    decode::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[cfg(test)]
mod tests;
