//! The `roundtrip` target: values built from the bytes survive encoding and
//! decoding, fds in order.

use std::collections::HashMap;
use std::fmt::Debug;
use std::os::fd::OwnedFd;

use courier::codec::{decode_from_parts, encode_to_parts};
use courier::gfx::{Color, FloatPoint, FloatRect, FloatSize, IntPoint, IntRect, IntSize};
use courier::shm::{BitmapFormat, BitmapSequence, ShareableBitmap, SharedBuffer};
use courier::{ByteString, Decoder, Endpoint, Message, Variant2, Variant6};
use courier_examples::geometry::Point3;
use courier_examples::kitchen::{self, Kitchen};
use courier_examples::{Fill, Shape};

use crate::fds;
use crate::input::Input;

/// Encodes `value`, decodes it as its own type and through the endpoint's
/// dispatch (requests and one-way messages), and checks that the decoded
/// value encodes to the same bytes and to fds of the same files, in order.
/// Returns the decoded value for further checks.
fn check<M: Message>(value: &M, dispatched: bool) -> M {
    let (bytes, sent_fds) = encode_to_parts(value)
        .unwrap_or_else(|e| panic!("{} of {value:?} does not encode: {e}", M::NAME));
    let identities: Vec<_> = sent_fds.iter().map(fds::identity).collect();
    if dispatched {
        let copies: Vec<OwnedFd> = sent_fds
            .iter()
            .map(|fd| fd.try_clone().expect("dup"))
            .collect();
        let mut decoder = Decoder::new(&bytes, copies);
        let decoded = Kitchen::decode_message(M::ID, &mut decoder)
            .unwrap_or_else(|e| panic!("{} does not dispatch: {e}", M::NAME));
        decoder
            .finish()
            .unwrap_or_else(|e| panic!("{} leaves input over: {e}", M::NAME));
        let debug = format!("{decoded:?}");
        let variant = std::any::type_name::<M>().rsplit("::").next().unwrap_or("");
        assert!(
            debug.starts_with(variant),
            "{} dispatched as {debug}",
            M::NAME
        );
    }
    let decoded: M = decode_from_parts(&bytes, sent_fds)
        .unwrap_or_else(|e| panic!("{} of {value:?} does not decode: {e}", M::NAME));
    let (again, again_fds) = encode_to_parts(&decoded).expect("a decoded value encodes");
    assert_eq!(
        again_fds.iter().map(fds::identity).collect::<Vec<_>>(),
        identities,
        "{}: the fds come back, in order",
        M::NAME
    );
    if !has_hash_map::<M>() {
        assert_eq!(
            again,
            bytes,
            "{}: decoding then encoding gives the same bytes",
            M::NAME
        );
    }
    decoded
}

/// `Collections` holds a `HashMap`, whose encoding follows its iteration
/// order: compared by value instead.
fn has_hash_map<M: Message>() -> bool {
    M::ID == <kitchen::Collections as Message>::ID
}

fn assert_same<T: PartialEq + Debug>(sent: &T, received: &T, what: &str) {
    assert_eq!(received, sent, "{what} round trips");
}

fn byte_string(input: &mut Input<'_>) -> ByteString {
    let n = input.len(24);
    ByteString::from(input.bytes(n))
}

fn point(input: &mut Input<'_>) -> Point3 {
    Point3 {
        x: input.u32() as i32,
        y: input.u32() as i32,
        z: input.u32() as i32,
    }
}

fn shape(input: &mut Input<'_>) -> Shape {
    match input.u8() % 3 {
        0 => Shape::Empty,
        1 => Shape::Circle {
            radius: input.u32(),
        },
        _ => Shape::Polygon(input.vec(6, point)),
    }
}

fn numbers(input: &mut Input<'_>) -> kitchen::Numbers {
    kitchen::Numbers {
        flag: input.bool(),
        a: input.u8() as i8,
        b: input.u16() as i16,
        c: input.u32() as i32,
        d: input.u64() as i64,
        e: input.u8(),
        f: input.u16(),
        g: input.u32(),
        h: input.u64(),
        i: input.u32() as i32,
        j: input.u32(),
        k: input.u64(),
        // Any bits, NaNs included: compared as bytes.
        l: f32::from_bits(input.u32()),
        m: f64::from_bits(input.u64()),
    }
}

fn strings(input: &mut Input<'_>) -> kitchen::Strings {
    kitchen::Strings {
        text: input.string(32),
        view: input.string(8),
        fly: input.string(8),
        bytes: byte_string(input),
        utf8: input.string(16),
        old: byte_string(input),
        buffer: {
            let n = input.len(48);
            input.bytes(n).to_vec()
        },
    }
}

