//! The shared-memory pool in the sans-IO core: two `proto::Connection`s
//! wired together in memory, on a fake clock. Segments are real memfds, so
//! the tests also count fds and mapped bytes.

#[path = "common/runtime/mod.rs"]
mod runtime_common;
#[path = "support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use courier::proto::{
    CONTROL_MAGIC, CONTROL_SEGMENT_DROP, CONTROL_SEGMENT_RELEASE, CloseReason, Config, Connection,
    EndpointInfo, Event, FLAG_SHM, FLAG_SHM_NEW_SEGMENT, FrameHeader, ShmDescriptor, Side,
};
use courier::{Limits, ProtocolErrorKind};
use runtime_common::{fd_check, pattern, pipe};
use rustix::fs::{MemfdFlags, SealFlags};

const SERVER_MAGIC: u32 = 0x5345_5256;
const CLIENT_MAGIC: u32 = 0x434c_4e54;

fn info(name: &'static str, magic: u32) -> EndpointInfo {
    EndpointInfo {
        name,
        magic,
        message_name: |_| None,
        definition: "",
        fingerprint: 0,
    }
}

struct Pair {
    client: Connection,
    server: Connection,
    now: Instant,
}

impl Pair {
    fn open(client_limits: Limits, server_limits: Limits) -> Pair {
        let now = Instant::now();
        let config = |side, local, peer, limits| Config {
            side,
            local,
            peer,
            limits,
            any_peer: false,
        };
        let server_info = info("PoolServer", SERVER_MAGIC);
        let client_info = info("PoolClient", CLIENT_MAGIC);
        let mut pair = Pair {
            client: Connection::new(
                config(Side::Client, client_info, server_info, client_limits),
                now,
            ),
            server: Connection::new(
                config(Side::Server, server_info, client_info, server_limits),
                now,
            ),
            now,
        };
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
                self.server
                    .handle_input(self.now, &transmit.bytes, transmit.fds);
                moved = true;
            }
            while let Some(transmit) = self.server.poll_transmit() {
                self.client
                    .handle_input(self.now, &transmit.bytes, transmit.fds);
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    /// Moves the client's transmits to the server, once.
    fn deliver_to_server(&mut self) {
        while let Some(transmit) = self.client.poll_transmit() {
            self.server
                .handle_input(self.now, &transmit.bytes, transmit.fds);
        }
    }
}

fn pool_limits() -> Limits {
    Limits {
        max_message_bytes: 65 << 20,
        ..Limits::default()
    }
}

/// The next message's body and fds on `connection`; panics on anything else.
fn next_message(connection: &mut Connection) -> (Vec<u8>, Vec<OwnedFd>) {
    match connection.poll_event() {
        Some(Event::Message { body, fds, .. }) => (body, fds),
        other => panic!("expected a message, got {other:?}"),
    }
}

fn checksum(bytes: &[u8]) -> u64 {
    // FNV-1a, over 8-byte words for speed in debug builds.
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        hash = (hash ^ u64::from_le_bytes(word)).wrapping_mul(0x100_0000_01b3);
    }
    hash
}

#[test]
fn a_64_mib_body_crosses_through_the_pool_intact() {
    let fds = fd_check();
    let mut pair = Pair::open(pool_limits(), pool_limits());
    assert!(pair.client.pool_stats().active && pair.server.pool_stats().active);
    let sent = pattern(64 << 20, 1);
    let sum = checksum(&sent);
    pair.client
        .send_oneway(SERVER_MAGIC, 7, sent, Vec::new())
        .unwrap();
    let frame = pair.client.poll_transmit().unwrap();
    // A header and a descriptor on the socket, and the segment's fd.
    assert_eq!(frame.bytes.len(), 20 + 20);
    assert_eq!(frame.fds.len(), 1);
    pair.server.handle_input(pair.now, &frame.bytes, frame.fds);
    let (received, received_fds) = next_message(&mut pair.server);
    assert!(received_fds.is_empty());
    assert_eq!(received.len(), 64 << 20);
    assert_eq!(checksum(&received), sum);

    let client = pair.client.pool_stats();
    assert_eq!(
        (
            client.sent_through_pool,
            client.segments,
            client.segments_in_use
        ),
        (1, 1, 1)
    );
    assert_eq!(client.bytes_mapped, 64 << 20);
    let server = pair.server.pool_stats();
    assert_eq!(server.received_through_pool, 1);
    assert_eq!(
        (server.peer_segments, server.peer_bytes_mapped),
        (1, 64 << 20)
    );
    // The release goes back; the segment is free for the next message.
    pair.deliver();
    assert_eq!(pair.client.pool_stats().segments_in_use, 0);
    drop(pair);
    fds.finish();
}

