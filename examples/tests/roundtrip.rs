//! Every generated message of every interface survives encoding and
//! decoding, directly and through its endpoint's dispatch.
//!
//! Each endpoint has one test that round-trips a hand-built value of every
//! message and response and then checks, against `Endpoint::message_name`,
//! that none was forgotten; plain messages also get proptest round trips.

use std::collections::HashMap;
use std::fmt::Debug;
use std::io::Write;
use std::marker::PhantomData;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;

use courier::codec::{decode_from_parts, encode_to_parts};
use courier::gfx::{Color, FloatPoint, FloatRect, FloatSize, IntPoint, IntRect, IntSize};
use courier::shm::{BitmapFormat, BitmapSequence, ShareableBitmap, SharedBuffer};
use courier::{ByteString, Decoder, Encode, Endpoint, Message, Variant2, Variant6};
use courier_examples::geometry::Point3;
use courier_examples::{
    Fill, Shape, image_decoder, kitchen, lookup_server, window_client, window_server,
};
use proptest::prelude::*;

/// Encodes and decodes `message` as its own type.
fn roundtrip<M: Message>(message: &M) -> M {
    let (bytes, fds) = encode_to_parts(message).expect("encodes");
    decode_from_parts(&bytes, fds).unwrap_or_else(|e| panic!("{} decodes: {e}", M::NAME))
}

/// Encodes `message` and decodes it through its endpoint, by id.
fn dispatch<M: Message>(message: &M) -> <M::Endpoint as Endpoint>::Message {
    let (bytes, fds) = encode_to_parts(message).expect("encodes");
    let mut decoder = Decoder::new(&bytes, fds);
    let decoded = <M::Endpoint as Endpoint>::decode_message(M::ID, &mut decoder)
        .unwrap_or_else(|e| panic!("{} dispatches: {e}", M::NAME));
    decoder.finish().expect("the whole body is used");
    decoded
}

/// Dispatches `message` through its endpoint, checks the variant's id, and
/// gets the message back out of the enum (by encoding the enum, which
/// encodes the message it holds).
fn through_endpoint<M>(message: &M) -> M
where
    M: Message,
    <M::Endpoint as Endpoint>::Message: Encode,
{
    let dispatched = dispatch(message);
    let debug = format!("{dispatched:?}");
    assert!(
        debug.starts_with(&format!(
            "{}(",
            std::any::type_name::<M>().rsplit("::").next().unwrap()
        )),
        "{debug}"
    );
    roundtrip_as::<_, M>(&dispatched)
}

/// Encodes `value` and decodes the bytes as a `T`.
fn roundtrip_as<V: Encode, T: courier::Decode>(value: &V) -> T {
    let (bytes, fds) = encode_to_parts(value).expect("encodes");
    decode_from_parts(&bytes, fds).expect("decodes")
}

/// The messages of endpoint `E` tested so far; [`Coverage::finish`] checks
/// that every request, one-way message and response was.
struct Coverage<E> {
    tested: Vec<&'static str>,
    endpoint: PhantomData<E>,
}

impl<E: Endpoint> Coverage<E> {
    fn new() -> Self {
        Coverage {
            tested: Vec::new(),
            endpoint: PhantomData,
        }
    }

    /// A request or one-way message equal to itself after a round trip,
    /// also through the endpoint.
    fn plain<M>(&mut self, message: M)
    where
        M: Message<Endpoint = E> + PartialEq,
        E::Message: Encode,
    {
        assert_eq!(roundtrip(&message), message);
        assert_eq!(through_endpoint(&message), message);
        self.tested.push(M::NAME);
    }

    /// A response equal to itself after a round trip.
    fn plain_response<M>(&mut self, message: M)
    where
        M: Message<Endpoint = E> + PartialEq,
    {
        assert_eq!(roundtrip(&message), message);
        self.tested.push(M::NAME);
    }

