//! The constants, dispatch, errors and wire bytes of the generated code.

use courier::codec::{DecodeErrorKind, decode_from_parts, encode_to_parts};
use courier::gfx::IntRect;
use courier::{ByteString, Decoder, Endpoint, Message, Request};
use courier_examples::{
    image_decoder, kitchen, lookup_client, lookup_server, window_client, window_server,
};

#[test]
fn magics_are_the_serenity_hashes_of_the_names() {
    assert_eq!(lookup_server::MAGIC, 3613307456);
    assert_eq!(<lookup_server::LookupServer as Endpoint>::MAGIC, 3613307456);
    assert_eq!(
        <lookup_server::LookupServer as Endpoint>::NAME,
        "LookupServer"
    );
    for (magic, name) in [
        (window_server::MAGIC, "WindowServer"),
        (window_client::MAGIC, "WindowClient"),
        (image_decoder::MAGIC, "ImageDecoder"),
        (lookup_client::MAGIC, "LookupClient"),
        (kitchen::MAGIC, "Kitchen"),
    ] {
        assert_eq!(magic, jenkins_one_at_a_time(name), "{name}");
    }
}

/// The Jenkins one-at-a-time hash, written out again so that the test does
/// not trust the code it checks.
fn jenkins_one_at_a_time(name: &str) -> u32 {
    let mut hash: u32 = 0;
    for byte in name.bytes() {
        hash = hash.wrapping_add(u32::from(byte));
        hash = hash.wrapping_add(hash << 10);
        hash ^= hash >> 6;
    }
    hash = hash.wrapping_add(hash << 3);
    hash ^= hash >> 11;
    hash.wrapping_add(hash << 15)
}

#[test]
fn window_server_ids_count_from_one_with_responses() {
    use window_server::*;
    assert_eq!(CreateWindow::ID, 1);
    assert_eq!(CreateWindowResponse::ID, 2);
    assert_eq!(InvalidateRect::ID, 3);
    assert_eq!(SetWindowBitmap::ID, 4);
    assert_eq!(SetWindowBitmapResponse::ID, 5);
    assert_eq!(GetWindowRect::ID, 6);
    assert_eq!(GetWindowRectResponse::ID, 7);
    assert_eq!(
        [
            ids::CREATE_WINDOW,
            ids::CREATE_WINDOW_RESPONSE,
            ids::INVALIDATE_RECT,
            ids::SET_WINDOW_BITMAP,
            ids::SET_WINDOW_BITMAP_RESPONSE,
            ids::GET_WINDOW_RECT,
            ids::GET_WINDOW_RECT_RESPONSE,
        ],
        [1, 2, 3, 4, 5, 6, 7]
    );
    assert_eq!(
        <CreateWindow as Request>::Response::ID,
        CreateWindow::ID + 1
    );
}

#[test]
fn message_names_cover_requests_and_responses() {
    type Server = window_server::WindowServer;
    let names: Vec<_> = (0..=8).map(Server::message_name).collect();
    assert_eq!(
        names,
        [
            None,
            Some("CreateWindow"),
            Some("CreateWindowResponse"),
            Some("InvalidateRect"),
            Some("SetWindowBitmap"),
            Some("SetWindowBitmapResponse"),
            Some("GetWindowRect"),
            Some("GetWindowRectResponse"),
            None,
        ]
    );
    // The snake_case dialect keeps its spelling.
    assert_eq!(
        lookup_server::LookupServer::message_name(1),
        Some("lookup_name")
    );
    assert_eq!(
        lookup_server::LookupServer::message_name(2),
        Some("lookup_name_response")
    );
    assert_eq!(<lookup_server::LookupName as Message>::NAME, "lookup_name");
    assert_eq!(lookup_client::LookupClient::message_name(1), None);
}

#[test]
fn lookup_name_matches_the_golden_bytes() {
    let request = lookup_server::LookupName {
        name: ByteString::from("example.com"),
    };
    let (bytes, fds) = encode_to_parts(&request).unwrap();
    let mut expected = vec![0x0b, 0x00, 0x00, 0x00];
    expected.extend_from_slice(b"example.com");
    assert_eq!(bytes, expected);
    assert!(fds.is_empty());
    let decoded: lookup_server::LookupName = decode_from_parts(&expected, Vec::new()).unwrap();
    assert_eq!(decoded, request);

    let response = lookup_server::LookupNameResponse {
        code: 0,
        addresses: vec![ByteString::from(&[93, 184, 216, 34])],
    };
    let golden = [
        0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x5d, 0xb8, 0xd8,
        0x22,
    ];
    assert_eq!(encode_to_parts(&response).unwrap().0, golden);
    let decoded: lookup_server::LookupNameResponse =
        decode_from_parts(&golden, Vec::new()).unwrap();
    assert_eq!(decoded, response);
}

#[test]
fn decode_message_dispatches_on_the_id() {
    let (bytes, _) = encode_to_parts(&lookup_server::LookupAddress {
        address: ByteString::from(&[127, 0, 0, 1]),
    })
    .unwrap();
    let mut decoder = Decoder::new(&bytes, Vec::new());
    let message = lookup_server::LookupServer::decode_message(3, &mut decoder).unwrap();
    decoder.finish().unwrap();
    assert_eq!(message.id(), 3);
    assert_eq!(message.name(), "lookup_address");
    assert!(matches!(
        message,
        lookup_server::LookupServerMessage::LookupAddress(_)
    ));
}

