//! The sans-IO core, without sockets: two `proto::Connection`s wired
//! together in memory, on a fake clock. Fds are real (files), so the tests
//! also check that every fd is closed on every path.
//!
//! Every test holds [`fd_check`]'s lock (`_serial` where it does not count
//! fds itself), so no test opens or closes fds while another counts them.

#[path = "common/runtime/mod.rs"]
mod runtime_common;
#[path = "support/mod.rs"]
mod support;

use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use courier::proto::{
    COALESCE_BYTES, CloseReason, Config, Connection, EndpointInfo, Event, FLAG_ERROR,
    FLAG_RESPONSE, FrameHeader, RequestId, Side,
};
use courier::{Error, HandshakeErrorKind, Limit, LimitSide, Limits, ProtocolErrorKind};
use proptest::prelude::*;
use runtime_common::{fd_check, file_with, read_all};

const SERVER_MAGIC: u32 = 0x5345_5256;
const CLIENT_MAGIC: u32 = 0x434c_4e54;

fn server_info() -> EndpointInfo {
    EndpointInfo {
        name: "TestServer",
        magic: SERVER_MAGIC,
        message_name: |id| match id {
            1 => Some("lookup"),
            2 => Some("LookupResponse"),
            3 => Some("notify"),
            _ => None,
        },
        definition: "",
        fingerprint: 0,
    }
}

fn client_info() -> EndpointInfo {
    EndpointInfo {
        name: "TestClient",
        magic: CLIENT_MAGIC,
        message_name: |id| (id == 1).then_some("event"),
        definition: "",
        fingerprint: 0,
    }
}

fn other_info() -> EndpointInfo {
    EndpointInfo {
        name: "OtherServer",
        magic: 0x4f54_4852,
        message_name: |_| None,
        definition: "",
        fingerprint: 0,
    }
}

/// Two cores and the wire between them.
struct Pair {
    client: Connection,
    server: Connection,
    now: Instant,
    /// Deliver this many bytes per `handle_input` (1: byte by byte).
    chunk: usize,
}

impl Pair {
    fn new() -> Pair {
        Pair::with_limits(Limits::default(), Limits::default())
    }

    fn with_limits(client_limits: Limits, server_limits: Limits) -> Pair {
        let now = Instant::now();
        let client = Connection::new(
            Config {
                side: Side::Client,
                local: client_info(),
                peer: server_info(),
                limits: client_limits,
                any_peer: false,
            },
            now,
        );
        let server = Connection::new(
            Config {
                side: Side::Server,
                local: server_info(),
                peer: client_info(),
                limits: server_limits,
                any_peer: false,
            },
            now,
        );
        Pair {
            client,
            server,
            now,
            chunk: usize::MAX,
        }
    }

    /// A pair past its handshake, with no events left.
    fn open() -> Pair {
        let mut pair = Pair::new();
        pair.deliver();
        assert!(matches!(
            pair.server.poll_event(),
            Some(Event::HandshakeComplete)
        ));
        assert!(matches!(
            pair.client.poll_event(),
            Some(Event::HandshakeComplete)
        ));
        pair
    }