    /// A message with fds, shared memory or user types (no `Clone` or
    /// `PartialEq`): `check` compares what was sent with what came back.
    fn with_resources<M>(&mut self, message: &M, check: impl Fn(&M, &M))
    where
        M: Message<Endpoint = E>,
    {
        check(message, &roundtrip(message));
        self.tested.push(M::NAME);
    }

    fn finish(mut self) {
        let mut all: Vec<&str> = (1..).map_while(E::message_name).collect();
        all.sort_unstable();
        self.tested.sort_unstable();
        assert_eq!(
            self.tested,
            all,
            "every message of {} is round-tripped",
            E::NAME
        );
    }
}

/// A file holding `contents`, as the fd a message carries.
fn file_with(contents: &[u8]) -> OwnedFd {
    let mut file = tempfile::tempfile().expect("temporary file");
    file.write_all(contents).unwrap();
    file.into()
}

/// The contents of the file behind `fd`, read without moving its offset.
fn contents(fd: &OwnedFd) -> Vec<u8> {
    let file = std::fs::File::from(fd.try_clone().unwrap());
    let mut buffer = vec![0; 256];
    let n = file.read_at(&mut buffer, 0).unwrap();
    buffer.truncate(n);
    buffer
}

fn bitmap(width: u32, height: u32, color: Color) -> ShareableBitmap {
    let mut bitmap = ShareableBitmap::new(width, height, BitmapFormat::Bgra8888).unwrap();
    bitmap.set_pixel(width - 1, height - 1, color).unwrap();
    bitmap
}

fn assert_same_bitmap(sent: &ShareableBitmap, received: &ShareableBitmap) {
    assert!(received.is_valid());
    assert_eq!(
        (received.width(), received.height()),
        (sent.width(), sent.height())
    );
    assert_eq!(received.format(), sent.format());
    assert_eq!(received.pixels(), sent.pixels());
}

#[test]
fn every_message_of_window_server_round_trips() {
    use window_server::*;
    let mut coverage = Coverage::<WindowServer>::new();
    coverage.plain(CreateWindow {
        rect: IntRect::new(10, 20, 640, 480),
        title: "Hello ✓".into(),
    });
    coverage.plain_response(CreateWindowResponse { window_id: 7 });
    coverage.plain(InvalidateRect {
        window_id: 7,
        rect: IntRect::new(-1, -2, 3, 4),
    });
    let message = SetWindowBitmap {
        window_id: 7,
        bitmap: bitmap(4, 3, Color::RED),
    };
    coverage.with_resources(&message, |sent, received| {
        assert_eq!(received.window_id, sent.window_id);
        assert_same_bitmap(&sent.bitmap, &received.bitmap);
        assert_eq!(received.bitmap.pixel(3, 2), Some(Color::RED));
    });
    match dispatch(&message) {
        WindowServerMessage::SetWindowBitmap(received) => {
            assert_same_bitmap(&message.bitmap, &received.bitmap);
        }
        other => panic!("dispatched to {other:?}"),
    }
    coverage.plain_response(SetWindowBitmapResponse);
    coverage.plain(GetWindowRect {
        window_id: i32::MIN,
    });
    coverage.plain_response(GetWindowRectResponse {
        rect: IntRect::new(0, 0, 1, 1),
    });
    coverage.finish();
}

#[test]
fn every_message_of_window_client_round_trips() {
    use window_client::*;
    let mut coverage = Coverage::<WindowClient>::new();
    coverage.plain(Paint {
        window_id: 3,
        rect: IntRect::new(1, 2, 3, 4),
    });
    coverage.plain(WindowResized {
        window_id: 3,
        size: IntSize::new(800, 600),
    });
    coverage.finish();
}

