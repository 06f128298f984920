//! Integers, floats and `bool`: fixed width, little-endian.
//!
//! Slices of them take a bulk path: `encode_slice` reserves once and converts
//! a 4 KiB block at a time on the stack before appending it, `decode_vec`
//! takes all the bytes at once and converts them into an exactly sized `Vec`;
//! the compiler turns both loops into vector code (on a little-endian machine
//! they are plain copies). `u8` is a single `memcpy` both ways. Measured in
//! release on the development machine: `Vec<u32>` of 1 to 16 MiB encodes at
//! 6 to 25 GB/s and decodes at 8 to 25 GB/s, as fast as `Vec::clone`.
//!
//! `()` and `PhantomData` take no bytes.
//!
//! `usize` and `isize` travel as `u64` and `i64` (SerenityOS encodes `size_t`
//! as a `u64` too); decoding a value that does not fit the platform's `usize`
//! is a [`DecodeErrorKind::Invalid`] error.

use crate::codec::{Decode, DecodeError, DecodeErrorKind, Decoder, Encode, EncodeError, Encoder};

/// The error of a count whose elements cannot fit in what is left.
pub(super) fn count_too_large(count: usize, available: usize) -> DecodeError {
    DecodeErrorKind::CountTooLarge {
        count: count as u64,
        available,
    }
    .into()
}

/// The stack block bulk encoding converts through (fits in L1 cache).
const BLOCK_BYTES: usize = 4096;

macro_rules! impl_little_endian {
    ($($ty:ty),* $(,)?) => {$(
        impl Encode for $ty {
            #[inline]
            fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
                encoder.put_bytes(&self.to_le_bytes());
                Ok(())
            }

            #[inline]
            fn encode_slice(items: &[Self], encoder: &mut Encoder) -> Result<(), EncodeError> {
                const SIZE: usize = size_of::<$ty>();
                let bytes = encoder.bytes_mut();
                // Cannot overflow: `items` already occupies this many bytes.
                bytes.reserve(items.len() * SIZE);
                // Convert a cache-sized block at a time on the stack, then
                // append it: no zero-filling pass over the destination.
                let mut block = [0u8; BLOCK_BYTES];
                for chunk in items.chunks(BLOCK_BYTES / SIZE) {
                    let out = &mut block[..chunk.len() * SIZE];
                    for (slot, item) in out.chunks_exact_mut(SIZE).zip(chunk) {
                        slot.copy_from_slice(&item.to_le_bytes());
                    }
                    bytes.extend_from_slice(out);
                }
                Ok(())
            }
        }

        impl Decode for $ty {
            #[inline]
            fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
                Ok(<$ty>::from_le_bytes(decoder.take_array()?))
            }

            #[inline]
            fn decode_vec(decoder: &mut Decoder<'_>, count: usize) -> Result<Vec<Self>, DecodeError> {
                const SIZE: usize = size_of::<$ty>();
                let available = decoder.remaining();
                let len = match count.checked_mul(SIZE) {
                    Some(len) if len <= available => len,
                    _ => return Err(count_too_large(count, available)),
                };
                let bytes = decoder.take_bytes(len)?;
                let mut out = crate::sys::mm::large_vec(count);
                out.extend(bytes.chunks_exact(SIZE).map(|chunk| {
                    let mut array = [0u8; SIZE];
                    array.copy_from_slice(chunk);
                    <$ty>::from_le_bytes(array)
                }));
                Ok(out)
            }
        }
    )*};
}

impl_little_endian!(u16, u32, u64, i8, i16, i32, i64, f32, f64);

impl Encode for u8 {
    #[inline]
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        encoder.put_bytes(&[*self]);
        Ok(())
    }

    #[inline]
    fn encode_slice(items: &[Self], encoder: &mut Encoder) -> Result<(), EncodeError> {
        encoder.put_bytes(items);
        Ok(())
    }
}

impl Decode for u8 {
    #[inline]
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(decoder.take_array::<1>()?[0])
    }

    #[inline]
    fn decode_vec(decoder: &mut Decoder<'_>, count: usize) -> Result<Vec<Self>, DecodeError> {
        let available = decoder.remaining();
        if count > available {
            return Err(count_too_large(count, available));
        }
        let bytes = decoder.take_bytes(count)?;
        let mut out = crate::sys::mm::large_vec(bytes.len());
        out.extend_from_slice(bytes);
        Ok(out)
    }
}

impl Encode for bool {
    #[inline]
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        encoder.put_bytes(&[u8::from(*self)]);
        Ok(())
    }

    fn encode_slice(items: &[Self], encoder: &mut Encoder) -> Result<(), EncodeError> {
        encoder
            .bytes_mut()
            .extend(items.iter().map(|&b| u8::from(b)));
        Ok(())
    }
}

fn bool_from_byte(byte: u8) -> Result<bool, DecodeError> {
    match byte {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(DecodeErrorKind::InvalidBool(other).into()),
    }
}

impl Decode for bool {
    #[inline]
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        bool_from_byte(decoder.take_array::<1>()?[0])
    }

    fn decode_vec(decoder: &mut Decoder<'_>, count: usize) -> Result<Vec<Self>, DecodeError> {
        let available = decoder.remaining();
        if count > available {
            return Err(count_too_large(count, available));
        }
        let bytes = decoder.take_bytes(count)?;
        bytes
            .iter()
            .enumerate()
            .map(|(index, &byte)| {
                bool_from_byte(byte).map_err(|e| e.in_field(format!("[{index}]")))
            })
            .collect()
    }
}

impl Encode for usize {
    #[inline]
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        // Lossless: courier supports targets whose usize is at most 64 bits.
        (*self as u64).encode(encoder)
    }
}

impl Decode for usize {
    #[inline]
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let value = u64::decode(decoder)?;
        usize::try_from(value).map_err(|_| {
            DecodeErrorKind::Invalid(format!(
                "size {value} does not fit this platform's {}-bit usize",
                usize::BITS
            ))
            .into()
        })
    }
}

impl Encode for isize {
    #[inline]
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        (*self as i64).encode(encoder)
    }
}

impl Decode for isize {
    #[inline]
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let value = i64::decode(decoder)?;
        isize::try_from(value).map_err(|_| {
            DecodeErrorKind::Invalid(format!(
                "value {value} does not fit this platform's {}-bit isize",
                isize::BITS
            ))
            .into()
        })
    }
}

impl Encode for () {
    #[inline]
    fn encode(&self, _encoder: &mut Encoder) -> Result<(), EncodeError> {
        Ok(())
    }
}

impl Decode for () {
    #[inline]
    fn decode(_decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(())
    }
}

impl<T: ?Sized> Encode for std::marker::PhantomData<T> {
    #[inline]
    fn encode(&self, _encoder: &mut Encoder) -> Result<(), EncodeError> {
        Ok(())
    }
}

impl<T: ?Sized> Decode for std::marker::PhantomData<T> {
    #[inline]
    fn decode(_decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(std::marker::PhantomData)
    }
}
