//! `ShareableBitmap` and `BitmapSequence`: wire shape, pixels through shared
//! memory, and the checks on receipt. Every test checks that it closed every
//! fd it opened.

#[path = "support/mod.rs"]
mod support;

use std::os::fd::{AsFd, OwnedFd};

use courier::codec::{
    DecodeError, DecodeErrorKind, EncodeError, Encoder, decode_from_parts, encode_to_parts,
};
use courier::gfx::{Color, IntSize};
use courier::shm::{
    BitmapFormat, BitmapMetadata, BitmapSequence, MAX_BITMAP_DIMENSION, ShareableBitmap,
    SharedBuffer, ShmError,
};
use rustix::fs::MemfdFlags;
use support::fd_check;

fn send<T: courier::Encode + courier::Decode>(value: &T) -> T {
    let (bytes, fds) = encode_to_parts(value).unwrap();
    decode_from_parts(&bytes, fds).unwrap()
}

/// A memory file of `len` bytes, sealable (the receiver maps it).
fn sealable_memfd(len: u64) -> OwnedFd {
    let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
    let fd = rustix::fs::memfd_create("courier-test", flags).unwrap();
    rustix::fs::ftruncate(&fd, len).unwrap();
    fd
}

/// A bitmap's wire form with any header, as SerenityOS lays it out: valid,
/// the fd (no bytes), `i32` width and height, `u32` scale, `u32` format.
fn bitmap_body(
    (width, height): (i32, i32),
    scale: u32,
    format: u32,
    fd: Option<OwnedFd>,
) -> (Vec<u8>, Vec<OwnedFd>) {
    let mut encoder = Encoder::new();
    encoder.encode(&true).unwrap();
    if let Some(fd) = fd {
        encoder.put_owned_fd(fd);
    }
    encoder.encode(&IntSize::new(width, height)).unwrap();
    encoder.encode(&scale).unwrap();
    encoder.encode(&format).unwrap();
    encoder.into_parts()
}