#[test]
fn every_message_of_image_decoder_round_trips() {
    use image_decoder::*;
    let mut coverage = Coverage::<ImageDecoder>::new();
    let message = DecodeImage {
        image_file: file_with(b"GIF89a..."),
    };
    coverage.with_resources(&message, |_, received| {
        assert_eq!(contents(&received.image_file), b"GIF89a...");
    });
    match dispatch(&message) {
        ImageDecoderMessage::DecodeImage(received) => {
            assert_eq!(contents(&received.image_file), b"GIF89a...");
        }
    }
    let response = DecodeImageResponse {
        decoded_bitmap: bitmap(2, 2, Color::BLUE),
    };
    coverage.with_resources(&response, |sent, received| {
        assert_same_bitmap(&sent.decoded_bitmap, &received.decoded_bitmap);
    });
    coverage.finish();
}

#[test]
fn every_message_of_lookup_server_round_trips() {
    use lookup_server::*;
    let mut coverage = Coverage::<LookupServer>::new();
    coverage.plain(LookupName {
        name: "example.com".into(),
    });
    coverage.plain_response(LookupNameResponse {
        code: 0,
        addresses: vec![
            ByteString::from(&[93, 184, 216, 34]),
            ByteString::from(vec![0; 16]),
        ],
    });
    coverage.plain(LookupAddress {
        address: ByteString::from(&[127, 0, 0, 1]),
    });
    coverage.plain_response(LookupAddressResponse {
        code: -1,
        name: ByteString::new(),
    });
    coverage.finish();
    // The client side declares no messages.
    Coverage::<courier_examples::lookup_client::LookupClient>::new().finish();
}

fn sample_collections() -> kitchen::Collections {
    kitchen::Collections {
        numbers: vec![1, -2, i32::MAX],
        groups: HashMap::from([
            ("odd".to_string(), vec![1, 3]),
            ("none".to_string(), vec![]),
        ]),
        ordered: vec![(ByteString::from("z"), 1), (ByteString::from("a"), 2)],
        maybe: Some("here".to_string()),
        maybe_bytes: None,
        either: Variant2::V1("right".to_string()),
        six: Variant6::V3(IntPoint::new(-5, 5)),
        quad: [1, 2, 3, 4],
        ak: vec!["ak".to_string()],
    }
}

