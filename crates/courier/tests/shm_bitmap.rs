//! `ShareableBitmap` and `BitmapSequence`: wire shape, pixels through shared
//! memory, and the checks on receipt. Every test checks that it closed every
//! fd it opened.

#[path = "support/mod.rs"]
mod support;

use std::os::fd::OwnedFd;

use courier::codec::{DecodeError, DecodeErrorKind, Encoder, decode_from_parts, encode_to_parts};
use courier::gfx::{Color, IntSize};
use courier::shm::{
    BitmapFormat, BitmapMetadata, BitmapSequence, MAX_BITMAP_DIMENSION, ShareableBitmap,
    SharedBuffer, ShmError,
};
use support::fd_check;

fn send<T: courier::Encode + courier::Decode>(value: &T) -> T {
    let (bytes, fds) = encode_to_parts(value).unwrap();
    decode_from_parts(&bytes, fds).unwrap()
}

/// A bitmap body with any header over a fresh buffer of `buffer_len` bytes.
fn bitmap_body(width: u32, height: u32, pitch: u32, buffer_len: usize) -> (Vec<u8>, Vec<OwnedFd>) {
    let mut encoder = Encoder::new();
    encoder.encode(&true).unwrap();
    encoder.encode(&width).unwrap();
    encoder.encode(&height).unwrap();
    encoder.encode(&pitch).unwrap();
    encoder.encode(&BitmapFormat::Bgra8888).unwrap();
    encoder
        .encode(&SharedBuffer::new(buffer_len).unwrap())
        .unwrap();
    encoder.into_parts()
}