#[test]
fn small_bodies_and_error_responses_stay_on_the_socket() {
    let fds = fd_check();
    let mut pair = Pair::open(Limits::default(), Limits::default());
    let threshold = Limits::default().shm_threshold.unwrap() as usize;
    pair.client
        .send_request(SERVER_MAGIC, 1, pattern(threshold - 1, 2), Vec::new(), None)
        .unwrap();
    pair.deliver();
    let request_id = match pair.server.poll_event() {
        Some(Event::Message {
            request_id: Some(id),
            body: received,
            ..
        }) => {
            assert_eq!(received, pattern(threshold - 1, 2));
            id
        }
        other => panic!("{other:?}"),
    };
    let long_error = "x".repeat(64 << 10);
    pair.server
        .send_error_response(request_id, &long_error)
        .unwrap();
    pair.deliver();
    assert!(matches!(
        pair.client.poll_event(),
        Some(Event::Response { result: Err(_), .. })
    ));
    let stats = pair.client.pool_stats();
    assert_eq!((stats.sent_through_pool, stats.sent_through_socket), (0, 1));
    assert_eq!(pair.server.pool_stats().sent_through_pool, 0);
    drop(pair);
    fds.finish();
}

#[test]
fn ten_thousand_large_messages_keep_the_pool_bounded() {
    let fds = fd_check();
    let mut pair = Pair::open(Limits::default(), Limits::default());
    let fds_open = runtime_common::open_fds();
    let template = pattern(300 << 10, 3);
    for round in 0..10_000u32 {
        let mut message = template.clone();
        message[..4].copy_from_slice(&round.to_le_bytes());
        pair.client
            .send_request(SERVER_MAGIC, 1, message, Vec::new(), None)
            .unwrap();
        pair.deliver_to_server();
        let (request_id, received) = match pair.server.poll_event() {
            Some(Event::Message {
                request_id: Some(id),
                body,
                ..
            }) => (id, body),
            other => panic!("{other:?}"),
        };
        assert_eq!(received[..4], round.to_le_bytes());
        assert_eq!(received[4..], template[4..]);
        // Answer through the server's own pool.
        pair.server
            .send_response(request_id, received, Vec::new())
            .unwrap();
        pair.deliver();
        match pair.client.poll_event() {
            Some(Event::Response {
                result: Ok((answer, _)),
                ..
            }) => assert_eq!(answer[..4], round.to_le_bytes()),
            other => panic!("{other:?}"),
        }
        if round % 1000 == 0 {
            assert_eq!(runtime_common::open_fds(), fds_open, "round {round}");
        }
    }
    for stats in [pair.client.pool_stats(), pair.server.pool_stats()] {
        assert_eq!(stats.sent_through_pool, 10_000);
        assert_eq!(stats.pool_fallbacks, 0);
        assert_eq!(stats.received_through_pool, 10_000);
        // One segment, reused: a request waits for its answer.
        assert_eq!((stats.segments, stats.bytes_mapped), (1, 1 << 20));
        assert_eq!((stats.peer_segments, stats.peer_bytes_mapped), (1, 1 << 20));
    }
    assert_eq!(runtime_common::open_fds(), fds_open);
    drop(pair);
    fds.finish();
}

#[test]
fn when_every_segment_is_busy_large_messages_take_the_socket() {
    let fds = fd_check();
    let mut pair = Pair::open(Limits::default(), Limits::default());
    let bodies: Vec<Vec<u8>> = (0..7).map(|i| pattern(300 << 10, 10 + i)).collect();
    for message in &bodies {
        pair.client
            .send_oneway(SERVER_MAGIC, 3, message.clone(), Vec::new())
            .unwrap();
    }
    let stats = pair.client.pool_stats();
    assert_eq!(
        (
            stats.sent_through_pool,
            stats.pool_fallbacks,
            stats.sent_through_socket
        ),
        (4, 3, 3)
    );
    assert_eq!((stats.segments, stats.segments_in_use), (4, 4));
    pair.deliver();
    for message in &bodies {
        assert_eq!(&next_message(&mut pair.server).0, message, "in order");
    }
    assert_eq!(pair.client.pool_stats().segments_in_use, 0);
    drop(pair);
    fds.finish();
}

