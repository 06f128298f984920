//! `String` and `str`: a `u32` byte length, then UTF-8 bytes. Decoding
//! checks the UTF-8.

use crate::codec::{Decode, DecodeError, DecodeErrorKind, Decoder, Encode, EncodeError, Encoder};

impl Encode for str {
    #[inline]
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        encoder.put_len(self.len())?;
        encoder.put_bytes(self.as_bytes());
        Ok(())
    }
}

impl Encode for String {
    #[inline]
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        self.as_str().encode(encoder)
    }
}

impl Decode for String {
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let len = decoder.take_count(1)?;
        let bytes = decoder.take_bytes(len)?;
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_owned()),
            Err(error) => Err(DecodeErrorKind::InvalidUtf8 {
                valid_up_to: error.valid_up_to(),
            }
            .into()),
        }
    }
}

impl Encode for std::borrow::Cow<'_, str> {
    #[inline]
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        self.as_ref().encode(encoder)
    }
}