fn collections(input: &mut Input<'_>) -> kitchen::Collections {
    let mut groups = HashMap::new();
    for _ in 0..input.len(4) {
        let key = input.string(6);
        let values = input.vec(5, |i| i.u32() as i32);
        groups.insert(key, values);
    }
    kitchen::Collections {
        numbers: input.vec(8, |i| i.u32() as i32),
        groups,
        ordered: input.vec(4, |i| (byte_string(i), i.u32())),
        maybe: input.bool().then(|| input.string(8)),
        maybe_bytes: input.bool().then(|| input.vec(8, Input::u8)),
        either: if input.bool() {
            Variant2::V0(input.u32() as i32)
        } else {
            Variant2::V1(input.string(8))
        },
        six: match input.u8() % 6 {
            0 => Variant6::V0(input.bool()),
            1 => Variant6::V1(input.u8()),
            2 => Variant6::V2(input.string(8)),
            3 => Variant6::V3(IntPoint::new(input.u32() as i32, input.u32() as i32)),
            4 => Variant6::V4(input.bool().then(|| input.u64() as i64)),
            _ => Variant6::V5(input.vec(6, Input::u16)),
        },
        quad: input.array(),
        ak: input.vec(3, |i| i.string(6)),
    }
}

fn int_rect(input: &mut Input<'_>) -> IntRect {
    IntRect::new(
        input.u32() as i32,
        input.u32() as i32,
        input.u32() as i32,
        input.u32() as i32,
    )
}

fn f32_bits(input: &mut Input<'_>) -> f32 {
    f32::from_bits(input.u32())
}

fn graphics(input: &mut Input<'_>) -> kitchen::Graphics {
    kitchen::Graphics {
        rect: int_rect(input),
        point: IntPoint::new(input.u32() as i32, input.u32() as i32),
        size: IntSize::new(input.u32() as i32, input.u32() as i32),
        color: Color::from_rgba(input.u8(), input.u8(), input.u8(), input.u8()),
        plain_color: Color::from_rgba(input.u8(), input.u8(), input.u8(), input.u8()),
        float_point: FloatPoint {
            x: f32_bits(input),
            y: f32_bits(input),
        },
        float_size: FloatSize {
            width: f32_bits(input),
            height: f32_bits(input),
        },
        float_rect: FloatRect {
            x: f32_bits(input),
            y: f32_bits(input),
            width: f32_bits(input),
            height: f32_bits(input),
        },
    }
}

/// A memory file holding a few bytes from the input (distinct files, so
/// their order can be checked).
fn file(input: &mut Input<'_>) -> OwnedFd {
    fds::memfd(u64::from(input.u8()), false)
}

fn bitmap(input: &mut Input<'_>) -> ShareableBitmap {
    if input.u8() % 4 == 0 {
        return ShareableBitmap::invalid();
    }
    let format = match input.u8() % 3 {
        0 => BitmapFormat::Bgrx8888,
        1 => BitmapFormat::Bgra8888,
        _ => BitmapFormat::Rgba8888,
    };
    let width = u32::from(input.u8() % 16) + 1;
    let height = u32::from(input.u8() % 16) + 1;
    let mut bitmap = ShareableBitmap::new(width, height, format).expect("a small bitmap");
    if let Some(pixels) = bitmap.pixels_mut() {
        let seed = input.bytes(pixels.len());
        pixels[..seed.len()].copy_from_slice(seed);
    }
    if input.bool() {
        bitmap.seal_read_only().expect("seal a new bitmap");
    }
    bitmap
}

fn buffer(input: &mut Input<'_>) -> SharedBuffer {
    match input.u8() % 4 {
        0 => SharedBuffer::invalid(),
        1 => {
            let mut buffer = SharedBuffer::from_bytes(input.bytes(32)).expect("a small buffer");
            buffer.seal_read_only().expect("seal a new buffer");
            buffer
        }
        _ => SharedBuffer::from_bytes(input.bytes(64)).expect("a small buffer"),
    }
}

fn sequence(input: &mut Input<'_>) -> BitmapSequence {
    let frames: Vec<Option<ShareableBitmap>> = input.vec(3, |i| i.bool().then(|| bitmap(i)));
    let frames = frames
        .iter()
        .map(|frame| frame.as_ref().filter(|bitmap| bitmap.is_valid()));
    BitmapSequence::from_bitmaps(frames).expect("a sequence of small bitmaps")
}