#[test]
fn every_message_of_kitchen_round_trips() {
    use kitchen::*;
    let mut coverage = Coverage::<Kitchen>::new();
    coverage.plain(Numbers {
        flag: true,
        a: i8::MIN,
        b: i16::MAX,
        c: -3,
        d: i64::MIN,
        e: u8::MAX,
        f: 0,
        g: u32::MAX,
        h: u64::MAX,
        i: -1,
        j: 1,
        k: 1 << 40,
        l: 1.5,
        m: -0.25,
    });
    coverage.plain_response(NumbersResponse { sum: 42, mean: 0.5 });
    coverage.plain(Strings {
        text: "text".into(),
        view: "view".into(),
        fly: "fly".into(),
        bytes: ByteString::from(vec![0xff, 0x00]),
        utf8: "ütf8".into(),
        old: ByteString::from("old"),
        buffer: vec![0, 1, 2, 255],
    });
    coverage.plain_response(StringsResponse {
        joined: String::new(),
    });
    coverage.plain(sample_collections());
    coverage.plain_response(CollectionsResponse { count: 9 });
    coverage.plain(Graphics {
        rect: IntRect::new(1, 2, 3, 4),
        point: IntPoint::new(5, 6),
        size: IntSize::new(7, 8),
        color: Color::from_rgba(1, 2, 3, 4),
        plain_color: Color::WHITE,
        float_point: FloatPoint { x: 0.5, y: -0.5 },
        float_size: FloatSize {
            width: 1.25,
            height: 2.5,
        },
        float_rect: FloatRect {
            x: 1.0,
            y: 2.0,
            width: 3.0,
            height: 4.0,
        },
    });

    let frames = BitmapSequence::from_bitmaps([Some(&bitmap(2, 1, Color::GREEN)), None]).unwrap();
    let resources = Resources {
        file: file_with(b"file"),
        attr_file: file_with(b"attr_file"),
        maybe_file: Some(file_with(b"maybe_file")),
        buffer: SharedBuffer::from_bytes(b"shared bytes").unwrap(),
        bitmap: bitmap(3, 3, Color::RED),
        attr_bitmap: ShareableBitmap::invalid(),
        frames,
    };
    coverage.with_resources(&resources, |sent, received| {
        assert_eq!(contents(&received.file), b"file");
        assert_eq!(contents(&received.attr_file), b"attr_file");
        assert_eq!(
            received.maybe_file.as_ref().map(contents),
            Some(b"maybe_file".to_vec())
        );
        assert_eq!(received.buffer.as_slice(), b"shared bytes");
        assert_same_bitmap(&sent.bitmap, &received.bitmap);
        assert!(!received.attr_bitmap.is_valid());
        assert_eq!(received.frames.frames(), sent.frames.frames());
        assert_eq!(
            received.frames.buffer().as_slice(),
            sent.frames.buffer().as_slice()
        );
    });
    coverage.with_resources(&ResourcesResponse { echoed: None }, |_, received| {
        assert!(received.echoed.is_none());
    });
    let echoed = roundtrip(&ResourcesResponse {
        echoed: Some(file_with(b"echo")),
    });
    assert_eq!(echoed.echoed.as_ref().map(contents), Some(b"echo".to_vec()));

    let user = UserTypes {
        point: Point3 { x: 1, y: 2, z: 3 },
        shape: Shape::Polygon(vec![Point3::default(), Point3 { x: -1, y: 0, z: 9 }]),
        fill: Fill::Gradient,
        path: vec![Point3 { x: 4, y: 5, z: 6 }],
        maybe_shape: Some(Shape::Circle { radius: 12 }),
    };
    coverage.with_resources(&user, |sent, received| {
        assert_eq!(received.point, sent.point);
        assert_eq!(received.shape, sent.shape);
        assert_eq!(received.fill, sent.fill);
        assert_eq!(received.path, sent.path);
        assert_eq!(received.maybe_shape, sent.maybe_shape);
    });
    coverage.with_resources(
        &UserTypesResponse {
            centre: Point3 { x: 0, y: -1, z: 1 },
        },
        |s, r| {
            assert_eq!(r.centre, s.centre);
        },
    );
    coverage.plain(Keywords {
        r#type: 1,
        self_: 2,
        r#match: true,
    });
    coverage.plain(Nothing);
    coverage.plain_response(NothingResponse);
    coverage.plain(Ping);
    coverage.finish();
}

#[test]
fn user_enums_encode_as_documented() {
    // A fieldless enum is its discriminant as an i32; a data enum a u8 index
    // and the alternative's fields.
    let (bytes, _) = encode_to_parts(&Fill::Gradient).unwrap();
    assert_eq!(bytes, [2, 0, 0, 0]);
    let (bytes, _) = encode_to_parts(&Shape::Circle { radius: 5 }).unwrap();
    assert_eq!(bytes, [1, 5, 0, 0, 0]);
}

fn byte_string() -> impl Strategy<Value = ByteString> {
    prop::collection::vec(any::<u8>(), 0..24).prop_map(ByteString::from)
}

fn int_rect() -> impl Strategy<Value = IntRect> {
    any::<(i32, i32, i32, i32)>().prop_map(|(x, y, w, h)| IntRect::new(x, y, w, h))
}

fn finite_f32() -> impl Strategy<Value = f32> {
    prop::num::f32::NORMAL | prop::num::f32::ZERO | prop::num::f32::SUBNORMAL
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::SUBNORMAL
}

