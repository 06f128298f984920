//! Property tests: `decode(encode(x)) == x` for every type the codec knows,
//! with every byte and every fd consumed; and the bulk fast paths agree with
//! the element-by-element encoding.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;

use courier::codec::{Decode, Decoder, Encode, Encoder, decode_from_parts, encode_to_parts};
use courier::gfx::{Color, FloatPoint, FloatRect, FloatSize, IntPoint, IntRect, IntSize};
use courier::shm::{BitmapFormat, BitmapSequence, ShareableBitmap, SharedBuffer};
use courier::{ByteString, Variant2, Variant3, Variant4, Variant5, Variant6};
use proptest::prelude::*;

/// Encodes, decodes through `decode_from_parts` (which insists that every
/// byte and fd is used) and compares.
fn round_trip<T: Encode + Decode + PartialEq + Debug>(value: &T) -> Vec<u8> {
    let (bytes, fds) = encode_to_parts(value).expect("encodes");
    let back: T = decode_from_parts(&bytes, fds).expect("decodes");
    assert_eq!(&back, value);
    bytes
}

/// The element-by-element encoding of a slice: the count, then each element
/// through `encode` (never `encode_slice`).
fn slow_slice_encoding<T: Encode>(items: &[T]) -> Vec<u8> {
    let mut encoder = Encoder::new();
    encoder.put_len(items.len()).unwrap();
    for item in items {
        item.encode(&mut encoder).unwrap();
    }
    encoder.into_parts().0
}

fn check_bulk<T: Encode + Decode + PartialEq + Debug>(items: Vec<T>) {
    let bytes = round_trip(&items);
    assert_eq!(
        bytes,
        slow_slice_encoding(&items),
        "bulk and per-element encodings differ"
    );
    // Decoding element by element gives the same values as the bulk path.
    let mut decoder = Decoder::new(&bytes, Vec::new());
    let count = u32::decode(&mut decoder).unwrap() as usize;
    let one_by_one: Vec<T> = (0..count)
        .map(|_| T::decode(&mut decoder).unwrap())
        .collect();
    assert_eq!(one_by_one, items);
    assert_eq!(decoder.remaining(), 0);
}

/// A float wrapper compared by bits, so that NaNs round-trip too.
#[derive(Debug, Clone, Copy)]
struct Bits<F>(F);

