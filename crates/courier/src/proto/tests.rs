//! The any-peer handshake and the introspection request, two cores in
//! memory.

use std::time::Instant;

use super::hello::Hello;
use super::test_support::{complete_handshake, events_of, pump};
use super::*;
use crate::error::Limit;
use crate::error::{HandshakeErrorKind, ProtocolErrorKind};

const SERVER_MAGIC: u32 = 0x5345_5256;
const CLIENT_MAGIC: u32 = 0x434c_4e54;
const DEFINITION: &str =
    "endpoint Served\n{\n    ping(i32 x) => (i32 x)\n}\n\nendpoint Events\n{\n    tick() =|\n}\n";

fn served() -> EndpointInfo {
    EndpointInfo {
        name: "Served",
        magic: SERVER_MAGIC,
        message_name: |id| (id == 1).then_some("ping"),
        definition: DEFINITION,
        fingerprint: 0,
    }
}

fn events() -> EndpointInfo {
    EndpointInfo {
        name: "Events",
        magic: CLIENT_MAGIC,
        message_name: |id| (id == 1).then_some("tick"),
        definition: DEFINITION,
        fingerprint: 0,
    }
}

fn server_with(limits: Limits, now: Instant) -> Connection {
    Connection::new(Config::new(Side::Server, served(), events(), limits), now)
}

/// An any-peer client and a server, past their handshake.
fn any_peer_pair(server_limits: Limits) -> (Connection, Connection, Instant) {
    let now = Instant::now();
    let mut client = Connection::new(Config::any_peer(Limits::default()), now);
    let mut server = server_with(server_limits, now);
    complete_handshake(now, &mut client, &mut server);
    (client, server, now)
}

/// The one response event in `events`.
fn single_response(events: Vec<Event>) -> (RequestId, Result<Vec<u8>, RemoteError>) {
    match <[Event; 1]>::try_from(events) {
        Ok([Event::Response { request_id, result }]) => (
            request_id,
            result.map(|(body, fds)| {
                assert!(fds.is_empty());
                body
            }),
        ),
        Ok([other]) => panic!("expected a response, got {other:?}"),
        Err(events) => panic!("expected one event, got {events:?}"),
    }
}

/// Feeds `frame` (header fields and body) to `to` as raw bytes.
fn inject(to: &mut Connection, now: Instant, header: FrameHeader, body: &[u8]) {
    let mut bytes = header.to_bytes().to_vec();
    bytes.extend_from_slice(body);
    to.handle_input(now, &bytes, Vec::new());
}

fn introspect_header(message_id: u32, request_id: u32, payload_len: u32) -> FrameHeader {
    FrameHeader {
        payload_len,
        magic: INTROSPECT_MAGIC,
        message_id,
        request_id,
        fd_count: 0,
        flags: 0,
    }
}

fn closed_reason(events: Vec<Event>) -> CloseReason {
    match events.into_iter().last() {
        Some(Event::Closed { reason }) => reason,
        other => panic!("expected the connection to close, got {other:?}"),
    }
}

#[test]
fn an_any_peer_hello_carries_flag_4_and_names_nothing() {
    let now = Instant::now();
    let mut client = Connection::new(Config::any_peer(Limits::default()), now);
    assert!(client.is_any_peer());
    let hello = client.poll_transmit().unwrap().bytes;
    assert_eq!(
        u16::from_le_bytes([hello[6], hello[7]]) & HELLO_FLAG_ANY_PEER,
        4
    );
    assert_eq!(&hello[8..16], &[0; 8], "local and peer magic 0");
    assert_eq!(&hello[20..23], b"\x01\x00*");
    // A server config never sets the flag.
    let config = Config {
        any_peer: true,
        ..Config::new(Side::Server, served(), events(), Limits::default())
    };
    assert!(!Connection::new(config, now).is_any_peer());
}

#[test]
fn an_any_peer_client_learns_the_servers_endpoints_and_talks_like_a_typed_one() {
    let (mut client, mut server, now) = any_peer_pair(Limits::default());
    assert_eq!(
        (client.peer().name, client.peer().magic),
        ("Served", SERVER_MAGIC)
    );
    assert_eq!(
        (client.local().name, client.local().magic),
        ("Events", CLIENT_MAGIC)
    );
    assert_eq!(
        client.peer().definition,
        "",
        "learned endpoints carry no definition"
    );
    assert_eq!(
        server.peer().name,
        "Events",
        "the server keeps its own view"
    );

    // A request by magic and id, answered by the application.
    let request = client
        .send_request(
            SERVER_MAGIC,
            1,
            7i32.to_le_bytes().to_vec(),
            Vec::new(),
            None,
        )
        .unwrap();
    pump(now, &mut client, &mut server);
    let incoming = match <[Event; 1]>::try_from(events_of(&mut server)) {
        Ok(
            [
                Event::Message {
                    magic,
                    id: 1,
                    request_id: Some(id),
                    body,
                    ..
                },
            ],
        ) => {
            assert_eq!(magic, SERVER_MAGIC);
            assert_eq!(body, 7i32.to_le_bytes());
            id
        }
        other => panic!("{other:?}"),
    };
    server
        .send_response(incoming, 8i32.to_le_bytes().to_vec(), Vec::new())
        .unwrap();
    // And an event from the server, under the client endpoint's magic.
    server
        .send_oneway(CLIENT_MAGIC, 1, Vec::new(), Vec::new())
        .unwrap();
    pump(now, &mut server, &mut client);
    let mut seen = events_of(&mut client).into_iter();
    match seen.next() {
        Some(Event::Response {
            request_id,
            result: Ok((body, _)),
        }) => {
            assert_eq!(request_id, request);
            assert_eq!(body, 8i32.to_le_bytes());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        seen.next(),
        Some(Event::Message {
            magic: CLIENT_MAGIC,
            id: 1,
            request_id: None,
            ..
        })
    ));
    // Other magics are still refused before anything is sent.
    let wrong = client.send_oneway(CLIENT_MAGIC, 1, Vec::new(), Vec::new());
    assert!(matches!(wrong, Err(Error::Protocol(_))));
}

