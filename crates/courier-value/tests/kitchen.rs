//! Round trips against generated code: every message of
//! `examples/ipc/Kitchen.ipc` (which uses every type of the mapping),
//! encoded by the generated structs and decoded by courier-value, and the
//! other way round.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use courier::codec::{Decoder, decode_from_parts, encode_to_parts};
use courier::gfx::{Color, FloatPoint, FloatRect, FloatSize, IntPoint, IntRect, IntSize};
use courier::shm::{BitmapFormat, BitmapSequence, ShareableBitmap, SharedBuffer};
use courier::{ByteString, Encode, Endpoint, Variant2, Variant6};
use courier_examples::kitchen::{self, Kitchen, KitchenMessage};
use courier_examples::{Fill, Shape, geometry::Point3};
use courier_value::{
    DecodedMessage, InterfaceSchema, MessageKind, MessageSchema, Value, ValueError, decode_message,
    encode_message, parse_args, parse_json_args,
};

const KITCHEN: &str = include_str!("../../../examples/ipc/Kitchen.ipc");

fn schema() -> InterfaceSchema {
    InterfaceSchema::from_source("Kitchen.ipc", KITCHEN).expect("Kitchen.ipc is valid")
}

fn message<'a>(schema: &'a InterfaceSchema, name: &str) -> &'a MessageSchema {
    schema
        .message_by_name(Some("Kitchen"), name)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Encodes `generated` with its generated code, decodes it with
/// courier-value, and checks that courier-value encodes the values back to
/// the same bytes and as many fds.
fn from_generated<T: Encode>(message: &MessageSchema, generated: &T) -> DecodedMessage {
    let (bytes, fds) = encode_to_parts(generated).unwrap();
    let fd_count = fds.len();
    let decoded = decode_message(message, &bytes, fds).unwrap_or_else(|e| panic!("{e}"));
    let values: Vec<Value> = decoded
        .args
        .iter()
        .map(|a| a.value.try_clone().unwrap())
        .collect();
    let (again, again_fds) = encode_message(message, &values).unwrap();
    assert_eq!(
        again, bytes,
        "re-encoding {} changed the bytes",
        message.name
    );
    assert_eq!(again_fds.len(), fd_count);
    decoded
}

/// Encodes `values` with courier-value and decodes them with the generated
/// `Endpoint::decode_message` (requests and one-way messages).
fn to_generated(message: &MessageSchema, values: &[Value]) -> KitchenMessage {
    let (bytes, fds) = encode_message(message, values).unwrap_or_else(|e| panic!("{e}"));
    let mut decoder = Decoder::new(&bytes, fds);
    let decoded = Kitchen::decode_message(message.id, &mut decoder).unwrap();
    decoder.finish().unwrap();
    decoded
}

/// Encodes `values` with courier-value and decodes them as the generated
/// response `T`.
fn to_generated_response<T: courier::Decode>(message: &MessageSchema, values: &[Value]) -> T {
    let (bytes, fds) = encode_message(message, values).unwrap_or_else(|e| panic!("{e}"));
    decode_from_parts(&bytes, fds).unwrap()
}

#[test]
fn the_schema_has_the_generated_magic_ids_and_names() {
    let schema = schema();
    let endpoint = schema.endpoint("Kitchen").unwrap();
    assert_eq!(endpoint.magic, kitchen::MAGIC);
    assert_eq!(endpoint.magic, Kitchen::MAGIC);
    assert_eq!(endpoint.messages.len(), 15);
    for message in &endpoint.messages {
        assert_eq!(
            Kitchen::message_name(message.id),
            Some(message.name.as_str()),
            "id {}",
            message.id
        );
    }
    assert_eq!(Kitchen::message_name(16), None);
    let numbers = message(&schema, "numbers");
    assert_eq!(numbers.kind, MessageKind::Request { response_id: 2 });
    assert_eq!(
        schema.response_to(numbers).map(|m| m.name.as_str()),
        Some("numbers_response")
    );
    // Any spelling finds a message; responses too.
    assert_eq!(message(&schema, "Numbers").id, 1);
    assert_eq!(message(&schema, "NumbersResponse").id, 2);
    assert_eq!(message(&schema, "graphics").id, kitchen::ids::GRAPHICS);
    assert_eq!(schema.message(kitchen::MAGIC, 15).unwrap().name, "ping");
    assert_eq!(
        schema
            .message_by_name(None, "nope")
            .unwrap_err()
            .to_string(),
        "no message `nope` in any endpoint; there are `numbers`, `numbers_response`, `strings`, \
         `strings_response`, `collections`, `collections_response`, `Graphics`, `resources`, \
         `resources_response`, `user_types`, `user_types_response`, `keywords`, `nothing`, \
         `nothing_response`, `ping`"
    );
}