impl PartialEq for Bits<f32> {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl PartialEq for Bits<f64> {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

macro_rules! float_bits_codec {
    ($($ty:ty),*) => {$(
        impl Encode for Bits<$ty> {
            fn encode(&self, encoder: &mut Encoder) -> Result<(), courier::EncodeError> {
                self.0.encode(encoder)
            }
        }
        impl Decode for Bits<$ty> {
            fn decode(decoder: &mut Decoder<'_>) -> Result<Self, courier::DecodeError> {
                <$ty>::decode(decoder).map(Bits)
            }
        }
    )*};
}
float_bits_codec!(f32, f64);

/// A nested element type for the `nested` property.
type Entry = (ByteString, BTreeMap<i8, Vec<Option<bool>>>);

/// Collections of at most 8 elements: nesting the default sizes (up to 100
/// per level) makes millions of elements.
fn small_vec<T: Strategy>(element: T) -> impl Strategy<Value = Vec<T::Value>> {
    proptest::collection::vec(element, 0..8)
}

fn small_hash_map<K, V>(key: K, value: V) -> impl Strategy<Value = HashMap<K::Value, V::Value>>
where
    K: Strategy,
    K::Value: std::hash::Hash + Eq,
    V: Strategy,
{
    proptest::collection::hash_map(key, value, 0..8)
}

fn small_btree_map<K, V>(key: K, value: V) -> impl Strategy<Value = BTreeMap<K::Value, V::Value>>
where
    K: Strategy,
    K::Value: Ord,
    V: Strategy,
{
    proptest::collection::btree_map(key, value, 0..8)
}

proptest! {
    #[test]
    fn integers(a: u8, b: u16, c: u32, d: u64, e: i8, f: i16, g: i32, h: i64) {
        prop_assert_eq!(round_trip(&a).len(), 1);
        prop_assert_eq!(round_trip(&b), b.to_le_bytes());
        prop_assert_eq!(round_trip(&c), c.to_le_bytes());
        prop_assert_eq!(round_trip(&d), d.to_le_bytes());
        prop_assert_eq!(round_trip(&e), e.to_le_bytes());
        prop_assert_eq!(round_trip(&f), f.to_le_bytes());
        prop_assert_eq!(round_trip(&g), g.to_le_bytes());
        prop_assert_eq!(round_trip(&h), h.to_le_bytes());
    }

    #[test]
    fn sizes_travel_as_64_bits(a: usize, b: isize) {
        prop_assert_eq!(round_trip(&a), (a as u64).to_le_bytes());
        prop_assert_eq!(round_trip(&b), (b as i64).to_le_bytes());
    }

    #[test]
    fn floats_and_bools(a: f32, b: f64, c: bool) {
        prop_assert_eq!(round_trip(&Bits(a)), a.to_le_bytes());
        prop_assert_eq!(round_trip(&Bits(b)), b.to_le_bytes());
        prop_assert_eq!(round_trip(&c), [u8::from(c)]);
    }

    #[test]
    fn strings(text: String, bytes: Vec<u8>) {
        let encoded = round_trip(&text);
        prop_assert_eq!(&encoded[..4], (text.len() as u32).to_le_bytes());
        prop_assert_eq!(&encoded[4..], text.as_bytes());
        let byte_string = ByteString(bytes.clone());
        let encoded = round_trip(&byte_string);
        // ByteString, Vec<u8> (ByteBuffer) and str share one shape.
        prop_assert_eq!(&encoded, &round_trip(&bytes));
        let (as_str, _) = encode_to_parts(text.as_str()).unwrap();
        prop_assert_eq!(as_str, round_trip(&ByteString::from(text.as_str())));
    }

    #[test]
    fn bulk_vectors(
        a: Vec<u8>, b: Vec<u16>, c: Vec<u32>, d: Vec<u64>,
        e: Vec<i8>, f: Vec<i16>, g: Vec<i32>, h: Vec<i64>,
        i: Vec<bool>, j: Vec<f32>, k: Vec<f64>,
    ) {
        check_bulk(a);
        check_bulk(b);
        check_bulk(c);
        check_bulk(d);
        check_bulk(e);
        check_bulk(f);
        check_bulk(g);
        check_bulk(h);
        check_bulk(i);
        check_bulk(j.into_iter().map(Bits).collect());
        check_bulk(k.into_iter().map(Bits).collect());
    }

    #[test]
    fn arrays(a: [u8; 4], b: [u32; 3], c: [String; 2], d: [Option<i16>; 5]) {
        prop_assert_eq!(&round_trip(&a)[..4], 4u32.to_le_bytes());
        prop_assert_eq!(round_trip(&b), slow_slice_encoding(&b));
        round_trip(&c);
        round_trip(&d);
    }

    #[test]
    fn options(a: Option<u32>, b: Option<Option<String>>, c: Option<Vec<i64>>) {
        let encoded = round_trip(&a);
        prop_assert_eq!(encoded[0], u8::from(a.is_some()));
        round_trip(&b);
        round_trip(&c);
    }

    #[test]
    fn maps(
        a in small_hash_map(any::<String>(), small_vec(any::<i32>())),
        b in small_btree_map(any::<u32>(), any::<String>()),
    ) {
        round_trip(&a);
        let encoded = round_trip(&b);
        // A BTreeMap has the shape of the Vec of its entries in order, which
        // is how OrderedHashMap<K, V> is generated.
        let entries: Vec<(u32, String)> = b.clone().into_iter().collect();
        prop_assert_eq!(&encoded, &round_trip(&entries));
    }

    #[test]
    fn tuples(a: (u8,), b: (u16, String), c: (bool, i32, Vec<u8>), d: (u8, u16, u32, u64),
              e: (i8, i16, i32, i64, String), f: (u8, u8, u8, u8, u8, Option<u8>)) {
        round_trip(&a);
        let encoded = round_trip(&b);
        let mut expected = b.0.to_le_bytes().to_vec();
        expected.extend(round_trip(&b.1));
        prop_assert_eq!(encoded, expected);
        round_trip(&c);
        prop_assert_eq!(round_trip(&d).len(), 15);
        round_trip(&e);
        round_trip(&f);
    }

    #[test]
    fn pointers(a: Box<String>, b: Box<Vec<u32>>, c: u64) {
        round_trip(&a);
        round_trip(&b);
        prop_assert_eq!(round_trip(&Arc::new(c)), round_trip(&c));
        let (by_ref, _) = encode_to_parts(&&&c).unwrap();
        prop_assert_eq!(by_ref, c.to_le_bytes());
    }

    #[test]
    fn nested(
        value in small_vec(proptest::option::of(small_hash_map(any::<String>(), small_vec(any::<i32>())))),
        deeper in proptest::option::of(small_vec((
            small_vec(any::<u8>()),
            small_btree_map(any::<i8>(), small_vec(any::<Option<bool>>())),
        ))),
    ) {
        round_trip(&value);
        let deeper: Option<Vec<Entry>> =
            deeper.map(|entries| entries.into_iter().map(|(k, v)| (ByteString(k), v)).collect());
        round_trip(&deeper);
    }

    #[test]
    fn variants(index in 0u8..6, payload: u32, text: String) {
        let v2: Variant2<u32, String> =
            if index % 2 == 0 { Variant2::V0(payload) } else { Variant2::V1(text.clone()) };
        let encoded = round_trip(&v2);
        prop_assert_eq!(encoded[0], v2.index());
        let v6: Variant6<u8, u16, u32, u64, String, ()> = match index {
            0 => Variant6::V0(payload as u8),
            1 => Variant6::V1(payload as u16),
            2 => Variant6::V2(payload),
            3 => Variant6::V3(u64::from(payload)),
            4 => Variant6::V4(text),
            _ => Variant6::V5(()),
        };
        let encoded = round_trip(&v6);
        prop_assert_eq!(encoded[0], index);
        prop_assert_eq!(v6.index(), index);
        round_trip(&Variant3::<i8, i8, i8>::V2(payload as i8));
        round_trip(&Variant4::<(), (), (), String>::V3("x".into()));
        round_trip(&Variant5::<u8, u8, u8, u8, Vec<u8>>::V4(vec![1, 2]));
    }

    #[test]
    fn gfx(x: i32, y: i32, w: i32, h: i32, argb: u32, fx: f32, fy: f32) {
        let rect = IntRect::new(x, y, w, h);
        let mut expected = Vec::new();
        for v in [x, y, w, h] {
            expected.extend(v.to_le_bytes());
        }
        prop_assert_eq!(round_trip(&rect), expected);
        round_trip(&IntPoint::new(x, y));
        round_trip(&IntSize::new(w, h));
        prop_assert_eq!(round_trip(&Color::from_argb(argb)), argb.to_le_bytes());
        if !fx.is_nan() && !fy.is_nan() {
            round_trip(&FloatPoint::new(fx, fy));
            round_trip(&FloatSize::new(fx, fy));
            round_trip(&FloatRect::new(fx, fy, fy, fx));
        }
        // Nothing a peer sends can make the geometry panic.
        let other = IntRect::new(y, x, h, w);
        let _ = (rect.intersect(other), rect.united(other), rect.area(), rect.contains_rect(other));
        let _ = (rect.contains(IntPoint::new(x, y)), rect.translated(x, y), rect.right(), rect.bottom());
        if let Some(common) = rect.intersect(other) {
            prop_assert!(rect.contains_rect(common) && other.contains_rect(common));
        }
    }
}

#[test]
fn unit_takes_no_bytes() {
    assert!(round_trip(&()).is_empty());
}

fn file_identity(fd: impl AsFd) -> (u64, u64) {
    let stat = rustix::fs::fstat(fd).unwrap();
    (stat.st_dev, stat.st_ino)
}

#[test]
fn fds_round_trip_as_duplicates_of_the_same_file() {
    let file = tempfile::tempfile().unwrap();
    let owned = OwnedFd::from(file.try_clone().unwrap());
    let (bytes, fds) = encode_to_parts(&(7u8, &owned, &file)).unwrap();
    assert_eq!(bytes, [7], "fds add no bytes");
    assert_eq!(fds.len(), 2);
    let (seven, got_owned, got_file): (u8, OwnedFd, std::fs::File) =
        decode_from_parts(&bytes, fds).unwrap();
    assert_eq!(seven, 7);
    assert_eq!(file_identity(&got_owned), file_identity(&owned));
    assert_eq!(file_identity(&got_file), file_identity(&file));
    assert_ne!(
        got_owned.as_raw_fd(),
        owned.as_raw_fd(),
        "a duplicate, not the same number"
    );
    assert_ne!(got_file.as_raw_fd(), file.as_raw_fd());
    // The duplicates are close-on-exec.
    let flags = rustix::io::fcntl_getfd(&got_owned).unwrap();
    assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
}

#[test]
fn vectors_of_fds_round_trip() {
    let files: Vec<std::fs::File> = (0..3).map(|_| tempfile::tempfile().unwrap()).collect();
    let (bytes, fds) = encode_to_parts(&files).unwrap();
    assert_eq!(bytes, 3u32.to_le_bytes());
    let back: Vec<OwnedFd> = decode_from_parts(&bytes, fds).unwrap();
    let ids: Vec<_> = back.iter().map(file_identity).collect();
    let expected: Vec<_> = files.iter().map(file_identity).collect();
    assert_eq!(ids, expected);
}

// Shared memory and fds: what arrives is the same memory or the same file,
// and every byte and fd is consumed (`decode_from_parts` insists).

fn any_format() -> impl Strategy<Value = BitmapFormat> {
    prop_oneof![
        Just(BitmapFormat::Bgrx8888),
        Just(BitmapFormat::Bgra8888),
        Just(BitmapFormat::Rgba8888),
    ]
}

/// A bitmap of 1..=24 x 1..=24 pixels of `format`, filled from `seed`.
fn filled_bitmap(width: u32, height: u32, format: BitmapFormat, seed: &[u8]) -> ShareableBitmap {
    let mut bitmap = ShareableBitmap::new(width, height, format).unwrap();
    for (byte, value) in bitmap
        .pixels_mut()
        .unwrap()
        .iter_mut()
        .zip(seed.iter().cycle())
    {
        *byte = *value;
    }
    bitmap
}

fn any_shape() -> impl Strategy<Value = (u32, u32, BitmapFormat)> {
    (1u32..=24, 1u32..=24, any_format())
}

proptest! {
    // Each case makes memory files: fewer cases than the default 256.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn shared_buffers(contents in proptest::collection::vec(any::<u8>(), 0..5000)) {
        let buffer = SharedBuffer::from_bytes(&contents).unwrap();
        let (bytes, fds) = encode_to_parts(&buffer).unwrap();
        let mut expected = vec![1];
        expected.extend((contents.len() as u32).to_le_bytes());
        prop_assert_eq!(&bytes, &expected);
        prop_assert_eq!(fds.len(), 1);
        let back: SharedBuffer = decode_from_parts(&bytes, fds).unwrap();
        prop_assert_eq!(back.as_slice(), &contents[..]);
        prop_assert_eq!(
            file_identity(back.fd().unwrap()),
            file_identity(buffer.fd().unwrap())
        );
    }