#[test]
fn the_message_fds_follow_the_segment_fd_in_order() {
    let fds = fd_check();
    let mut pair = Pair::open(Limits::default(), Limits::default());
    let (read_a, write_a) = pipe();
    let (read_b, write_b) = pipe();
    pair.client
        .send_oneway(
            SERVER_MAGIC,
            3,
            pattern(1 << 20, 4),
            vec![write_a.try_clone().unwrap(), write_b.try_clone().unwrap()],
        )
        .unwrap();
    pair.deliver();
    let (received, received_fds) = next_message(&mut pair.server);
    assert_eq!(received, pattern(1 << 20, 4));
    assert_eq!(received_fds.len(), 2);
    drop((write_a, write_b));
    for (fd, text) in received_fds.into_iter().zip([b"a", b"b"]) {
        std::fs::File::from(fd).write_all(text).unwrap();
    }
    for (fd, text) in [(read_a, b"a"), (read_b, b"b")] {
        let mut got = Vec::new();
        std::fs::File::from(fd).read_to_end(&mut got).unwrap();
        assert_eq!(&got, text);
    }
    drop(pair);
    fds.finish();
}

#[test]
fn idle_segments_are_unmapped_on_both_sides_after_the_idle_timeout() {
    let fds = fd_check();
    let mut pair = Pair::open(Limits::default(), Limits::default());
    let fds_open = runtime_common::open_fds();
    pair.client
        .send_oneway(SERVER_MAGIC, 3, pattern(300 << 10, 5), Vec::new())
        .unwrap();
    // While the segment is in use, no idle timer runs.
    assert_eq!(pair.client.poll_timeout(), None);
    pair.deliver();
    next_message(&mut pair.server);
    let idle = Limits::default().shm_idle_timeout;
    assert_eq!(pair.client.poll_timeout(), Some(pair.now + idle));

    // Just before the timeout, nothing happens.
    pair.now += idle - Duration::from_millis(1);
    pair.client.handle_timeout(pair.now);
    assert_eq!(pair.client.pool_stats().segments, 1);
    assert!(!pair.client.has_transmit());

    pair.now += Duration::from_millis(1);
    pair.client.handle_timeout(pair.now);
    let client = pair.client.pool_stats();
    assert_eq!((client.segments, client.bytes_mapped), (0, 0));
    assert_eq!(client.segments_dropped_idle, 1);
    assert_eq!(pair.client.poll_timeout(), None);
    let drop_frame = pair.client.poll_transmit().unwrap();
    let header = FrameHeader::parse(drop_frame.bytes[..20].try_into().unwrap());
    assert_eq!(
        (header.magic, header.message_id, header.payload_len),
        (CONTROL_MAGIC, CONTROL_SEGMENT_DROP, 4)
    );
    pair.server
        .handle_input(pair.now, &drop_frame.bytes, drop_frame.fds);
    let server = pair.server.pool_stats();
    assert_eq!((server.peer_segments, server.peer_bytes_mapped), (0, 0));
    assert!(pair.server.is_open());

    // The pool starts again with a fresh segment.
    pair.client
        .send_oneway(SERVER_MAGIC, 3, pattern(300 << 10, 6), Vec::new())
        .unwrap();
    pair.deliver();
    assert_eq!(next_message(&mut pair.server).0, pattern(300 << 10, 6));
    assert_eq!(pair.server.pool_stats().peer_segments, 1);
    assert_eq!(runtime_common::open_fds(), fds_open);
    drop(pair);
    fds.finish();
}

