//! Golden vectors: bodies byte-identical to SerenityOS's LibIPC.

use std::collections::HashMap;

use courier::codec::{decode_from_parts, encode_to_parts};
use courier::gfx::{Color, IntPoint, IntRect, IntSize};
use courier::{ByteString, Decode, Encode};

fn encode<T: Encode + ?Sized>(value: &T) -> Vec<u8> {
    let (bytes, fds) = encode_to_parts(value).unwrap();
    assert!(fds.is_empty());
    bytes
}

fn decode<T: Decode>(bytes: &[u8]) -> T {
    decode_from_parts(bytes, Vec::new()).unwrap()
}

/// LookupServer's `lookup_name(ByteString name) => (int code, Vector<ByteString> addresses)`,
/// written as a generated message would be.
#[derive(Debug, PartialEq, Encode, Decode)]
struct LookupName {
    name: ByteString,
}

#[derive(Debug, PartialEq, Encode, Decode)]
struct LookupNameResponse {
    code: i32,
    addresses: Vec<ByteString>,
}

#[test]
fn lookup_name_request() {
    let request = LookupName {
        name: "example.com".into(),
    };
    let mut expected = vec![0x0b, 0x00, 0x00, 0x00];
    expected.extend_from_slice(b"example.com");
    assert_eq!(encode(&request), expected);
    assert_eq!(decode::<LookupName>(&expected), request);
}

#[test]
fn lookup_name_response() {
    let response = LookupNameResponse {
        code: 0,
        addresses: vec![ByteString::from(&[93u8, 184, 216, 34])],
    };
    let expected = [
        0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x5d, 0xb8, 0xd8,
        0x22,
    ];
    assert_eq!(encode(&response), expected);
    assert_eq!(decode::<LookupNameResponse>(&expected), response);
}

#[test]
fn int_rect_is_location_then_size() {
    let rect = IntRect::from_location_and_size(IntPoint::new(-1, 2), IntSize::new(640, 480));
    let expected = [
        0xff, 0xff, 0xff, 0xff, // x = -1
        0x02, 0x00, 0x00, 0x00, // y = 2
        0x80, 0x02, 0x00, 0x00, // width = 640
        0xe0, 0x01, 0x00, 0x00, // height = 480
    ];
    assert_eq!(encode(&rect), expected);
    assert_eq!(decode::<IntRect>(&expected), rect);
}

#[test]
fn color_is_argb() {
    let color = Color::from_rgba(0x11, 0x22, 0x33, 0x44);
    assert_eq!(encode(&color), [0x33, 0x22, 0x11, 0x44]);
}

#[test]
fn optional_is_a_bool_then_the_value() {
    assert_eq!(encode(&None::<u32>), [0x00]);
    assert_eq!(
        encode(&Some(0x0102_0304u32)),
        [0x01, 0x04, 0x03, 0x02, 0x01]
    );
    assert_eq!(
        encode(&Some(String::from("a"))),
        [0x01, 0x01, 0x00, 0x00, 0x00, b'a']
    );
    assert_eq!(decode::<Option<u32>>(&[0x00]), None);
}

#[test]
fn hash_map_with_one_entry() {
    let mut map = HashMap::new();
    map.insert(String::from("k"), 7i32);
    let expected = [
        0x01, 0x00, 0x00, 0x00, // count
        0x01, 0x00, 0x00, 0x00, b'k', // key
        0x07, 0x00, 0x00, 0x00, // value
    ];
    assert_eq!(encode(&map), expected);
    assert_eq!(decode::<HashMap<String, i32>>(&expected), map);
}

#[test]
fn arrays_carry_their_count() {
    assert_eq!(encode(&[1u8, 2, 3]), [3, 0, 0, 0, 1, 2, 3]);
    assert_eq!(encode(&[0x0102u16]), [1, 0, 0, 0, 0x02, 0x01]);
}

#[test]
fn strings_and_bytes_share_one_shape() {
    let expected = [2, 0, 0, 0, b'o', b'k'];
    assert_eq!(encode("ok"), expected);
    assert_eq!(encode(&String::from("ok")), expected);
    assert_eq!(encode(&ByteString::from("ok")), expected);
    assert_eq!(encode(&b"ok".to_vec()), expected);
}

#[test]
fn sizes_are_u64() {
    assert_eq!(encode(&5usize), [5, 0, 0, 0, 0, 0, 0, 0]);
}