/// Every message of the interface has a round-trip test below.
#[test]
fn every_message_is_covered() {
    let covered: BTreeSet<&str> = [
        "numbers",
        "numbers_response",
        "strings",
        "strings_response",
        "collections",
        "collections_response",
        "Graphics",
        "resources",
        "resources_response",
        "user_types",
        "user_types_response",
        "keywords",
        "nothing",
        "nothing_response",
        "ping",
    ]
    .into();
    let schema = schema();
    let all: BTreeSet<&str> = schema.endpoints[0]
        .messages
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(all, covered);
}

fn numbers_struct() -> kitchen::Numbers {
    kitchen::Numbers {
        flag: true,
        a: i8::MIN,
        b: i16::MAX,
        c: -123_456,
        d: i64::MIN,
        e: u8::MAX,
        f: 0xbeef,
        g: u32::MAX,
        h: u64::MAX,
        i: -1,
        j: 7,
        k: 1 << 40,
        l: 0.1,
        m: -2.5e300,
    }
}

#[test]
fn numbers_round_trip() {
    let schema = schema();
    let numbers = message(&schema, "numbers");
    let generated = numbers_struct();
    let decoded = from_generated(numbers, &generated);
    assert_eq!(
        decoded.to_string(),
        "numbers(flag: true, a: -128, b: 32767, c: -123456, d: -9223372036854775808, e: 255, \
         f: 48879, g: 4294967295, h: 18446744073709551615, i: -1, j: 7, k: 1099511627776, \
         l: 0.1, m: -2.5e300)"
    );
    let words = [
        "true",
        "-128",
        "0x7fff",
        "-123456",
        "-9223372036854775808",
        "255",
        "0xbeef",
        "4294967295",
        "0xffffffffffffffff",
        "-1",
        "7",
        "1099511627776",
        "0.1",
        "-2.5e300",
    ];
    let values = parse_args(numbers, &words).unwrap();
    let KitchenMessage::Numbers(back) = to_generated(numbers, &values) else {
        panic!("not numbers")
    };
    assert_eq!(back, generated);

    let response = message(&schema, "numbers_response");
    let generated = kitchen::NumbersResponse {
        sum: -42,
        mean: 0.5,
    };
    let decoded = from_generated(response, &generated);
    assert_eq!(decoded.to_string(), "numbers_response(sum: -42, mean: 0.5)");
    let back: kitchen::NumbersResponse = to_generated_response(response, &decoded.into_values());
    assert_eq!(back, generated);
}

#[test]
fn strings_round_trip() {
    let schema = schema();
    let strings = message(&schema, "strings");
    let generated = kitchen::Strings {
        text: "héllo \"quoted\"".to_owned(),
        view: String::new(),
        fly: "fly".to_owned(),
        bytes: ByteString(vec![b'a', 0xff, 0, b'\n']),
        utf8: "ünïcode".to_owned(),
        old: ByteString::from("old"),
        buffer: vec![1, 2, 3],
    };
    let decoded = from_generated(strings, &generated);
    assert_eq!(
        decoded.to_string(),
        r#"strings(text: "héllo \"quoted\"", view: "", fly: "fly", bytes: b"a\xff\x00\n", utf8: "ünïcode", old: b"old", buffer: b"\x01\x02\x03")"#
    );
    let json = serde_json::Value::Object(match decoded.to_json()["args"].clone() {
        serde_json::Value::Object(args) => args,
        other => panic!("{other}"),
    });
    let values = parse_json_args(strings, &json).unwrap();
    let KitchenMessage::Strings(back) = to_generated(strings, &values) else {
        panic!("not strings")
    };
    assert_eq!(back, generated);

    let response = message(&schema, "strings_response");
    let generated = kitchen::StringsResponse {
        joined: "all".to_owned(),
    };
    let decoded = from_generated(response, &generated);
    let back: kitchen::StringsResponse = to_generated_response(response, &decoded.into_values());
    assert_eq!(back, generated);
}