#[test]
fn a_typed_client_of_other_endpoints_is_still_refused() {
    let now = Instant::now();
    let other = EndpointInfo::named("Other", 1);
    let config = Config::new(Side::Client, other, other, Limits::default());
    let mut client = Connection::new(config, now);
    let mut server = server_with(Limits::default(), now);
    pump(now, &mut client, &mut server);
    let reason = closed_reason(events_of(&mut server));
    assert!(
        matches!(&reason, CloseReason::Handshake(e) if matches!(e.kind(), HandshakeErrorKind::EndpointMismatch { .. })),
        "{reason:?}"
    );
}

#[test]
fn a_refusing_server_refuses_an_any_peer_client_too() {
    let now = Instant::now();
    let mut client = Connection::new(Config::any_peer(Limits::default()), now);
    let mut server = server_with(Limits::default(), now);
    server.refuse(Refusal::ServiceFull {
        clients: 2,
        max_clients: 2,
    });
    pump(now, &mut client, &mut server);
    pump(now, &mut server, &mut client);
    let reason = closed_reason(events_of(&mut client));
    assert!(
        matches!(&reason, CloseReason::Handshake(e) if matches!(e.kind(), HandshakeErrorKind::ServiceFull { clients: 2, max_clients: 2 })),
        "{reason:?}"
    );
}

#[test]
fn a_server_hello_claiming_any_peer_fails_the_clients_handshake() {
    let now = Instant::now();
    let config = Config::new(Side::Client, events(), served(), Limits::default());
    let mut client = Connection::new(config, now);
    let hello = Hello {
        local_magic: SERVER_MAGIC,
        peer_magic: CLIENT_MAGIC,
        max_message_bytes: 1024,
        local_name: "Served".into(),
        peer_name: "Events".into(),
        refusal: None,
        refused: None,
        shm_pool: None,
        any_peer: true,
        local_fingerprint: 0,
        peer_fingerprint: 0,
    };
    client.handle_input(now, &hello.to_bytes(), Vec::new());
    let reason = closed_reason(events_of(&mut client));
    assert!(
        matches!(&reason, CloseReason::Handshake(e) if e.kind() == &HandshakeErrorKind::Flags(HELLO_FLAG_ANY_PEER)),
        "{reason:?}"
    );
}

#[test]
fn introspection_is_answered_by_the_core_with_both_endpoints_and_the_definition() {
    let (mut client, mut server, now) = any_peer_pair(Limits::default());
    let request = client.send_introspect(None).unwrap();
    assert_eq!(client.pending_requests(), 1);
    pump(now, &mut client, &mut server);
    assert!(
        events_of(&mut server).is_empty(),
        "no event reaches the application"
    );
    assert_eq!(server.unanswered_requests(), 0);
    pump(now, &mut server, &mut client);
    let (id, body) = single_response(events_of(&mut client));
    assert_eq!(id, request);
    let answer = Introspection::decode(&body.unwrap()).unwrap();
    assert_eq!(
        answer,
        Introspection {
            version: 1,
            endpoints: vec![
                IntrospectedEndpoint {
                    name: "Served".into(),
                    magic: SERVER_MAGIC
                },
                IntrospectedEndpoint {
                    name: "Events".into(),
                    magic: CLIENT_MAGIC
                },
            ],
            definition: DEFINITION.into(),
        }
    );
    assert_eq!(client.pending_requests(), 0);
}

#[test]
fn a_client_core_answers_introspection_too() {
    let (mut client, mut server, now) = any_peer_pair(Limits::default());
    let request = server.send_introspect(None).unwrap();
    pump(now, &mut server, &mut client);
    assert!(events_of(&mut client).is_empty());
    pump(now, &mut client, &mut server);
    let (id, body) = single_response(events_of(&mut server));
    assert_eq!(id, request);
    let answer = Introspection::decode(&body.unwrap()).unwrap();
    let names: Vec<&str> = answer.endpoints.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["Events", "Served"],
        "the client's local endpoint first"
    );
    assert_eq!(
        answer.definition, "",
        "learned endpoints have no definition"
    );
}