fn same_bitmap(sent: &ShareableBitmap, received: &ShareableBitmap) {
    assert_eq!(received.is_valid(), sent.is_valid());
    assert_eq!(
        (received.width(), received.height(), received.format()),
        (sent.width(), sent.height(), sent.format())
    );
    assert_eq!(received.pixels(), sent.pixels(), "bitmap pixels round trip");
}

fn resources(input: &mut Input<'_>) {
    let sent = kitchen::Resources {
        file: file(input),
        attr_file: file(input),
        maybe_file: input.bool().then(|| file(input)),
        buffer: buffer(input),
        bitmap: bitmap(input),
        attr_bitmap: bitmap(input),
        frames: sequence(input),
    };
    let received = check(&sent, true);
    assert_eq!(received.buffer.is_valid(), sent.buffer.is_valid());
    assert_eq!(received.buffer.as_slice(), sent.buffer.as_slice());
    assert_eq!(received.buffer.is_sealed(), sent.buffer.is_sealed());
    same_bitmap(&sent.bitmap, &received.bitmap);
    same_bitmap(&sent.attr_bitmap, &received.attr_bitmap);
    assert_eq!(received.frames.frames(), sent.frames.frames());
    for index in 0..sent.frames.len() {
        assert_eq!(
            received.frames.frame_pixels(index),
            sent.frames.frame_pixels(index)
        );
    }
    let response = kitchen::ResourcesResponse {
        echoed: input.bool().then(|| file(input)),
    };
    check(&response, false);
}

/// Builds values of every message of `Kitchen.ipc` (the interface that uses
/// every type of the mapping) from `data` and round-trips them: each
/// decodes, as its own type and through the endpoint's dispatch, to a value
/// equal to what was sent (compared by value, and by re-encoding to the
/// same bytes), with the same files behind its fds, in order, and the same
/// shared-memory contents.
///
/// The first byte chooses the message; the rest fills its fields.
///
/// # Panics
///
/// When a value does not survive the round trip, or the codec panics.
pub fn roundtrip(data: &[u8]) {
    let mut input = Input::new(data);
    match input.u8() % 12 {
        0 => {
            let sent = numbers(&mut input);
            check(&sent, true);
            check(
                &kitchen::NumbersResponse {
                    sum: input.u64() as i64,
                    mean: f64::from_bits(input.u64()),
                },
                false,
            );
        }
        1 => {
            let sent = strings(&mut input);
            assert_same(&sent, &check(&sent, true), "Strings");
            let response = kitchen::StringsResponse {
                joined: input.string(40),
            };
            assert_same(&response, &check(&response, false), "StringsResponse");
        }
        2 | 3 => {
            let sent = collections(&mut input);
            assert_same(&sent, &check(&sent, true), "Collections");
            let response = kitchen::CollectionsResponse { count: input.u32() };
            assert_same(&response, &check(&response, false), "CollectionsResponse");
        }
        4 => {
            let sent = graphics(&mut input);
            check(&sent, true);
        }
        5..=7 => resources(&mut input),
        8 => {
            let sent = kitchen::UserTypes {
                point: point(&mut input),
                shape: shape(&mut input),
                fill: match input.u8() % 3 {
                    0 => Fill::None,
                    1 => Fill::Solid,
                    _ => Fill::Gradient,
                },
                path: input.vec(5, point),
                maybe_shape: input.bool().then(|| shape(&mut input)),
            };
            let received = check(&sent, true);
            assert_same(&sent.point, &received.point, "a Point3");
            assert_same(&sent.shape, &received.shape, "a Shape");
            assert_same(&sent.fill, &received.fill, "a Fill");
            assert_same(&sent.path, &received.path, "a path");
            assert_same(
                &sent.maybe_shape,
                &received.maybe_shape,
                "an optional Shape",
            );
            let response = kitchen::UserTypesResponse {
                centre: point(&mut input),
            };
            assert_same(
                &response.centre,
                &check(&response, false).centre,
                "a centre",
            );
        }
        9 => {
            let sent = kitchen::Keywords {
                r#type: input.u32() as i32,
                self_: input.u32() as i32,
                r#match: input.bool(),
            };
            assert_same(&sent, &check(&sent, true), "Keywords");
        }
        10 => {
            check(&kitchen::Nothing, true);
            check(&kitchen::NothingResponse, false);
        }
        _ => {
            check(&kitchen::Ping, true);
        }
    }
}
