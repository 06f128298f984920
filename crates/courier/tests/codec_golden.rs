//! Golden vectors: bodies byte-identical to SerenityOS's LibIPC.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};

use courier::codec::{decode_from_parts, encode_to_parts};
use courier::gfx::{Color, IntPoint, IntRect, IntSize};
use courier::shm::{BitmapFormat, BitmapSequence, ShareableBitmap, SharedBuffer};
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

// Shared memory, laid out as SerenityOS's LibCore (`Core::AnonymousBuffer`)
// and LibGfx (`Gfx::ShareableBitmap`, `Gfx::BitmapSequence`) encode it. The
// fds travel beside the body: each test checks their count, and that they
// are the memory files of the value sent.

/// The bytes and the fds of `value`.
fn encode_with_fds<T: Encode + ?Sized>(value: &T) -> (Vec<u8>, Vec<OwnedFd>) {
    encode_to_parts(value).unwrap()
}

fn file_identity(fd: impl AsFd) -> (u64, u64) {
    let stat = rustix::fs::fstat(fd).unwrap();
    (stat.st_dev, stat.st_ino)
}

#[test]
fn anonymous_buffer_is_valid_size_then_fd() {
    let buffer = SharedBuffer::from_bytes(&[0xaa; 300]).unwrap();
    let (bytes, fds) = encode_with_fds(&buffer);
    let expected = [
        0x01, // valid
        0x2c, 0x01, 0x00, 0x00, // u32 size = 300
    ]; // then the memfd: the next fd, no bytes
    assert_eq!(bytes, expected);
    assert_eq!(fds.len(), 1);
    assert_eq!(file_identity(&fds[0]), file_identity(buffer.fd().unwrap()));
    let back: SharedBuffer = decode_from_parts(&bytes, fds).unwrap();
    assert_eq!(back.as_slice(), buffer.as_slice());

    let (bytes, fds) = encode_with_fds(&SharedBuffer::invalid());
    assert_eq!(bytes, [0x00]); // not valid: nothing follows
    assert!(fds.is_empty());
}

#[test]
fn shareable_bitmap_is_valid_fd_size_scale_format() {
    let mut bitmap = ShareableBitmap::new(640, 480, BitmapFormat::Bgrx8888).unwrap();
    bitmap.set_pixel(639, 479, Color::RED).unwrap();
    let (bytes, fds) = encode_with_fds(&bitmap);
    let expected = [
        0x01, // valid
        // the pixels' memfd: the next fd, no bytes (an `IPC::File`, no size)
        0x80, 0x02, 0x00, 0x00, // i32 width = 640
        0xe0, 0x01, 0x00, 0x00, // i32 height = 480
        0x01, 0x00, 0x00, 0x00, // u32 scale = 1
        0x01, 0x00, 0x00, 0x00, // u32 format = 1 (BGRx8888)
    ];
    assert_eq!(bytes, expected);
    assert_eq!(fds.len(), 1);
    assert_eq!(
        file_identity(&fds[0]),
        file_identity(bitmap.buffer().fd().unwrap())
    );
    let back: ShareableBitmap = decode_from_parts(&bytes, fds).unwrap();
    // The receiver maps 640 * 4 * 480 bytes of the file.
    assert_eq!(back.buffer().len(), 1_228_800);
    assert_eq!(back.pixel(639, 479), Some(Color::RED));
}

#[test]
fn invalid_shareable_bitmap_is_one_false_byte() {
    let (bytes, fds) = encode_with_fds(&ShareableBitmap::invalid());
    assert_eq!(bytes, [0x00]); // not valid: no fd, nothing follows
    assert!(fds.is_empty());
    assert!(!decode::<ShareableBitmap>(&[0x00]).is_valid());
}

#[test]
fn bitmap_sequence_is_metadata_then_one_buffer() {
    let mut sequence = BitmapSequence::new(&[
        Some((2, 1, BitmapFormat::Bgra8888)),
        None,
        Some((1, 3, BitmapFormat::Rgba8888)),
    ])
    .unwrap();
    sequence.frame_pixels_mut(2).unwrap()[..4].copy_from_slice(&[1, 2, 3, 4]);
    let (bytes, fds) = encode_with_fds(&sequence);
    let expected = [
        0x03, 0x00, 0x00, 0x00, // u32 frame count = 3
        // frame 0
        0x01, // present
        0x02, 0x00, 0x00, 0x00, // u32 format = 2 (BGRA8888)
        0x02, 0x00, 0x00, 0x00, // i32 width = 2
        0x01, 0x00, 0x00, 0x00, // i32 height = 1
        0x01, 0x00, 0x00, 0x00, // i32 scale = 1
        0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // u64 size_in_bytes = 2 * 4 * 1
        // frame 1
        0x00, // absent
        // frame 2
        0x01, // present
        0x03, 0x00, 0x00, 0x00, // u32 format = 3 (RGBA8888)
        0x01, 0x00, 0x00, 0x00, // i32 width = 1
        0x03, 0x00, 0x00, 0x00, // i32 height = 3
        0x01, 0x00, 0x00, 0x00, // i32 scale = 1
        0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // u64 size_in_bytes = 1 * 4 * 3
        // the buffer (`Core::AnonymousBuffer`)
        0x01, // valid
        0x14, 0x00, 0x00, 0x00, // u32 size = 8 + 12
    ]; // then its memfd: the next fd, no bytes
    assert_eq!(bytes, expected);
    assert_eq!(fds.len(), 1);
    assert_eq!(
        file_identity(&fds[0]),
        file_identity(sequence.buffer().fd().unwrap())
    );
    let back: BitmapSequence = decode_from_parts(&bytes, fds).unwrap();
    // Frame 2's pixels follow frame 0's: at offset 8.
    assert_eq!(back.frame_offset(2), Some(8));
    assert_eq!(&back.buffer().as_slice()[8..12], [1, 2, 3, 4]);
    assert_eq!(back.frame_pixels(2).unwrap()[..4], [1, 2, 3, 4]);
}