fn invalid_message(error: &DecodeError) -> &str {
    match error.kind() {
        DecodeErrorKind::Invalid(message) => message,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn the_wire_is_header_then_buffer() {
    let check = fd_check();
    let bitmap = ShareableBitmap::new(3, 2, BitmapFormat::Rgba8888).unwrap();
    let (bytes, fds) = encode_to_parts(&bitmap).unwrap();
    let mut expected = vec![1];
    expected.extend(3u32.to_le_bytes());
    expected.extend(2u32.to_le_bytes());
    expected.extend(12u32.to_le_bytes());
    expected.push(3); // Rgba8888
    expected.push(1); // the buffer is valid
    expected.extend(24u32.to_le_bytes());
    assert_eq!(bytes, expected);
    assert_eq!(fds.len(), 1);
    drop((bitmap, fds));
    let (bytes, fds) = encode_to_parts(&ShareableBitmap::invalid()).unwrap();
    assert_eq!(bytes, [0]);
    assert!(
        !decode_from_parts::<ShareableBitmap>(&bytes, fds)
            .unwrap()
            .is_valid()
    );
    check.finish();
}

#[test]
fn pixels_travel_through_shared_memory() {
    let check = fd_check();
    let mut bitmap = ShareableBitmap::new(4, 3, BitmapFormat::Bgra8888).unwrap();
    bitmap
        .set_pixel(1, 2, Color::from_rgba(10, 20, 30, 40))
        .unwrap();
    let mut received = send(&bitmap);
    assert_eq!(received.size(), IntSize::new(4, 3));
    assert_eq!(received.pitch(), 16);
    assert_eq!(received.format(), BitmapFormat::Bgra8888);
    assert_eq!(received.pixel(1, 2), Some(Color::from_rgba(10, 20, 30, 40)));
    assert_eq!(&received.pixels()[2 * 16 + 4..2 * 16 + 8], [30, 20, 10, 40]);
    assert_eq!(received.row(2).unwrap().len(), 16);
    assert_eq!(received.row(3), None);
    // Writes after sending are seen on the other side.
    bitmap.set_pixel(3, 0, Color::BLUE).unwrap();
    assert_eq!(received.pixel(3, 0), Some(Color::BLUE));
    received.set_pixel(0, 0, Color::GREEN).unwrap();
    assert_eq!(bitmap.pixel(0, 0), Some(Color::GREEN));
    drop((bitmap, received));
    check.finish();
}

#[test]
fn formats_lay_out_bytes_differently() {
    let check = fd_check();
    let color = Color::from_rgba(1, 2, 3, 4);
    for (format, bytes, read_back) in [
        (BitmapFormat::Bgra8888, [3, 2, 1, 4], color),
        (BitmapFormat::Bgrx8888, [3, 2, 1, 4], color.with_alpha(255)),
        (BitmapFormat::Rgba8888, [1, 2, 3, 4], color),
    ] {
        let mut bitmap = ShareableBitmap::new(1, 1, format).unwrap();
        bitmap.set_pixel(0, 0, color).unwrap();
        assert_eq!(bitmap.pixels(), bytes, "{format:?}");
        assert_eq!(bitmap.pixel(0, 0), Some(read_back), "{format:?}");
    }
    assert!(!BitmapFormat::Bgrx8888.has_alpha());
    assert_eq!(encode_to_parts(&BitmapFormat::Bgrx8888).unwrap().0, [1]);
    assert_eq!(encode_to_parts(&BitmapFormat::Bgra8888).unwrap().0, [2]);
    check.finish();
}

#[test]
fn out_of_bounds_and_read_only_writes_are_errors() {
    let check = fd_check();
    let mut bitmap = ShareableBitmap::new(2, 2, BitmapFormat::Bgra8888).unwrap();
    assert!(matches!(
        bitmap.set_pixel(2, 0, Color::RED),
        Err(ShmError::OutOfBounds {
            x: 2,
            y: 0,
            width: 2,
            height: 2
        })
    ));
    assert_eq!(bitmap.pixel(0, 2), None);
    bitmap.set_pixel(1, 1, Color::RED).unwrap();
    bitmap.seal_read_only().unwrap();
    assert!(bitmap.is_sealed());
    assert!(matches!(
        bitmap.set_pixel(0, 0, Color::RED),
        Err(ShmError::ReadOnly)
    ));
    assert!(bitmap.pixels_mut().is_none());
    let received = send(&bitmap);
    assert!(received.is_sealed());
    assert_eq!(received.pixel(1, 1), Some(Color::RED));
    let mut invalid = ShareableBitmap::invalid();
    assert!(matches!(
        invalid.set_pixel(0, 0, Color::RED),
        Err(ShmError::Invalid)
    ));
    assert!(invalid.pixels().is_empty() && invalid.buffer().as_slice().is_empty());
    drop((bitmap, received));
    check.finish();
}

#[test]
fn construction_checks_the_layout() {
    let check = fd_check();
    assert!(matches!(
        ShareableBitmap::new(0, 5, BitmapFormat::Bgra8888),
        Err(ShmError::Layout(_))
    ));
    assert!(matches!(
        ShareableBitmap::new(MAX_BITMAP_DIMENSION + 1, 1, BitmapFormat::Bgra8888),
        Err(ShmError::Layout(_))
    ));
    let padded = ShareableBitmap::from_buffer(
        2,
        2,
        12,
        BitmapFormat::Bgra8888,
        SharedBuffer::new(24).unwrap(),
    )
    .unwrap();
    assert_eq!(padded.pixels().len(), 24);
    assert_eq!(padded.row(1).unwrap().len(), 8);
    let error = ShareableBitmap::from_buffer(
        2,
        2,
        7,
        BitmapFormat::Bgra8888,
        SharedBuffer::new(24).unwrap(),
    )
    .unwrap_err();
    assert!(error.to_string().contains("pitch of 7 bytes"), "{error}");
    drop(padded);
    check.finish();
}

#[test]
fn received_bitmaps_are_checked() {
    let check = fd_check();
    // (name, (width, height, pitch, buffer bytes), what the message says)
    type Layout = (u32, u32, u32, usize);
    let cases: &[(&str, Layout, &str)] = &[
        (
            "pitch * height > buffer",
            (4, 4, 16, 63),
            "holds only 63 bytes",
        ),
        (
            "pitch < width * 4",
            (4, 4, 15, 1000),
            "pitch of 15 bytes is less than",
        ),
        ("zero width", (0, 4, 16, 64), "between 1 and 32768"),
        ("zero height", (4, 0, 16, 64), "between 1 and 32768"),
        (
            "too wide",
            (32769, 1, 32769 * 4, 32769 * 4),
            "between 1 and 32768",
        ),
        (
            "pitch * height overflows u32",
            (1, 32768, u32::MAX, 64),
            "holds only 64 bytes",
        ),
    ];
    for (name, (width, height, pitch, buffer_len), needle) in cases {
        let (bytes, fds) = bitmap_body(*width, *height, *pitch, *buffer_len);
        let error = decode_from_parts::<ShareableBitmap>(&bytes, fds).unwrap_err();
        let message = invalid_message(&error);
        assert!(message.contains(needle), "{name}: {message}");
        assert_eq!(error.path().count(), 0, "{name}");
    }
    // Exactly enough is fine.
    let (bytes, fds) = bitmap_body(4, 4, 16, 64);
    assert!(decode_from_parts::<ShareableBitmap>(&bytes, fds).is_ok());
    check.finish();
}

#[test]
fn a_valid_bitmap_needs_a_valid_buffer() {
    let check = fd_check();
    let mut encoder = Encoder::new();
    for value in [1u32, 1, 4] {
        encoder.encode(&value).unwrap();
    }
    let mut bytes = vec![1];
    bytes.extend(encoder.into_parts().0);
    bytes.extend([2, 0]); // Bgra8888, then an invalid buffer
    let error = decode_from_parts::<ShareableBitmap>(&bytes, Vec::new()).unwrap_err();
    assert!(invalid_message(&error).contains("invalid shared buffer"));
    // A bad format names its field.
    let mut bad = bytes.clone();
    bad[13] = 0;
    let error = decode_from_parts::<ShareableBitmap>(&bad, Vec::new()).unwrap_err();
    assert_eq!(
        error.kind(),
        &DecodeErrorKind::InvalidTag {
            tag: 0,
            type_name: "BitmapFormat"
        }
    );
    assert_eq!(error.path().collect::<Vec<_>>(), ["format"]);
    check.finish();
}

#[test]
fn sequences_round_trip_through_one_buffer() {
    let check = fd_check();
    let mut sequence = BitmapSequence::new(&[
        Some((2, 1, BitmapFormat::Bgra8888)),
        None,
        Some((1, 2, BitmapFormat::Rgba8888)),
    ])
    .unwrap();
    assert_eq!(sequence.len(), 3);
    assert_eq!(sequence.buffer().len(), 8 + 8);
    assert_eq!(sequence.frame(2).map(|f| f.offset), Some(8));
    sequence
        .frame_pixels_mut(0)
        .unwrap()
        .copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    let (bytes, fds) = encode_to_parts(&sequence).unwrap();
    assert_eq!(&bytes[..4], 3u32.to_le_bytes());
    assert_eq!(fds.len(), 1);
    let received: BitmapSequence = decode_from_parts(&bytes, fds).unwrap();
    assert_eq!(received.frames(), sequence.frames());
    assert_eq!(
        received.frame_pixels(0),
        Some(&[1, 2, 3, 4, 5, 6, 7, 8][..])
    );
    assert_eq!(received.frame_pixels(1), None);
    assert_eq!(received.frame_pixels(3), None);
    // Same memory.
    sequence.frame_pixels_mut(2).unwrap()[0] = 99;
    assert_eq!(received.frame_pixels(2).unwrap()[0], 99);
    let frame = received.to_bitmap(0).unwrap().unwrap();
    assert_eq!(frame.pixel(1, 0), Some(Color::from_rgba(7, 6, 5, 8)));
    assert!(received.to_bitmap(1).unwrap().is_none());
    drop((sequence, received, frame));
    check.finish();
}

#[test]
fn sequences_copy_bitmaps() {
    let check = fd_check();
    let mut a = ShareableBitmap::new(2, 2, BitmapFormat::Bgra8888).unwrap();
    a.set_pixel(1, 1, Color::RED).unwrap();
    let padded = {
        let mut buffer = SharedBuffer::new(2 * 20).unwrap();
        buffer.as_mut_slice().unwrap()[20..24].copy_from_slice(&[1, 2, 3, 4]);
        ShareableBitmap::from_buffer(1, 2, 20, BitmapFormat::Rgba8888, buffer).unwrap()
    };
    let sequence = BitmapSequence::from_bitmaps([Some(&a), None, Some(&padded)]).unwrap();
    let received = send(&sequence);
    assert_eq!(
        received.to_bitmap(0).unwrap().unwrap().pixel(1, 1),
        Some(Color::RED)
    );
    let copy = received.to_bitmap(2).unwrap().unwrap();
    assert_eq!(copy.pitch(), 4, "rows are packed in the sequence");
    assert_eq!(copy.pixel(0, 1), Some(Color::from_rgba(1, 2, 3, 4)));
    drop((a, padded, sequence, received, copy));
    check.finish();
}

#[test]
fn empty_sequences_need_no_buffer() {
    let check = fd_check();
    let sequence = BitmapSequence::new(&[None, None]).unwrap();
    assert!(!sequence.buffer().is_valid());
    let received = send(&sequence);
    assert_eq!(received.len(), 2);
    assert!(received.frame(0).is_none());
    assert!(send(&BitmapSequence::default()).is_empty());
    check.finish();
}

#[test]
fn received_sequences_check_every_frame() {
    let check = fd_check();
    let frames = vec![
        Some(BitmapMetadata {
            width: 1,
            height: 1,
            pitch: 4,
            format: BitmapFormat::Bgra8888,
            offset: 0,
        }),
        Some(BitmapMetadata {
            width: 2,
            height: 2,
            pitch: 8,
            format: BitmapFormat::Bgra8888,
            offset: 10,
        }),
    ];
    let mut encoder = Encoder::new();
    encoder.encode(&frames).unwrap();
    encoder.encode(&SharedBuffer::new(25).unwrap()).unwrap();
    let (bytes, fds) = encoder.into_parts();
    let error = decode_from_parts::<BitmapSequence>(&bytes, fds).unwrap_err();
    assert!(invalid_message(&error).contains("bytes 10..26"), "{error}");
    assert_eq!(error.path().collect::<Vec<_>>(), ["frames", "[1]"]);
    assert_eq!(
        error.to_string(),
        "in `frames[1]`: bitmap rows need bytes 10..26 (2 rows of 8 bytes) but the shared buffer \
         holds only 25 bytes"
    );
    // The same frames over a big enough buffer are fine, and so is from_parts.
    assert!(BitmapSequence::from_parts(frames.clone(), SharedBuffer::new(26).unwrap()).is_ok());
    let error = BitmapSequence::from_parts(frames, SharedBuffer::new(25).unwrap()).unwrap_err();
    assert!(error.to_string().starts_with("frame 1: "), "{error}");
    check.finish();
}

/// A memfd of `len` bytes that cannot be sealed (so the receiver would copy
/// it rather than map it).
fn memfd(len: u64) -> OwnedFd {
    let fd = rustix::fs::memfd_create("courier-test", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
    rustix::fs::ftruncate(&fd, len).unwrap();
    fd
}

/// The wire form of a shared buffer claiming `claimed` bytes over `fd`.
fn lying_buffer(encoder: &mut Encoder, claimed: u32, fd: OwnedFd) {
    encoder.encode(&true).unwrap();
    encoder.encode(&claimed).unwrap();
    encoder.put_owned_fd(fd);
}

#[test]
fn a_memory_file_smaller_than_claimed_under_a_bitmap_or_a_sequence_is_the_typed_error() {
    let check = fd_check();
    let too_small = DecodeErrorKind::SharedBufferTooSmall {
        claimed: 64,
        actual: 63,
    };
    // A 4x4 bitmap whose buffer claims the 64 bytes its rows need, over a
    // file of 63: the buffer's own check refuses it, before the layout's.
    let mut encoder = Encoder::new();
    encoder.encode(&true).unwrap();
    for field in [4u32, 4, 16] {
        encoder.encode(&field).unwrap();
    }
    encoder.encode(&BitmapFormat::Bgra8888).unwrap();
    lying_buffer(&mut encoder, 64, memfd(63));
    let (bytes, fds) = encoder.into_parts();
    let error = decode_from_parts::<ShareableBitmap>(&bytes, fds).unwrap_err();
    assert_eq!(error.kind(), &too_small);
    assert_eq!(error.path().collect::<Vec<_>>(), ["buffer"]);
    assert!(
        error.to_string().starts_with(
            "in `buffer`: shared buffer claims 64 bytes but its memory file holds only 63;"
        ),
        "{error}"
    );

    // The same for a sequence's buffer.
    let frames = vec![Some(BitmapMetadata {
        width: 4,
        height: 4,
        pitch: 16,
        format: BitmapFormat::Bgra8888,
        offset: 0,
    })];
    let mut encoder = Encoder::new();
    encoder.encode(&frames).unwrap();
    lying_buffer(&mut encoder, 64, memfd(63));
    let (bytes, fds) = encoder.into_parts();
    let error = decode_from_parts::<BitmapSequence>(&bytes, fds).unwrap_err();
    assert_eq!(error.kind(), &too_small);
    assert_eq!(error.path().collect::<Vec<_>>(), ["buffer"]);
    check.finish();
}