fn collections_struct() -> kitchen::Collections {
    kitchen::Collections {
        numbers: vec![1, -2, 3],
        groups: HashMap::from([
            ("odd".to_owned(), vec![1, 3]),
            ("even".to_owned(), vec![2]),
            ("none".to_owned(), vec![]),
        ]),
        ordered: vec![
            (ByteString::from("z"), 26),
            (ByteString::from("a"), 1),
            (ByteString(vec![0xfe]), 254),
        ],
        maybe: None,
        maybe_bytes: Some(vec![9, 8]),
        either: Variant2::V1("right".to_owned()),
        six: Variant6::V3(IntPoint::new(-1, 1)),
        quad: [1, 2, 3, 4],
        ak: vec!["x".to_owned(), "y".to_owned()],
    }
}

#[test]
fn collections_round_trip() {
    let schema = schema();
    let collections = message(&schema, "collections");
    let generated = collections_struct();
    let decoded = from_generated(collections, &generated);
    let printed = decoded.to_string();
    assert!(
        printed.starts_with("collections(numbers: [1, -2, 3], groups: {"),
        "{printed}"
    );
    assert!(
        printed.ends_with(
            r#"ordered: {b"z": 26, b"a": 1, b"\xfe": 254}, maybe: None, maybe_bytes: Some([9, 8]), either: V1("right"), six: V3(IntPoint { x: -1, y: 1 }), quad: [1, 2, 3, 4], ak: ["x", "y"])"#
        ),
        "{printed}"
    );
    // Through JSON and back: the ordered map keeps its order, the
    // variant its alternative.
    let json = serde_json::Value::Array(decoded.args.iter().map(|a| a.value.to_json()).collect());
    let ordered = &json[2];
    assert_eq!(
        ordered.to_string(),
        r#"[["z",26],["a",1],[{"hex":"fe"},254]]"#
    );
    assert_eq!(json[6].to_string(), r#"{"3":{"x":-1,"y":1}}"#);
    let values = parse_json_args(collections, &json).unwrap();
    let KitchenMessage::Collections(back) = to_generated(collections, &values) else {
        panic!("not collections")
    };
    assert_eq!(back, generated);

    // From words, as `courier call` passes them.
    let words = [
        "[1,-2,3]",
        r#"{"odd":[1,3],"even":[2],"none":[]}"#,
        r#"[["z",26],["a",1],[{"hex":"fe"},254]]"#,
        "null",
        "[9,8]",
        "right",
        r#"{"Gfx::IntPoint":{"x":-1,"y":1}}"#,
        "[1,2,3,4]",
        r#"["x","y"]"#,
    ];
    let values = parse_args(collections, &words).unwrap();
    let KitchenMessage::Collections(back) = to_generated(collections, &values) else {
        panic!("not collections")
    };
    assert_eq!(back, generated);

    let response = message(&schema, "collections_response");
    let generated = kitchen::CollectionsResponse { count: 9 };
    let decoded = from_generated(response, &generated);
    let back: kitchen::CollectionsResponse =
        to_generated_response(response, &decoded.into_values());
    assert_eq!(back, generated);
}

#[test]
fn graphics_round_trip() {
    let schema = schema();
    let graphics = message(&schema, "Graphics");
    let generated = kitchen::Graphics {
        rect: IntRect::new(1, 2, 3, 4),
        point: IntPoint::new(-5, 6),
        size: IntSize::new(7, 8),
        color: Color::from_rgba(0x11, 0x22, 0x33, 0x44),
        plain_color: Color::WHITE,
        float_point: FloatPoint::new(0.5, -0.25),
        float_size: FloatSize::new(1.5, 2.0),
        float_rect: FloatRect::new(0.1, 0.2, 0.3, 0.4),
    };
    let decoded = from_generated(graphics, &generated);
    assert_eq!(
        decoded.to_string(),
        "Graphics(rect: IntRect { x: 1, y: 2, width: 3, height: 4 }, \
         point: IntPoint { x: -5, y: 6 }, size: IntSize { width: 7, height: 8 }, \
         color: Color(#11223344), plain_color: Color(#ffffffff), \
         float_point: FloatPoint { x: 0.5, y: -0.25 }, float_size: FloatSize { width: 1.5, height: 2.0 }, \
         float_rect: FloatRect { x: 0.1, y: 0.2, width: 0.3, height: 0.4 })"
    );
    let words = [
        "1,2,3,4",
        "-5, 6",
        r#"{"width":7,"height":8}"#,
        "#11223344",
        "#ffffff",
        "0.5,-0.25",
        "[1.5,2]",
        "0.1,0.2,0.3,0.4",
    ];
    let values = parse_args(graphics, &words).unwrap();
    let KitchenMessage::Graphics(back) = to_generated(graphics, &values) else {
        panic!("not graphics")
    };
    assert_eq!(back, generated);
    let json = decoded.to_json();
    let values = parse_json_args(graphics, &json["args"]).unwrap();
    let KitchenMessage::Graphics(back) = to_generated(graphics, &values) else {
        panic!("not graphics")
    };
    assert_eq!(back, generated);
}

fn temp_file(contents: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(contents).unwrap();
    file
}

fn inode(fd: impl AsFd) -> (u64, u64) {
    let file = std::fs::File::from(fd.as_fd().try_clone_to_owned().unwrap());
    let metadata = file.metadata().unwrap();
    (metadata.dev(), metadata.ino())
}

fn resources_struct(file: &tempfile::NamedTempFile) -> kitchen::Resources {
    let fd = || OwnedFd::from(file.reopen().unwrap());
    let mut bitmap = ShareableBitmap::new(2, 3, BitmapFormat::Rgba8888).unwrap();
    bitmap.set_pixel(1, 2, Color::RED).unwrap();
    kitchen::Resources {
        file: fd(),
        attr_file: fd(),
        maybe_file: None,
        buffer: SharedBuffer::from_bytes(b"shared!").unwrap(),
        bitmap,
        attr_bitmap: ShareableBitmap::invalid(),
        frames: BitmapSequence::new(&[Some((1, 1, BitmapFormat::Bgra8888)), None]).unwrap(),
    }
}

#[test]
fn resources_round_trip() {
    let schema = schema();
    let resources = message(&schema, "resources");
    let file = temp_file(b"file contents");
    let generated = resources_struct(&file);
    let decoded = from_generated(resources, &generated);
    let printed = decoded.to_string();
    assert!(printed.starts_with("resources(file: fd "), "{printed}");
    assert!(
        printed.ends_with(
            "maybe_file: None, buffer: <shared buffer, 7 bytes>, \
             bitmap: <bitmap 2x3 RGBA8888, pitch 8>, attr_bitmap: <invalid bitmap>, \
             frames: <bitmap sequence, 2 frames: 1x1 BGRA8888, none>)"
        ),
        "{printed}"
    );
    // The decoded values are the same memory and the same file.
    let Some(Value::File(fd)) = decoded.arg("file") else {
        panic!("no file")
    };
    assert_eq!(inode(fd), inode(file.as_file()));
    let Some(Value::Bitmap(bitmap)) = decoded.arg("bitmap") else {
        panic!("no bitmap")
    };
    assert_eq!(bitmap.pixel(1, 2), Some(Color::RED));
    assert_eq!(
        decoded.arg("buffer").unwrap().to_json()["head"],
        serde_json::json!("73686172656421")
    );

    // courier-value to generated: the file from `@path`, the rest as JSON.
    let path = format!("@{}", file.path().display());
    let words = [
        path.as_str(),
        path.as_str(),
        path.as_str(),
        r#"{"text":"shared!"}"#,
        r#"{"width":2,"height":3,"format":"RGBA8888"}"#,
        r#"{"valid":false}"#,
        r#"{"frames":[{"width":1,"height":1},null]}"#,
    ];
    let values = parse_args(resources, &words).unwrap();
    let KitchenMessage::Resources(back) = to_generated(resources, &values) else {
        panic!("not resources")
    };
    assert_eq!(inode(&back.file), inode(file.as_file()));
    assert_eq!(inode(&back.attr_file), inode(file.as_file()));
    assert_eq!(
        back.maybe_file.as_ref().map(inode),
        Some(inode(file.as_file()))
    );
    assert_eq!(back.buffer.as_slice(), b"shared!");
    assert_eq!((back.bitmap.width(), back.bitmap.height()), (2, 3));
    assert_eq!(back.bitmap.format(), BitmapFormat::Rgba8888);
    assert!(!back.attr_bitmap.is_valid());
    assert_eq!(back.frames.frames(), generated.frames.frames());

    let response = message(&schema, "resources_response");
    let generated = kitchen::ResourcesResponse {
        echoed: Some(OwnedFd::from(file.reopen().unwrap())),
    };
    let decoded = from_generated(response, &generated);
    let back: kitchen::ResourcesResponse = to_generated_response(response, &decoded.into_values());
    assert_eq!(back.echoed.map(inode), Some(inode(file.as_file())));
}

#[test]
fn user_types_cannot_be_decoded_and_the_error_names_the_type() {
    let schema = schema();
    let user_types = message(&schema, "user_types");
    let generated = kitchen::UserTypes {
        point: Point3 { x: 1, y: 2, z: 3 },
        shape: Shape::Circle { radius: 4 },
        fill: Fill::Solid,
        path: vec![],
        maybe_shape: None,
    };
    let (bytes, fds) = encode_to_parts(&generated).unwrap();
    let error = decode_message(user_types, &bytes, fds).unwrap_err();
    assert!(
        matches!(&error, ValueError::UserType { path, type_name, .. }
            if path == "point" && type_name == "Geometry::Point3"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "message `user_types` of `Kitchen`: `point` is of the user type `Geometry::Point3`, \
         whose layout the .ipc text does not give; it cannot be decoded at run time (only by \
         code generated for it)"
    );
    let error = parse_args(user_types, &["{}", "{}", "{}", "[]", "null"]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "message `user_types` of `Kitchen`: parameter `point`: `Geometry::Point3` is a user \
         type whose layout the .ipc text does not give, so it cannot be built or decoded at \
         run time"
    );

    let response = message(&schema, "user_types_response");
    let (bytes, fds) = encode_to_parts(&kitchen::UserTypesResponse {
        centre: Point3::default(),
    })
    .unwrap();
    let error = decode_message(response, &bytes, fds).unwrap_err();
    assert!(matches!(error, ValueError::UserType { .. }), "{error:?}");
}

#[test]
fn a_user_type_inside_a_container_is_reached_only_when_present() {
    // `Optional<Shape>` that is absent and an empty `Vector<Point3>` decode;
    // the error names the first user type actually in the body.
    let schema = InterfaceSchema::from_source(
        "U.ipc",
        "endpoint U { f(Vector<Geometry::Point3> path, Optional<Shape> maybe) =| }",
    )
    .unwrap();
    let f = message_in(&schema, "f");
    let decoded = decode_message(f, &[0, 0, 0, 0, 0], Vec::new()).unwrap();
    assert_eq!(decoded.to_string(), "f(path: [], maybe: None)");
    let error = decode_message(f, &[1, 0, 0, 0, 9, 9, 9, 9], Vec::new()).unwrap_err();
    assert!(
        matches!(&error, ValueError::UserType { path, type_name, .. }
            if path == "path[0]" && type_name == "Geometry::Point3"),
        "{error:?}"
    );
}

fn message_in<'a>(schema: &'a InterfaceSchema, name: &str) -> &'a MessageSchema {
    schema.message_by_name(None, name).unwrap()
}

