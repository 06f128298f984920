//! Malformed bodies: errors that name the place, never panics, never
//! allocations beyond what the body holds.

use std::os::fd::OwnedFd;

use courier::codec::{Decoder, encode_to_parts};
use courier::{DecodeError, Endpoint};
use courier_examples::kitchen::Kitchen;
use courier_value::{InterfaceSchema, MessageSchema, Value, ValueError, decode_message};
use proptest::prelude::*;

const KITCHEN: &str = include_str!("../../../examples/ipc/Kitchen.ipc");

fn one_param(ty: &str) -> MessageSchema {
    let source = format!("endpoint T {{ f({ty} v) =| }}");
    let schema = InterfaceSchema::from_source("T.ipc", &source).unwrap();
    schema.endpoints[0].messages[0].clone()
}

fn decode_error(ty: &str, body: &[u8], fds: Vec<OwnedFd>) -> String {
    match decode_message(&one_param(ty), body, fds) {
        Ok(decoded) => panic!("{ty} {body:?} decoded as {decoded}"),
        Err(error) => error.to_string(),
    }
}

fn memfd() -> OwnedFd {
    let buffer = courier::shm::SharedBuffer::new(8).unwrap();
    buffer.fd().unwrap().try_clone_to_owned().unwrap()
}

#[test]
fn errors_name_the_place_and_the_fault() {
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "u32",
            &[1, 2],
            "in `v`: message ends early: 4 more bytes needed, 2 left",
        ),
        ("u8", &[1, 2], "1 unexpected bytes after the last field"),
        ("bool", &[2], "in `v`: bool byte is 2, expected 0 or 1"),
        (
            "String",
            &[2, 0, 0, 0, 0xc3, 0x28],
            "in `v`: string is not valid UTF-8 (bad byte at offset 0)",
        ),
        (
            "Vector<u8>",
            &[0xff, 0xff, 0xff, 0xff, 1, 2, 3],
            "in `v`: count 4294967295 cannot fit in the 3 bytes left of the message",
        ),
        (
            "Vector<Vector<u64>>",
            &[3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            "in `v`: count 3 cannot fit in the 8 bytes left of the message",
        ),
        (
            "Vector<IPC::File>",
            &[0, 0, 0, 1],
            "in `v`: count 16777216 cannot fit in the 0 bytes left of the message",
        ),
        (
            "Vector<i32>",
            &[2, 0, 0, 0, 1, 0, 0, 0, 2, 0],
            "in `v`: count 2 cannot fit in the 6 bytes left of the message",
        ),
        (
            "Vector<String>",
            &[2, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0],
            "in `v[1]`: count 5 cannot fit in the 0 bytes left of the message",
        ),
        (
            "HashMap<u8, u8>",
            &[2, 0, 0, 0, 1, 1, 1, 2],
            "in `v[1]`: the map has this key twice; a map's keys must be unique",
        ),
        (
            "HashMap<String, bool>",
            &[1, 0, 0, 0, 1, 0, 0, 0, b'k', 7],
            "in `v[0].value`: bool byte is 7, expected 0 or 1",
        ),
        (
            "Optional<i16>",
            &[1, 5],
            "in `v`: message ends early: 2 more bytes needed, 1 left",
        ),
        (
            "Variant<i8, String>",
            &[2, 0],
            "in `v`: variant index 2 is out of range for `Variant<i8, String>`, which has 2 alternatives",
        ),
        (
            "Variant<i8, String>",
            &[1, 9, 0, 0, 0],
            "in `v.V1`: count 9 cannot fit in the 0 bytes left of the message",
        ),
        (
            "Array<u16, 2>",
            &[3, 0, 0, 0, 1, 0, 2, 0, 3, 0],
            "in `v`: array of 2 elements arrived with a count of 3",
        ),
        (
            "Array<u64, 4294967295>",
            &[0xff, 0xff, 0xff, 0xff, 0],
            "in `v`: count 4294967295 cannot fit in the 1 bytes left of the message",
        ),
        (
            "IPC::File",
            &[],
            "in `v`: a file descriptor was expected but none was sent with the message",
        ),
        (
            "Core::AnonymousBuffer",
            &[1, 0, 0, 0],
            "in `v.size`: message ends early: 4 more bytes needed, 3 left",
        ),
        (
            // SerenityOS's layout: the pixels' fd comes right after `valid`.
            "Gfx::ShareableBitmap",
            &[1, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0],
            "in `v.fd`: a file descriptor was expected but none was sent with the message",
        ),
        (
            "Gfx::IntRect",
            &[0; 12],
            "in `v.height`: message ends early: 4 more bytes needed, 0 left",
        ),
    ];
    for (ty, body, expected) in cases {
        let error = decode_error(ty, body, Vec::new());
        assert_eq!(
            error,
            format!("message `f` of `T`: {expected}"),
            "{ty} {body:?}"
        );
    }
}

