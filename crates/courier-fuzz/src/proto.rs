//! The `proto` target: the sans-IO protocol core fed arbitrary input.

use std::os::fd::{OwnedFd, RawFd};
use std::time::{Duration, Instant};

use courier::proto::{
    CONTROL_MAGIC, CloseReason, Config, Connection, EndpointInfo, Event, FLAG_SHM,
    FLAG_SHM_NEW_SEGMENT, FrameHeader, INTROSPECT_MAGIC, Refusal, RequestId, ShmDescriptor, Side,
};
use courier::{Endpoint, Limits};
use courier_examples::window_client::WindowClient;
use courier_examples::window_server::WindowServer;

use crate::fds;
use crate::input::Input;

/// The limits of a connection under test: the defaults, or small ones that
/// put the shared-memory pool, the rate limit and the output bound within
/// reach of short inputs.
fn limits(small: bool) -> Limits {
    if !small {
        return Limits::default();
    }
    Limits {
        max_message_bytes: 4096,
        max_fds_per_message: 4,
        max_in_flight_per_client: 8,
        max_messages_per_second: 64,
        max_unsent_bytes: 8192,
        handshake_timeout: Duration::from_millis(500),
        shm_threshold: Some(128),
        shm_pool_segments: 2,
        shm_pool_bytes: 1 << 16,
        shm_idle_timeout: Duration::from_millis(300),
        ..Limits::default()
    }
}

fn config(side: Side, limits: Limits) -> Config {
    let (local, peer) = match side {
        Side::Server => (
            EndpointInfo::of::<WindowServer>(),
            EndpointInfo::of::<WindowClient>(),
        ),
        Side::Client => (
            EndpointInfo::of::<WindowClient>(),
            EndpointInfo::of::<WindowServer>(),
        ),
    };
    Config::new(side, local, peer, limits)
}

/// The hello a well-behaved peer of `side` would send it, so that inputs
/// can start past the handshake.
fn peer_hello(side: Side, limits: &Limits, now: Instant) -> Vec<u8> {
    let mut client = Connection::new(config(Side::Client, limits.clone()), now);
    let client_hello = client.poll_transmit().map(|t| t.bytes).unwrap_or_default();
    if side == Side::Server {
        return client_hello;
    }
    let mut server = Connection::new(config(Side::Server, limits.clone()), now);
    server.handle_input(now, &client_hello, Vec::new());
    server.poll_transmit().map(|t| t.bytes).unwrap_or_default()
}

/// The connection under test and what the target checks about it.
struct Harness {
    connection: Connection,
    now: Instant,
    closed: bool,
    /// Requests of the peer this side may answer.
    incoming: Vec<RequestId>,
    /// Requests this side sent (their ids, to forge responses).
    outgoing: Vec<u32>,
    /// Every fd number handed to the connection.
    given: Vec<RawFd>,
}

impl Harness {
    fn give(&mut self, fds: &[OwnedFd]) {
        self.given.extend(fds::numbers(fds));
    }

    /// Takes every event and transmit, checking that nothing follows
    /// `Closed`.
    fn drain(&mut self) {
        while let Some(event) = self.connection.poll_event() {
            assert!(!self.closed, "event after Closed: {event:?}");
            match event {
                Event::Closed { .. } => self.closed = true,
                Event::Message {
                    request_id: Some(id),
                    ..
                } => self.incoming.push(id),
                _ => {}
            }
        }
        while let Some(transmit) = self.connection.poll_transmit() {
            drop(transmit);
        }
        assert_eq!(
            self.closed,
            self.connection.is_closed(),
            "is_closed() agrees with the Closed event"
        );
        if self.closed {
            assert!(
                self.connection.poll_timeout().is_none(),
                "no timeout after Closed"
            );
            assert_eq!(self.connection.pending_requests(), 0);
            fds::assert_closed(&self.given, "the connection closed");
        }
    }

    fn frame(&mut self, input: &mut Input<'_>) -> (Vec<u8>, Vec<OwnedFd>) {
        let magic = match input.u8() % 6 {
            0 => WindowServer::MAGIC,
            1 => WindowClient::MAGIC,
            2 => CONTROL_MAGIC,
            3 => self.connection.local().magic,
            4 => INTROSPECT_MAGIC,
            _ => input.u32(),
        };
        let message_id = u32::from(input.u8() % 8);
        let request_id = match input.u8() % 4 {
            0 => 0,
            1 => self
                .outgoing
                .get(input.below(self.outgoing.len()))
                .copied()
                .unwrap_or(1),
            _ => u32::from(input.u8()),
        };
        let flags = u16::from(input.u8() & 0x1f);
        let fd_count = input.len(5);
        let kind = input.u8();
        let len = u64::from(input.u16());
        let mut body = if flags & FLAG_SHM != 0 {
            ShmDescriptor {
                segment: u32::from(input.u8() % 4),
                offset: u64::from(input.u16()),
                len: u64::from(input.u16()),
            }
            .to_bytes()
            .to_vec()
        } else {
            let n = input.len(64);
            input.bytes(n).to_vec()
        };
        if flags & FLAG_SHM_NEW_SEGMENT == 0 && input.bool() {
            body.truncate(input.len(body.len()));
        }
        let header = FrameHeader {
            payload_len: body.len() as u32,
            magic,
            message_id,
            request_id,
            fd_count: fd_count as u16,
            flags,
        };
        let mut bytes = header.to_bytes().to_vec();
        bytes.extend_from_slice(&body);
        let fds = fds::make(fd_count, kind, len);
        (bytes, fds)
    }

