//! `InterfaceSchema`: building, lookups, errors, and the SerenityOS corpus.

use courier::shm::{BitmapSequence, ShareableBitmap, SharedBuffer};
use courier_idl::SourceFile;
use courier_testdata::ipc_files;
use courier_value::{
    Gfx, GfxType, IdlType, InterfaceSchema, MessageKind, SchemaError, Value, decode_message,
    encode_message,
};

const TWO: &str = "\
endpoint WindowServer
{
    CreateWindow(Gfx::IntRect rect, String title) => (i32 window_id)
    invalidate_rect(i32 window_id) =|
    ping() => ()
}

endpoint WindowClient
{
    Paint(i32 window_id) =|
    ping() =|
}
";

#[test]
fn lookups_by_magic_id_and_either_spelling() {
    let schema = InterfaceSchema::from_source("Window.ipc", TWO).unwrap();
    let server = schema.endpoint("window_server").unwrap();
    assert_eq!(server.name, "WindowServer");
    assert_eq!(
        server.magic,
        courier_idl::magic::endpoint_magic("WindowServer")
    );
    let ids: Vec<(u32, &str, MessageKind)> = server
        .messages
        .iter()
        .map(|m| (m.id, m.name.as_str(), m.kind))
        .collect();
    assert_eq!(
        ids,
        [
            (1, "CreateWindow", MessageKind::Request { response_id: 2 }),
            (
                2,
                "CreateWindowResponse",
                MessageKind::Response { request_id: 1 }
            ),
            (3, "invalidate_rect", MessageKind::OneWay),
            (4, "ping", MessageKind::Request { response_id: 5 }),
            (5, "ping_response", MessageKind::Response { request_id: 4 }),
        ]
    );
    for spelling in ["CreateWindow", "create_window"] {
        assert_eq!(schema.message_by_name(None, spelling).unwrap().id, 1);
    }
    for spelling in ["InvalidateRect", "invalidate_rect"] {
        assert_eq!(schema.message_by_name(None, spelling).unwrap().id, 3);
    }
    assert_eq!(
        schema
            .message_by_name(None, "create_window_response")
            .unwrap()
            .id,
        2
    );
    assert_eq!(
        schema
            .message_by_name(Some("WindowClient"), "ping")
            .unwrap()
            .kind,
        MessageKind::OneWay
    );
    assert_eq!(
        schema.message(server.magic, 5).unwrap().name,
        "ping_response"
    );
    assert_eq!(schema.message(server.magic, 6), None);
    assert_eq!(schema.message(server.magic, 0), None);
    assert_eq!(schema.message(1, 1), None);
    let create = schema.message_by_name(None, "CreateWindow").unwrap();
    assert_eq!(
        create.signature(),
        "CreateWindow(Gfx::IntRect rect, String title)"
    );
    let response = schema.response_to(create).unwrap();
    assert_eq!(response.params[0].ty, IdlType::I32);
    assert_eq!(schema.response_to(response), None);
}

#[test]
fn lookup_errors_say_what_there_is() {
    let schema = InterfaceSchema::from_source("Window.ipc", TWO).unwrap();
    let error = schema.message_by_name(None, "ping").unwrap_err();
    assert_eq!(
        error,
        SchemaError::AmbiguousMessage {
            name: "ping".to_owned(),
            endpoints: vec!["WindowServer".to_owned(), "WindowClient".to_owned()],
        }
    );
    assert_eq!(
        error.to_string(),
        "message `ping` is in several endpoints (`WindowServer`, `WindowClient`); name the endpoint too"
    );
    assert_eq!(
        schema.endpoint("Clipboard").unwrap_err().to_string(),
        "no endpoint `Clipboard`; the interface has `WindowServer`, `WindowClient`"
    );
    assert_eq!(
        schema
            .message_by_name(Some("WindowClient"), "paint_all")
            .unwrap_err()
            .to_string(),
        "no message `paint_all` in endpoint `WindowClient`; there are `Paint`, `ping`"
    );
}

#[test]
fn invalid_text_is_refused_with_its_diagnostics() {
    let error =
        InterfaceSchema::from_source("Bad.ipc", "endpoint E {\n    f(i32 x)\n}\n").unwrap_err();
    let SchemaError::Invalid { diagnostics } = &error else {
        panic!("{error:?}")
    };
    assert!(
        diagnostics.contains("expected `=>` or `=|` after the parameter list of `f`"),
        "{diagnostics}"
    );
    assert!(diagnostics.contains("--> Bad.ipc:2:"), "{diagnostics}");
    assert!(
        error
            .to_string()
            .starts_with("the .ipc text has errors; fix them first:\n")
    );
    let error = InterfaceSchema::from_source("Bad.ipc", "endpoint E { f(Vector<i32, i32> x) =| }")
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("error: `Vector` takes 1 type argument, found 2"),
        "{error}"
    );
}

