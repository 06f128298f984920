//! The fast paths of the core: one-way messages encoded straight into the
//! output buffer (`send_oneway_with`), reused output buffers, and messages
//! taken straight from the input (`poll_message_with`). Two cores in memory.

use std::os::fd::OwnedFd;
use std::time::Instant;

use super::test_support::{complete_handshake, events_of, pump};
use super::*;
use crate::error::Limit;

const SERVER_MAGIC: u32 = 0x5345_5256;
const CLIENT_MAGIC: u32 = 0x434c_4e54;

fn served() -> EndpointInfo {
    EndpointInfo::named("Served", SERVER_MAGIC)
}

fn events() -> EndpointInfo {
    EndpointInfo::named("Events", CLIENT_MAGIC)
}

/// Every transmit `from` has, in order.
fn transmits(from: &mut Connection) -> Vec<Transmit> {
    std::iter::from_fn(|| from.poll_transmit()).collect()
}

/// A client (sends to `Served`) and a server, past their handshake.
fn pair_with(client_limits: Limits, server_limits: Limits) -> (Connection, Connection, Instant) {
    let now = Instant::now();
    let mut client = Connection::new(
        Config::new(Side::Client, events(), served(), client_limits),
        now,
    );
    let mut server = Connection::new(
        Config::new(Side::Server, served(), events(), server_limits),
        now,
    );
    complete_handshake(now, &mut client, &mut server);
    (client, server, now)
}

fn pair() -> (Connection, Connection, Instant) {
    pair_with(Limits::default(), Limits::default())
}

fn null_fd() -> OwnedFd {
    std::fs::File::open("/dev/null")
        .expect("open /dev/null")
        .into()
}

/// The message events of `events` as (id, body, fd count).
fn messages(events: Vec<Event>) -> Vec<(u32, Vec<u8>, usize)> {
    events
        .into_iter()
        .map(|event| match event {
            Event::Message { id, body, fds, .. } => (id, body, fds.len()),
            other => panic!("expected a message, got {other:?}"),
        })
        .collect()
}

fn encode_u32(value: u32) -> impl FnOnce(&mut Encoder) -> Result<(), EncodeError> {
    move |encoder| encoder.encode(&value)
}

use crate::codec::{EncodeError, Encoder};

#[test]
fn the_bytes_on_the_wire_are_those_of_send_oneway() {
    let (mut a, _, _) = pair();
    let (mut b, _, _) = pair();
    a.send_oneway_with(SERVER_MAGIC, 3, |e| {
        e.encode(&7u32)?;
        e.encode("text")
    })
    .unwrap();
    let mut body = Vec::new();
    body.extend_from_slice(&7u32.to_le_bytes());
    body.extend_from_slice(&4u32.to_le_bytes());
    body.extend_from_slice(b"text");
    b.send_oneway(SERVER_MAGIC, 3, body, Vec::new()).unwrap();
    let fast: Vec<u8> = transmits(&mut a)
        .into_iter()
        .flat_map(|t| t.bytes)
        .collect();
    let plain: Vec<u8> = transmits(&mut b)
        .into_iter()
        .flat_map(|t| t.bytes)
        .collect();
    assert_eq!(fast, plain);
    assert_eq!(fast.len(), HEADER_LEN + 12);
}