#[test]
fn a_bigger_message_replaces_a_free_segment_when_the_limits_are_reached() {
    let fds = fd_check();
    let limits = Limits {
        shm_pool_segments: 1,
        ..Limits::default()
    };
    let mut pair = Pair::open(limits.clone(), limits);
    pair.client
        .send_oneway(SERVER_MAGIC, 3, pattern(300 << 10, 7), Vec::new())
        .unwrap();
    pair.deliver();
    next_message(&mut pair.server);
    pair.client
        .send_oneway(SERVER_MAGIC, 3, pattern(3 << 20, 8), Vec::new())
        .unwrap();
    // The drop of the old segment goes first, then the message in the new one.
    let drop_frame = pair.client.poll_transmit().unwrap();
    let header = FrameHeader::parse(drop_frame.bytes[..20].try_into().unwrap());
    assert_eq!(header.message_id, CONTROL_SEGMENT_DROP);
    pair.server
        .handle_input(pair.now, &drop_frame.bytes, drop_frame.fds);
    pair.deliver();
    assert_eq!(next_message(&mut pair.server).0, pattern(3 << 20, 8));
    let stats = pair.client.pool_stats();
    assert_eq!((stats.segments, stats.bytes_mapped), (1, 4 << 20));
    assert_eq!(pair.server.pool_stats().peer_bytes_mapped, 4 << 20);
    drop(pair);
    fds.finish();
}

#[test]
fn a_side_without_the_pool_gets_plain_frames() {
    let fds = fd_check();
    let old = Limits {
        shm_threshold: None,
        ..Limits::default()
    };
    for (client, server) in [
        (old.clone(), Limits::default()),
        (Limits::default(), old.clone()),
    ] {
        let mut pair = Pair::open(client, server);
        assert!(!pair.client.pool_stats().active);
        assert!(!pair.server.pool_stats().active);
        pair.client
            .send_oneway(SERVER_MAGIC, 3, pattern(1 << 20, 9), Vec::new())
            .unwrap();
        let frame = pair.client.poll_transmit().unwrap();
        assert_eq!(frame.bytes.len(), 20 + (1 << 20));
        pair.server.handle_input(pair.now, &frame.bytes, frame.fds);
        assert_eq!(next_message(&mut pair.server).0, pattern(1 << 20, 9));
        let stats = pair.client.pool_stats();
        assert_eq!((stats.sent_through_pool, stats.pool_fallbacks), (0, 0));
    }
    fds.finish();
}

// ----- hostile peers -----

/// A memfd of `len` bytes, sealed like a pool segment when `sealed`.
fn memfd(len: u64, sealed: bool) -> OwnedFd {
    let fd = rustix::fs::memfd_create(
        "hostile-segment",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )
    .unwrap();
    rustix::fs::ftruncate(&fd, len).unwrap();
    if sealed {
        rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW).unwrap();
    }
    fd
}

/// A frame as a hostile client would write it.
fn raw_frame(magic: u32, message_id: u32, flags: u16, payload: &[u8], fd_count: u16) -> Vec<u8> {
    let header = FrameHeader {
        payload_len: payload.len() as u32,
        magic,
        message_id,
        request_id: 0,
        fd_count,
        flags,
    };
    [&header.to_bytes()[..], payload].concat()
}

fn descriptor(segment: u32, offset: u64, len: u64) -> Vec<u8> {
    ShmDescriptor {
        segment,
        offset,
        len,
    }
    .to_bytes()
    .to_vec()
}

/// Frames as written to the socket: bytes and their fds.
type Frames = Vec<(Vec<u8>, Vec<OwnedFd>)>;

/// Feeds `frames` (bytes and fds) to a server whose pool is active and
/// returns why it closed.
fn server_reason(server_limits: Limits, frames: Frames) -> String {
    let mut pair = Pair::open(Limits::default(), server_limits);
    for (bytes, fds) in frames {
        pair.server.handle_input(pair.now, &bytes, fds);
    }
    assert!(pair.server.is_closed(), "the server stayed open");
    loop {
        match pair.server.poll_event() {
            Some(Event::Closed {
                reason: CloseReason::Protocol(error),
            }) => {
                assert!(
                    matches!(error.kind(), ProtocolErrorKind::SharedMemoryPool(_))
                        || matches!(error.kind(), ProtocolErrorKind::UnknownFlags(_)),
                    "{error}"
                );
                return error.to_string();
            }
            Some(Event::Closed { reason }) => panic!("closed for another reason: {reason}"),
            Some(_) => {}
            None => panic!("no close event"),
        }
    }
}

