//! [`ByteString`]: SerenityOS's `ByteString`, bytes that are usually but not
//! necessarily text.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::str::Utf8Error;

use super::{Decode, DecodeError, Decoder, Encode, EncodeError, Encoder};

/// A string of bytes with no encoding promise: SerenityOS's `ByteString`.
///
/// On the wire it is a `u32` length, then the bytes (the same shape as
/// `String` and `Vec<u8>`, but nothing is checked on decode). `[UTF8]`
/// parameters in an `.ipc` file become `String` instead.
///
/// # Example
///
/// ```
/// use courier::ByteString;
///
/// let name = ByteString::from("example.com");
/// assert_eq!(name.len(), 11);
/// assert_eq!(name.to_str().unwrap(), "example.com");
/// assert_eq!(format!("{name:?}"), r#"b"example.com""#);
///
/// let raw = ByteString::from(vec![0x66, 0x6f, 0xff]);
/// assert!(raw.to_str().is_err());
/// assert_eq!(format!("{raw:?}"), r#"b"fo\xff""#);
/// assert_eq!(raw.to_string(), "fo\u{fffd}");
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteString(pub Vec<u8>);

impl ByteString {
    /// An empty byte string.
    pub fn new() -> ByteString {
        ByteString(Vec::new())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, giving up the wrapper.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The bytes as `&str`, if they are UTF-8.
    ///
    /// # Errors
    ///
    /// The [`Utf8Error`] of the first invalid byte.
    pub fn to_str(&self) -> Result<&str, Utf8Error> {
        std::str::from_utf8(&self.0)
    }
}

impl Deref for ByteString {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl DerefMut for ByteString {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl AsRef<[u8]> for ByteString {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for ByteString {
    fn from(text: &str) -> ByteString {
        ByteString(text.as_bytes().to_vec())
    }
}

impl From<String> for ByteString {
    fn from(text: String) -> ByteString {
        ByteString(text.into_bytes())
    }
}

impl From<Vec<u8>> for ByteString {
    fn from(bytes: Vec<u8>) -> ByteString {
        ByteString(bytes)
    }
}

impl From<&[u8]> for ByteString {
    fn from(bytes: &[u8]) -> ByteString {
        ByteString(bytes.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for ByteString {
    fn from(bytes: &[u8; N]) -> ByteString {
        ByteString(bytes.to_vec())
    }
}

impl From<ByteString> for Vec<u8> {
    fn from(bytes: ByteString) -> Vec<u8> {
        bytes.0
    }
}

impl PartialEq<[u8]> for ByteString {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ByteString {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

/// Prints like a byte-string literal: `b"caf\xc3\xa9\n"`.
impl fmt::Debug for ByteString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("b\"")?;
        for &byte in &self.0 {
            match byte {
                b'"' => f.write_str("\\\"")?,
                b'\\' => f.write_str("\\\\")?,
                b'\n' => f.write_str("\\n")?,
                b'\r' => f.write_str("\\r")?,
                b'\t' => f.write_str("\\t")?,
                0x20..=0x7e => write!(f, "{}", byte as char)?,
                _ => write!(f, "\\x{byte:02x}")?,
            }
        }
        f.write_str("\"")
    }
}

/// Prints the bytes as UTF-8, with U+FFFD for invalid sequences.
impl fmt::Display for ByteString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}

impl Encode for ByteString {
    #[inline]
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        self.0.encode(encoder)
    }
}

impl Decode for ByteString {
    #[inline]
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Vec::<u8>::decode(decoder).map(ByteString)
    }
}
