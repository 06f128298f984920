//! The codec: how values become message bodies and back.
//!
//! A message body is the concatenation of its parameters' encodings, in
//! declaration order, little-endian, with the rules of SerenityOS's LibIPC so
//! that a body is byte-identical to the C++ system's:
//!
//! | type | encoding |
//! |---|---|
//! | `bool` | 1 byte, `0` or `1` (anything else is an error) |
//! | integers, floats | their width, little-endian |
//! | `String`, [`ByteString`], `Vec<u8>` | `u32` length, then the bytes |
//! | `Vec<T>` | `u32` count, then each element |
//! | `HashMap<K, V>`, `BTreeMap<K, V>`, `Vec<(K, V)>` | `u32` count, then key, value, key, value... |
//! | `Option<T>` | `bool` tag, then the value when present |
//! | [`Variant2`]..[`Variant6`], data enums | `u8` index, then the alternative's fields |
//! | fieldless enums | the discriminant as their `#[repr]` integer, `i32` by default |
//! | tuples, structs | their fields one after the other |
//! | `[T; N]` | `u32` count (must be `N`), then each element |
//! | fds (`OwnedFd`, `File`) | no bytes: the fd travels beside the body |
//! | `()` | nothing |
//! | shared memory ([`crate::shm`]) | see each type: a `bool` valid tag, then sizes and an fd, in SerenityOS's order |
//!
//! Fds are *out of band*: an [`Encoder`] collects them in order next to the
//! bytes, and a [`Decoder`] hands them out in the same order.
//!
//! # Decisions
//!
//! - **`usize` and `isize`** are implemented, as `u64` and `i64` on the wire:
//!   that is how SerenityOS encodes `size_t`, and codegen maps the IDL's
//!   `size_t` to `u64` anyway. Decoding a value larger than the platform's
//!   `usize::MAX` fails with [`DecodeErrorKind::Invalid`] (only possible on a
//!   32-bit target).
//! - **Enums without a `#[repr]`** encode their discriminant as `i32`,
//!   C++'s default underlying type for `enum class` (SerenityOS's enums);
//!   `#[repr(u8)]` and the other fixed-width integers choose another width.
//!   Values that are no variant fail with [`DecodeErrorKind::InvalidTag`].
//! - **`Variant<A, B, ...>`** is [`Variant2<A, B>`] .. [`Variant6`], with
//!   alternatives `V0`, `V1`, ... named after their wire index (so that
//!   `Variant<i32, i32>` works). A user's own enum with data has the same wire
//!   shape, with names of its choosing.
//! - **`ByteString`** is [`ByteString`], a newtype over `Vec<u8>`; SerenityOS's
//!   `ByteBuffer` is plain `Vec<u8>`.
//! - Values whose encoding takes no bytes and no fds (`()`, unit structs) cannot
//!   be elements of a `Vec` or map with a non-zero count: a count of them cannot
//!   be checked against the body, so decoding refuses it.
//!
//! # Untrusted input
//!
//! Decoding never panics and never allocates more than the bytes actually
//! present: a count is checked against what is left before anything is
//! reserved. Every failure is a [`DecodeError`] that names the field path
//! where it happened.

mod byte_string;
mod decoder;
mod encoder;
mod error;
mod impls;
mod variant;

pub use byte_string::ByteString;
pub use decoder::Decoder;
pub use encoder::Encoder;
pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use variant::{Variant2, Variant3, Variant4, Variant5, Variant6};

/// A value that can be written into a message body.
///
/// Implemented for the primitives, strings, collections, fds, courier's gfx
/// and shared-memory types, and by `#[derive(Encode)]` for user types.
///
/// # Example
///
/// ```
/// use courier::codec::{Encode, Encoder};
///
/// let mut encoder = Encoder::new();
/// "example.com".encode(&mut encoder).unwrap();
/// assert_eq!(&encoder.bytes()[..4], &[11, 0, 0, 0]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent in a message: derive `courier::Encode` for it",
    label = "`{Self}` does not implement `courier::Encode`",
    note = "a type named in an `.ipc` file needs `#[derive(courier::Encode, courier::Decode)]`, \
            or a `map_type(\"IdlName\", \"crate::path::Type\")` in build.rs to a Rust type \
            that implements both"
)]
pub trait Encode {
    /// Appends `self` to the encoder.
    ///
    /// # Errors
    ///
    /// Fails when a length does not fit the wire's `u32`, or when an fd
    /// cannot be duplicated for sending (the process is out of descriptors).
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError>;

    /// Appends every element of `items`, in order. Primitives override this
    /// with a bulk copy; everything else keeps the default loop.
    #[doc(hidden)]
    fn encode_slice(items: &[Self], encoder: &mut Encoder) -> Result<(), EncodeError>
    where
        Self: Sized,
    {
        for item in items {
            item.encode(encoder)?;
        }
        Ok(())
    }
}

/// A value that can be read from a message body.
///
/// # Example
///
/// ```
/// use courier::codec::{Decode, Decoder};
///
/// let bytes = [3, 0, 0, 0, b'a', b'b', b'c'];
/// let mut decoder = Decoder::new(&bytes, Vec::new());
/// let s = String::decode(&mut decoder).unwrap();
/// assert_eq!(s, "abc");
/// decoder.finish().unwrap();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be received in a message: derive `courier::Decode` for it",
    label = "`{Self}` does not implement `courier::Decode`",
    note = "a type named in an `.ipc` file needs `#[derive(courier::Encode, courier::Decode)]`, \
            or a `map_type(\"IdlName\", \"crate::path::Type\")` in build.rs to a Rust type \
            that implements both"
)]
pub trait Decode: Sized {
    /// Reads one value from the decoder.
    ///
    /// # Errors
    ///
    /// Fails, naming what was expected, when the bytes run out, a count
    /// exceeds what is left, a tag or enum value is out of range, a string is
    /// not UTF-8, or an fd is missing.
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError>;

    /// Reads `count` elements. Primitives override this with a bulk copy.
    /// The default checks `count` against what is left before reserving.
    #[doc(hidden)]
    fn decode_vec(decoder: &mut Decoder<'_>, count: usize) -> Result<Vec<Self>, DecodeError> {
        decoder.decode_vec_default(count)
    }
}

/// The capacity [`encode_to_parts`] starts with: a typical small message.
const SMALL_MESSAGE_BYTES: usize = 64;

/// Encodes `value` into a fresh body: its bytes and its fds.
///
/// # Errors
///
/// See [`Encode::encode`].
pub fn encode_to_parts<T: Encode + ?Sized>(
    value: &T,
) -> Result<(Vec<u8>, Vec<std::os::fd::OwnedFd>), EncodeError> {
    // Room for a typical small message at once: an empty `Vec` would grow
    // through 8 and 16 bytes (a reallocation each) for a few arguments.
    let mut encoder = Encoder::with_capacity(SMALL_MESSAGE_BYTES);
    value.encode(&mut encoder)?;
    Ok(encoder.into_parts())
}

/// Decodes a whole body into `T`: every byte and every fd must be used.
///
/// # Errors
///
/// Any [`Decode`] error, or [`DecodeErrorKind::TrailingBytes`] /
/// [`DecodeErrorKind::UnclaimedFds`] when something is left over. The fds of
/// a failed decode are closed.
pub fn decode_from_parts<T: Decode>(
    bytes: &[u8],
    fds: Vec<std::os::fd::OwnedFd>,
) -> Result<T, DecodeError> {
    let mut decoder = Decoder::new(bytes, fds);
    let value = T::decode(&mut decoder)?;
    decoder.finish()?;
    Ok(value)
}