#[test]
fn unknown_ids_are_typed_errors_naming_endpoint_and_id() {
    let mut decoder = Decoder::new(&[], Vec::new());
    let error = window_server::WindowServer::decode_message(99, &mut decoder).unwrap_err();
    assert_eq!(
        error.kind(),
        &DecodeErrorKind::UnknownMessage {
            endpoint: "WindowServer",
            id: 99
        }
    );
    assert_eq!(
        error.to_string(),
        "endpoint `WindowServer` has no message with id 99; the peer may have been built from \
         another version of the interface"
    );
    let error = window_server::WindowServer::decode_message(0, &mut decoder).unwrap_err();
    assert_eq!(
        error.kind(),
        &DecodeErrorKind::UnknownMessage {
            endpoint: "WindowServer",
            id: 0
        }
    );
    // An endpoint without messages refuses every id.
    let error = lookup_client::LookupClient::decode_message(1, &mut decoder).unwrap_err();
    assert_eq!(
        error.kind(),
        &DecodeErrorKind::UnknownMessage {
            endpoint: "LookupClient",
            id: 1
        }
    );
}

#[test]
fn response_ids_are_refused_as_requests() {
    let (bytes, _) =
        encode_to_parts(&window_server::CreateWindowResponse { window_id: 1 }).unwrap();
    let mut decoder = Decoder::new(&bytes, Vec::new());
    let error = window_server::WindowServer::decode_message(2, &mut decoder).unwrap_err();
    assert_eq!(
        error.kind(),
        &DecodeErrorKind::UnexpectedResponse {
            endpoint: "WindowServer",
            id: 2,
            name: "CreateWindowResponse"
        }
    );
    assert_eq!(
        error.to_string(),
        "id 2 of endpoint `WindowServer` is the response `CreateWindowResponse`, which cannot \
         arrive as a request or one-way message"
    );
}

#[test]
fn decode_errors_name_message_and_field() {
    // A title whose length says 100 bytes, with 3 present.
    let mut bytes = encode_to_parts(&IntRect::new(1, 2, 3, 4)).unwrap().0;
    bytes.extend_from_slice(&[100, 0, 0, 0, b'a', b'b', b'c']);
    let mut decoder = Decoder::new(&bytes, Vec::new());
    let error = window_server::WindowServer::decode_message(1, &mut decoder).unwrap_err();
    assert_eq!(error.path().collect::<Vec<_>>(), ["CreateWindow", "title"]);
    assert!(
        error.to_string().starts_with("in `CreateWindow.title`: "),
        "{error}"
    );

    // A `[UTF8] ByteString` is checked.
    let mut bytes = Vec::new();
    for text in ["t", "v", "f", "b"] {
        bytes.extend_from_slice(&encode_to_parts(text).unwrap().0);
    }
    bytes.extend_from_slice(&[1, 0, 0, 0, 0xff]);
    let error = decode_from_parts::<kitchen::Strings>(&bytes, Vec::new()).unwrap_err();
    assert_eq!(error.path().collect::<Vec<_>>(), ["Strings", "utf8"]);
    assert!(
        matches!(error.kind(), DecodeErrorKind::InvalidUtf8 { .. }),
        "{error}"
    );

    // A missing fd.
    let error = decode_from_parts::<image_decoder::DecodeImage>(&[], Vec::new()).unwrap_err();
    assert_eq!(
        error.path().collect::<Vec<_>>(),
        ["DecodeImage", "image_file"]
    );
    assert_eq!(error.kind(), &DecodeErrorKind::MissingFd);
}

#[test]
fn the_message_enum_debug_names_the_message() {
    let message = window_server::WindowServerMessage::from(window_server::CreateWindow {
        rect: IntRect::new(0, 0, 10, 10),
        title: "Hi".to_string(),
    });
    let debug = format!("{message:?}");
    assert!(
        debug.starts_with("CreateWindow(CreateWindow { rect: IntRect {"),
        "{debug}"
    );
    assert!(debug.contains("title: \"Hi\""), "{debug}");
    assert_eq!(message.name(), "CreateWindow");
    assert_eq!(message.id(), 1);

    let ping = kitchen::KitchenMessage::from(kitchen::Ping);
    assert_eq!(format!("{ping:?}"), "Ping(Ping)");
}

#[test]
fn keyword_parameters_are_raw_identifiers_with_readable_error_paths() {
    let (bytes, _) = encode_to_parts(&kitchen::Keywords {
        r#type: 1,
        self_: 2,
        r#match: true,
    })
    .unwrap();
    let truncated = &bytes[..bytes.len() - 1];
    let error = decode_from_parts::<kitchen::Keywords>(truncated, Vec::new()).unwrap_err();
    assert_eq!(error.path().collect::<Vec<_>>(), ["Keywords", "match"]);
    let debug = format!(
        "{:?}",
        kitchen::Keywords {
            r#type: 1,
            self_: 2,
            r#match: true
        }
    );
    assert_eq!(debug, "Keywords { type: 1, self_: 2, match: true }");
}

#[test]
fn the_message_enum_encodes_the_body_it_holds() {
    let request = lookup_server::LookupName {
        name: ByteString::from("a"),
    };
    let direct = encode_to_parts(&request).unwrap().0;
    let message = lookup_server::LookupServerMessage::from(request);
    assert_eq!(encode_to_parts(&message).unwrap().0, direct);
}
