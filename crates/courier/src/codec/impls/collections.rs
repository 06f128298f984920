//! Sequences, maps, `Option`, tuples and smart pointers.
//!
//! - `Vec<T>` and `[T]`: `u32` count, then each element (SerenityOS's
//!   `Vector<T>`; `Vec<u8>` is its `ByteBuffer`).
//! - `[T; N]`: `u32` count, which must be `N`, then each element
//!   (SerenityOS's `Array<T, N>`).
//! - `HashMap<K, V, S>` and `BTreeMap<K, V>`: `u32` count, then key, value,
//!   key, value... A key that arrives twice is an error.
//! - Tuples: their fields one after the other, nothing else, so `Vec<(K, V)>`
//!   has the map shape (the generated code maps SerenityOS's
//!   `OrderedHashMap<K, V>` to it, keeping the order of the wire).
//! - `Option<T>`: a `bool` tag, then the value when present.
//! - `Box<T>`, `Arc<T>`, `&T`: the value they point to.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use crate::codec::{Decode, DecodeError, DecodeErrorKind, Decoder, Encode, EncodeError, Encoder};

impl<T: Encode> Encode for [T] {
    #[inline]
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        encoder.put_len(self.len())?;
        T::encode_slice(self, encoder)
    }
}

impl<T: Encode> Encode for Vec<T> {
    #[inline]
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        self.as_slice().encode(encoder)
    }
}

impl<T: Decode> Decode for Vec<T> {
    #[inline]
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        // Every element takes at least one byte or one fd; the element
        // decoders check the exact sizes.
        let count = decoder.take_count(0)?;
        T::decode_vec(decoder, count)
    }
}

impl<T: Encode, const N: usize> Encode for [T; N] {
    #[inline]
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        self.as_slice().encode(encoder)
    }
}

impl<T: Decode, const N: usize> Decode for [T; N] {
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let found = u32::decode(decoder)?;
        if found as usize != N {
            return Err(DecodeErrorKind::WrongArrayLength {
                expected: N,
                found: found.into(),
            }
            .into());
        }
        let items = T::decode_vec(decoder, N)?;
        let len = items.len();
        items.try_into().map_err(|_| {
            DecodeErrorKind::Invalid(format!(
                "`{}` decoded {len} elements for an array of {N}",
                std::any::type_name::<T>()
            ))
            .into()
        })
    }
}

impl<T: Encode> Encode for Option<T> {
    #[inline]
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        match self {
            None => false.encode(encoder),
            Some(value) => {
                true.encode(encoder)?;
                value.encode(encoder)
            }
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    #[inline]
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        if bool::decode(decoder)? {
            T::decode(decoder).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Encodes the entries of a map: count, then key, value, key, value...
fn encode_entries<'a, K, V>(
    len: usize,
    entries: impl Iterator<Item = (&'a K, &'a V)>,
    encoder: &mut Encoder,
) -> Result<(), EncodeError>
where
    K: Encode + 'a,
    V: Encode + 'a,
{
    encoder.put_len(len)?;
    for (key, value) in entries {
        key.encode(encoder)?;
        value.encode(encoder)?;
    }
    Ok(())
}

/// Decodes the entries of a map into `insert`, which returns `false` when
/// the key was already there.
fn decode_entries<K: Decode, V: Decode>(
    decoder: &mut Decoder<'_>,
    count: usize,
    mut insert: impl FnMut(K, V) -> bool,
) -> Result<(), DecodeError> {
    for index in 0..count {
        let before = (decoder.remaining(), decoder.remaining_fds());
        let entry = |e: DecodeError| e.in_field(format!("[{index}]"));
        let key = K::decode(decoder).map_err(|e| entry(e.in_field("key")))?;
        let value = V::decode(decoder).map_err(|e| entry(e.in_field("value")))?;
        if (decoder.remaining(), decoder.remaining_fds()) == before {
            return Err(entry(
                DecodeErrorKind::Invalid(format!(
                    "map entries of `{}` and `{}` take no bytes, so a count cannot be trusted",
                    std::any::type_name::<K>(),
                    std::any::type_name::<V>()
                ))
                .into(),
            ));
        }
        if !insert(key, value) {
            return Err(entry(
                DecodeErrorKind::Invalid(
                    "the map has this key twice; a map's keys must be unique".to_owned(),
                )
                .into(),
            ));
        }
    }
    Ok(())
}

/// How many entries to reserve room for: never more than the bytes left
/// could hold, whatever the count says.
fn reservation<K, V>(decoder: &Decoder<'_>, count: usize) -> usize {
    count.min(decoder.remaining() / size_of::<(K, V)>().max(1))
}

impl<K: Encode, V: Encode, S> Encode for HashMap<K, V, S> {
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        encode_entries(self.len(), self.iter(), encoder)
    }
}

impl<K, V, S> Decode for HashMap<K, V, S>
where
    K: Decode + Eq + Hash,
    V: Decode,
    S: BuildHasher + Default,
{
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let count = decoder.take_count(0)?;
        let capacity = reservation::<K, V>(decoder, count);
        let mut map = HashMap::with_capacity_and_hasher(capacity, S::default());
        decode_entries(decoder, count, |k, v| map.insert(k, v).is_none())?;
        Ok(map)
    }
}

impl<K: Encode, V: Encode> Encode for BTreeMap<K, V> {
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        encode_entries(self.len(), self.iter(), encoder)
    }
}

impl<K: Decode + Ord, V: Decode> Decode for BTreeMap<K, V> {
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let count = decoder.take_count(0)?;
        let mut map = BTreeMap::new();
        decode_entries(decoder, count, |k, v| map.insert(k, v).is_none())?;
        Ok(map)
    }
}

macro_rules! impl_tuple {
    ($(($($name:ident $index:tt),+))*) => {$(
        impl<$($name: Encode),+> Encode for ($($name,)+) {
            #[inline]
            fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
                $( self.$index.encode(encoder)?; )+
                Ok(())
            }
        }

        impl<$($name: Decode),+> Decode for ($($name,)+) {
            #[inline]
            fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
                Ok(($( decoder.decode_field::<$name>(stringify!($index))?, )+))
            }
        }
    )*};
}

impl_tuple! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
}

impl<T: Encode + ?Sized> Encode for &T {
    #[inline]
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        (**self).encode(encoder)
    }
}

impl<T: Encode + ?Sized> Encode for Box<T> {
    #[inline]
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        (**self).encode(encoder)
    }
}

impl<T: Decode> Decode for Box<T> {
    #[inline]
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        T::decode(decoder).map(Box::new)
    }
}

impl<T: Encode + ?Sized> Encode for Arc<T> {
    #[inline]
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        (**self).encode(encoder)
    }
}

impl<T: Decode> Decode for Arc<T> {
    #[inline]
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        T::decode(decoder).map(Arc::new)
    }
}
