//! Interface fingerprints in the handshake, two cores in memory: a match,
//! a mismatch (both sides fail, naming the same endpoint), and unknown
//! fingerprints (`0`) on either side, which are not compared.

use std::time::Instant;

use super::test_support::{complete_handshake, events_of, pump};
use super::*;
use crate::error::HandshakeErrorKind;

const SERVER_MAGIC: u32 = 0x5345_5256;
const CLIENT_MAGIC: u32 = 0x434c_4e54;

fn served(fingerprint: u64) -> EndpointInfo {
    EndpointInfo::named("Served", SERVER_MAGIC).with_fingerprint(fingerprint)
}

fn events(fingerprint: u64) -> EndpointInfo {
    EndpointInfo::named("Events", CLIENT_MAGIC).with_fingerprint(fingerprint)
}

/// A client built with fingerprints `client` (of `Events`, `Served`) and a
/// server built with `server` (of `Served`, `Events`).
fn pair(client: (u64, u64), server: (u64, u64)) -> (Connection, Connection, Instant) {
    let now = Instant::now();
    let limits = Limits::default();
    let client = Connection::new(
        Config::new(
            Side::Client,
            events(client.0),
            served(client.1),
            limits.clone(),
        ),
        now,
    );
    let server = Connection::new(
        Config::new(Side::Server, served(server.0), events(server.1), limits),
        now,
    );
    (client, server, now)
}

/// Runs the handshake; each side's outcome: `None` when it completed, the
/// handshake error kind when it failed.
fn handshake(
    mut client: Connection,
    mut server: Connection,
    now: Instant,
) -> (Option<HandshakeErrorKind>, Option<HandshakeErrorKind>) {
    pump(now, &mut client, &mut server);
    pump(now, &mut server, &mut client);
    let outcome = |connection: &mut Connection| match &events_of(connection)[..] {
        [Event::HandshakeComplete] => None,
        [
            Event::Closed {
                reason: CloseReason::Handshake(error),
            },
        ] => Some(error.kind().clone()),
        other => panic!("expected the handshake to end, got {other:?}"),
    };
    (outcome(&mut client), outcome(&mut server))
}

#[test]
fn equal_fingerprints_complete_the_handshake() {
    let (client, server, now) = pair((11, 22), (22, 11));
    assert_eq!(handshake(client, server, now), (None, None));
}

#[test]
fn a_mismatch_fails_both_sides_naming_the_servers_endpoint_first() {
    // Both endpoints differ: both sides name `Served`, the one the client calls.
    let (client, server, now) = pair((11, 22), (23, 12));
    let (client_error, server_error) = handshake(client, server, now);
    let served_name = crate::error::EndpointName {
        name: "Served".into(),
        magic: SERVER_MAGIC,
    };
    assert_eq!(
        client_error,
        Some(HandshakeErrorKind::FingerprintMismatch {
            side: Side::Client,
            endpoint: served_name.clone(),
            ours: 22,
            theirs: 23,
        })
    );
    assert_eq!(
        server_error,
        Some(HandshakeErrorKind::FingerprintMismatch {
            side: Side::Server,
            endpoint: served_name,
            ours: 23,
            theirs: 22,
        })
    );
}

#[test]
fn a_mismatch_of_the_clients_endpoint_alone_fails_both_sides() {
    let (client, server, now) = pair((11, 22), (22, 12));
    let (client_error, server_error) = handshake(client, server, now);
    let events_name = crate::error::EndpointName {
        name: "Events".into(),
        magic: CLIENT_MAGIC,
    };
    assert_eq!(
        client_error,
        Some(HandshakeErrorKind::FingerprintMismatch {
            side: Side::Client,
            endpoint: events_name.clone(),
            ours: 11,
            theirs: 12,
        })
    );
    assert_eq!(
        server_error,
        Some(HandshakeErrorKind::FingerprintMismatch {
            side: Side::Server,
            endpoint: events_name,
            ours: 12,
            theirs: 11,
        })
    );
}

#[test]
fn the_mismatch_message_names_the_endpoint_both_fingerprints_and_the_fix() {
    let (client, server, now) = pair((0, 0xa94a_75c7_90c4_287e), (0x1234, 0));
    let (Some(kind), Some(_)) = handshake(client, server, now) else {
        panic!("both sides fail")
    };
    let text = crate::error::HandshakeError::new(kind).to_string();
    assert_eq!(
        text,
        format!(
            "this client and the service were built from different versions of the .ipc file of `Served` (magic {SERVER_MAGIC}): its fingerprint is 0xa94a75c790c4287e here and 0x0000000000001234 in the service; rebuild both from the same .ipc file"
        )
    );
}

#[test]
fn an_unknown_fingerprint_on_either_side_is_not_compared() {
    // Each endpoint's pair has a 0 (the known values differ, so a
    // comparison would fail).
    for (client, server) in [
        ((0, 0), (22, 11)),
        ((11, 22), (0, 0)),
        ((0, 22), (0, 98)),
        ((11, 0), (99, 0)),
        ((0, 0), (0, 0)),
    ] {
        let (c, s, now) = pair(client, server);
        assert_eq!(handshake(c, s, now), (None, None), "{client:?} {server:?}");
    }
}

#[test]
fn a_hello_carries_fingerprints_only_when_one_is_known() {
    let flags = |client: (u64, u64)| {
        let (mut c, _, _) = pair(client, (0, 0));
        let hello = c.poll_transmit().unwrap().bytes;
        (u16::from_le_bytes([hello[6], hello[7]]), hello)
    };
    let (plain, plain_bytes) = flags((0, 0));
    assert_eq!(plain & HELLO_FLAG_FINGERPRINTS, 0);
    let (printed, bytes) = flags((0x0a, 0x0b));
    assert_eq!(printed & HELLO_FLAG_FINGERPRINTS, 8);
    assert_eq!(bytes.len(), plain_bytes.len() + 16);
    let mut trailer = [0u8; 16];
    trailer[0] = 0x0a;
    trailer[8] = 0x0b;
    assert_eq!(&bytes[plain_bytes.len()..], &trailer);
}

#[test]
fn an_any_peer_client_has_no_expectation_and_learns_the_servers_fingerprints() {
    let now = Instant::now();
    let mut client = Connection::new(Config::any_peer(Limits::default()), now);
    let mut server = Connection::new(
        Config::new(Side::Server, served(22), events(11), Limits::default()),
        now,
    );
    complete_handshake(now, &mut client, &mut server);
    assert_eq!(client.peer().fingerprint, 22);
    assert_eq!(client.local().fingerprint, 11);
}