fn new_segment_frame(segment: u32, offset: u64, len: u64, fd: OwnedFd) -> (Vec<u8>, Vec<OwnedFd>) {
    (
        raw_frame(
            SERVER_MAGIC,
            3,
            FLAG_SHM | FLAG_SHM_NEW_SEGMENT,
            &descriptor(segment, offset, len),
            1,
        ),
        vec![fd],
    )
}

#[test]
fn hostile_descriptors_are_protocol_errors() {
    let fds = fd_check();
    let cases: Vec<(&str, Limits, Frames)> = vec![
        (
            "segment 9, which it never sent",
            Limits::default(),
            vec![(
                raw_frame(SERVER_MAGIC, 3, FLAG_SHM, &descriptor(9, 0, 10), 0),
                vec![],
            )],
        ),
        (
            "which holds only 1048576 bytes",
            Limits::default(),
            vec![new_segment_frame(1, 1 << 20, 1, memfd(1 << 20, true))],
        ),
        (
            "which holds only 4096 bytes",
            Limits::default(),
            vec![new_segment_frame(1, u64::MAX, 2, memfd(4096, true))],
        ),
        (
            "more than the 67174400 this side accepts",
            Limits::default(),
            vec![new_segment_frame(
                1,
                0,
                u64::from(Limits::DEFAULT_MAX_MESSAGE_BYTES) + 1,
                memfd(4096, true),
            )],
        ),
        (
            "is not a memfd",
            Limits::default(),
            vec![new_segment_frame(
                1,
                0,
                1,
                tempfile::tempfile().unwrap().into(),
            )],
        ),
        (
            "is not a memory file",
            Limits::default(),
            vec![new_segment_frame(1, 0, 1, pipe().0)],
        ),
        (
            "not sealed against shrinking",
            Limits::default(),
            vec![new_segment_frame(1, 0, 1, memfd(4096, false))],
        ),
        (
            "is empty",
            Limits::default(),
            vec![new_segment_frame(1, 0, 0, memfd(0, true))],
        ),
        (
            "beyond the 2 segments",
            Limits {
                shm_pool_segments: 2,
                ..Limits::default()
            },
            (1..=3)
                .map(|id| new_segment_frame(id, 0, 1, memfd(4096, true)))
                .collect(),
        ),
        (
            "more than the 8192 this side allows",
            Limits {
                shm_pool_bytes: 8192,
                ..Limits::default()
            },
            (1..=3)
                .map(|id| new_segment_frame(id, 0, 1, memfd(4096, true)))
                .collect(),
        ),
        (
            "as new while that segment is still mapped",
            Limits::default(),
            (0..2)
                .map(|_| new_segment_frame(1, 0, 1, memfd(4096, true)))
                .collect(),
        ),
        (
            "instead of a 20-byte descriptor",
            Limits::default(),
            vec![(raw_frame(SERVER_MAGIC, 3, FLAG_SHM, &[0; 12], 0), vec![])],
        ),
        (
            "NEW_SEGMENT without SHM",
            Limits::default(),
            vec![(
                raw_frame(SERVER_MAGIC, 3, FLAG_SHM_NEW_SEGMENT, &[0; 20], 0),
                vec![],
            )],
        ),
        (
            "NEW_SEGMENT without the segment's fd",
            Limits::default(),
            vec![(
                raw_frame(
                    SERVER_MAGIC,
                    3,
                    FLAG_SHM | FLAG_SHM_NEW_SEGMENT,
                    &descriptor(1, 0, 1),
                    0,
                ),
                vec![],
            )],
        ),
        (
            "released segment 5, which this side never sent",
            Limits::default(),
            vec![(
                raw_frame(
                    CONTROL_MAGIC,
                    CONTROL_SEGMENT_RELEASE,
                    0,
                    &5u32.to_le_bytes(),
                    0,
                ),
                vec![],
            )],
        ),
        (
            "dropped segment 5, which it never sent",
            Limits::default(),
            vec![(
                raw_frame(
                    CONTROL_MAGIC,
                    CONTROL_SEGMENT_DROP,
                    0,
                    &5u32.to_le_bytes(),
                    0,
                ),
                vec![],
            )],
        ),
        (
            "unknown control message 9",
            Limits::default(),
            vec![(
                raw_frame(CONTROL_MAGIC, 9, 0, &5u32.to_le_bytes(), 0),
                vec![],
            )],
        ),
        (
            "instead of a 4-byte segment id",
            Limits::default(),
            vec![(
                raw_frame(CONTROL_MAGIC, CONTROL_SEGMENT_DROP, 0, &[1, 2], 0),
                vec![],
            )],
        ),
        (
            "unknown flags 0x0004",
            Limits {
                shm_threshold: None,
                ..Limits::default()
            },
            vec![(
                raw_frame(SERVER_MAGIC, 3, FLAG_SHM, &descriptor(1, 0, 1), 0),
                vec![],
            )],
        ),
    ];
    for (expected, limits, frames) in cases {
        let reason = server_reason(limits, frames);
        assert!(
            reason.contains(expected),
            "expected `{expected}` in `{reason}`"
        );
    }
    fds.finish();
}