    fn step(&mut self, input: &mut Input<'_>) {
        let peer_magic = self.connection.peer().magic;
        match input.u8() % 12 {
            // Raw bytes, with fds.
            0 | 1 => {
                let n = input.len(96);
                let bytes = input.bytes(n).to_vec();
                let count = input.len(3);
                let fds = fds::make(count, input.u8(), u64::from(input.u16()));
                self.give(&fds);
                self.connection.handle_input(self.now, &bytes, fds);
            }
            // A well-formed frame header with a chosen payload, given in one
            // or two chunks.
            2..=4 => {
                let (bytes, fds) = self.frame(input);
                self.give(&fds);
                let split = input.len(bytes.len());
                self.connection.handle_input(self.now, &bytes[..split], fds);
                self.connection
                    .handle_input(self.now, &bytes[split..], Vec::new());
            }
            5 => {
                self.now += Duration::from_millis(u64::from(input.u16()));
                self.connection.handle_timeout(self.now);
            }
            6 => {
                let n = input.len(200);
                let body = vec![input.u8(); n * 4];
                let fds = fds::make(input.len(2), input.u8(), 64);
                self.give(&fds);
                let deadline = input
                    .bool()
                    .then(|| self.now + Duration::from_millis(u64::from(input.u8())));
                let magic = if input.u8() == 0xff {
                    input.u32()
                } else {
                    peer_magic
                };
                let id = u32::from(input.u8() % 8);
                if let Ok(request) = self.connection.send_request(magic, id, body, fds, deadline) {
                    self.outgoing.push(request.get());
                }
            }
            7 => {
                let n = input.len(200);
                let body = vec![input.u8(); n * 4];
                let fds = fds::make(input.len(2), input.u8(), 64);
                self.give(&fds);
                let id = u32::from(input.u8() % 8);
                let _ = self.connection.send_oneway(peer_magic, id, body, fds);
            }
            8 => {
                let request = match self.incoming.pop() {
                    Some(request) => request,
                    None => match RequestId::new(u32::from(input.u8())) {
                        Some(request) => request,
                        None => return,
                    },
                };
                if input.bool() {
                    let n = input.len(200);
                    let fds = fds::make(input.len(2), input.u8(), 64);
                    self.give(&fds);
                    let _ = self.connection.send_response(request, vec![7; n * 2], fds);
                } else {
                    let _ = self.connection.send_error_response(request, "no");
                }
            }
            9 => self.connection.handle_peer_closed(),
            10 => match input.u8() % 8 {
                2 => {
                    if let Ok(request) = self.connection.send_introspect(None) {
                        self.outgoing.push(request.get());
                    }
                }
                0 => self.connection.close(CloseReason::Local),
                1 => self.connection.refuse(Refusal::ServiceFull {
                    clients: 1,
                    max_clients: 1,
                }),
                _ => {}
            },
            // Leave the output untaken for a while (the output bound).
            _ => {
                self.drain_events_only();
                return;
            }
        }
        self.drain();
    }

    fn drain_events_only(&mut self) {
        while let Some(event) = self.connection.poll_event() {
            assert!(!self.closed, "event after Closed: {event:?}");
            if let Event::Closed { .. } = event {
                self.closed = true;
            }
        }
    }
}

/// Runs one connection, client or server side, through the steps the input
/// describes: raw chunks with fds, well-formed frames (requests, responses,
/// pool frames, control frames) split in two, sends of every kind, answers,
/// time passing, the peer closing, a local close or refusal, introspection
/// requests. The first byte chooses the side, default or small limits,
/// whether a valid hello of the peer comes first, and (for a client) an
/// any-peer configuration.
///
/// # Panics
///
/// When the core panics, emits an event after `Closed`, keeps a timeout or a
/// pending request after `Closed`, or still holds any fd given to it once
/// closed (and its events and transmits are dropped).
pub fn proto(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.u8();
    let side = if mode & 1 == 0 {
        Side::Server
    } else {
        Side::Client
    };
    let limits = limits(mode & 2 != 0);
    let start = Instant::now();
    let hello = (mode & 4 == 0).then(|| peer_hello(side, &limits, start));
    // A client may also be a generic tool that speaks whatever it reaches.
    let config = if side == Side::Client && mode & 8 != 0 {
        Config::any_peer(limits)
    } else {
        config(side, limits)
    };
    let mut harness = Harness {
        connection: Connection::new(config, start),
        now: start,
        closed: false,
        incoming: Vec::new(),
        outgoing: Vec::new(),
        given: Vec::new(),
    };
    if let Some(hello) = hello {
        harness.connection.handle_input(start, &hello, Vec::new());
    }
    harness.drain();
    let mut steps = 0;
    while !input.is_empty() && steps < 256 {
        harness.step(&mut input);
        steps += 1;
    }
    harness.connection.handle_peer_closed();
    harness.drain();
    assert!(harness.closed, "the connection closes when the peer does");
}