    #[test]
    fn shareable_bitmaps(
        (width, height, format) in any_shape(),
        seed in proptest::collection::vec(any::<u8>(), 1..64),
        valid in proptest::bool::weighted(0.9),
    ) {
        let bitmap = if valid {
            filled_bitmap(width, height, format, &seed)
        } else {
            ShareableBitmap::invalid()
        };
        let (bytes, fds) = encode_to_parts(&bitmap).unwrap();
        prop_assert_eq!(bytes.len(), if valid { 17 } else { 1 });
        prop_assert_eq!(fds.len(), usize::from(valid));
        let back: ShareableBitmap = decode_from_parts(&bytes, fds).unwrap();
        prop_assert_eq!(back.is_valid(), valid);
        prop_assert_eq!(
            (back.width(), back.height(), back.pitch(), back.format()),
            (bitmap.width(), bitmap.height(), bitmap.pitch(), bitmap.format())
        );
        prop_assert_eq!(back.pixels(), bitmap.pixels());
        if valid {
            prop_assert_eq!(back.pixels().len(), (width * 4 * height) as usize);
            let (x, y) = (width - 1, height - 1);
            prop_assert_eq!(back.pixel(x, y), bitmap.pixel(x, y));
        }
    }

    #[test]
    fn vectors_of_fds(count in 0usize..8) {
        let files: Vec<std::fs::File> =
            (0..count).map(|_| tempfile::tempfile().unwrap()).collect();
        let fds: Vec<OwnedFd> = files
            .iter()
            .map(|file| OwnedFd::from(file.try_clone().unwrap()))
            .collect();
        let (bytes, sent) = encode_to_parts(&fds).unwrap();
        prop_assert_eq!(&bytes, &(count as u32).to_le_bytes());
        prop_assert_eq!(sent.len(), count);
        let back: Vec<OwnedFd> = decode_from_parts(&bytes, sent).unwrap();
        let ids: Vec<_> = back.iter().map(file_identity).collect();
        let expected: Vec<_> = files.iter().map(file_identity).collect();
        prop_assert_eq!(ids, expected);
    }