    /// Moves every transmit to the other side until both are quiet.
    fn deliver(&mut self) {
        loop {
            let mut moved = false;
            while let Some(transmit) = self.client.poll_transmit() {
                feed(
                    &mut self.server,
                    self.now,
                    &transmit.bytes,
                    transmit.fds,
                    self.chunk,
                );
                moved = true;
            }
            while let Some(transmit) = self.server.poll_transmit() {
                feed(
                    &mut self.client,
                    self.now,
                    &transmit.bytes,
                    transmit.fds,
                    self.chunk,
                );
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
    }
}

/// Hands `bytes` to `connection` in chunks, the fds with the first one.
fn feed(connection: &mut Connection, now: Instant, bytes: &[u8], fds: Vec<OwnedFd>, chunk: usize) {
    let mut fds = Some(fds);
    for piece in bytes.chunks(chunk.max(1)) {
        connection.handle_input(now, piece, fds.take().unwrap_or_default());
    }
}

fn events(connection: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| connection.poll_event()).collect()
}

/// The reason of the single `Closed` event among `connection`'s events.
fn close_reason(connection: &mut Connection) -> CloseReason {
    let mut reasons = events(connection)
        .into_iter()
        .filter_map(|event| match event {
            Event::Closed { reason } => Some(reason),
            _ => None,
        });
    let reason = reasons.next().expect("a Closed event");
    assert!(reasons.next().is_none(), "one Closed event only");
    assert!(connection.is_closed());
    reason
}

fn protocol_kind(reason: CloseReason) -> ProtocolErrorKind {
    match reason {
        CloseReason::Protocol(error) => error.kind().clone(),
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

fn raw_frame(header: FrameHeader, body: &[u8]) -> Vec<u8> {
    let mut bytes = header.to_bytes().to_vec();
    bytes.extend_from_slice(body);
    bytes
}

fn header(
    magic: u32,
    message_id: u32,
    request_id: u32,
    payload_len: u32,
    fd_count: u16,
    flags: u16,
) -> FrameHeader {
    FrameHeader {
        payload_len,
        magic,
        message_id,
        request_id,
        fd_count,
        flags,
    }
}

fn dev_null() -> OwnedFd {
    std::fs::File::open("/dev/null")
        .expect("open /dev/null")
        .into()
}

#[test]
fn a_request_and_its_response_cross_one_byte_at_a_time() {
    let fds = fd_check();
    let mut pair = Pair::new();
    pair.chunk = 1;
    pair.deliver();
    assert!(matches!(
        pair.server.poll_event(),
        Some(Event::HandshakeComplete)
    ));
    assert!(matches!(
        pair.client.poll_event(),
        Some(Event::HandshakeComplete)
    ));
    assert_eq!(
        pair.client.peer_max_message_bytes(),
        Some(Limits::DEFAULT_MAX_MESSAGE_BYTES)
    );

    let request_id = pair
        .client
        .send_request(SERVER_MAGIC, 1, b"question".to_vec(), Vec::new(), None)
        .unwrap();
    assert_eq!(request_id.get(), 1);
    pair.deliver();
    let Some(Event::Message {
        magic,
        id,
        request_id: Some(received_id),
        body,
        fds: received_fds,
    }) = pair.server.poll_event()
    else {
        panic!("expected a request");
    };
    assert_eq!(
        (magic, id, received_id, body.as_slice(), received_fds.len()),
        (SERVER_MAGIC, 1, request_id, &b"question"[..], 0)
    );
    assert_eq!(pair.server.unanswered_requests(), 1);

    pair.server
        .send_response(received_id, b"answer".to_vec(), Vec::new())
        .unwrap();
    pair.deliver();
    match pair.client.poll_event() {
        Some(Event::Response {
            request_id: id,
            result: Ok((body, fds)),
        }) => {
            assert_eq!(id, request_id);
            assert_eq!(body, b"answer");
            assert!(fds.is_empty());
        }
        other => panic!("expected the response, got {other:?}"),
    }
    assert_eq!(pair.client.pending_requests(), 0);
    assert_eq!(pair.server.unanswered_requests(), 0);
    fds.finish();
}

#[test]
fn one_way_messages_keep_their_order_and_take_no_request_id() {
    let _serial = fd_check();
    let mut pair = Pair::open();
    for n in 0u8..10 {
        pair.client
            .send_oneway(SERVER_MAGIC, 3, vec![n], Vec::new())
            .unwrap();
    }
    pair.deliver();
    let bodies: Vec<u8> = events(&mut pair.server)
        .into_iter()
        .map(|event| match event {
            Event::Message {
                request_id: None,
                body,
                ..
            } => body[0],
            other => panic!("expected a one-way message, got {other:?}"),
        })
        .collect();
    assert_eq!(bodies, (0..10).collect::<Vec<u8>>());
}

#[test]
fn events_flow_from_server_to_client() {
    let _serial = fd_check();
    let mut pair = Pair::open();
    pair.server
        .send_oneway(CLIENT_MAGIC, 1, b"tick".to_vec(), Vec::new())
        .unwrap();
    pair.deliver();
    assert!(matches!(
        pair.client.poll_event(),
        Some(Event::Message {
            magic: CLIENT_MAGIC,
            id: 1,
            request_id: None,
            ..
        })
    ));
}

#[test]
fn fds_travel_with_their_frames_in_order_even_byte_by_byte() {
    let fds = fd_check();
    let mut pair = Pair::open();
    pair.chunk = 1;
    let sent = vec![file_with("first"), file_with("second"), file_with("third")];
    pair.client
        .send_oneway(SERVER_MAGIC, 3, b"xyz".to_vec(), sent)
        .unwrap();
    pair.client
        .send_oneway(SERVER_MAGIC, 3, b"none".to_vec(), Vec::new())
        .unwrap();
    pair.client
        .send_oneway(SERVER_MAGIC, 3, Vec::new(), vec![file_with("fourth")])
        .unwrap();
    pair.deliver();
    let received: Vec<Vec<String>> = events(&mut pair.server)
        .into_iter()
        .map(|event| match event {
            Event::Message { fds, .. } => fds.into_iter().map(read_all).collect(),
            other => panic!("expected a message, got {other:?}"),
        })
        .collect();
    assert_eq!(
        received,
        [vec!["first", "second", "third"], vec![], vec!["fourth"]]
    );
    fds.finish();
}

#[test]
fn a_response_carries_fds_back() {
    let fds = fd_check();
    let mut pair = Pair::open();
    let request_id = pair
        .client
        .send_request(SERVER_MAGIC, 1, Vec::new(), Vec::new(), None)
        .unwrap();
    pair.deliver();
    let Some(Event::Message {
        request_id: Some(received),
        ..
    }) = pair.server.poll_event()
    else {
        panic!()
    };
    pair.server
        .send_response(received, Vec::new(), vec![file_with("from the server")])
        .unwrap();
    pair.deliver();
    match pair.client.poll_event() {
        Some(Event::Response {
            request_id: id,
            result: Ok((_, mut fds)),
        }) if id == request_id => {
            assert_eq!(read_all(fds.remove(0)), "from the server");
        }
        other => panic!("{other:?}"),
    }
    fds.finish();
}

#[test]
fn an_error_response_becomes_a_remote_error_naming_the_request() {
    let _serial = fd_check();
    let mut pair = Pair::open();
    let request_id = pair
        .client
        .send_request(SERVER_MAGIC, 1, Vec::new(), Vec::new(), None)
        .unwrap();
    pair.deliver();
    let Some(Event::Message {
        request_id: Some(received),
        ..
    }) = pair.server.poll_event()
    else {
        panic!()
    };
    pair.server
        .send_error_response(received, "no such host")
        .unwrap();
    assert!(matches!(
        pair.server.send_error_response(received, "twice"),
        Err(Error::Protocol(_))
    ));
    pair.deliver();
    match pair.client.poll_event() {
        Some(Event::Response {
            request_id: id,
            result: Err(remote),
        }) => {
            assert_eq!(id, request_id);
            assert_eq!(remote.message(), "no such host");
            assert_eq!(remote.request(), Some("lookup"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn responses_may_come_out_of_order() {
    let _serial = fd_check();
    let mut pair = Pair::open();
    let first = pair
        .client
        .send_request(SERVER_MAGIC, 1, vec![1], Vec::new(), None)
        .unwrap();
    let second = pair
        .client
        .send_request(SERVER_MAGIC, 1, vec![2], Vec::new(), None)
        .unwrap();
    assert_ne!(first, second);
    pair.deliver();
    let ids: Vec<RequestId> = events(&mut pair.server)
        .into_iter()
        .filter_map(|event| match event {
            Event::Message { request_id, .. } => request_id,
            _ => None,
        })
        .collect();
    pair.server
        .send_response(ids[1], vec![20], Vec::new())
        .unwrap();
    pair.server
        .send_response(ids[0], vec![10], Vec::new())
        .unwrap();
    pair.deliver();
    let answers: Vec<(RequestId, Vec<u8>)> = events(&mut pair.client)
        .into_iter()
        .map(|event| match event {
            Event::Response {
                request_id,
                result: Ok((body, _)),
            } => (request_id, body),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(answers, [(second, vec![20]), (first, vec![10])]);
}

#[test]
fn a_call_times_out_at_its_deadline_and_its_late_response_is_discarded() {
    let _serial = fd_check();
    let mut pair = Pair::open();
    let deadline = pair.now + Duration::from_secs(1);
    let request_id = pair
        .client
        .send_request(SERVER_MAGIC, 1, Vec::new(), Vec::new(), Some(deadline))
        .unwrap();
    assert_eq!(pair.client.poll_timeout(), Some(deadline));
    pair.deliver();
    let Some(Event::Message {
        request_id: Some(received),
        ..
    }) = pair.server.poll_event()
    else {
        panic!()
    };

    pair.advance(Duration::from_millis(999));
    assert!(pair.client.poll_event().is_none());
    pair.advance(Duration::from_millis(1));
    assert!(
        matches!(pair.client.poll_event(), Some(Event::CallTimedOut { request_id: id }) if id == request_id)
    );
    assert_eq!(pair.client.poll_timeout(), None);

    // The late response is dropped quietly: no event, no close.
    pair.server
        .send_response(received, b"late".to_vec(), Vec::new())
        .unwrap();
    pair.deliver();
    assert!(pair.client.poll_event().is_none());
    assert!(pair.client.is_open());

    // The connection goes on, and the timed-out id is not reused while it
    // could still be answered.
    let next = pair
        .client
        .send_request(SERVER_MAGIC, 1, Vec::new(), Vec::new(), None)
        .unwrap();
    assert_ne!(next, request_id);
    pair.deliver();
    let Some(Event::Message {
        request_id: Some(received),
        ..
    }) = pair.server.poll_event()
    else {
        panic!()
    };
    pair.server
        .send_response(received, b"on time".to_vec(), Vec::new())
        .unwrap();
    pair.deliver();
    assert!(matches!(
        pair.client.poll_event(),
        Some(Event::Response { result: Ok(_), .. })
    ));
}

#[test]
fn the_handshake_times_out() {
    let _serial = fd_check();
    let mut pair = Pair::new();
    assert_eq!(
        pair.server.poll_timeout(),
        Some(pair.now + Duration::from_secs(10))
    );
    pair.advance(Duration::from_secs(10));
    match close_reason(&mut pair.server) {
        CloseReason::Handshake(error) => {
            assert_eq!(
                error.kind(),
                &HandshakeErrorKind::TimedOut(Duration::from_secs(10))
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_instead_of_a_hello_is_a_handshake_error_and_the_server_still_says_hello() {
    let _serial = fd_check();
    let mut pair = Pair::new();
    pair.server
        .handle_input(pair.now, b"GET / HTTP/1.1\r\n", Vec::new());
    match close_reason(&mut pair.server) {
        CloseReason::Handshake(error) => {
            assert_eq!(
                error.kind(),
                &HandshakeErrorKind::NotCourier {
                    received: b"GET ".to_vec()
                }
            );
            assert!(
                error
                    .to_string()
                    .contains("does not speak the courier protocol"),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }
    let hello = pair.server.poll_transmit().expect("the server's hello");
    assert_eq!(&hello.bytes[..4], b"CRIR");
}

#[test]
fn another_protocol_version_is_a_handshake_error() {
    let _serial = fd_check();
    let mut pair = Pair::new();
    pair.client
        .handle_input(pair.now, b"CRIR\x07\x00", Vec::new());
    match close_reason(&mut pair.client) {
        CloseReason::Handshake(error) => {
            assert_eq!(
                error.kind(),
                &HandshakeErrorKind::Version { ours: 1, theirs: 7 }
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_endpoint_mismatch_names_both_endpoints_on_both_sides() {
    let _serial = fd_check();
    let now = Instant::now();
    let limits = Limits::default();
    let mut client = Connection::new(
        Config {
            side: Side::Client,
            local: client_info(),
            peer: other_info(),
            limits: limits.clone(),
            any_peer: false,
        },
        now,
    );
    let mut server = Connection::new(
        Config {
            side: Side::Server,
            local: server_info(),
            peer: client_info(),
            limits,
            any_peer: false,
        },
        now,
    );
    let hello = client.poll_transmit().unwrap();
    server.handle_input(now, &hello.bytes, hello.fds);
    let server_error = match close_reason(&mut server) {
        CloseReason::Handshake(error) => error.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(
        server_error.starts_with(&format!(
            "a client expected this service to serve `OtherServer` (magic {}), but it serves `TestServer` (magic {SERVER_MAGIC})",
            other_info().magic
        )),
        "{server_error}"
    );
    let hello = server
        .poll_transmit()
        .expect("the server says hello before closing");
    client.handle_input(now, &hello.bytes, hello.fds);
    let client_error = match close_reason(&mut client) {
        CloseReason::Handshake(error) => error.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(
        client_error.starts_with(&format!(
            "this client expects the service to serve `OtherServer` (magic {}), but it serves `TestServer` (magic {SERVER_MAGIC})",
            other_info().magic
        )),
        "{client_error}"
    );
}

#[test]
fn fds_during_the_handshake_close_the_connection_and_are_closed() {
    let fds = fd_check();
    let mut pair = Pair::new();
    pair.server.handle_input(pair.now, b"C", vec![dev_null()]);
    assert_eq!(
        protocol_kind(close_reason(&mut pair.server)),
        ProtocolErrorKind::FdsInHandshake
    );
    drop(pair);
    fds.finish();
}

#[test]
fn commands_before_the_handshake_or_after_the_close_fail() {
    let _serial = fd_check();
    let mut pair = Pair::new();
    let error = pair
        .client
        .send_oneway(SERVER_MAGIC, 3, Vec::new(), Vec::new())
        .unwrap_err();
    assert!(
        matches!(&error, Error::Protocol(e) if e.kind() == &ProtocolErrorKind::NotReady),
        "{error:?}"
    );
    pair.deliver();
    pair.client.close(CloseReason::Local);
    let error = pair
        .client
        .send_oneway(SERVER_MAGIC, 3, Vec::new(), Vec::new())
        .unwrap_err();
    assert!(matches!(error, Error::Disconnected), "{error:?}");
}

#[test]
fn a_message_for_another_endpoint_cannot_be_sent() {
    let _serial = fd_check();
    let mut pair = Pair::open();
    let error = pair
        .client
        .send_oneway(CLIENT_MAGIC, 1, Vec::new(), Vec::new())
        .unwrap_err();
    assert!(
        matches!(&error, Error::Protocol(e) if matches!(e.kind(), ProtocolErrorKind::WrongEndpoint { .. }))
    );
}

#[test]
fn the_peer_going_away_closes_the_connection() {
    let _serial = fd_check();
    let mut pair = Pair::open();
    pair.client.handle_peer_closed();
    assert!(matches!(
        close_reason(&mut pair.client),
        CloseReason::PeerClosed
    ));
    let mut pair = Pair::new();
    pair.server.handle_peer_closed();
    assert!(
        matches!(close_reason(&mut pair.server), CloseReason::Handshake(e) if e.kind() == &HandshakeErrorKind::PeerClosed)
    );
}

// ----- limits -----

#[test]
fn a_message_over_the_size_limit_is_refused_before_anything_is_queued() {
    let fds = fd_check();
    let limits = Limits {
        max_message_bytes: 80 << 20,
        ..Limits::default()
    };
    let mut pair = Pair::with_limits(limits, Limits::default());
    pair.deliver();
    events(&mut pair.client);
    let body = vec![0u8; 80 << 20];
    let error = pair
        .client
        .send_oneway(SERVER_MAGIC, 3, body, vec![dev_null()])
        .unwrap_err();
    // The server accepts 64 MiB + 64 KiB, so that is the limit that applies.
    assert_eq!(
        error.to_string(),
        "message of 80 MiB exceeds the 64 MiB + 64 KiB limit; raise `Limits::max_message_bytes` on both sides"
    );
    assert!(
        pair.client.poll_transmit().is_none(),
        "nothing may be queued"
    );
    drop(pair);
    fds.finish();
}

#[test]
fn small_frames_queued_together_leave_in_few_transmits_and_fds_start_their_own() {
    let fds = fd_check();
    let mut pair = Pair::open();
    // 3000 one-way messages of 12 bytes (32 with the header) queued before
    // the driver writes: they coalesce into 64 KiB transmits.
    for n in 0..3000u32 {
        let body = [n.to_le_bytes(), [0; 4], [1; 4]].concat();
        pair.client
            .send_oneway(SERVER_MAGIC, 3, body, Vec::new())
            .unwrap();
    }
    // One with an fd, then more small ones: the fd starts a new transmit.
    pair.client
        .send_oneway(SERVER_MAGIC, 3, vec![9; 12], vec![dev_null()])
        .unwrap();
    pair.client
        .send_oneway(SERVER_MAGIC, 3, vec![8; 12], Vec::new())
        .unwrap();
    let mut transmits = Vec::new();
    while let Some(transmit) = pair.client.poll_transmit() {
        assert!(transmit.bytes.len() <= COALESCE_BYTES);
        transmits.push(transmit);
    }
    // 3000 x 32 bytes = 96000: two transmits; then one with the fd and the
    // frame behind it.
    let sizes: Vec<(usize, usize)> = transmits
        .iter()
        .map(|t| (t.bytes.len(), t.fds.len()))
        .collect();
    assert_eq!(sizes, [(65536, 0), (30464, 0), (64, 1)]);
    for transmit in transmits {
        pair.server
            .handle_input(pair.now, &transmit.bytes, transmit.fds);
    }
    let received: Vec<(Vec<u8>, usize)> = events(&mut pair.server)
        .into_iter()
        .filter_map(|event| match event {
            Event::Message { body, fds, .. } => Some((body, fds.len())),
            _ => None,
        })
        .collect();
    assert_eq!(received.len(), 3002, "every message arrives, once");
    for (n, (body, fd_count)) in received.iter().take(3000).enumerate() {
        assert_eq!(body[..4], (n as u32).to_le_bytes(), "in order");
        assert_eq!(*fd_count, 0);
    }
    assert_eq!(
        received[3000],
        (vec![9; 12], 1),
        "the fd stays with its frame"
    );
    assert_eq!(received[3001], (vec![8; 12], 0));
    drop(pair);
    fds.finish();
}

#[test]
fn a_peer_that_does_not_read_is_disconnected_once_the_unsent_output_passes_the_limit() {
    let fds = fd_check();
    // One largest message is 4 KiB: the limit in force is 16 KiB.
    let server_limits = Limits {
        max_message_bytes: 4 << 10,
        max_unsent_bytes: 16 << 10,
        shm_threshold: None,
        ..Limits::default()
    };
    let mut pair = Pair::with_limits(Limits::default(), server_limits);
    pair.deliver();
    events(&mut pair.client);
    events(&mut pair.server);
    // Events for a client whose driver never takes the server's output
    // (the client does not read): 4 x 4 KiB fit, the fifth passes 16 KiB.
    for _ in 0..4 {
        pair.server
            .send_oneway(CLIENT_MAGIC, 1, vec![7u8; 4000], Vec::new())
            .unwrap();
    }
    assert!(pair.server.is_open(), "16 KiB - 4 headers' worth fits");
    pair.server
        .send_oneway(CLIENT_MAGIC, 1, vec![7u8; 4000], vec![dev_null()])
        .unwrap();
    match close_reason(&mut pair.server) {
        CloseReason::LimitExceeded(limit) => {
            assert_eq!(
                (limit.limit(), limit.side(), limit.maximum()),
                (Limit::UnsentBytes, LimitSide::Receiving, 16 << 10)
            );
            assert!(
                limit.to_string().starts_with("the peer is not reading"),
                "{limit}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        pair.server.poll_transmit().is_none(),
        "the queue is dropped"
    );
    drop(pair);
    fds.finish();
}

#[test]
fn output_the_driver_takes_does_not_count_as_unsent() {
    let _serial = fd_check();
    let server_limits = Limits {
        max_message_bytes: 4 << 10,
        max_unsent_bytes: 16 << 10,
        shm_threshold: None,
        ..Limits::default()
    };
    let mut pair = Pair::with_limits(Limits::default(), server_limits);
    pair.deliver();
    events(&mut pair.client);
    // 100 x 4 KiB, each delivered before the next: never more than one unsent.
    for _ in 0..100 {
        pair.server
            .send_oneway(CLIENT_MAGIC, 1, vec![7u8; 4000], Vec::new())
            .unwrap();
        pair.deliver();
    }
    assert!(pair.server.is_open());
    assert_eq!(events(&mut pair.client).len(), 100);
}

#[test]
fn too_many_fds_are_refused_before_anything_is_queued() {
    let fds = fd_check();
    let mut pair = Pair::open();
    let many: Vec<OwnedFd> = (0..65).map(|_| dev_null()).collect();
    let error = pair
        .client
        .send_oneway(SERVER_MAGIC, 3, Vec::new(), many)
        .unwrap_err();
    match &error {
        Error::LimitExceeded(limit) => {
            assert_eq!(
                (limit.limit(), limit.side(), limit.actual(), limit.maximum()),
                (Limit::FdsPerMessage, LimitSide::Sending, 65, 64)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        error
            .to_string()
            .contains("raise `Limits::max_fds_per_message` on both sides (at most 253)")
    );
    assert!(pair.client.poll_transmit().is_none());
    drop(pair);
    fds.finish();
}

#[test]
fn too_many_calls_in_flight_are_refused_locally() {
    let _serial = fd_check();
    let limits = Limits {
        max_in_flight_per_client: 2,
        ..Limits::default()
    };
    let mut pair = Pair::with_limits(limits, Limits::default());
    pair.deliver();
    for _ in 0..2 {
        pair.client
            .send_request(SERVER_MAGIC, 1, Vec::new(), Vec::new(), None)
            .unwrap();
    }
    let error = pair
        .client
        .send_request(SERVER_MAGIC, 1, Vec::new(), Vec::new(), None)
        .unwrap_err();
    assert!(
        matches!(&error, Error::LimitExceeded(l) if l.limit() == Limit::InFlight),
        "{error:?}"
    );
}

#[test]
fn a_peer_with_too_many_calls_in_flight_is_disconnected() {
    let _serial = fd_check();
    let server_limits = Limits {
        max_in_flight_per_client: 2,
        ..Limits::default()
    };
    let mut pair = Pair::with_limits(Limits::default(), server_limits);
    pair.deliver();
    for _ in 0..3 {
        pair.client
            .send_request(SERVER_MAGIC, 1, Vec::new(), Vec::new(), None)
            .unwrap();
    }
    pair.deliver();
    match close_reason(&mut pair.server) {
        CloseReason::LimitExceeded(limit) => {
            assert_eq!(
                (limit.limit(), limit.side()),
                (Limit::InFlight, LimitSide::Receiving)
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_frame_over_the_size_limit_closes_at_its_header() {
    let _serial = fd_check();
    let mut pair = Pair::open();
    // Only the header: the limit is enforced before the payload arrives.
    let bytes = header(
        SERVER_MAGIC,
        3,
        0,
        Limits::DEFAULT_MAX_MESSAGE_BYTES + 1,
        0,
        0,
    )
    .to_bytes();
    pair.server.handle_input(pair.now, &bytes, Vec::new());
    match close_reason(&mut pair.server) {
        CloseReason::LimitExceeded(limit) => {
            assert_eq!(
                (limit.limit(), limit.side(), limit.maximum()),
                (
                    Limit::MessageBytes,
                    LimitSide::Receiving,
                    u64::from(Limits::DEFAULT_MAX_MESSAGE_BYTES)
                )
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_frame_announcing_too_many_fds_is_a_limit_violation() {
    let _serial = fd_check();
    let mut pair = Pair::open();
    let bytes = header(SERVER_MAGIC, 3, 0, 0, 65, 0).to_bytes();
    pair.server.handle_input(pair.now, &bytes, Vec::new());
    assert!(
        matches!(close_reason(&mut pair.server), CloseReason::LimitExceeded(l) if l.limit() == Limit::FdsPerMessage)
    );
}

#[test]
fn a_peer_over_the_message_rate_is_disconnected_and_time_refills_the_bucket() {
    let _serial = fd_check();
    let server_limits = Limits {
        max_messages_per_second: 10,
        ..Limits::default()
    };
    let mut pair = Pair::with_limits(Limits::default(), server_limits.clone());
    pair.deliver();
    events(&mut pair.server);
    // Ten per second, spread out: fine.
    for _ in 0..30 {
        pair.client
            .send_oneway(SERVER_MAGIC, 3, Vec::new(), Vec::new())
            .unwrap();
        pair.deliver();
        pair.advance(Duration::from_millis(100));
    }
    assert!(pair.server.is_open());
    assert_eq!(events(&mut pair.server).len(), 30);
    // Eleven at once: the eleventh breaks the limit.
    for _ in 0..11 {
        pair.client
            .send_oneway(SERVER_MAGIC, 3, Vec::new(), Vec::new())
            .unwrap();
    }
    pair.deliver();
    let all = events(&mut pair.server);
    assert_eq!(all.len(), 11, "ten messages then the close");
    match all.into_iter().last() {
        Some(Event::Closed {
            reason: CloseReason::LimitExceeded(limit),
        }) => assert_eq!(limit.limit(), Limit::MessageRate),
        other => panic!("{other:?}"),
    }
}

// ----- malformed frames -----

fn server_after(bytes: &[u8], fds: Vec<OwnedFd>) -> ProtocolErrorKind {
    let mut pair = Pair::open();
    pair.server.handle_input(pair.now, bytes, fds);
    protocol_kind(close_reason(&mut pair.server))
}

#[test]
fn unknown_flags_close_the_connection() {
    let _serial = fd_check();
    let bytes = raw_frame(header(SERVER_MAGIC, 3, 0, 0, 0, 0x8000), &[]);
    assert_eq!(
        server_after(&bytes, Vec::new()),
        ProtocolErrorKind::UnknownFlags(0x8000)
    );
}

#[test]
fn an_error_flag_without_the_response_flag_closes_the_connection() {
    let _serial = fd_check();
    let bytes = raw_frame(header(SERVER_MAGIC, 3, 0, 0, 0, FLAG_ERROR), &[]);
    assert_eq!(
        server_after(&bytes, Vec::new()),
        ProtocolErrorKind::ErrorWithoutResponse
    );
}

#[test]
fn a_message_for_another_endpoint_closes_the_connection() {
    let _serial = fd_check();
    let bytes = raw_frame(header(CLIENT_MAGIC, 1, 0, 0, 0, 0), &[]);
    assert_eq!(
        server_after(&bytes, Vec::new()),
        ProtocolErrorKind::WrongMagic {
            expected: SERVER_MAGIC,
            found: CLIENT_MAGIC
        }
    );
}

#[test]
fn a_response_nobody_asked_for_closes_the_connection() {
    let _serial = fd_check();
    let bytes = raw_frame(header(CLIENT_MAGIC, 2, 9, 0, 0, FLAG_RESPONSE), &[]);
    assert_eq!(
        server_after(&bytes, Vec::new()),
        ProtocolErrorKind::UnexpectedResponse { request_id: 9 }
    );
    let bytes = raw_frame(header(CLIENT_MAGIC, 2, 0, 0, 0, FLAG_RESPONSE), &[]);
    assert_eq!(
        server_after(&bytes, Vec::new()),
        ProtocolErrorKind::ResponseWithoutRequest
    );
}

#[test]
fn a_response_with_the_wrong_message_id_closes_the_connection() {
    let _serial = fd_check();
    let mut pair = Pair::open();
    let request_id = pair
        .client
        .send_request(SERVER_MAGIC, 1, Vec::new(), Vec::new(), None)
        .unwrap();
    let bytes = raw_frame(
        header(SERVER_MAGIC, 7, request_id.get(), 0, 0, FLAG_RESPONSE),
        &[],
    );
    pair.client.handle_input(pair.now, &bytes, Vec::new());
    assert_eq!(
        protocol_kind(close_reason(&mut pair.client)),
        ProtocolErrorKind::ResponseMismatch {
            request_id: 1,
            expected_id: 2,
            found_id: 7,
            found_magic: SERVER_MAGIC
        }
    );
}

#[test]
fn a_reused_request_id_closes_the_connection() {
    let _serial = fd_check();
    let frame = raw_frame(header(SERVER_MAGIC, 1, 5, 0, 0, 0), &[]);
    let bytes = [frame.clone(), frame].concat();
    assert_eq!(
        server_after(&bytes, Vec::new()),
        ProtocolErrorKind::DuplicateRequestId(5)
    );
}

#[test]
fn malformed_error_responses_close_the_connection() {
    let fds = fd_check();
    for (body, with_fd) in [
        (&b"\x05\x00\x00\x00ab"[..], false),
        (&b"\x01\x00"[..], false),
        (&b"\x01\x00\x00\x00\xff"[..], false),
        (&b"\x00\x00\x00\x00"[..], true),
    ] {
        let mut pair = Pair::open();
        let request_id = pair
            .client
            .send_request(SERVER_MAGIC, 1, Vec::new(), Vec::new(), None)
            .unwrap();
        let fd_count = u16::from(with_fd);
        let frame_header = header(
            SERVER_MAGIC,
            2,
            request_id.get(),
            body.len() as u32,
            fd_count,
            FLAG_RESPONSE | FLAG_ERROR,
        );
        let fds = if with_fd {
            vec![dev_null()]
        } else {
            Vec::new()
        };
        pair.client
            .handle_input(pair.now, &raw_frame(frame_header, body), fds);
        assert!(
            matches!(
                protocol_kind(close_reason(&mut pair.client)),
                ProtocolErrorKind::MalformedErrorResponse(_)
            ),
            "{body:?}"
        );
    }
    fds.finish();
}

#[test]
fn a_frame_with_fewer_fds_than_announced_closes_and_closes_the_fds() {
    let fds = fd_check();
    let bytes = raw_frame(header(SERVER_MAGIC, 3, 0, 1, 2, 0), b"x");
    assert_eq!(
        server_after(&bytes, vec![dev_null()]),
        ProtocolErrorKind::MissingFds {
            announced: 2,
            arrived: 1
        }
    );
    fds.finish();
}

#[test]
fn fds_that_no_frame_claims_close_the_connection_and_are_closed() {
    let fds = fd_check();
    let bytes = raw_frame(header(SERVER_MAGIC, 3, 0, 1, 0, 0), b"x");
    assert_eq!(
        server_after(&bytes, vec![dev_null(), dev_null()]),
        ProtocolErrorKind::StrayFds(2)
    );
    // Fds with a frame still being received that claims fewer.
    let partial = &raw_frame(header(SERVER_MAGIC, 3, 0, 10, 1, 0), b"0123456789")[..25];
    assert_eq!(
        server_after(partial, vec![dev_null(), dev_null()]),
        ProtocolErrorKind::StrayFds(1)
    );
    fds.finish();
}

#[test]
fn a_frame_split_anywhere_reassembles() {
    let _serial = fd_check();
    let frame = raw_frame(header(SERVER_MAGIC, 3, 0, 5, 0, 0), b"hello");
    let bytes = [frame.clone(), frame].concat();
    for cut in 0..=bytes.len() {
        let mut pair_at_cut = Pair::open();
        pair_at_cut
            .server
            .handle_input(pair_at_cut.now, &bytes[..cut], Vec::new());
        pair_at_cut
            .server
            .handle_input(pair_at_cut.now, &bytes[cut..], Vec::new());
        let messages = events(&mut pair_at_cut.server);
        assert_eq!(messages.len(), 2, "cut at {cut}");
        assert!(
            messages
                .iter()
                .all(|m| matches!(m, Event::Message { body, .. } if body == b"hello"))
        );
        assert!(pair_at_cut.server.is_open());
    }
}

// ----- arbitrary input -----

/// A valid client hello for the test server.
fn client_hello() -> Vec<u8> {
    let mut pair = Pair::new();
    pair.client.poll_transmit().unwrap().bytes
}

fn chunks_with_fds() -> impl Strategy<Value = Vec<(Vec<u8>, u8)>> {
    prop::collection::vec((prop::collection::vec(any::<u8>(), 0..64), 0u8..3), 0..24)
}

/// Plausible frame headers with arbitrary fields, to get past the header
/// checks more often than random bytes would.
fn frame_like() -> impl Strategy<Value = Vec<u8>> {
    (
        0u32..48,
        prop::sample::select(vec![SERVER_MAGIC, CLIENT_MAGIC, 0]),
        0u32..6,
        0u32..4,
        0u16..3,
        0u16..4,
        prop::collection::vec(any::<u8>(), 0..48),
    )
        .prop_map(|(len, magic, id, request, fds, flags, body)| {
            raw_frame(header(magic, id, request, len, fds, flags), &body)
        })
}

fn feed_all(connection: &mut Connection, now: Instant, chunks: Vec<(Vec<u8>, u8)>) {
    for (bytes, fd_count) in chunks {
        let fds = (0..fd_count).map(|_| dev_null()).collect();
        connection.handle_input(now, &bytes, fds);
        while connection.poll_event().is_some() {}
        while connection.poll_transmit().is_some() {}
    }
}

/// Runs `test` on `cases` values of `strategy`, holding the fd check for
/// the whole run (proptest's own file access stays outside: persistence is
/// off), and checks that no fd leaked across all cases.
fn check_arbitrary<S: Strategy>(strategy: S, test: impl Fn(S::Value)) {
    let fds = fd_check();
    let config = ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&strategy, |value| {
        test(value);
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    fds.finish();
}

#[test]
fn arbitrary_input_never_panics_nor_leaks_fds() {
    check_arbitrary(
        (chunks_with_fds(), any::<bool>()),
        |(chunks, after_hello)| {
            let mut pair = Pair::new();
            let now = pair.now;
            if after_hello {
                pair.server.handle_input(now, &client_hello(), Vec::new());
            }
            feed_all(&mut pair.server, now, chunks.clone());
            feed_all(&mut pair.client, now, chunks);
            pair.server.handle_peer_closed();
            pair.advance(Duration::from_secs(60));
        },
    );
}

#[test]
fn arbitrary_frames_never_panic_nor_leak_fds() {
    let frames = prop::collection::vec((frame_like(), 0u8..3), 0..16);
    check_arbitrary((frames, 1usize..40), |(frames, split)| {
        let mut pair = Pair::open();
        let now = pair.now;
        // A pending request, so that some responses match.
        pair.client
            .send_request(
                SERVER_MAGIC,
                1,
                Vec::new(),
                Vec::new(),
                Some(now + Duration::from_secs(1)),
            )
            .unwrap();
        let stream: Vec<(Vec<u8>, u8)> = frames
            .into_iter()
            .flat_map(|(bytes, fd_count)| {
                let mut pieces: Vec<(Vec<u8>, u8)> =
                    bytes.chunks(split).map(|c| (c.to_vec(), 0)).collect();
                if let Some(first) = pieces.first_mut() {
                    first.1 = fd_count;
                }
                pieces
            })
            .collect();
        feed_all(&mut pair.server, now, stream.clone());
        feed_all(&mut pair.client, now, stream);
        pair.advance(Duration::from_secs(2));
        while pair.client.poll_event().is_some() {}
    });
}

/// The bytes of the example in `docs/wire-format.md`, produced by the core.
#[test]
fn the_wire_format_document_example_matches_the_core() {
    let _serial = fd_check();
    // The bytes are read from the document itself, so it cannot drift from
    // the code: the first three code blocks of its "## Example" section, each
    // line's leading two-digit hex tokens (the rest is commentary).
    let document = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/wire-format.md"),
    )
    .expect("read docs/wire-format.md");
    let example = document
        .split("\n## Example\n")
        .nth(1)
        .expect("docs/wire-format.md has an `## Example` section");
    let blocks: Vec<Vec<u8>> = example
        .split("```")
        .skip(1)
        .step_by(2)
        .take(3)
        .map(|block| {
            block
                .lines()
                .flat_map(|line| {
                    line.split_whitespace()
                        .take_while(|token| {
                            token.len() == 2 && token.chars().all(|c| c.is_ascii_hexdigit())
                        })
                        .map(|token| u8::from_str_radix(token, 16).unwrap())
                        .collect::<Vec<u8>>()
                })
                .collect()
        })
        .collect();
    assert_eq!(blocks.len(), 3, "three example blocks");
    let now = Instant::now();
    // The fingerprint of the interface in "Interface fingerprints" (checked
    // against that section by tests/fingerprint_handshake.rs).
    let lookup_server = EndpointInfo {
        name: "LookupServer",
        magic: 3613307456,
        message_name: |_| None,
        definition: "",
        fingerprint: 0x5031_67d1_06fc_9246,
    };
    let no_messages = EndpointInfo::of::<courier::NoMessages>();
    let config = |side, local, peer| Config {
        side,
        local,
        peer,
        limits: Limits::default(),
        any_peer: false,
    };
    let mut client = Connection::new(config(Side::Client, no_messages, lookup_server), now);
    let mut server = Connection::new(config(Side::Server, lookup_server, no_messages), now);

    let hello = client.poll_transmit().unwrap();
    assert_eq!(hello.bytes, blocks[0], "the hello");
    server.handle_input(now, &hello.bytes, hello.fds);
    let server_hello = server.poll_transmit().unwrap();
    client.handle_input(now, &server_hello.bytes, server_hello.fds);

    let name = b"a.example";
    let body = [&(name.len() as u32).to_le_bytes()[..], name].concat();
    client
        .send_request(3613307456, 1, body, Vec::new(), None)
        .unwrap();
    let request = client.poll_transmit().unwrap();
    assert_eq!(request.bytes, blocks[1], "the request");

    server.handle_input(now, &request.bytes, request.fds);
    let request_id = events(&mut server)
        .into_iter()
        .find_map(|event| match event {
            Event::Message { request_id, .. } => request_id,
            _ => None,
        })
        .unwrap();
    server.send_error_response(request_id, "no host").unwrap();
    let error = server.poll_transmit().unwrap();
    assert_eq!(error.bytes, blocks[2], "the error response");
}