#[test]
fn keywords_nothing_and_ping_round_trip() {
    let schema = schema();
    let keywords = message(&schema, "keywords");
    let generated = kitchen::Keywords {
        r#type: 1,
        self_: -2,
        r#match: true,
    };
    let decoded = from_generated(keywords, &generated);
    assert_eq!(
        decoded.to_string(),
        "keywords(type: 1, self: -2, match: true)"
    );
    let KitchenMessage::Keywords(back) = to_generated(keywords, &decoded.into_values()) else {
        panic!("not keywords")
    };
    assert_eq!(back, generated);

    for name in ["nothing", "ping"] {
        let message = message(&schema, name);
        let decoded = decode_message(message, &[], Vec::new()).unwrap();
        assert_eq!(decoded.to_string(), format!("{name}()"));
        let generated = to_generated(message, &[]);
        assert!(
            matches!(
                (name, generated),
                ("nothing", KitchenMessage::Nothing(_)) | ("ping", KitchenMessage::Ping(_))
            ),
            "{name}"
        );
    }
    let response = message(&schema, "nothing_response");
    let decoded = from_generated(response, &kitchen::NothingResponse);
    assert!(decoded.args.is_empty());
    let _: kitchen::NothingResponse = to_generated_response(response, &[]);
}

#[test]
fn encode_checks_every_value_against_its_type() {
    let schema = schema();
    let numbers = message(&schema, "numbers");
    let mut values = parse_args(
        numbers,
        &[
            "true", "1", "1", "1", "1", "1", "1", "1", "1", "1", "1", "1", "1", "1",
        ],
    )
    .unwrap();
    values[6] = Value::I64(70_000);
    assert_eq!(
        encode_message(numbers, &values).unwrap_err().to_string(),
        "message `numbers` of `Kitchen`: parameter `f`: expected u16, got i64 `70000` \
         (out of range 0..=65535)"
    );
    values[6] = Value::from("x");
    assert_eq!(
        encode_message(numbers, &values).unwrap_err().to_string(),
        "message `numbers` of `Kitchen`: parameter `f`: expected u16, got string `\"x\"`"
    );
    assert_eq!(
        encode_message(numbers, &values[..2])
            .unwrap_err()
            .to_string(),
        "message `numbers` of `Kitchen`: `numbers(bool flag, i8 a, i16 b, i32 c, i64 d, u8 e, \
         u16 f, u32 g, u64 h, i32 i, u32 j, u64 k, float l, double m)` takes 14 arguments, got 2"
    );

    let collections = message(&schema, "collections");
    let mut values = parse_json_args(
        collections,
        &serde_json::json!([[], {}, [], null, null, {"0": 1}, {"0": true}, [1, 2, 3, 4], []]),
    )
    .unwrap();
    values[1] = Value::Map(vec![
        (Value::from("k"), Value::Vector(vec![])),
        (Value::from("k"), Value::Vector(vec![])),
    ]);
    assert_eq!(
        encode_message(collections, &values)
            .unwrap_err()
            .to_string(),
        "message `collections` of `Kitchen`: parameter `groups`, at `[1].key`: expected a key \
         not seen before in the HashMap<String, Vector<i32>>, got string `\"k\"` (a HashMap's \
         keys must be unique)"
    );
    values[1] = Value::Map(vec![]);
    values[7] = Value::Vector(vec![Value::U8(1)]);
    assert_eq!(
        encode_message(collections, &values)
            .unwrap_err()
            .to_string(),
        "message `collections` of `Kitchen`: parameter `quad`: expected Array<u8, 4>, got \
         vector `[1]` (1 elements, not 4)"
    );
    values[7] = Value::Array((0..4).map(Value::U8).collect());
    values[6] = Value::Variant {
        index: 6,
        value: Box::new(Value::Bool(true)),
    };
    assert_eq!(
        encode_message(collections, &values)
            .unwrap_err()
            .to_string(),
        "message `collections` of `Kitchen`: parameter `six`: expected Variant<bool, u8, String, \
         Gfx::IntPoint, Optional<i64>, Vector<u16>>, got variant `V6(true)` (index 6, but there \
         are 6 alternatives)"
    );
    values[6] = Value::Variant {
        index: 5,
        value: Box::new(Value::Vector(vec![Value::I32(-1)])),
    };
    assert_eq!(
        encode_message(collections, &values)
            .unwrap_err()
            .to_string(),
        "message `collections` of `Kitchen`: parameter `six`, at `V5[0]`: expected u16, got \
         i32 `-1` (out of range 0..=65535)"
    );
}