#[test]
fn small_messages_share_one_transmit_and_arrive_in_order() {
    let (mut client, mut server, now) = pair();
    for i in 0..100 {
        client
            .send_oneway_with(SERVER_MAGIC, 1, encode_u32(i))
            .unwrap();
    }
    assert_eq!(client.unsent_bytes(), 100 * (HEADER_LEN as u64 + 4));
    let out = transmits(&mut client);
    assert_eq!(out.len(), 1, "coalesced into one write");
    assert_eq!(client.unsent_bytes(), 0);
    for t in out {
        server.handle_input(now, &t.bytes, t.fds);
    }
    let got = messages(events_of(&mut server));
    let expected: Vec<_> = (0..100u32)
        .map(|i| (1, i.to_le_bytes().to_vec(), 0))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn a_frame_with_fds_keeps_its_place_among_fast_frames() {
    let (mut client, mut server, now) = pair();
    client
        .send_oneway_with(SERVER_MAGIC, 1, encode_u32(1))
        .unwrap();
    client
        .send_oneway(SERVER_MAGIC, 2, vec![9], vec![null_fd()])
        .unwrap();
    client
        .send_oneway_with(SERVER_MAGIC, 3, encode_u32(3))
        .unwrap();
    // An fd added by the encoder itself: the general path, same order.
    client
        .send_oneway_with(SERVER_MAGIC, 4, |e| {
            e.put_owned_fd(null_fd());
            e.encode(&4u32)
        })
        .unwrap();
    client
        .send_oneway_with(SERVER_MAGIC, 5, encode_u32(5))
        .unwrap();
    let out = transmits(&mut client);
    // Fds only ever start a transmit, and go with its first byte.
    assert_eq!(out.len(), 3);
    assert_eq!(
        out.iter().map(|t| t.fds.len()).collect::<Vec<_>>(),
        [0, 1, 1]
    );
    for t in out {
        server.handle_input(now, &t.bytes, t.fds);
    }
    let got = messages(events_of(&mut server));
    assert_eq!(
        got,
        [
            (1, 1u32.to_le_bytes().to_vec(), 0),
            (2, vec![9], 1),
            (3, 3u32.to_le_bytes().to_vec(), 0),
            (4, 4u32.to_le_bytes().to_vec(), 1),
            (5, 5u32.to_le_bytes().to_vec(), 0),
        ]
    );
}

#[test]
fn a_message_over_the_size_limit_fails_and_leaves_the_queue_as_it_was() {
    let limits = Limits {
        max_message_bytes: 16,
        ..Limits::default()
    };
    let (mut client, mut server, now) = pair_with(limits.clone(), limits);
    client
        .send_oneway_with(SERVER_MAGIC, 1, encode_u32(1))
        .unwrap();
    let unsent = client.unsent_bytes();
    // 16 bytes pass, 17 do not: the check is exact.
    client
        .send_oneway_with(SERVER_MAGIC, 2, |e| {
            e.put_bytes(&[2; 16]);
            Ok(())
        })
        .unwrap();
    let error = client
        .send_oneway_with(SERVER_MAGIC, 3, |e| {
            e.put_bytes(&[3; 17]);
            Ok(())
        })
        .unwrap_err();
    match error {
        Error::LimitExceeded(limit) => {
            assert_eq!(limit.limit(), Limit::MessageBytes);
            assert_eq!((limit.actual(), limit.maximum()), (17, 16));
        }
        other => panic!("expected a limit error, got {other:?}"),
    }
    assert_eq!(client.unsent_bytes(), unsent + HEADER_LEN as u64 + 16);
    // A failed encode queues nothing either.
    let error = client
        .send_oneway_with(SERVER_MAGIC, 4, |e| {
            e.put_bytes(&[4; 3]);
            e.put_len(usize::MAX)
        })
        .unwrap_err();
    assert!(matches!(error, Error::Encode(_)), "{error:?}");
    client
        .send_oneway_with(SERVER_MAGIC, 5, encode_u32(5))
        .unwrap();
    pump(now, &mut client, &mut server);
    let got = messages(events_of(&mut server));
    assert_eq!(
        got,
        [
            (1, 1u32.to_le_bytes().to_vec(), 0),
            (2, vec![2; 16], 0),
            (5, 5u32.to_le_bytes().to_vec(), 0),
        ]
    );
    assert!(client.is_open() && server.is_open());
}

#[test]
fn a_failed_first_message_queues_no_empty_transmit() {
    let (mut client, _, _) = pair();
    let error = client
        .send_oneway_with(SERVER_MAGIC, 1, |e| e.put_len(usize::MAX))
        .unwrap_err();
    assert!(matches!(error, Error::Encode(_)));
    assert!(!client.has_transmit());
    assert_eq!(client.unsent_bytes(), 0);
}

#[test]
fn the_wrong_magic_or_a_closed_connection_is_refused() {
    let (mut client, _, _) = pair();
    let error = client
        .send_oneway_with(CLIENT_MAGIC, 1, encode_u32(1))
        .unwrap_err();
    assert!(matches!(error, Error::Protocol(_)), "{error:?}");
    client.close(CloseReason::Local);
    let error = client
        .send_oneway_with(SERVER_MAGIC, 1, encode_u32(1))
        .unwrap_err();
    assert!(matches!(error, Error::Disconnected), "{error:?}");
}

#[test]
fn unsent_bytes_over_the_limit_close_the_connection() {
    let limits = Limits {
        max_message_bytes: 64,
        max_unsent_bytes: 10 * (HEADER_LEN as u64 + 4),
        ..Limits::default()
    };
    let (mut client, _, _) = pair_with(limits, Limits::default());
    for i in 0..10 {
        client
            .send_oneway_with(SERVER_MAGIC, 1, encode_u32(i))
            .unwrap();
    }
    assert!(client.is_open(), "exactly at the limit is allowed");
    client
        .send_oneway_with(SERVER_MAGIC, 1, encode_u32(10))
        .unwrap();
    assert!(client.is_closed());
    match &events_of(&mut client)[..] {
        [
            Event::Closed {
                reason: CloseReason::LimitExceeded(limit),
            },
        ] => {
            assert_eq!(limit.limit(), Limit::UnsentBytes);
            assert_eq!(limit.actual(), 11 * (HEADER_LEN as u64 + 4));
        }
        other => panic!("expected a close, got {other:?}"),
    }
}

#[test]
fn a_message_over_the_pool_threshold_goes_through_the_pool() {
    let limits = Limits {
        shm_threshold: Some(1024),
        ..Limits::default()
    };
    let (mut client, mut server, now) = pair_with(limits.clone(), limits);
    client
        .send_oneway_with(SERVER_MAGIC, 1, encode_u32(1))
        .unwrap();
    client
        .send_oneway_with(SERVER_MAGIC, 2, |e| {
            e.put_bytes(&[7; 4096]);
            Ok(())
        })
        .unwrap();
    client
        .send_oneway_with(SERVER_MAGIC, 3, encode_u32(3))
        .unwrap();
    pump(now, &mut client, &mut server);
    let stats = client.pool_stats();
    assert_eq!((stats.sent_through_pool, stats.sent_through_socket), (1, 2));
    let got = messages(events_of(&mut server));
    assert_eq!(
        got,
        [
            (1, 1u32.to_le_bytes().to_vec(), 0),
            (2, vec![7; 4096], 0),
            (3, 3u32.to_le_bytes().to_vec(), 0),
        ]
    );
}

#[test]
fn written_buffers_are_reused_for_the_next_output() {
    let (mut client, _, _) = pair();
    client
        .send_oneway_with(SERVER_MAGIC, 1, encode_u32(1))
        .unwrap();
    let first = client.poll_transmit().unwrap();
    assert!(first.bytes.capacity() >= COALESCE_BYTES);
    let pointer = first.bytes.as_ptr();
    client.reuse_buffer(first.bytes);
    client
        .send_oneway_with(SERVER_MAGIC, 1, encode_u32(2))
        .unwrap();
    let second = client.poll_transmit().unwrap();
    assert_eq!(second.bytes.as_ptr(), pointer, "the same allocation");
    assert_eq!(&second.bytes[HEADER_LEN..], 2u32.to_le_bytes());
    // Small or huge buffers are not kept.
    client.reuse_buffer(Vec::with_capacity(16));
    client.reuse_buffer(Vec::with_capacity(64 * COALESCE_BYTES));
    client
        .send_oneway_with(SERVER_MAGIC, 1, encode_u32(3))
        .unwrap();
    let third = client.poll_transmit().unwrap();
    assert!((COALESCE_BYTES..=4 * COALESCE_BYTES).contains(&third.bytes.capacity()));
}

#[test]
fn fast_frames_split_across_reads_arrive_whole() {
    let (mut client, mut server, now) = pair();
    for i in 0..5u32 {
        client
            .send_oneway_with(SERVER_MAGIC, 1, |e| {
                e.encode(&i)?;
                e.encode(&vec![i as u8; i as usize * 7])
            })
            .unwrap();
    }
    let bytes: Vec<u8> = transmits(&mut client)
        .into_iter()
        .flat_map(|t| t.bytes)
        .collect();
    // One byte at a time, then in uneven pieces.
    for byte in &bytes {
        server.handle_input(now, std::slice::from_ref(byte), Vec::new());
    }
    let one_by_one = messages(events_of(&mut server));
    assert_eq!(one_by_one.len(), 5);
    for (i, (id, body, fds)) in one_by_one.iter().enumerate() {
        assert_eq!((*id, *fds), (1, 0));
        assert_eq!(&body[..4], (i as u32).to_le_bytes());
        assert_eq!(body.len(), 4 + 4 + i * 7);
    }
}

/// A pair whose server keeps messages in the core's queue.
fn queued_pair_with(limits: Limits) -> (Connection, Connection, Instant) {
    let now = Instant::now();
    let mut client = Connection::new(
        Config::new(Side::Client, events(), served(), limits.clone()),
        now,
    );
    let mut server = Connection::new(Config::new(Side::Server, served(), events(), limits), now);
    server.enable_message_queue();
    complete_handshake(now, &mut client, &mut server);
    (client, server, now)
}

/// Every queued message as (id, request id, body, fd count).
fn take_all(connection: &mut Connection) -> Vec<(u32, Option<u32>, Vec<u8>, usize)> {
    std::iter::from_fn(|| {
        connection.poll_message_with(|m| {
            (
                m.id,
                m.request_id.map(RequestId::get),
                m.body.to_vec(),
                m.fds.len(),
            )
        })
    })
    .collect()
}

#[test]
fn queued_messages_are_lent_in_order_and_never_become_events() {
    let (mut client, mut server, now) = queued_pair_with(Limits::default());
    client
        .send_oneway_with(SERVER_MAGIC, 1, encode_u32(1))
        .unwrap();
    client
        .send_oneway(SERVER_MAGIC, 2, vec![2], vec![null_fd()])
        .unwrap();
    let request = client
        .send_request(SERVER_MAGIC, 3, vec![3, 3], Vec::new(), None)
        .unwrap();
    pump(now, &mut client, &mut server);
    assert!(events_of(&mut server).is_empty());
    assert_eq!(server.queued_messages(), 3);
    let got = take_all(&mut server);
    assert_eq!(
        got,
        [
            (1, None, 1u32.to_le_bytes().to_vec(), 0),
            (2, None, vec![2], 1),
            (3, Some(request.get()), vec![3, 3], 0),
        ]
    );
    assert_eq!(server.queued_messages(), 0);
    // The request is answered as usual.
    server.send_response(request, vec![4], Vec::new()).unwrap();
    pump(now, &mut server, &mut client);
    assert!(matches!(
        &events_of(&mut client)[..],
        [Event::Response { request_id, result: Ok((body, _)) }] if *request_id == request && body == &[4]
    ));
}

#[test]
fn responses_pass_queued_messages() {
    // A client that keeps messages apart: a call's response is an event at
    // once, whatever messages wait before it.
    let now = Instant::now();
    let mut client = Connection::new(
        Config::new(Side::Client, events(), served(), Limits::default()),
        now,
    );
    client.enable_message_queue();
    let mut server = Connection::new(
        Config::new(Side::Server, served(), events(), Limits::default()),
        now,
    );
    pump(now, &mut client, &mut server);
    pump(now, &mut server, &mut client);
    events_of(&mut server);
    events_of(&mut client);
    let request = client
        .send_request(SERVER_MAGIC, 1, Vec::new(), Vec::new(), None)
        .unwrap();
    pump(now, &mut client, &mut server);
    let Some(Event::Message {
        request_id: Some(incoming),
        ..
    }) = server.poll_event()
    else {
        panic!("expected the request");
    };
    server
        .send_oneway_with(CLIENT_MAGIC, 5, encode_u32(5))
        .unwrap();
    server.send_response(incoming, vec![9], Vec::new()).unwrap();
    pump(now, &mut server, &mut client);
    assert!(matches!(
        &events_of(&mut client)[..],
        [Event::Response { request_id, result: Ok((body, _)) }] if *request_id == request && body == &[9]
    ));
    assert_eq!(
        take_all(&mut client),
        [(5, None, 5u32.to_le_bytes().to_vec(), 0)]
    );
}

#[test]
fn a_message_spanning_two_reads_is_queued_once_whole() {
    let (mut client, mut server, now) = queued_pair_with(Limits::default());
    client
        .send_oneway_with(SERVER_MAGIC, 1, |e| {
            e.put_bytes(&[1; 100]);
            Ok(())
        })
        .unwrap();
    client
        .send_oneway_with(SERVER_MAGIC, 2, |e| {
            e.put_bytes(&[2; 50]);
            Ok(())
        })
        .unwrap();
    let bytes: Vec<u8> = transmits(&mut client)
        .into_iter()
        .flat_map(|t| t.bytes)
        .collect();
    // The first read ends inside the first body, the second inside the
    // second header.
    let (first, rest) = bytes.split_at(HEADER_LEN + 60);
    let (second, third) = rest.split_at(40 + 10);
    server.handle_input(now, first, Vec::new());
    assert_eq!(server.queued_messages(), 0);
    server.handle_input(now, second, Vec::new());
    assert_eq!(server.queued_messages(), 1);
    server.handle_input(now, third, Vec::new());
    assert_eq!(
        take_all(&mut server),
        [(1, None, vec![1; 100], 0), (2, None, vec![2; 50], 0)]
    );
}

#[test]
fn messages_taken_while_more_arrive_keep_their_bodies() {
    let (mut client, mut server, now) = queued_pair_with(Limits::default());
    let body = |i: u32| -> Vec<u8> { (0..100).map(|k| (i as u8).wrapping_add(k)).collect() };
    let mut expected = Vec::new();
    let mut got = Vec::new();
    for round in 0..5u32 {
        for i in 0..1000 {
            let n = round * 1000 + i;
            let bytes = body(n);
            client
                .send_oneway_with(SERVER_MAGIC, 1, |e| {
                    e.encode(&n)?;
                    e.put_bytes(&bytes);
                    Ok(())
                })
                .unwrap();
            let mut full = n.to_le_bytes().to_vec();
            full.extend_from_slice(&bytes);
            expected.push(full);
        }
        pump(now, &mut client, &mut server);
        // Take part of what waits: the arena is compacted under the rest.
        for _ in 0..700 {
            got.extend(server.poll_message_with(|m| m.body.to_vec()));
        }
    }
    while let Some(m) = server.poll_message_with(|m| m.body.to_vec()) {
        got.push(m);
    }
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "bodies changed while the arena moved");
}