    #[test]
    fn bitmap_sequences(
        shapes in proptest::collection::vec(proptest::option::of(any_shape()), 0..6),
        seed in proptest::collection::vec(any::<u8>(), 1..64),
    ) {
        let bitmaps: Vec<Option<ShareableBitmap>> = shapes
            .iter()
            .map(|shape| shape.map(|(w, h, format)| filled_bitmap(w, h, format, &seed)))
            .collect();
        let sequence = BitmapSequence::from_bitmaps(bitmaps.iter().map(Option::as_ref)).unwrap();
        let (bytes, fds) = encode_to_parts(&sequence).unwrap();
        let any_present = shapes.iter().any(Option::is_some);
        prop_assert_eq!(fds.len(), usize::from(any_present));
        let back: BitmapSequence = decode_from_parts(&bytes, fds).unwrap();
        prop_assert_eq!(back.frames(), sequence.frames());
        let mut offset = 0;
        for (index, bitmap) in bitmaps.iter().enumerate() {
            let Some(bitmap) = bitmap else {
                prop_assert!(back.frame(index).is_none());
                prop_assert_eq!(back.frame_pixels(index), None);
                continue;
            };
            prop_assert_eq!(back.frame_offset(index), Some(offset));
            prop_assert_eq!(back.frame_pixels(index), Some(bitmap.pixels()));
            let copy = back.to_bitmap(index).unwrap().unwrap();
            prop_assert_eq!(copy.pixels(), bitmap.pixels());
            prop_assert_eq!(copy.format(), bitmap.format());
            offset += bitmap.pixels().len();
        }
        prop_assert_eq!(back.buffer().len(), offset);
    }
}