#[test]
fn a_hostile_segment_that_is_valid_delivers_its_bytes() {
    // The control case for the hostile tests: a hand-built segment that
    // follows the rules is accepted, and a release comes back.
    let fds = fd_check();
    let mut pair = Pair::open(Limits::default(), Limits::default());
    let segment = memfd(4096, true);
    rustix::io::pwrite(&segment, b"hello", 100).unwrap();
    let (bytes, segment_fds) = new_segment_frame(7, 100, 5, segment);
    pair.server.handle_input(pair.now, &bytes, segment_fds);
    assert_eq!(next_message(&mut pair.server).0, b"hello");
    let release = pair.server.poll_transmit().unwrap();
    let header = FrameHeader::parse(release.bytes[..20].try_into().unwrap());
    assert_eq!(
        (header.magic, header.message_id, &release.bytes[20..]),
        (
            CONTROL_MAGIC,
            CONTROL_SEGMENT_RELEASE,
            &7u32.to_le_bytes()[..]
        )
    );
    assert_eq!(pair.server.pool_stats().peer_bytes_mapped, 4096);
    drop(pair);
    fds.finish();
}

#[test]
fn fds_of_a_sender_are_not_spent_on_segments() {
    let fds = fd_check();
    let before = runtime_common::open_fds();
    let mut pair = Pair::open(Limits::default(), Limits::default());
    pair.client
        .send_oneway(SERVER_MAGIC, 3, pattern(300 << 10, 11), Vec::new())
        .unwrap();
    pair.deliver();
    next_message(&mut pair.server);
    // Both sides hold the segment as a mapping only.
    assert_eq!(runtime_common::open_fds(), before);
    drop(pair);
    fds.finish();
}

/// The pool example of `docs/wire-format.md`, produced by the core.
#[test]
fn the_wire_format_document_pool_example_matches_the_core() {
    let fds = fd_check();
    let now = Instant::now();
    let lookup_server = info("LookupServer", 3613307456);
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
    server.handle_input(now, &hello.bytes, hello.fds);
    let hello = server.poll_transmit().unwrap();
    client.handle_input(now, &hello.bytes, hello.fds);

    client
        .send_oneway(3613307456, 3, pattern(300 << 10, 12), Vec::new())
        .unwrap();
    let frame = client.poll_transmit().unwrap();
    let expected = [
        &[0x14, 0, 0, 0][..],
        &[0x40, 0xb2, 0x5e, 0xd7],
        &[3, 0, 0, 0],
        &[0, 0, 0, 0],
        &[1, 0],
        &[0x0c, 0],
        &[1, 0, 0, 0],
        &[0; 8],
        &[0x00, 0xb0, 0x04, 0, 0, 0, 0, 0],
    ]
    .concat();
    assert_eq!(frame.bytes, expected);
    assert_eq!(frame.fds.len(), 1);
    server.handle_input(now, &frame.bytes, frame.fds);
    let release = server.poll_transmit().unwrap();
    let expected_release = [
        &[4, 0, 0, 0][..],
        &[0; 4],
        &[1, 0, 0, 0],
        &[0; 4],
        &[0, 0, 0, 0],
        &[1, 0, 0, 0],
    ]
    .concat();
    assert_eq!(release.bytes, expected_release);
    drop((client, server));
    fds.finish();
}