#[test]
fn messages_before_a_close_stay_queued_after_it() {
    let (mut client, mut server, now) = queued_pair_with(Limits::default());
    client
        .send_oneway_with(SERVER_MAGIC, 1, encode_u32(1))
        .unwrap();
    pump(now, &mut client, &mut server);
    // Then garbage: a frame for an unknown magic.
    let header = FrameHeader {
        payload_len: 0,
        magic: 0xdead,
        message_id: 1,
        request_id: 0,
        fd_count: 0,
        flags: 0,
    };
    server.handle_input(now, &header.to_bytes(), Vec::new());
    assert!(server.is_closed());
    assert!(matches!(
        &events_of(&mut server)[..],
        [Event::Closed {
            reason: CloseReason::Protocol(_)
        }]
    ));
    assert_eq!(
        take_all(&mut server),
        [(1, None, 1u32.to_le_bytes().to_vec(), 0)]
    );
}

#[test]
fn a_pooled_message_is_lent_from_its_own_buffer() {
    let limits = Limits {
        shm_threshold: Some(1024),
        ..Limits::default()
    };
    let (mut client, mut server, now) = queued_pair_with(limits);
    client
        .send_oneway_with(SERVER_MAGIC, 1, encode_u32(1))
        .unwrap();
    client
        .send_oneway(SERVER_MAGIC, 2, vec![8; 5000], Vec::new())
        .unwrap();
    client
        .send_oneway_with(SERVER_MAGIC, 3, encode_u32(3))
        .unwrap();
    pump(now, &mut client, &mut server);
    assert_eq!(client.pool_stats().sent_through_pool, 1);
    assert_eq!(
        take_all(&mut server),
        [
            (1, None, 1u32.to_le_bytes().to_vec(), 0),
            (2, None, vec![8; 5000], 0),
            (3, None, 3u32.to_le_bytes().to_vec(), 0),
        ]
    );
}