fn invalid_message(error: &DecodeError) -> &str {
    match error.kind() {
        DecodeErrorKind::Invalid(message) => message,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn file_identity(fd: impl AsFd) -> (u64, u64) {
    let stat = rustix::fs::fstat(fd).unwrap();
    (stat.st_dev, stat.st_ino)
}

#[test]
fn the_wire_is_serenitys_valid_fd_size_scale_format() {
    let check = fd_check();
    let bitmap = ShareableBitmap::new(3, 2, BitmapFormat::Rgba8888).unwrap();
    let (bytes, fds) = encode_to_parts(&bitmap).unwrap();
    let mut expected = vec![1];
    expected.extend(3i32.to_le_bytes());
    expected.extend(2i32.to_le_bytes());
    expected.extend(1u32.to_le_bytes()); // scale
    expected.extend(3u32.to_le_bytes()); // Rgba8888
    assert_eq!(bytes, expected);
    assert_eq!(fds.len(), 1);
    // The fd is the pixels' memory file itself, with no size before it.
    assert_eq!(
        file_identity(&fds[0]),
        file_identity(bitmap.buffer().fd().unwrap())
    );
    let received: ShareableBitmap = decode_from_parts(&bytes, fds).unwrap();
    assert_eq!(
        received.buffer().len(),
        24,
        "the size is derived: 3 * 4 * 2"
    );
    drop((bitmap, received));
    let (bytes, fds) = encode_to_parts(&ShareableBitmap::invalid()).unwrap();
    assert_eq!(bytes, [0]);
    assert!(fds.is_empty());
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
    // A `u32`, as SerenityOS sends `Gfx::BitmapFormat`.
    assert_eq!(
        encode_to_parts(&BitmapFormat::Bgrx8888).unwrap().0,
        [1, 0, 0, 0]
    );
    assert_eq!(
        encode_to_parts(&BitmapFormat::Bgra8888).unwrap().0,
        [2, 0, 0, 0]
    );
    assert_eq!(
        encode_to_parts(&BitmapFormat::Rgba8888).unwrap().0,
        [3, 0, 0, 0]
    );
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
fn a_bitmap_with_padded_rows_is_refused_on_encode_and_can_be_packed() {
    let check = fd_check();
    let mut buffer = SharedBuffer::new(2 * 12).unwrap();
    buffer.as_mut_slice().unwrap()[12..16].copy_from_slice(&[1, 2, 3, 4]);
    let padded = ShareableBitmap::from_buffer(2, 2, 12, BitmapFormat::Rgba8888, buffer).unwrap();
    assert!(!padded.is_packed());
    let mut encoder = Encoder::new();
    let error = encoder.encode(&padded).unwrap_err();
    assert!(
        matches!(
            error,
            EncodeError::BitmapNotPacked {
                width: 2,
                pitch: 12,
                packed: 8
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("to_packed()"),
        "says what to do: {error}"
    );
    assert!(encoder.bytes().is_empty() && encoder.fd_count() == 0);
    let packed = padded.to_packed().unwrap();
    assert!(packed.is_packed());
    assert_eq!((packed.width(), packed.height(), packed.pitch()), (2, 2, 8));
    let received = send(&packed);
    assert_eq!(received.pixel(0, 1), Some(Color::from_rgba(1, 2, 3, 4)));
    assert!(ShareableBitmap::invalid().is_packed());
    assert!(!ShareableBitmap::invalid().to_packed().unwrap().is_valid());
    drop((padded, packed, received));
    check.finish();
}

#[test]
fn received_bitmaps_are_checked() {
    let check = fd_check();
    // (name, size, memory file bytes, error kind, path)
    type Case = (
        &'static str,
        (i32, i32),
        u64,
        DecodeErrorKind,
        &'static [&'static str],
    );
    let sides = |w: i32, h: i32| {
        DecodeErrorKind::Invalid(format!(
            "bitmap of {w}x{h} pixels: each side must be between 1 and 32768"
        ))
    };
    let cases: &[Case] = &[
        (
            "file smaller than width * 4 * height",
            (4, 4),
            63,
            DecodeErrorKind::SharedBufferTooSmall {
                claimed: 64,
                actual: 63,
            },
            &["fd"],
        ),
        ("zero width", (0, 4), 64, sides(0, 4), &["size"]),
        ("zero height", (4, 0), 64, sides(4, 0), &["size"]),
        ("negative width", (-1, 4), 64, sides(-1, 4), &["size"]),
        (
            "too wide",
            (32769, 1),
            32769 * 4,
            sides(32769, 1),
            &["size"],
        ),
        (
            "i32::MIN height",
            (1, i32::MIN),
            64,
            sides(1, i32::MIN),
            &["size"],
        ),
    ];
    for (name, size, file_len, kind, path) in cases {
        let (bytes, fds) = bitmap_body(*size, 1, 2, Some(sealable_memfd(*file_len)));
        let error = decode_from_parts::<ShareableBitmap>(&bytes, fds).unwrap_err();
        assert_eq!(error.kind(), kind, "{name}");
        assert_eq!(error.path().collect::<Vec<_>>(), *path, "{name}");
    }
    // Exactly enough is fine, and so is more (only the pixels are mapped).
    for file_len in [64, 4096] {
        let (bytes, fds) = bitmap_body((4, 4), 1, 2, Some(sealable_memfd(file_len)));
        let bitmap = decode_from_parts::<ShareableBitmap>(&bytes, fds).unwrap();
        assert_eq!(
            (bitmap.width(), bitmap.pitch(), bitmap.buffer().len()),
            (4, 16, 64)
        );
    }
    check.finish();
}

#[test]
fn scale_format_and_fd_are_checked_by_name() {
    let check = fd_check();
    // Scale: only 1.
    for scale in [0, 2, u32::MAX] {
        let (bytes, fds) = bitmap_body((2, 2), scale, 2, Some(sealable_memfd(64)));
        let error = decode_from_parts::<ShareableBitmap>(&bytes, fds).unwrap_err();
        assert_eq!(
            error.kind(),
            &DecodeErrorKind::UnsupportedBitmapScale {
                scale: i64::from(scale)
            }
        );
        assert_eq!(error.path().collect::<Vec<_>>(), ["scale"]);
        assert!(
            error
                .to_string()
                .starts_with(&format!("in `scale`: bitmap scale factor {scale} is not")),
            "{error}"
        );
    }
    // Format: SerenityOS's 0 (Invalid) and anything past 3 are refused.
    for format in [0u32, 4, 0x0100_0002] {
        let (bytes, fds) = bitmap_body((2, 2), 1, format, Some(sealable_memfd(64)));
        let error = decode_from_parts::<ShareableBitmap>(&bytes, fds).unwrap_err();
        assert_eq!(
            error.kind(),
            &DecodeErrorKind::InvalidTag {
                tag: u64::from(format),
                type_name: "BitmapFormat"
            }
        );
        assert_eq!(error.path().collect::<Vec<_>>(), ["format"]);
    }
    // No fd at all.
    let (bytes, fds) = bitmap_body((2, 2), 1, 2, None);
    let error = decode_from_parts::<ShareableBitmap>(&bytes, fds).unwrap_err();
    assert_eq!(error.kind(), &DecodeErrorKind::MissingFd);
    assert_eq!(error.path().collect::<Vec<_>>(), ["fd"]);
    // An fd that is no memory file (a pipe).
    let (read, write) = rustix::pipe::pipe().unwrap();
    drop(write);
    let (bytes, fds) = bitmap_body((2, 2), 1, 2, Some(read));
    let error = decode_from_parts::<ShareableBitmap>(&bytes, fds).unwrap_err();
    assert!(
        invalid_message(&error).contains("not a memory file"),
        "{error}"
    );
    assert_eq!(error.path().collect::<Vec<_>>(), ["fd"]);
    // The body ends early: the field that is cut names itself.
    let (bytes, fds) = bitmap_body((2, 2), 1, 2, Some(sealable_memfd(64)));
    let error = decode_from_parts::<ShareableBitmap>(&bytes[..11], fds).unwrap_err();
    assert!(matches!(error.kind(), DecodeErrorKind::Truncated { .. }));
    assert_eq!(error.path().collect::<Vec<_>>(), ["scale"]);
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
    assert_eq!(sequence.frame_offset(0), Some(0));
    assert_eq!(sequence.frame_offset(1), None);
    assert_eq!(sequence.frame_offset(2), Some(8));
    assert_eq!(
        sequence.frame(2),
        Some(&BitmapMetadata {
            format: BitmapFormat::Rgba8888,
            size: IntSize::new(1, 2),
            scale: 1,
            size_in_bytes: 8,
        })
    );
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

fn frame(width: i32, height: i32, scale: i32, size_in_bytes: u64) -> Option<BitmapMetadata> {
    Some(BitmapMetadata {
        format: BitmapFormat::Bgra8888,
        size: IntSize::new(width, height),
        scale,
        size_in_bytes,
    })
}

fn sequence_body(frames: &[Option<BitmapMetadata>], buffer_len: usize) -> (Vec<u8>, Vec<OwnedFd>) {
    let mut encoder = Encoder::new();
    encoder.encode(frames).unwrap();
    encoder
        .encode(&SharedBuffer::new(buffer_len).unwrap())
        .unwrap();
    encoder.into_parts()
}

#[test]
fn received_sequences_walk_the_frames_and_check_each() {
    let check = fd_check();
    // A 1x1 frame that claims 10 bytes (4 of pixels; the receiver skips
    // the rest, as SerenityOS's does), an absent one, then a 2x2 one at
    // offset 10: 26 bytes in all.
    let frames = [frame(1, 1, 1, 10), None, frame(2, 2, 1, 16)];
    let (bytes, fds) = sequence_body(&frames, 26);
    let mut received: BitmapSequence = decode_from_parts(&bytes, fds).unwrap();
    assert_eq!(received.frame_offset(2), Some(10));
    assert_eq!(received.frame_pixels(0).unwrap().len(), 4);
    assert_eq!(received.frame_pixels(2).unwrap().len(), 16);
    received.frame_pixels_mut(2).unwrap()[0] = 7;
    assert_eq!(received.buffer().as_slice()[10], 7);

    // (name, frames, buffer bytes, error kind, path)
    type Case = (
        &'static str,
        Vec<Option<BitmapMetadata>>,
        usize,
        DecodeErrorKind,
        &'static [&'static str],
    );
    let invalid = |why: &str| DecodeErrorKind::Invalid(why.to_owned());
    let cases: Vec<Case> = vec![
        (
            "runs past the buffer",
            frames.to_vec(),
            25,
            invalid(
                "the frame needs 16 bytes from offset 10 but the shared buffer holds only 25 \
                 bytes",
            ),
            &["frames", "[2]"],
        ),
        (
            "offset + size_in_bytes overflows",
            vec![frame(1, 1, 1, 4), frame(1, 1, 1, u64::MAX)],
            64,
            invalid(
                "the frame needs 18446744073709551615 bytes from offset 4 but the shared \
                 buffer holds only 64 bytes",
            ),
            &["frames", "[1]"],
        ),
        (
            "size_in_bytes smaller than the pixels",
            vec![frame(2, 2, 1, 15)],
            64,
            invalid("a frame of 2x2 pixels needs 16 bytes but its size_in_bytes is 15"),
            &["frames", "[0]"],
        ),
        (
            "negative side",
            vec![None, frame(-2, 2, 1, 16)],
            64,
            invalid("bitmap of -2x2 pixels: each side must be between 1 and 32768"),
            &["frames", "[1]"],
        ),
        (
            "scale 2",
            vec![frame(2, 2, 2, 64)],
            64,
            DecodeErrorKind::UnsupportedBitmapScale { scale: 2 },
            &["frames", "[0]", "scale"],
        ),
        (
            "scale -1",
            vec![frame(2, 2, -1, 16)],
            64,
            DecodeErrorKind::UnsupportedBitmapScale { scale: -1 },
            &["frames", "[0]", "scale"],
        ),
    ];
    for (name, frames, buffer_len, kind, path) in cases {
        let (bytes, fds) = sequence_body(&frames, buffer_len);
        let error = decode_from_parts::<BitmapSequence>(&bytes, fds).unwrap_err();
        assert_eq!(error.kind(), &kind, "{name}");
        assert_eq!(error.path().collect::<Vec<_>>(), path, "{name}");
        // from_parts refuses the same, naming the frame.
        let index = path[1].trim_matches(['[', ']']);
        let error =
            BitmapSequence::from_parts(frames, SharedBuffer::new(buffer_len).unwrap()).unwrap_err();
        assert!(
            error.to_string().starts_with(&format!("frame {index}: ")),
            "{name}: {error}"
        );
    }
    // A present frame needs a buffer: the invalid one holds nothing.
    let mut encoder = Encoder::new();
    encoder.encode(&[frame(1, 1, 1, 4)][..]).unwrap();
    encoder.encode(&SharedBuffer::invalid()).unwrap();
    let (bytes, fds) = encoder.into_parts();
    let error = decode_from_parts::<BitmapSequence>(&bytes, fds).unwrap_err();
    assert!(
        invalid_message(&error).contains("holds only 0 bytes"),
        "{error}"
    );
    // A frame with a bad format names it.
    let (mut bytes, fds) = sequence_body(&[frame(1, 1, 1, 4)], 4);
    bytes[5] = 9; // the count, the present tag, then the format
    let error = decode_from_parts::<BitmapSequence>(&bytes, fds).unwrap_err();
    assert_eq!(
        error.kind(),
        &DecodeErrorKind::InvalidTag {
            tag: 9,
            type_name: "BitmapFormat"
        }
    );
    assert_eq!(
        error.path().collect::<Vec<_>>(),
        ["frames", "[0]", "format"]
    );
    drop(received);
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
    // A 4x4 bitmap, whose 64 bytes of pixels the receiver derives, over a
    // file of 63 that cannot be sealed: refused before any copy.
    let (bytes, fds) = bitmap_body((4, 4), 1, 2, Some(memfd(63)));
    let error = decode_from_parts::<ShareableBitmap>(&bytes, fds).unwrap_err();
    assert_eq!(error.kind(), &too_small);
    assert_eq!(error.path().collect::<Vec<_>>(), ["fd"]);
    assert!(
        error.to_string().starts_with(
            "in `fd`: shared buffer claims 64 bytes but its memory file holds only 63;"
        ),
        "{error}"
    );

    // The same for a sequence's buffer.
    let frames = vec![frame(4, 4, 1, 64)];
    let mut encoder = Encoder::new();
    encoder.encode(&frames).unwrap();
    lying_buffer(&mut encoder, 64, memfd(63));
    let (bytes, fds) = encoder.into_parts();
    let error = decode_from_parts::<BitmapSequence>(&bytes, fds).unwrap_err();
    assert_eq!(error.kind(), &too_small);
    assert_eq!(error.path().collect::<Vec<_>>(), ["buffer"]);
    check.finish();
}

#[test]
fn a_clone_shares_the_pixels_and_survives_sending_the_original() {
    let fds = fd_check();
    let mut bitmap = ShareableBitmap::new(4, 2, BitmapFormat::Bgra8888).unwrap();
    let kept = bitmap.try_clone().unwrap();
    assert_eq!(
        file_identity(kept.buffer().fd().unwrap()),
        file_identity(bitmap.buffer().fd().unwrap()),
        "the same memory file"
    );
    bitmap.set_pixel(1, 1, Color::RED).unwrap();
    assert_eq!(kept.pixel(1, 1), Some(Color::RED), "the same pixels");
    let received = send(&bitmap);
    drop(bitmap);
    assert_eq!(received.pixel(1, 1), Some(Color::RED));
    assert_eq!(kept.pixel(1, 1), Some(Color::RED));
    assert!(!ShareableBitmap::invalid().try_clone().unwrap().is_valid());
    drop((kept, received));
    fds.finish();
}