/// A plain value of `ty`, `None` when it holds a user type.
fn plain_value(ty: &IdlType) -> Option<Value> {
    Some(match ty {
        IdlType::Bool => Value::Bool(true),
        IdlType::I8 => Value::I8(-1),
        IdlType::I16 => Value::I16(-1),
        IdlType::I32 => Value::I32(-1),
        IdlType::I64 => Value::I64(-1),
        IdlType::U8 => Value::U8(1),
        IdlType::U16 => Value::U16(1),
        IdlType::U32 => Value::U32(1),
        IdlType::U64 => Value::U64(1),
        IdlType::F32 => Value::F32(0.5),
        IdlType::F64 => Value::F64(0.5),
        IdlType::String => Value::from("s"),
        IdlType::ByteString => Value::ByteString(b"b".to_vec()),
        IdlType::Bytes => Value::Bytes(vec![1]),
        IdlType::Vector(inner) => Value::Vector(vec![plain_value(inner)?]),
        IdlType::HashMap(key, value) | IdlType::OrderedHashMap(key, value) => {
            Value::Map(vec![(plain_value(key)?, plain_value(value)?)])
        }
        IdlType::Optional(inner) => Value::Optional(Some(Box::new(plain_value(inner)?))),
        IdlType::Variant(alternatives) => {
            let (index, value) = alternatives
                .iter()
                .enumerate()
                .find_map(|(i, a)| Some((i, plain_value(a)?)))?;
            Value::Variant {
                index: index as u8,
                value: Box::new(value),
            }
        }
        IdlType::Array(inner, len) => {
            let items: Option<Vec<Value>> = (0..*len).map(|_| plain_value(inner)).collect();
            Value::Array(items?)
        }
        IdlType::File => Value::File(std::fs::File::open("/dev/null").ok()?.into()),
        IdlType::SharedBuffer => Value::SharedBuffer(SharedBuffer::from_bytes(b"x").ok()?),
        IdlType::Bitmap => Value::Bitmap(ShareableBitmap::invalid()),
        IdlType::BitmapSequence => Value::BitmapSequence(BitmapSequence::new(&[]).ok()?),
        IdlType::Gfx(GfxType::Color) => Value::Gfx(Gfx::Color(courier::gfx::Color::RED)),
        IdlType::Gfx(_) => courier_value::parse_arg(ty, "[1, 2, 3, 4]")
            .or_else(|_| courier_value::parse_arg(ty, "[1, 2]"))
            .ok()?,
        IdlType::User { .. } => return None,
    })
}

/// Every message of the 36 SerenityOS files: the schema has them all, and
/// each one without user types round-trips a value in every parameter.
#[test]
fn the_serenity_corpus_builds_and_its_plain_messages_round_trip() {
    let Some(dir) = courier_testdata::serenity_ipc("the SerenityOS corpus") else {
        return;
    };
    let sources: Vec<SourceFile> = ipc_files(&dir)
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            SourceFile::new(path.display().to_string(), text)
        })
        .collect();
    assert_eq!(sources.len(), 36);
    let schema = InterfaceSchema::from_sources(&sources).unwrap_or_else(|e| panic!("{e}"));
    let (mut plain, mut with_user_types) = (0, 0);
    for endpoint in &schema.endpoints {
        for message in &endpoint.messages {
            assert_eq!(schema.message(endpoint.magic, message.id), Some(message));
            let values: Option<Vec<Value>> =
                message.params.iter().map(|p| plain_value(&p.ty)).collect();
            let Some(values) = values else {
                with_user_types += 1;
                continue;
            };
            plain += 1;
            let (body, fds) = encode_message(message, &values).unwrap_or_else(|e| panic!("{e}"));
            let decoded = decode_message(message, &body, fds).unwrap_or_else(|e| panic!("{e}"));
            for (arg, value) in decoded.args.iter().zip(&values) {
                assert_eq!(&arg.value, value, "{} {}", message.name, arg.name);
            }
        }
    }
    assert!(plain > 300, "{plain} plain messages");
    assert!(
        with_user_types > 50,
        "{with_user_types} messages with user types"
    );
}

#[test]
fn frames_of_unknown_endpoints_or_ids_are_named() {
    let schema = InterfaceSchema::from_source("Window.ipc", TWO).unwrap();
    let magic = schema.endpoint("WindowServer").unwrap().magic;
    let decoded = schema.decode(magic, 3, &[7, 0, 0, 0], Vec::new()).unwrap();
    assert_eq!(decoded.to_string(), "invalidate_rect(window_id: 7)");
    assert_eq!(
        schema
            .decode(magic, 9, &[], Vec::new())
            .unwrap_err()
            .to_string(),
        format!(
            "endpoint `WindowServer` (magic {magic}) has no message with id 9; the peer may \
             have been built from another version of the interface"
        )
    );
    assert_eq!(
        schema
            .decode(0, 1, &[], Vec::new())
            .unwrap_err()
            .to_string(),
        "the interface has no endpoint with magic 0 (message id 1); the peer may have been \
         built from another version of the interface"
    );
}