fn collections() -> impl Strategy<Value = kitchen::Collections> {
    let six = prop_oneof![
        any::<bool>().prop_map(Variant6::V0),
        any::<u8>().prop_map(Variant6::V1),
        ".*".prop_map(Variant6::V2),
        any::<(i32, i32)>().prop_map(|(x, y)| Variant6::V3(IntPoint::new(x, y))),
        any::<Option<i64>>().prop_map(Variant6::V4),
        prop::collection::vec(any::<u16>(), 0..8).prop_map(Variant6::V5),
    ];
    let either = prop_oneof![
        any::<i32>().prop_map(Variant2::V0),
        ".*".prop_map(Variant2::V1)
    ];
    (
        prop::collection::vec(any::<i32>(), 0..8),
        prop::collection::hash_map(".{0,8}", prop::collection::vec(any::<i32>(), 0..4), 0..4),
        prop::collection::vec((byte_string(), any::<u32>()), 0..4),
        any::<Option<String>>(),
        any::<Option<Vec<u8>>>(),
        either,
        six,
        any::<[u8; 4]>(),
        prop::collection::vec(".*", 0..3),
    )
        .prop_map(
            |(numbers, groups, ordered, maybe, maybe_bytes, either, six, quad, ak)| {
                kitchen::Collections {
                    numbers,
                    groups,
                    ordered,
                    maybe,
                    maybe_bytes,
                    either,
                    six,
                    quad,
                    ak,
                }
            },
        )
}

proptest! {
    #[test]
    fn window_server_messages_round_trip(rect in int_rect(), title in ".*", id in any::<i32>()) {
        use window_server::*;
        let create = CreateWindow { rect, title };
        prop_assert_eq!(roundtrip(&create), create);
        prop_assert_eq!(roundtrip(&InvalidateRect { window_id: id, rect }), InvalidateRect { window_id: id, rect });
        prop_assert_eq!(roundtrip(&GetWindowRectResponse { rect }), GetWindowRectResponse { rect });
    }

    #[test]
    fn lookup_messages_round_trip(
        name in byte_string(),
        code in any::<i32>(),
        addresses in prop::collection::vec(byte_string(), 0..6),
    ) {
        use lookup_server::*;
        let request = LookupName { name: name.clone() };
        prop_assert_eq!(roundtrip(&request), request);
        let response = LookupNameResponse { code, addresses };
        prop_assert_eq!(roundtrip(&response), response);
        let response = LookupAddressResponse { code, name };
        prop_assert_eq!(roundtrip(&response), response);
    }

    #[test]
    fn kitchen_numbers_round_trip(
        signed in any::<(bool, i8, i16, i32, i64, i32)>(),
        unsigned in any::<(u8, u16, u32, u64, u32, u64)>(),
        l in finite_f32(),
        m in finite_f64(),
    ) {
        let (flag, a, b, c, d, i) = signed;
        let (e, f, g, h, j, k) = unsigned;
        let numbers = kitchen::Numbers { flag, a, b, c, d, e, f, g, h, i, j, k, l, m };
        prop_assert_eq!(roundtrip(&numbers), numbers);
    }

    #[test]
    fn kitchen_strings_round_trip(
        text in ".*",
        bytes in byte_string(),
        buffer in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let strings = kitchen::Strings {
            text: text.clone(),
            view: text.clone(),
            fly: text.clone(),
            bytes: bytes.clone(),
            utf8: text,
            old: bytes,
            buffer,
        };
        prop_assert_eq!(roundtrip(&strings), strings);
    }

    #[test]
    fn kitchen_collections_round_trip(collections in collections()) {
        prop_assert_eq!(&roundtrip(&collections), &collections);
        prop_assert_eq!(through_endpoint(&collections), collections);
    }
}

/// Keeps `Debug` in the bounds honest: every generated struct, plain or
/// not, formats.
#[test]
fn every_struct_is_debug() {
    fn debug<T: Debug>(value: &T) -> String {
        format!("{value:?}")
    }
    let message = image_decoder::DecodeImage {
        image_file: file_with(b"x"),
    };
    assert!(
        debug(&message).starts_with("DecodeImage { image_file: "),
        "{}",
        debug(&message)
    );
    assert_eq!(debug(&kitchen::Ping), "Ping");
}