#[test]
fn introspection_times_out_like_any_call() {
    let (mut client, _server, now) = any_peer_pair(Limits::default());
    let deadline = now + std::time::Duration::from_secs(1);
    let request = client.send_introspect(Some(deadline)).unwrap();
    assert_eq!(client.poll_timeout(), Some(deadline));
    client.handle_timeout(deadline);
    assert!(matches!(
        events_of(&mut client)[..],
        [Event::CallTimedOut { request_id }] if request_id == request
    ));
}

#[test]
fn introspection_before_the_handshake_fails_without_sending() {
    let now = Instant::now();
    let mut client = Connection::new(Config::any_peer(Limits::default()), now);
    let _hello = client.poll_transmit();
    assert!(matches!(
        client.send_introspect(None),
        Err(Error::Protocol(e)) if matches!(e.kind(), ProtocolErrorKind::NotReady)
    ));
    assert!(!client.has_transmit());
}

fn assert_malformed_introspection(reason: CloseReason, expected: &str) {
    match &reason {
        CloseReason::Protocol(e) => match e.kind() {
            ProtocolErrorKind::MalformedMessage {
                endpoint, reason, ..
            } => {
                assert_eq!(*endpoint, "courier:introspect");
                assert!(reason.contains(expected), "{reason}");
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_introspection_request_with_a_body_is_a_protocol_error() {
    let (_client, mut server, now) = any_peer_pair(Limits::default());
    inject(&mut server, now, introspect_header(1, 1, 3), b"abc");
    assert_malformed_introspection(
        closed_reason(events_of(&mut server)),
        "carries 3 bytes and 0 fds",
    );
}

#[test]
fn a_one_way_or_unknown_introspection_message_is_a_protocol_error() {
    let (_client, mut server, now) = any_peer_pair(Limits::default());
    inject(&mut server, now, introspect_header(1, 0, 0), b"");
    assert_malformed_introspection(closed_reason(events_of(&mut server)), "one-way");

    let (_client, mut server, now) = any_peer_pair(Limits::default());
    inject(&mut server, now, introspect_header(3, 1, 0), b"");
    assert_malformed_introspection(closed_reason(events_of(&mut server)), "message id 3");
}

#[test]
fn an_introspection_response_nobody_asked_for_is_a_protocol_error() {
    let (mut client, _server, now) = any_peer_pair(Limits::default());
    let header = FrameHeader {
        flags: FLAG_RESPONSE,
        ..introspect_header(2, 5, 0)
    };
    inject(&mut client, now, header, b"");
    let reason = closed_reason(events_of(&mut client));
    assert!(
        matches!(&reason, CloseReason::Protocol(e) if matches!(e.kind(), ProtocolErrorKind::UnexpectedResponse { request_id: 5 })),
        "{reason:?}"
    );
}

#[test]
fn a_response_to_introspection_under_another_magic_is_a_protocol_error() {
    let (mut client, _server, now) = any_peer_pair(Limits::default());
    let request = client.send_introspect(None).unwrap();
    let header = FrameHeader {
        magic: SERVER_MAGIC,
        flags: FLAG_RESPONSE,
        ..introspect_header(2, request.get(), 0)
    };
    inject(&mut client, now, header, b"");
    let reason = closed_reason(events_of(&mut client));
    assert!(
        matches!(&reason, CloseReason::Protocol(e) if matches!(e.kind(), ProtocolErrorKind::ResponseMismatch { .. })),
        "{reason:?}"
    );
}

#[test]
fn introspection_requests_count_against_the_message_rate() {
    let limits = Limits {
        max_messages_per_second: 2,
        ..Limits::default()
    };
    let (_client, mut server, now) = any_peer_pair(limits);
    for request_id in 1..=2 {
        inject(&mut server, now, introspect_header(1, request_id, 0), b"");
        assert!(events_of(&mut server).is_empty());
    }
    inject(&mut server, now, introspect_header(1, 3, 0), b"");
    let reason = closed_reason(events_of(&mut server));
    assert!(
        matches!(&reason, CloseReason::LimitExceeded(e) if e.limit() == Limit::MessageRate),
        "{reason:?}"
    );
}

#[test]
fn an_answer_too_big_for_the_connection_is_an_error_response() {
    let limits = Limits {
        max_message_bytes: 64,
        shm_threshold: None,
        ..Limits::default()
    };
    let (mut client, mut server, now) = any_peer_pair(limits);
    client.send_introspect(None).unwrap();
    pump(now, &mut client, &mut server);
    pump(now, &mut server, &mut client);
    let (_, result) = single_response(events_of(&mut client));
    let error = result.unwrap_err();
    assert!(
        error.message().starts_with("the introspection answer ("),
        "{}",
        error.message()
    );
    assert!(client.is_open() && server.is_open());
}

#[test]
fn learned_names_are_interned_and_bounded() {
    let a = super::connection::intern("SomeEndpoint");
    let b = super::connection::intern(&String::from("SomeEndpoint"));
    assert!(std::ptr::eq(a, b), "one copy per distinct name");
    let long = "x".repeat(1000);
    assert_eq!(super::connection::intern(&long), "(endpoint name not kept)");
}