#[test]
fn fds_must_match_the_body() {
    // An fd that nothing claims is an error (and is closed).
    assert_eq!(
        decode_error("u8", &[1], vec![memfd()]),
        "message `f` of `T`: 1 file descriptors were sent but the message has no place for them"
    );
    // A shared buffer larger than its memory file is refused before mapping.
    assert_eq!(
        decode_error("Core::AnonymousBuffer", &[1, 0, 0, 1, 0], vec![memfd()]),
        "message `f` of `T`: in `v`: shared buffer claims 65536 bytes but its memory file \
         holds only 8; the sender is broken or hostile: it must size the memory file to at \
         least the size it sends and never shrink it (courier's SharedBuffer::new does both)"
    );
    // A bitmap whose pixels (2 * 4 * 2 bytes, derived from its size) do
    // not fit its memory file: valid, 2x2, scale 1, BGRA8888.
    let mut body = vec![1];
    for field in [2u32, 2, 1, 2] {
        body.extend(field.to_le_bytes());
    }
    assert_eq!(
        decode_error("Gfx::ShareableBitmap", &body, vec![memfd()]),
        "message `f` of `T`: in `v.fd`: shared buffer claims 16 bytes but its memory file \
         holds only 8; the sender is broken or hostile: it must size the memory file to at \
         least the size it sends and never shrink it (courier's SharedBuffer::new does both)"
    );
    // Vectors of fds take one fd per element.
    let decoded = decode_message(
        &one_param("Vector<IPC::File>"),
        &[2, 0, 0, 0],
        vec![memfd(), memfd()],
    )
    .unwrap();
    assert!(matches!(decoded.arg("v"), Some(Value::Vector(fds)) if fds.len() == 2));
}

#[test]
fn ordered_maps_keep_repeated_keys_as_generated_code_does() {
    let decoded = decode_message(
        &one_param("OrderedHashMap<u8, u8>"),
        &[2, 0, 0, 0, 1, 1, 1, 2],
        Vec::new(),
    )
    .unwrap();
    assert_eq!(decoded.to_string(), "f(v: {1: 1, 1: 2})");
}

#[test]
fn every_truncation_of_a_valid_body_is_an_error() {
    let schema = InterfaceSchema::from_source("Kitchen.ipc", KITCHEN).unwrap();
    let message = schema.message_by_name(None, "collections").unwrap();
    let words = [
        "[1,-2,3]",
        r#"{"odd":[1,3]}"#,
        r#"[["z",26]]"#,
        "maybe",
        "[9,8]",
        "right",
        r#"{"5":[1,2]}"#,
        "[1,2,3,4]",
        r#"["x"]"#,
    ];
    let values = courier_value::parse_args(message, &words).unwrap();
    let (body, _) = courier_value::encode_message(message, &values).unwrap();
    for len in 0..body.len() {
        let error = decode_message(message, &body[..len], Vec::new()).unwrap_err();
        assert!(matches!(error, ValueError::Decode { .. }), "{len}: {error}");
    }
    let mut longer = body.clone();
    longer.push(0);
    let error = decode_message(message, &longer, Vec::new()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "message `collections` of `Kitchen`: 1 unexpected bytes after the last field"
    );
}

/// Whether the generated code accepts `body` as message `id` of Kitchen.
fn generated_accepts(id: u32, body: &[u8]) -> Result<(), DecodeError> {
    let mut decoder = Decoder::new(body, Vec::new());
    Kitchen::decode_message(id, &mut decoder)?;
    decoder.finish()
}

fn valid_collections_body() -> Vec<u8> {
    use courier::{ByteString, Variant2, Variant6};
    let message = courier_examples::kitchen::Collections {
        numbers: vec![7, 8],
        groups: [("g".to_owned(), vec![1])].into(),
        ordered: vec![(ByteString::from("k"), 5), (ByteString::from("k"), 6)],
        maybe: Some("m".to_owned()),
        maybe_bytes: None,
        either: Variant2::V0(3),
        six: Variant6::V4(Some(-9)),
        quad: [0, 1, 2, 3],
        ak: vec![String::new()],
    };
    encode_to_parts(&message).unwrap().0
}

fn kitchen_schema() -> &'static InterfaceSchema {
    static SCHEMA: std::sync::OnceLock<InterfaceSchema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| InterfaceSchema::from_source("Kitchen.ipc", KITCHEN).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Random damage to a valid body: courier-value accepts exactly what
    /// the generated code accepts, never panics, and what it accepts it
    /// encodes back to the same bytes.
    #[test]
    fn damaged_bodies_agree_with_generated_code(
        changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let schema = kitchen_schema();
        let message = schema.message_by_name(None, "collections").unwrap();
        let mut body = valid_collections_body();
        for (index, byte) in changes {
            let at = index.index(body.len());
            body[at] = byte;
        }
        if truncate {
            body.truncate(cut.index(body.len()));
        }
        let generated = generated_accepts(message.id, &body);
        let dynamic = decode_message(message, &body, Vec::new());
        prop_assert_eq!(generated.is_ok(), dynamic.is_ok(), "{:?} / {:?}", generated, dynamic);
        if let Ok(decoded) = dynamic {
            let (again, _) = courier_value::encode_message(message, &decoded.into_values()).unwrap();
            prop_assert_eq!(again, body);
        }
    }

    /// Arbitrary bytes against a type of every kind: an error or a value,
    /// never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let message = one_param(
            "Vector<Variant<HashMap<String, Optional<Array<i16, 2>>>, ByteString, Gfx::IntRect, \
             Vector<Vector<u8>>, double, Gfx::Color>>",
        );
        if let Ok(decoded) = decode_message(&message, &body, Vec::new()) {
            let (again, _) = courier_value::encode_message(&message, &decoded.into_values()).unwrap();
            prop_assert_eq!(again, body);
        }
    }
}
