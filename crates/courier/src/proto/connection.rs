//! The protocol state machine of one connection.

use std::collections::{HashMap, HashSet, VecDeque};
use std::os::fd::OwnedFd;
use std::time::Instant;

use tracing::{debug, trace, warn};

use super::frame::{FLAG_ERROR, FLAG_RESPONSE, FrameHeader, HEADER_LEN, KNOWN_FLAGS};
use super::hello::{Hello, ParsedHello, PoolOffer, Refusal};
use super::introspect::{
    INTROSPECT_MAGIC, INTROSPECT_NAME, INTROSPECT_REQUEST, INTROSPECT_RESPONSE, Introspection,
};
use super::pool::{
    CONTROL_MAGIC, CONTROL_SEGMENT_DROP, CONTROL_SEGMENT_RELEASE, FLAG_SHM, FLAG_SHM_NEW_SEGMENT,
    PoolStats, RecvPool, SHM_DESCRIPTOR_LEN, SendLimits, SendPool, ShmDescriptor,
};
use super::{CloseReason, Config, EndpointInfo, Event, RequestId, Side, Transmit, earliest};
use crate::codec::{EncodeError, Encoder};
use crate::error::{
    EndpointName, Error, HandshakeError, HandshakeErrorKind, Limit, LimitError, LimitSide,
    ProtocolError, ProtocolErrorKind, RemoteError,
};
use crate::limits::{Limits, TokenBucket};

/// Most bytes [`Connection::poll_transmit`] coalesces into one transmit from
/// small queued frames: one write of 64 KiB instead of thousands of small ones.
pub const COALESCE_BYTES: usize = 64 << 10;

/// How many timed-out request ids are remembered, so that their late
/// responses are discarded instead of being taken for protocol errors.
const REMEMBERED_TIMEOUTS: usize = 4096;
/// Longest error message sent in an error response; longer ones are cut.
const MAX_ERROR_MESSAGE: usize = 64 << 10;
/// Input buffer capacity kept between messages; more is released.
const KEPT_INPUT_CAPACITY: usize = 1 << 20;
/// Capacity of a new output buffer: room for [`COALESCE_BYTES`] and the
/// message that crosses it, so that it is not reallocated (a reallocation
/// to this size would take fresh pages from the kernel each time).
const OUTPUT_BUFFER_BYTES: usize = 2 * COALESCE_BYTES;
/// Output buffers kept for reuse (see [`Connection::reuse_buffer`]): one
/// being filled while one is written needs one spare; two bound what an
/// idle connection keeps (at most [`MAX_SPARE_CAPACITY`] each, resident
/// only as far as a burst of output ever filled them).
const SPARE_BUFFERS: usize = 2;
/// Largest output buffer kept for reuse; a bigger one is freed.
const MAX_SPARE_CAPACITY: usize = 4 * COALESCE_BYTES;

/// The protocol state of one connection, without any I/O.
///
/// Its methods come in four families, as in quinn-proto:
///
/// - **getters**: [`side`](Self::side), [`is_open`](Self::is_open),
///   [`is_closed`](Self::is_closed), [`peer_max_message_bytes`](Self::peer_max_message_bytes),
///   [`pending_requests`](Self::pending_requests), [`has_transmit`](Self::has_transmit)...
/// - **input**, `handle_*`: [`handle_input`](Self::handle_input) with what the
///   socket gave (bytes and the fds that came with them),
///   [`handle_timeout`](Self::handle_timeout) when the time from
///   [`poll_timeout`](Self::poll_timeout) has come,
///   [`handle_peer_closed`](Self::handle_peer_closed) on end of file or a reset;
/// - **commands**: [`send_request`](Self::send_request),
///   [`send_oneway`](Self::send_oneway), [`send_response`](Self::send_response),
///   [`send_error_response`](Self::send_error_response), [`close`](Self::close);
///   a send over a limit fails here, before anything is queued;
/// - **output**, `poll_*`: [`poll_transmit`](Self::poll_transmit) (bytes and
///   fds to write), [`poll_event`](Self::poll_event),
///   [`poll_timeout`](Self::poll_timeout).
///
/// A driver loops: feed input, then drain `poll_transmit` to the socket and
/// `poll_event` to the application, then wait for the socket or until
/// `poll_timeout` (calling `handle_timeout` when it passes). After any input
/// or command, poll again: both can produce transmits and events.
///
/// The client's hello is queued by [`Connection::new`]; a server queues its
/// own when the client's arrives. Commands before [`Event::HandshakeComplete`]
/// fail. After [`Event::Closed`] everything is dropped (fds closed) and
/// commands fail with [`Error::Disconnected`].
///
/// # Untrusted input
///
/// Whatever bytes and fds come in, the core never panics, never allocates
/// more than the bytes received, and closes (drops) every fd on every error
/// path: a peer that breaks the protocol or a limit gets [`Event::Closed`]
/// with the reason, logged with `tracing`.
///
/// # Example
///
/// Two cores talking through memory:
///
/// ```
/// use std::time::Instant;
/// use courier::proto::{Config, Connection, EndpointInfo, Event, Side};
/// use courier::{Limits, NoMessages};
///
/// let now = Instant::now();
/// let info = EndpointInfo::of::<NoMessages>();
/// let config = |side| Config::new(side, info, info, Limits::default());
/// let mut client = Connection::new(config(Side::Client), now);
/// let mut server = Connection::new(config(Side::Server), now);
///
/// let hello = client.poll_transmit().unwrap();
/// server.handle_input(now, &hello.bytes, hello.fds);
/// assert!(matches!(server.poll_event(), Some(Event::HandshakeComplete)));
/// let hello = server.poll_transmit().unwrap();
/// client.handle_input(now, &hello.bytes, hello.fds);
/// assert!(matches!(client.poll_event(), Some(Event::HandshakeComplete)));
/// ```
#[derive(Debug)]
pub struct Connection {
    side: Side,
    local: EndpointInfo,
    peer: EndpointInfo,
    /// A client that adopts the server's endpoints ([`Config::any_peer`]).
    any_peer: bool,
    limits: Limits,
    state: State,
    handshake_deadline: Option<Instant>,
    peer_max_message_bytes: Option<u32>,
    /// Received bytes not yet taken; the unread part starts at `input_start`.
    input: Vec<u8>,
    input_start: usize,
    /// Received fds not yet claimed by a frame, in arrival order.
    input_fds: VecDeque<OwnedFd>,
    transmits: VecDeque<Transmit>,
    /// Bytes in `transmits`: output the driver has not taken yet, because
    /// the peer is not reading it (bounded by `Limits::max_unsent_bytes`).
    unsent_bytes: u64,
    events: VecDeque<Event>,
    /// Requests this side sent that wait for a response.
    pending: HashMap<RequestId, Pending>,
    timed_out: TimedOut,
    /// Requests the peer sent that this side has not answered: their message ids.
    incoming: HashMap<RequestId, u32>,
    next_request_id: u32,
    rate: TokenBucket,
    /// Set by [`Connection::refuse`]: the answer to the client's hello.
    refusal: Option<Refusal>,
    /// The shared-memory pool this side offers in its hello.
    pool_offer: Option<PoolOffer>,
    /// Set when both sides offered the pool: the limits this side sends by.
    pool_send: Option<SendLimits>,
    send_pool: SendPool,
    recv_pool: RecvPool,
    /// The pool's counters (the segment figures are computed on demand).
    pool_counters: PoolStats,
    /// Emptied output buffers, reused by [`Connection::send_oneway_with`]
    /// and [`Connection::poll_transmit`] instead of allocating.
    spare: Vec<Vec<u8>>,
    /// Set by [`Connection::enable_message_queue`]: messages for the local
    /// endpoint go to `messages`, not to `events`.
    message_queue: bool,
    /// Messages for [`Connection::poll_message_with`], in arrival order.
    messages: VecDeque<QueuedMessage>,
    /// The bodies of queued messages, one after the other; `arena[0]` is
    /// the byte at absolute offset `arena_base`.
    arena: Vec<u8>,
    arena_base: usize,
}

/// A message for the local endpoint kept by the core until
/// [`Connection::poll_message_with`] takes it.
#[derive(Debug)]
struct QueuedMessage {
    magic: u32,
    id: u32,
    request_id: Option<RequestId>,
    body: QueuedBody,
    fds: Vec<OwnedFd>,
}

#[derive(Debug)]
enum QueuedBody {
    /// `len` bytes of the arena at absolute offset `start`.
    Arena { start: usize, len: usize },
    /// A body that came as a `Vec` of its own (out of a pool segment).
    Owned(Vec<u8>),
}

/// The body of a frame being routed.
enum FrameBody<'a> {
    /// Still in the received bytes.
    Borrowed(&'a [u8]),
    /// Copied out (from a pool segment).
    Owned(Vec<u8>),
}

impl FrameBody<'_> {
    fn len(&self) -> usize {
        match self {
            FrameBody::Borrowed(body) => body.len(),
            FrameBody::Owned(body) => body.len(),
        }
    }

    fn into_vec(self) -> Vec<u8> {
        match self {
            FrameBody::Borrowed(body) => body.to_vec(),
            FrameBody::Owned(body) => body,
        }
    }
}

/// A message for the local endpoint, lent by
/// [`Connection::poll_message_with`]: its body borrowed from the core.
#[derive(Debug)]
pub struct MessageRef<'a> {
    /// The local endpoint's magic.
    pub magic: u32,
    /// The message id (decode with [`Endpoint::decode_message`](crate::Endpoint::decode_message)).
    pub id: u32,
    /// `Some` for a request: answer it with [`Connection::send_response`]
    /// or [`Connection::send_error_response`].
    pub request_id: Option<RequestId>,
    /// The message body.
    pub body: &'a [u8],
    /// The fds that came with it, in order.
    pub fds: Vec<OwnedFd>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Handshaking,
    Open,
    Closed,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    /// The magic of the request: the peer's, or [`INTROSPECT_MAGIC`].
    magic: u32,
    message_id: u32,
    deadline: Option<Instant>,
}

/// Recently timed-out request ids, oldest first, bounded.
#[derive(Debug, Default)]
struct TimedOut {
    order: VecDeque<RequestId>,
    set: HashSet<RequestId>,
}

impl TimedOut {
    fn insert(&mut self, id: RequestId) {
        if self.set.insert(id) {
            self.order.push_back(id);
        }
        while self.order.len() > REMEMBERED_TIMEOUTS {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    fn remove(&mut self, id: RequestId) -> bool {
        if self.set.remove(&id) {
            self.order.retain(|&other| other != id);
            true
        } else {
            false
        }
    }

    fn contains(&self, id: RequestId) -> bool {
        self.set.contains(&id)
    }

    fn clear(&mut self) {
        self.order.clear();
        self.set.clear();
    }
}

impl Connection {
    /// A connection at the start of its handshake. A client queues its hello
    /// at once; the handshake must complete within
    /// [`Limits::handshake_timeout`] of `now`.
    pub fn new(config: Config, now: Instant) -> Connection {
        let Config {
            side,
            local,
            peer,
            limits,
            any_peer,
        } = config;
        let mut connection = Connection {
            side,
            local,
            peer,
            any_peer: any_peer && side == Side::Client,
            handshake_deadline: now.checked_add(limits.handshake_timeout),
            rate: TokenBucket::new(limits.max_messages_per_second, now),
            limits,
            state: State::Handshaking,
            peer_max_message_bytes: None,
            input: Vec::new(),
            input_start: 0,
            input_fds: VecDeque::new(),
            transmits: VecDeque::new(),
            unsent_bytes: 0,
            events: VecDeque::new(),
            pending: HashMap::new(),
            timed_out: TimedOut::default(),
            incoming: HashMap::new(),
            next_request_id: 1,
            refusal: None,
            pool_offer: None,
            pool_send: None,
            send_pool: SendPool::default(),
            recv_pool: RecvPool::default(),
            pool_counters: PoolStats::default(),
            spare: Vec::new(),
            message_queue: false,
            messages: VecDeque::new(),
            arena: Vec::new(),
            arena_base: 0,
        };
        connection.pool_offer = connection.limits.shm_threshold.map(|_| PoolOffer {
            max_segments: connection.limits.shm_pool_segments,
            max_bytes: connection.limits.shm_pool_bytes,
        });
        if side == Side::Client {
            connection.queue_hello();
        }
        connection
    }

    // ----- getters -----

    /// Client or server.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The endpoint this side handles. On an any-peer client
    /// ([`Config::any_peer`]), once the handshake completed, the endpoint
    /// the server expects its clients to handle (name and magic from its
    /// hello).
    pub fn local(&self) -> &EndpointInfo {
        &self.local
    }

    /// The endpoint the peer handles. On an any-peer client, once the
    /// handshake completed, the server's endpoint (name and magic from its
    /// hello): send requests to its magic.
    pub fn peer(&self) -> &EndpointInfo {
        &self.peer
    }

    /// Whether this is an any-peer client ([`Config::any_peer`]).
    pub fn is_any_peer(&self) -> bool {
        self.any_peer
    }

    /// The limits this side enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether the handshake completed and the connection is not closed.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The largest message body the peer accepts, known after the handshake.
    pub fn peer_max_message_bytes(&self) -> Option<u32> {
        self.peer_max_message_bytes
    }

    /// The largest body this side may send: the smaller of both sides' limits.
    pub fn max_send_bytes(&self) -> u32 {
        let own = self.limits.max_message_bytes;
        self.peer_max_message_bytes
            .map_or(own, |peer| peer.min(own))
    }

    /// Requests sent that wait for a response.
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// Requests received that this side has not answered yet.
    pub fn unanswered_requests(&self) -> usize {
        self.incoming.len()
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) has something to write.
    pub fn has_transmit(&self) -> bool {
        !self.transmits.is_empty()
    }

    /// Bytes queued for [`poll_transmit`](Self::poll_transmit) and not yet
    /// taken (bounded by [`Limits::effective_max_unsent_bytes`]).
    pub fn unsent_bytes(&self) -> u64 {
        self.unsent_bytes
    }

    /// What the shared-memory pool holds and has done: segments and bytes
    /// mapped on each side, frames sent through the pool and the socket.
    ///
    /// ```
    /// use std::time::Instant;
    /// use courier::proto::{Config, Connection, EndpointInfo, Side};
    /// use courier::{Limits, NoMessages};
    ///
    /// let info = EndpointInfo::of::<NoMessages>();
    /// let config = Config::new(Side::Client, info, info, Limits::default());
    /// let stats = Connection::new(config, Instant::now()).pool_stats();
    /// assert!(!stats.active); // not before both hellos offered it
    /// assert_eq!(stats.bytes_mapped, 0);
    /// ```
    pub fn pool_stats(&self) -> PoolStats {
        PoolStats {
            active: self.pool_send.is_some(),
            segments: self.send_pool.segments(),
            bytes_mapped: self.send_pool.bytes_mapped(),
            segments_in_use: self.send_pool.in_use(),
            peer_segments: self.recv_pool.segments(),
            peer_bytes_mapped: self.recv_pool.bytes_mapped(),
            ..self.pool_counters
        }
    }

    // ----- input -----

    /// Takes bytes (and the fds that arrived with them) read from the socket.
    ///
    /// Bytes may come in any split, down to one at a time; the fds of a frame
    /// must come no later than the frame's first byte (as `SCM_RIGHTS` with
    /// the first `sendmsg` does). Input after the connection closed is
    /// dropped.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8], fds: Vec<OwnedFd>) {
        if self.state == State::Closed {
            return;
        }
        self.input_fds.extend(fds);
        if self.state == State::Open && self.input_start == self.input.len() {
            // Nothing left over from earlier input: take the frames
            // straight from `bytes`, and keep only an unfinished one.
            self.input.clear();
            self.input_start = 0;
            match self.read_frames(now, bytes) {
                Ok(consumed) if self.state != State::Closed => {
                    self.input.extend_from_slice(&bytes[consumed..]);
                }
                Ok(_) => {}
                Err(reason) => self.close_with(reason),
            }
            return;
        }
        self.input.extend_from_slice(bytes);
        if self.state == State::Handshaking {
            if !self.input_fds.is_empty() {
                self.close_with(ProtocolError::new(ProtocolErrorKind::FdsInHandshake).into());
                return;
            }
            match Hello::parse(&self.input[self.input_start..]) {
                Err(error) => {
                    self.fail_handshake(error);
                    return;
                }
                Ok(ParsedHello::Incomplete) => {
                    self.compact_input();
                    return;
                }
                Ok(ParsedHello::Complete(hello, len)) => {
                    self.input_start += len;
                    self.on_hello(hello);
                }
            }
        }
        if self.state == State::Open {
            // Out of `self` while frames are taken from it (they may queue
            // output, and a close drops the input).
            let input = std::mem::take(&mut self.input);
            match self.read_frames(now, &input[self.input_start..]) {
                Ok(consumed) if self.state != State::Closed => {
                    self.input = input;
                    self.input_start += consumed;
                    self.compact_input();
                }
                Ok(_) => {}
                Err(reason) => self.close_with(reason),
            }
        }
    }

    /// Tells the core that `now` has come: fails requests past their
    /// deadline ([`Event::CallTimedOut`]) and a handshake past
    /// [`Limits::handshake_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Closed => {}
            State::Handshaking => {
                if self
                    .handshake_deadline
                    .is_some_and(|deadline| deadline <= now)
                {
                    let error = HandshakeError::new(HandshakeErrorKind::TimedOut(
                        self.limits.handshake_timeout,
                    ));
                    self.close_with(error.into());
                }
            }
            State::Open => {
                let mut expired: Vec<(Instant, RequestId)> = self
                    .pending
                    .iter()
                    .filter_map(|(&id, pending)| {
                        pending.deadline.filter(|&d| d <= now).map(|d| (d, id))
                    })
                    .collect();
                expired.sort();
                for (_, request_id) in expired {
                    if let Some(pending) = self.pending.remove(&request_id) {
                        debug!(
                            request = %request_id,
                            "call to {}::{} timed out",
                            self.peer.name,
                            self.peer.describe(pending.message_id)
                        );
                    }
                    self.timed_out.insert(request_id);
                    self.events.push_back(Event::CallTimedOut { request_id });
                }
                if let Some(pool) = self.pool_send {
                    let expired = self.send_pool.expire(now, pool.idle_timeout);
                    if expired > 0 {
                        debug!(
                            "unmapping {expired} shared-memory segments idle for {:?}",
                            pool.idle_timeout
                        );
                        self.pool_counters.segments_dropped_idle += expired as u64;
                    }
                    self.queue_segment_drops();
                }
            }
        }
    }

    /// Tells the core the peer is gone: end of file, `ECONNRESET` or `EPIPE`.
    pub fn handle_peer_closed(&mut self) {
        if self.state == State::Closed {
            return;
        }
        let unread = self.input.len() - self.input_start;
        if unread > 0 {
            debug!(
                "the peer closed the connection with {unread} bytes of an unfinished frame unread"
            );
        }
        let reason = if self.state == State::Handshaking {
            HandshakeError::new(HandshakeErrorKind::PeerClosed).into()
        } else {
            CloseReason::PeerClosed
        };
        self.close_with(reason);
    }

    // ----- commands -----

    /// Queues request `id` of endpoint `magic` (the peer's) and returns its
    /// request id; its response arrives as [`Event::Response`], or, once
    /// `deadline` passes, [`Event::CallTimedOut`].
    ///
    /// # Errors
    ///
    /// Before anything is queued: [`Error::LimitExceeded`] when the body, the
    /// fds or the number of waiting requests is over the limit,
    /// [`Error::Disconnected`] when closed, [`Error::Protocol`] before the
    /// handshake completed or for a `magic` that is not the peer's. The fds
    /// are closed on error.
    pub fn send_request(
        &mut self,
        magic: u32,
        id: u32,
        body: Vec<u8>,
        fds: Vec<OwnedFd>,
        deadline: Option<Instant>,
    ) -> Result<RequestId, Error> {
        self.check_can_send(magic)?;
        self.check_outgoing_size(body.len(), fds.len())?;
        let request_id = self.add_pending(magic, id, deadline)?;
        trace!(
            request = %request_id,
            bytes = body.len(),
            fds = fds.len(),
            "send {}::{}",
            self.peer.name,
            self.peer.describe(id)
        );
        self.queue_frame(magic, id, request_id.get(), 0, body, fds);
        Ok(request_id)
    }

    /// Queues the reserved introspection request ([`INTROSPECT_MAGIC`],
    /// message [`INTROSPECT_REQUEST`], empty body) and returns its request
    /// id. The peer's core answers it by itself: the response arrives as
    /// [`Event::Response`], whose body [`Introspection::decode`] reads (or,
    /// once `deadline` passes, [`Event::CallTimedOut`]).
    ///
    /// # Errors
    ///
    /// Before anything is queued: [`Error::LimitExceeded`] when too many
    /// requests wait, [`Error::Disconnected`] when closed,
    /// [`Error::Protocol`] before the handshake completed.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Instant;
    /// use courier::proto::{Config, Connection, EndpointInfo, Event, Introspection, Side};
    /// use courier::{Limits, NoMessages};
    ///
    /// let now = Instant::now();
    /// let info = EndpointInfo::of::<NoMessages>();
    /// let mut client = Connection::new(Config::new(Side::Client, info, info, Limits::default()), now);
    /// let mut server = Connection::new(Config::new(Side::Server, info, info, Limits::default()), now);
    /// let mut pump = |from: &mut Connection, to: &mut Connection| {
    ///     while let Some(t) = from.poll_transmit() {
    ///         to.handle_input(now, &t.bytes, t.fds);
    ///     }
    /// };
    /// pump(&mut client, &mut server);
    /// pump(&mut server, &mut client);
    ///
    /// let request = client.send_introspect(None).unwrap();
    /// pump(&mut client, &mut server);
    /// pump(&mut server, &mut client);
    /// assert!(matches!(server.poll_event(), Some(Event::HandshakeComplete)));
    /// assert!(server.poll_event().is_none(), "answered by the core");
    /// assert!(matches!(client.poll_event(), Some(Event::HandshakeComplete)));
    /// match client.poll_event() {
    ///     Some(Event::Response { request_id, result: Ok((body, _)) }) => {
    ///         assert_eq!(request_id, request);
    ///         let answer = Introspection::decode(&body).unwrap();
    ///         assert_eq!(answer.endpoints[0].name, "NoMessages");
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub fn send_introspect(&mut self, deadline: Option<Instant>) -> Result<RequestId, Error> {
        self.check_open()?;
        let request_id = self.add_pending(INTROSPECT_MAGIC, INTROSPECT_REQUEST, deadline)?;
        trace!(request = %request_id, "send {INTROSPECT_NAME}");
        self.queue_frame(
            INTROSPECT_MAGIC,
            INTROSPECT_REQUEST,
            request_id.get(),
            0,
            Vec::new(),
            Vec::new(),
        );
        Ok(request_id)
    }

    /// Queues one-way message `id` of endpoint `magic` (the peer's).
    ///
    /// # Errors
    ///
    /// As [`send_request`](Self::send_request), except for the in-flight limit.
    pub fn send_oneway(
        &mut self,
        magic: u32,
        id: u32,
        body: Vec<u8>,
        fds: Vec<OwnedFd>,
    ) -> Result<(), Error> {
        self.check_can_send(magic)?;
        self.check_outgoing_size(body.len(), fds.len())?;
        trace!(
            bytes = body.len(),
            fds = fds.len(),
            "send {}::{}",
            self.peer.name,
            self.peer.describe(id)
        );
        self.queue_frame(magic, id, 0, 0, body, fds);
        Ok(())
    }

    /// Queues one-way message `id` of endpoint `magic` (the peer's), with
    /// `encode` writing its body straight into the output buffer: no body
    /// `Vec` of its own, no copy, and no allocation once the output buffers
    /// are reused ([`reuse_buffer`](Self::reuse_buffer)). The fast path for
    /// a stream of small messages; the bytes on the wire are the same as
    /// [`send_oneway`](Self::send_oneway)'s.
    ///
    /// A message that turns out to carry fds, or to be large enough for the
    /// shared-memory pool, is moved out and sent as `send_oneway` would;
    /// either way it keeps its place among the frames queued before and
    /// after it.
    ///
    /// # Errors
    ///
    /// As [`send_oneway`](Self::send_oneway), plus [`Error::Encode`] when
    /// `encode` fails; nothing is queued then, and the fds it added are
    /// closed.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Instant;
    /// use courier::proto::{Config, Connection, EndpointInfo, Event, Side};
    /// use courier::Limits;
    ///
    /// let now = Instant::now();
    /// let info = EndpointInfo::named("Echo", 1);
    /// let config = |side| Config::new(side, info, info, Limits::default());
    /// let mut client = Connection::new(config(Side::Client), now);
    /// let mut server = Connection::new(config(Side::Server), now);
    /// let mut pump = |from: &mut Connection, to: &mut Connection| {
    ///     while let Some(t) = from.poll_transmit() {
    ///         to.handle_input(now, &t.bytes, t.fds);
    ///     }
    /// };
    /// pump(&mut client, &mut server);
    /// pump(&mut server, &mut client);
    ///
    /// client.send_oneway_with(1, 7, |encoder| encoder.encode(&42u32)).unwrap();
    /// pump(&mut client, &mut server);
    /// assert!(matches!(server.poll_event(), Some(Event::HandshakeComplete)));
    /// match server.poll_event() {
    ///     Some(Event::Message { id: 7, body, .. }) => assert_eq!(body, 42u32.to_le_bytes()),
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub fn send_oneway_with<F>(&mut self, magic: u32, id: u32, encode: F) -> Result<(), Error>
    where
        F: FnOnce(&mut Encoder) -> Result<(), EncodeError>,
    {
        self.check_can_send(magic)?;
        // Append to the last queued transmit while it has room (fds of
        // its own stay with its first byte), else start one.
        let appending = self
            .transmits
            .back()
            .is_some_and(|last| last.bytes.len() + HEADER_LEN <= COALESCE_BYTES);
        let mut bytes = match self.transmits.back_mut() {
            Some(last) if appending => std::mem::take(&mut last.bytes),
            _ => self
                .spare
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(OUTPUT_BUFFER_BYTES)),
        };
        let frame_start = bytes.len();
        bytes.extend_from_slice(&[0; HEADER_LEN]);
        let mut encoder = Encoder::from_vec(bytes);
        let encoded = encode(&mut encoder);
        let (mut bytes, fds) = encoder.into_parts();
        let body_start = frame_start + HEADER_LEN;
        let body_len = bytes.len() - body_start;
        let to_pool = self
            .pool_send
            .is_some_and(|pool| body_len >= pool.threshold);
        let outcome = match encoded {
            Err(error) => Err(Error::from(error)),
            Ok(()) if !fds.is_empty() || to_pool => {
                // The general path: the body as a `Vec` of its own.
                let body = bytes[body_start..].to_vec();
                bytes.truncate(frame_start);
                self.put_back_output(bytes, appending);
                return self.send_oneway(magic, id, body, fds);
            }
            Ok(()) => self.check_outgoing_size(body_len, 0),
        };
        if let Err(error) = outcome {
            bytes.truncate(frame_start);
            self.put_back_output(bytes, appending);
            return Err(error);
        }
        // Fits: checked against a limit below u32::MAX.
        let header = FrameHeader {
            payload_len: body_len as u32,
            magic,
            message_id: id,
            request_id: 0,
            fd_count: 0,
            flags: 0,
        };
        bytes[frame_start..body_start].copy_from_slice(&header.to_bytes());
        trace!(
            bytes = body_len,
            "send {}::{}",
            self.peer.name,
            self.peer.describe(id)
        );
        self.pool_counters.sent_through_socket += 1;
        self.put_back_output(bytes, appending);
        self.count_unsent((HEADER_LEN + body_len) as u64);
        Ok(())
    }

    /// Queues the response to request `request_id` received from the peer.
    /// The header's magic and id follow from the request (its magic, its id
    /// plus one).
    ///
    /// # Errors
    ///
    /// [`Error::LimitExceeded`] when the response is too big (the request
    /// stays unanswered: answer it with
    /// [`send_error_response`](Self::send_error_response)),
    /// [`Error::Protocol`] when no such request waits, [`Error::Disconnected`]
    /// when closed.
    pub fn send_response(
        &mut self,
        request_id: RequestId,
        body: Vec<u8>,
        fds: Vec<OwnedFd>,
    ) -> Result<(), Error> {
        let magic = self.local.magic;
        if self.state == State::Closed {
            return Err(Error::Disconnected);
        }
        let Some(&request_message_id) = self.incoming.get(&request_id) else {
            return Err(
                ProtocolError::new(ProtocolErrorKind::NoSuchRequest(request_id.get())).into(),
            );
        };
        self.check_outgoing_size(body.len(), fds.len())?;
        self.incoming.remove(&request_id);
        let id = request_message_id.wrapping_add(1);
        trace!(
            request = %request_id,
            bytes = body.len(),
            fds = fds.len(),
            "send {}::{}",
            self.local.name,
            self.local.describe(id)
        );
        self.queue_frame(magic, id, request_id.get(), FLAG_RESPONSE, body, fds);
        Ok(())
    }

    /// Queues an error response to request `request_id`: the caller gets
    /// [`Error::Remote`] with `message` (cut to 64 KiB, or to what the
    /// message limit allows).
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] when no such request waits, [`Error::Disconnected`]
    /// when closed.
    pub fn send_error_response(
        &mut self,
        request_id: RequestId,
        message: &str,
    ) -> Result<(), Error> {
        if self.state == State::Closed {
            return Err(Error::Disconnected);
        }
        let Some(request_message_id) = self.incoming.remove(&request_id) else {
            return Err(
                ProtocolError::new(ProtocolErrorKind::NoSuchRequest(request_id.get())).into(),
            );
        };
        let (message, body) = self.error_body(message);
        let id = request_message_id.wrapping_add(1);
        trace!(request = %request_id, "send error {}::{}: {message}", self.local.name, self.local.describe(id));
        self.queue_frame(
            self.local.magic,
            id,
            request_id.get(),
            FLAG_RESPONSE | FLAG_ERROR,
            body,
            Vec::new(),
        );
        Ok(())
    }

    /// On a server during the handshake: refuses the client. When its hello
    /// arrives, the core answers with a hello carrying `refusal` and closes
    /// ([`Event::Closed`] with the refusal as a [`CloseReason::Handshake`]);
    /// the client's handshake fails with the same typed error (for
    /// [`Refusal::ServiceFull`], [`HandshakeErrorKind::ServiceFull`]).
    /// Does nothing on a client or after the handshake.
    pub fn refuse(&mut self, refusal: Refusal) {
        if self.side == Side::Server && self.state == State::Handshaking {
            self.refusal = Some(refusal);
        }
    }

    /// Closes the connection for `reason` (use [`CloseReason::Local`] for an
    /// orderly close): queued transmits and received input are dropped, and
    /// [`Event::Closed`] is the last event. Does nothing if already closed.
    pub fn close(&mut self, reason: CloseReason) {
        self.close_with(reason);
    }

    // ----- output -----

    /// The next bytes (and fds) to write to the socket, in order.
    ///
    /// Frames queued behind the first that carry no fds ride in the same
    /// transmit, up to [`COALESCE_BYTES`]: when the application sends faster
    /// than the socket takes, many small messages leave in one write, and
    /// when it does not, nothing waits (a lone frame is returned at once).
    /// Fds stay with the first bytes of their own frame: a frame with fds
    /// only ever starts a transmit.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let mut transmit = self.transmits.pop_front()?;
        while let Some(next) = self.transmits.front() {
            let fits = transmit.bytes.len() + next.bytes.len() <= COALESCE_BYTES;
            if !next.fds.is_empty() || !fits {
                break;
            }
            if let Some(next) = self.transmits.pop_front() {
                transmit.bytes.extend_from_slice(&next.bytes);
                self.reuse_buffer(next.bytes);
            }
        }
        self.unsent_bytes -= transmit.bytes.len() as u64;
        Some(transmit)
    }

    /// Gives back the buffer of a [`Transmit`] the driver has written, so
    /// that the next output reuses its allocation instead of making one.
    /// Optional: a driver that drops its transmits works the same, only
    /// allocating more.
    ///
    /// ```
    /// use std::time::Instant;
    /// use courier::proto::{Config, Connection, EndpointInfo, Side};
    /// use courier::{Limits, NoMessages};
    ///
    /// let info = EndpointInfo::of::<NoMessages>();
    /// let config = Config::new(Side::Client, info, info, Limits::default());
    /// let mut client = Connection::new(config, Instant::now());
    /// let hello = client.poll_transmit().unwrap();
    /// // ... written to the socket ...
    /// client.reuse_buffer(hello.bytes);
    /// ```
    pub fn reuse_buffer(&mut self, mut bytes: Vec<u8>) {
        let capacity = bytes.capacity();
        if self.spare.len() < SPARE_BUFFERS
            && (COALESCE_BYTES..=MAX_SPARE_CAPACITY).contains(&capacity)
        {
            bytes.clear();
            self.spare.push(bytes);
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// From now on, keeps messages for the local endpoint in a queue of
    /// their own, taken with [`poll_message_with`](Self::poll_message_with)
    /// straight from the core's buffer (no `Vec` per message), instead of
    /// delivering them as [`Event::Message`]. Call it before the handshake
    /// completes.
    ///
    /// Messages keep their order among themselves; the other events
    /// (responses, timeouts, [`Event::Closed`]) no longer interleave with
    /// them. Messages that arrived before [`Event::Closed`] stay queued
    /// after it: a driver hands them to the application, then reports the
    /// close, as it would with `Event::Message`.
    pub fn enable_message_queue(&mut self) {
        self.message_queue = true;
    }

    /// Messages waiting for [`poll_message_with`](Self::poll_message_with).
    pub fn queued_messages(&self) -> usize {
        self.messages.len()
    }

    /// Lends the next queued message to `take` (see
    /// [`enable_message_queue`](Self::enable_message_queue)) and returns
    /// what it returns; `None` when no message waits. The body is borrowed
    /// from the core: decode it inside `take`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Instant;
    /// use courier::proto::{Config, Connection, EndpointInfo, Event, Side};
    /// use courier::Limits;
    ///
    /// let now = Instant::now();
    /// let info = EndpointInfo::named("Echo", 1);
    /// let config = |side| Config::new(side, info, info, Limits::default());
    /// let mut client = Connection::new(config(Side::Client), now);
    /// let mut server = Connection::new(config(Side::Server), now);
    /// server.enable_message_queue();
    /// let mut pump = |from: &mut Connection, to: &mut Connection| {
    ///     while let Some(t) = from.poll_transmit() {
    ///         to.handle_input(now, &t.bytes, t.fds);
    ///     }
    /// };
    /// pump(&mut client, &mut server);
    /// pump(&mut server, &mut client);
    ///
    /// client.send_oneway(1, 7, vec![1, 2, 3], Vec::new()).unwrap();
    /// pump(&mut client, &mut server);
    /// assert!(matches!(server.poll_event(), Some(Event::HandshakeComplete)));
    /// assert!(server.poll_event().is_none());
    /// let sum = server.poll_message_with(|m| m.body.iter().map(|&b| u32::from(b)).sum::<u32>());
    /// assert_eq!(sum, Some(6));
    /// assert_eq!(server.queued_messages(), 0);
    /// ```
    pub fn poll_message_with<R>(&mut self, take: impl FnOnce(MessageRef<'_>) -> R) -> Option<R> {
        let QueuedMessage {
            magic,
            id,
            request_id,
            body,
            fds,
        } = self.messages.pop_front()?;
        let result = match body {
            QueuedBody::Arena { start, len } => {
                let at = start - self.arena_base;
                let result = take(MessageRef {
                    magic,
                    id,
                    request_id,
                    body: &self.arena[at..at + len],
                    fds,
                });
                self.release_arena(at + len);
                result
            }
            QueuedBody::Owned(body) => take(MessageRef {
                magic,
                id,
                request_id,
                body: &body,
                fds,
            }),
        };
        if self.messages.is_empty() {
            self.arena.clear();
            self.arena_base = 0;
            if self.arena.capacity() > KEPT_INPUT_CAPACITY {
                self.arena.shrink_to(KEPT_INPUT_CAPACITY);
            }
        }
        Some(result)
    }

    /// The arena's bytes before `consumed` (relative) were taken: drop them
    /// once they are half of it, so that it does not grow while messages
    /// keep coming faster than they are taken.
    fn release_arena(&mut self, consumed: usize) {
        if consumed >= 4096 && consumed >= self.arena.len() / 2 {
            self.arena.drain(..consumed);
            self.arena_base += consumed;
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called: the
    /// handshake's deadline, or the earliest deadline of a waiting request
    /// or of an idle shared-memory segment.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Closed => None,
            State::Handshaking => self.handshake_deadline,
            State::Open => {
                let idle = self
                    .pool_send
                    .and_then(|pool| self.send_pool.next_expiry(pool.idle_timeout));
                self.pending
                    .values()
                    .fold(idle, |soonest, p| earliest(soonest, p.deadline))
            }
        }
    }

    // ----- internals -----

    fn hello(&self) -> Hello {
        Hello {
            local_magic: self.local.magic,
            peer_magic: self.peer.magic,
            max_message_bytes: self.limits.max_message_bytes,
            local_name: self.local.name.to_owned(),
            peer_name: self.peer.name.to_owned(),
            refusal: self.refusal,
            refused: None,
            shm_pool: if self.refusal.is_some() {
                None
            } else {
                self.pool_offer
            },
            any_peer: self.any_peer,
            local_fingerprint: self.local.fingerprint,
            peer_fingerprint: self.peer.fingerprint,
        }
    }

    fn queue_hello(&mut self) {
        let bytes = self.hello().to_bytes();
        self.push_transmit(Transmit {
            bytes,
            fds: Vec::new(),
        });
    }

    /// Queues output for the driver. A peer that leaves more than
    /// [`Limits::effective_max_unsent_bytes`] unread is disconnected: it
    /// cannot make this side buffer without bound.
    fn push_transmit(&mut self, transmit: Transmit) {
        let len = transmit.bytes.len() as u64;
        self.transmits.push_back(transmit);
        self.count_unsent(len);
    }

    /// Returns the output buffer [`Connection::send_oneway_with`] encoded
    /// into: to the last transmit it came from, as a new transmit, or (when
    /// nothing was written into a fresh one) to the spares.
    fn put_back_output(&mut self, bytes: Vec<u8>, appending: bool) {
        match self.transmits.back_mut() {
            Some(last) if appending => last.bytes = bytes,
            _ if bytes.is_empty() => self.reuse_buffer(bytes),
            _ => self.transmits.push_back(Transmit {
                bytes,
                fds: Vec::new(),
            }),
        }
    }

    /// Counts `len` more bytes of queued output.
    fn count_unsent(&mut self, len: u64) {
        self.unsent_bytes += len;
        let maximum = self.limits.effective_max_unsent_bytes();
        if self.unsent_bytes > maximum {
            let error = LimitError::new(
                Limit::UnsentBytes,
                LimitSide::Receiving,
                self.unsent_bytes,
                maximum,
            );
            self.close_with(CloseReason::LimitExceeded(error));
        }
    }

    fn on_hello(&mut self, hello: Hello) {
        if let Some(refusal) = self.refusal {
            // A server answering with its refusal (the hello carries it).
            self.fail_handshake(refusal.to_error());
            return;
        }
        if let Some(refused) = hello.refused {
            self.fail_handshake(refused);
            return;
        }
        if hello.any_peer && self.side == Side::Client {
            // Only a client may speak "whatever you serve".
            let flags = super::HELLO_FLAG_ANY_PEER;
            self.fail_handshake(HandshakeError::new(HandshakeErrorKind::Flags(flags)));
            return;
        }
        if self.any_peer {
            self.local = learned_endpoint(&hello.peer_name, hello.peer_magic)
                .with_fingerprint(hello.peer_fingerprint);
            self.peer = learned_endpoint(&hello.local_name, hello.local_magic)
                .with_fingerprint(hello.local_fingerprint);
        } else if hello.any_peer {
            debug!(
                "a client that speaks any endpoint connected: it is taken to handle `{}` and to call `{}`",
                self.peer.name, self.local.name
            );
        } else if hello.local_magic != self.peer.magic || hello.peer_magic != self.local.magic {
            let name = |name: &str, magic| EndpointName {
                name: name.to_owned(),
                magic,
            };
            let error = HandshakeError::new(HandshakeErrorKind::EndpointMismatch {
                side: self.side,
                local: name(self.local.name, self.local.magic),
                expected_peer: name(self.peer.name, self.peer.magic),
                peer_local: name(&hello.local_name, hello.local_magic),
                peer_expects: name(&hello.peer_name, hello.peer_magic),
            });
            self.fail_handshake(error);
            return;
        } else if let Some(error) = self.fingerprint_mismatch(&hello) {
            self.fail_handshake(error);
            return;
        }
        if self.side == Side::Server {
            self.queue_hello();
        }
        self.peer_max_message_bytes = Some(hello.max_message_bytes);
        if let (Some(ours), Some(theirs), Some(threshold)) =
            (self.pool_offer, hello.shm_pool, self.limits.shm_threshold)
        {
            self.pool_send = Some(SendLimits {
                threshold: threshold as usize,
                max_segments: ours.max_segments.min(theirs.max_segments),
                max_bytes: ours.max_bytes.min(theirs.max_bytes),
                idle_timeout: self.limits.shm_idle_timeout,
            });
        }
        self.state = State::Open;
        self.handshake_deadline = None;
        debug!(
            side = ?self.side,
            "handshake complete: this side handles `{}`, the peer handles `{}` and accepts messages up to {} bytes",
            self.local.name,
            self.peer.name,
            hello.max_message_bytes
        );
        self.events.push_back(Event::HandshakeComplete);
    }

    /// Compares the interface fingerprints of both endpoints (the magics
    /// already agree). Each comparison is skipped when either side does not
    /// know the fingerprint (`0`). Both sides see the same four numbers and
    /// compare the server's endpoint first, so both report the same one.
    fn fingerprint_mismatch(&self, hello: &Hello) -> Option<HandshakeError> {
        let local = (self.local, hello.peer_fingerprint);
        let peer = (self.peer, hello.local_fingerprint);
        let order = match self.side {
            Side::Client => [peer, local],
            Side::Server => [local, peer],
        };
        order
            .into_iter()
            .find(|(ours, theirs)| {
                ours.fingerprint != 0 && *theirs != 0 && ours.fingerprint != *theirs
            })
            .map(|(ours, theirs)| {
                HandshakeError::new(HandshakeErrorKind::FingerprintMismatch {
                    side: self.side,
                    endpoint: EndpointName {
                        name: ours.name.to_owned(),
                        magic: ours.magic,
                    },
                    ours: ours.fingerprint,
                    theirs,
                })
            })
    }

    /// Fails the handshake; a server still sends its hello first, so that
    /// the client can name both endpoints.
    fn fail_handshake(&mut self, error: HandshakeError) {
        let send_hello = self.side == Side::Server;
        self.close_inner(error.into(), send_hello);
    }

    fn close_with(&mut self, reason: CloseReason) {
        self.close_inner(reason, false);
    }

    fn close_inner(&mut self, reason: CloseReason, send_hello: bool) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.transmits.clear();
        self.unsent_bytes = 0;
        if send_hello {
            self.queue_hello();
        }
        self.input = Vec::new();
        self.input_start = 0;
        self.input_fds.clear();
        self.pending.clear();
        self.timed_out.clear();
        self.incoming.clear();
        self.send_pool.clear();
        self.recv_pool.clear();
        if reason.is_orderly() {
            debug!("connection to `{}` closed: {reason}", self.peer.name);
        } else {
            warn!("closing the connection to `{}`: {reason}", self.peer.name);
        }
        self.events.push_back(Event::Closed { reason });
    }

    fn check_can_send(&self, magic: u32) -> Result<(), Error> {
        self.check_open()?;
        if magic != self.peer.magic {
            return Err(ProtocolError::new(ProtocolErrorKind::WrongEndpoint {
                expected: self.peer.magic,
                found: magic,
            })
            .into());
        }
        Ok(())
    }

    fn check_open(&self) -> Result<(), Error> {
        match self.state {
            State::Closed => Err(Error::Disconnected),
            State::Handshaking => Err(ProtocolError::new(ProtocolErrorKind::NotReady).into()),
            State::Open => Ok(()),
        }
    }

    /// Records a request about to be sent, within the in-flight limit.
    fn add_pending(
        &mut self,
        magic: u32,
        message_id: u32,
        deadline: Option<Instant>,
    ) -> Result<RequestId, Error> {
        if self.pending.len() >= self.limits.max_in_flight_per_client {
            return Err(LimitError::new(
                Limit::InFlight,
                LimitSide::Sending,
                self.pending.len() as u64,
                self.limits.max_in_flight_per_client as u64,
            )
            .into());
        }
        let request_id = self.allocate_request_id();
        self.pending.insert(
            request_id,
            Pending {
                magic,
                message_id,
                deadline,
            },
        );
        Ok(request_id)
    }

    /// The body of an error response: one `String`, cut to 64 KiB or to
    /// what the message limit allows; and the message as cut.
    fn error_body<'m>(&self, message: &'m str) -> (&'m str, Vec<u8>) {
        let room = (self.max_send_bytes() as usize)
            .saturating_sub(4)
            .min(MAX_ERROR_MESSAGE);
        let message = cut_at_char_boundary(message, room);
        let mut body = Vec::with_capacity(4 + message.len());
        body.extend_from_slice(&(message.len() as u32).to_le_bytes());
        body.extend_from_slice(message.as_bytes());
        (message, body)
    }

    /// Counts a received request or one-way message against the rate limit.
    fn take_rate(&mut self, now: Instant) -> Result<(), CloseReason> {
        if self.rate.take(now) {
            return Ok(());
        }
        let rate = u64::from(self.limits.max_messages_per_second);
        Err(LimitError::new(Limit::MessageRate, LimitSide::Receiving, rate + 1, rate).into())
    }

    /// Fails when the peer reuses the id of a request still unanswered.
    fn check_fresh_request_id(&self, request_id: RequestId) -> Result<(), CloseReason> {
        if self.incoming.contains_key(&request_id) {
            return Err(ProtocolError::new(ProtocolErrorKind::DuplicateRequestId(
                request_id.get(),
            ))
            .into());
        }
        Ok(())
    }

    /// Answers the reserved introspection request by itself: no event
    /// reaches the application. Anything but an empty request with message
    /// id 1 under [`INTROSPECT_MAGIC`] is a protocol error.
    fn answer_introspection(
        &mut self,
        now: Instant,
        header: FrameHeader,
        body: Vec<u8>,
        fds: Vec<OwnedFd>,
    ) -> Result<(), CloseReason> {
        let malformed = |reason: String| -> CloseReason {
            ProtocolError::new(ProtocolErrorKind::MalformedMessage {
                endpoint: INTROSPECT_NAME,
                message_id: header.message_id,
                reason,
            })
            .into()
        };
        if header.message_id != INTROSPECT_REQUEST {
            return Err(malformed(format!(
                "message id {} is not the introspection request ({INTROSPECT_REQUEST})",
                header.message_id
            )));
        }
        let Some(request_id) = RequestId::new(header.request_id) else {
            return Err(malformed(
                "it came as a one-way message; the introspection request needs a request id"
                    .to_owned(),
            ));
        };
        if !body.is_empty() || !fds.is_empty() {
            return Err(malformed(format!(
                "it carries {} bytes and {} fds; the introspection request has an empty body",
                body.len(),
                fds.len()
            )));
        }
        self.take_rate(now)?;
        self.check_fresh_request_id(request_id)?;
        let answer = Introspection::of(&self.local, &self.peer);
        let max = self.max_send_bytes();
        match answer.encode_body() {
            Ok(body) if body.len() as u64 <= u64::from(max) => {
                trace!(request = %request_id, bytes = body.len(), "answering {INTROSPECT_NAME}");
                self.queue_frame(
                    INTROSPECT_MAGIC,
                    INTROSPECT_RESPONSE,
                    request_id.get(),
                    FLAG_RESPONSE,
                    body,
                    Vec::new(),
                );
            }
            encoded => {
                let size = encoded.map_or_else(|e| e.to_string(), |b| format!("{} bytes", b.len()));
                let message = format!(
                    "the introspection answer ({size}) does not fit this connection's largest message of {max} bytes; raise Limits::max_message_bytes on both sides"
                );
                warn!("{message}");
                let (_, body) = self.error_body(&message);
                self.queue_frame(
                    INTROSPECT_MAGIC,
                    INTROSPECT_RESPONSE,
                    request_id.get(),
                    FLAG_RESPONSE | FLAG_ERROR,
                    body,
                    Vec::new(),
                );
            }
        }
        Ok(())
    }

    fn check_outgoing_size(&self, body_len: usize, fd_count: usize) -> Result<(), Error> {
        let max_bytes = self.max_send_bytes();
        if body_len as u64 > u64::from(max_bytes) {
            return Err(LimitError::new(
                Limit::MessageBytes,
                LimitSide::Sending,
                body_len as u64,
                u64::from(max_bytes),
            )
            .into());
        }
        let max_fds = self.limits.effective_max_fds_per_message();
        if fd_count > max_fds {
            return Err(LimitError::new(
                Limit::FdsPerMessage,
                LimitSide::Sending,
                fd_count as u64,
                max_fds as u64,
            )
            .into());
        }
        Ok(())
    }

    fn allocate_request_id(&mut self) -> RequestId {
        // Terminates: at most `max_in_flight_per_client` + REMEMBERED_TIMEOUTS
        // ids are taken, far fewer than 2^32 - 1.
        loop {
            let candidate = RequestId::new(self.next_request_id);
            self.next_request_id = self.next_request_id.wrapping_add(1);
            let free =
                |id: &RequestId| !self.pending.contains_key(id) && !self.timed_out.contains(*id);
            if let Some(id) = candidate.filter(free) {
                return id;
            }
        }
    }

    fn queue_frame(
        &mut self,
        magic: u32,
        message_id: u32,
        request_id: u32,
        flags: u16,
        body: Vec<u8>,
        fds: Vec<OwnedFd>,
    ) {
        let pool = self
            .pool_send
            .filter(|pool| flags & FLAG_ERROR == 0 && body.len() >= pool.threshold);
        if let Some(pool) = pool {
            // The segment's fd travels with the message's own: keep within
            // the fd limit (the peer's is assumed the same as ours).
            let room_for_fd = fds.len() < self.limits.effective_max_fds_per_message();
            let placed = room_for_fd
                .then(|| self.send_pool.place(&body, &pool))
                .flatten();
            // Segments dropped to make room go first, so that the peer's
            // count of mapped bytes never passes the limit.
            self.queue_segment_drops();
            if let Some(placed) = placed {
                let mut flags = flags | FLAG_SHM;
                let mut all_fds = Vec::with_capacity(fds.len() + 1);
                if let Some(segment) = placed.new_segment {
                    flags |= FLAG_SHM_NEW_SEGMENT;
                    all_fds.push(segment);
                }
                all_fds.extend(fds);
                self.pool_counters.sent_through_pool += 1;
                self.queue_raw_frame(
                    magic,
                    message_id,
                    request_id,
                    flags,
                    &placed.descriptor.to_bytes(),
                    all_fds,
                );
                return;
            }
            self.pool_counters.pool_fallbacks += 1;
        }
        self.pool_counters.sent_through_socket += 1;
        self.queue_raw_frame(magic, message_id, request_id, flags, &body, fds);
    }

    /// Queues a control frame about pool segment `segment`.
    fn queue_control(&mut self, message_id: u32, segment: u32) {
        self.queue_raw_frame(
            CONTROL_MAGIC,
            message_id,
            0,
            0,
            &segment.to_le_bytes(),
            Vec::new(),
        );
    }

    /// Tells the peer of the segments the send pool dropped.
    fn queue_segment_drops(&mut self) {
        for id in self.send_pool.take_dropped() {
            self.queue_control(CONTROL_SEGMENT_DROP, id);
        }
    }

    fn queue_raw_frame(
        &mut self,
        magic: u32,
        message_id: u32,
        request_id: u32,
        flags: u16,
        body: &[u8],
        fds: Vec<OwnedFd>,
    ) {
        // Both fit: the size checks ran against limits below u32::MAX and 253.
        let header = FrameHeader {
            payload_len: body.len() as u32,
            magic,
            message_id,
            request_id,
            fd_count: fds.len() as u16,
            flags,
        };
        let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
        bytes.extend_from_slice(&header.to_bytes());
        bytes.extend_from_slice(body);
        self.push_transmit(Transmit { bytes, fds });
    }

    /// Takes every complete frame from `data` (received bytes, not yet
    /// taken) and returns how many bytes that was.
    fn read_frames(&mut self, now: Instant, data: &[u8]) -> Result<usize, CloseReason> {
        let mut at = 0;
        loop {
            let available = data.len() - at;
            if available < HEADER_LEN {
                if available == 0 && !self.input_fds.is_empty() {
                    return Err(ProtocolError::new(ProtocolErrorKind::StrayFds(
                        self.input_fds.len(),
                    ))
                    .into());
                }
                let max_fds = self.limits.effective_max_fds_per_message();
                if self.input_fds.len() > max_fds {
                    return Err(LimitError::new(
                        Limit::FdsPerMessage,
                        LimitSide::Receiving,
                        self.input_fds.len() as u64,
                        max_fds as u64,
                    )
                    .into());
                }
                return Ok(at);
            }
            let Some(header_bytes) = data[at..].first_chunk::<HEADER_LEN>() else {
                return Ok(at);
            };
            let header = FrameHeader::parse(header_bytes);
            self.check_incoming_header(&header)?;
            let fd_count = usize::from(header.fd_count);
            if self.input_fds.len() < fd_count {
                return Err(ProtocolError::new(ProtocolErrorKind::MissingFds {
                    announced: fd_count,
                    arrived: self.input_fds.len(),
                })
                .into());
            }
            let frame_len = HEADER_LEN + header.payload_len as usize;
            if available < frame_len {
                if self.input_fds.len() > fd_count {
                    return Err(ProtocolError::new(ProtocolErrorKind::StrayFds(
                        self.input_fds.len() - fd_count,
                    ))
                    .into());
                }
                return Ok(at);
            }
            let body = &data[at + HEADER_LEN..at + frame_len];
            at += frame_len;
            let fds: Vec<OwnedFd> = if fd_count == 0 {
                Vec::new()
            } else {
                self.input_fds.drain(..fd_count).collect()
            };
            if self.pool_send.is_some() && header.magic == CONTROL_MAGIC && !header.is_response() {
                self.handle_control(now, header, body, fds)?;
                continue;
            }
            if header.flags & FLAG_SHM != 0 {
                let (header, body, fds) = self.take_from_pool(header, body, fds)?;
                self.route_frame(now, header, FrameBody::Owned(body), fds)?;
                continue;
            }
            self.route_frame(now, header, FrameBody::Borrowed(body), fds)?;
        }
    }

    fn check_incoming_header(&self, header: &FrameHeader) -> Result<(), CloseReason> {
        let known = if self.pool_send.is_some() {
            KNOWN_FLAGS | FLAG_SHM | FLAG_SHM_NEW_SEGMENT
        } else {
            KNOWN_FLAGS
        };
        if header.flags & !known != 0 {
            return Err(ProtocolError::new(ProtocolErrorKind::UnknownFlags(header.flags)).into());
        }
        if header.is_error() && !header.is_response() {
            return Err(ProtocolError::new(ProtocolErrorKind::ErrorWithoutResponse).into());
        }
        if header.flags & (FLAG_SHM | FLAG_SHM_NEW_SEGMENT) != 0 {
            let why = if header.flags & FLAG_SHM == 0 {
                Some("a frame flagged NEW_SEGMENT without SHM".to_owned())
            } else if header.is_error() {
                Some("an error response flagged SHM".to_owned())
            } else if header.payload_len as usize != SHM_DESCRIPTOR_LEN {
                Some(format!(
                    "a frame flagged SHM with a payload of {} bytes instead of a {SHM_DESCRIPTOR_LEN}-byte descriptor",
                    header.payload_len
                ))
            } else if header.flags & FLAG_SHM_NEW_SEGMENT != 0 && header.fd_count == 0 {
                Some("a frame flagged NEW_SEGMENT without the segment's fd".to_owned())
            } else {
                None
            };
            if let Some(why) = why {
                return Err(pool_error(format!("it sent {why}")));
            }
        }
        let max_bytes = self.limits.max_message_bytes;
        if header.payload_len > max_bytes {
            return Err(LimitError::new(
                Limit::MessageBytes,
                LimitSide::Receiving,
                u64::from(header.payload_len),
                u64::from(max_bytes),
            )
            .into());
        }
        let max_fds = self.limits.effective_max_fds_per_message();
        if usize::from(header.fd_count) > max_fds {
            return Err(LimitError::new(
                Limit::FdsPerMessage,
                LimitSide::Receiving,
                u64::from(header.fd_count),
                max_fds as u64,
            )
            .into());
        }
        Ok(())
    }

    /// Resolves a frame flagged SHM: maps a new segment, copies the body out
    /// of the segment, releases the segment to the peer.
    fn take_from_pool(
        &mut self,
        mut header: FrameHeader,
        payload: &[u8],
        mut fds: Vec<OwnedFd>,
    ) -> Result<(FrameHeader, Vec<u8>, Vec<OwnedFd>), CloseReason> {
        let descriptor = ShmDescriptor::parse(payload)
            .ok_or_else(|| pool_error("its descriptor is not 20 bytes".to_owned()))?;
        if header.flags & FLAG_SHM_NEW_SEGMENT != 0 {
            // check_incoming_header made sure there is at least one fd.
            if fds.is_empty() {
                return Err(pool_error("its new segment came without an fd".to_owned()));
            }
            let segment = fds.remove(0);
            let offer = self.pool_offer.unwrap_or(PoolOffer {
                max_segments: 0,
                max_bytes: 0,
            });
            self.recv_pool
                .add(
                    descriptor.segment,
                    segment,
                    offer.max_segments,
                    offer.max_bytes,
                )
                .map_err(pool_error)?;
        }
        let body = self
            .recv_pool
            .read(descriptor, self.limits.max_message_bytes)
            .map_err(pool_error)?;
        self.queue_control(CONTROL_SEGMENT_RELEASE, descriptor.segment);
        self.pool_counters.received_through_pool += 1;
        header.flags &= !(FLAG_SHM | FLAG_SHM_NEW_SEGMENT);
        header.fd_count = fds.len() as u16;
        header.payload_len = body.len() as u32;
        Ok((header, body, fds))
    }

    /// A control frame of the shared-memory pool.
    fn handle_control(
        &mut self,
        now: Instant,
        header: FrameHeader,
        payload: &[u8],
        fds: Vec<OwnedFd>,
    ) -> Result<(), CloseReason> {
        if header.flags != 0 || header.request_id != 0 || !fds.is_empty() {
            return Err(pool_error(format!(
                "it sent control message {} with flags {:#06x}, request id {} and {} fds; control messages have none",
                header.message_id,
                header.flags,
                header.request_id,
                fds.len()
            )));
        }
        let Ok(segment) = <[u8; 4]>::try_from(payload) else {
            return Err(pool_error(format!(
                "it sent control message {} with a payload of {} bytes instead of a 4-byte segment id",
                header.message_id,
                payload.len()
            )));
        };
        let segment = u32::from_le_bytes(segment);
        match header.message_id {
            CONTROL_SEGMENT_RELEASE => self.send_pool.release(segment, now),
            CONTROL_SEGMENT_DROP => self.recv_pool.remove(segment),
            other => Err(format!("it sent unknown control message {other}")),
        }
        .map_err(pool_error)
    }

    fn route_frame(
        &mut self,
        now: Instant,
        header: FrameHeader,
        body: FrameBody<'_>,
        fds: Vec<OwnedFd>,
    ) -> Result<(), CloseReason> {
        let request_id = RequestId::new(header.request_id);
        if header.is_response() {
            let request_id = request_id
                .ok_or_else(|| ProtocolError::new(ProtocolErrorKind::ResponseWithoutRequest))?;
            let body = body.into_vec();
            return self.route_response(request_id, header, body, fds);
        }
        if header.magic == INTROSPECT_MAGIC && self.local.magic != INTROSPECT_MAGIC {
            let body = body.into_vec();
            return self.answer_introspection(now, header, body, fds);
        }
        if header.magic != self.local.magic {
            return Err(ProtocolError::new(ProtocolErrorKind::WrongMagic {
                expected: self.local.magic,
                found: header.magic,
            })
            .into());
        }
        self.take_rate(now)?;
        if let Some(request_id) = request_id {
            self.check_fresh_request_id(request_id)?;
            let max = self.limits.max_in_flight_per_client;
            if self.incoming.len() >= max {
                return Err(LimitError::new(
                    Limit::InFlight,
                    LimitSide::Receiving,
                    self.incoming.len() as u64 + 1,
                    max as u64,
                )
                .into());
            }
            self.incoming.insert(request_id, header.message_id);
        }
        trace!(
            request = header.request_id,
            bytes = body.len(),
            fds = fds.len(),
            "recv {}::{}",
            self.local.name,
            self.local.describe(header.message_id)
        );
        if self.message_queue {
            let body = match body {
                FrameBody::Borrowed(body) => {
                    let start = self.arena_base + self.arena.len();
                    self.arena.extend_from_slice(body);
                    QueuedBody::Arena {
                        start,
                        len: self.arena_base + self.arena.len() - start,
                    }
                }
                FrameBody::Owned(body) => QueuedBody::Owned(body),
            };
            self.messages.push_back(QueuedMessage {
                magic: header.magic,
                id: header.message_id,
                request_id,
                body,
                fds,
            });
            return Ok(());
        }
        self.events.push_back(Event::Message {
            magic: header.magic,
            id: header.message_id,
            request_id,
            body: body.into_vec(),
            fds,
        });
        Ok(())
    }

    fn route_response(
        &mut self,
        request_id: RequestId,
        header: FrameHeader,
        body: Vec<u8>,
        fds: Vec<OwnedFd>,
    ) -> Result<(), CloseReason> {
        let Some(&pending) = self.pending.get(&request_id) else {
            if self.timed_out.remove(request_id) {
                debug!(request = %request_id, "discarding the late response to a call that timed out");
                return Ok(());
            }
            return Err(ProtocolError::new(ProtocolErrorKind::UnexpectedResponse {
                request_id: request_id.get(),
            })
            .into());
        };
        let expected_id = pending.message_id.wrapping_add(1);
        if header.magic != pending.magic || header.message_id != expected_id {
            return Err(ProtocolError::new(ProtocolErrorKind::ResponseMismatch {
                request_id: request_id.get(),
                expected_id,
                found_id: header.message_id,
                found_magic: header.magic,
            })
            .into());
        }
        self.pending.remove(&request_id);
        let result = if header.is_error() {
            if !fds.is_empty() {
                let why = format!("it carries {} file descriptors", fds.len());
                return Err(
                    ProtocolError::new(ProtocolErrorKind::MalformedErrorResponse(why)).into(),
                );
            }
            let message = decode_error_message(&body).map_err(|why| {
                ProtocolError::new(ProtocolErrorKind::MalformedErrorResponse(why))
            })?;
            trace!(request = %request_id, "recv error for {}::{}: {message}", self.peer.name, self.peer.describe(pending.message_id));
            let request = if pending.magic == INTROSPECT_MAGIC {
                Some(INTROSPECT_NAME)
            } else {
                (self.peer.message_name)(pending.message_id)
            };
            Err(RemoteError::new(message, request))
        } else {
            trace!(
                request = %request_id,
                bytes = body.len(),
                fds = fds.len(),
                "recv {}::{}",
                self.peer.name,
                self.peer.describe(header.message_id)
            );
            Ok((body, fds))
        };
        self.events
            .push_back(Event::Response { request_id, result });
        Ok(())
    }

    /// Drops consumed input, keeping the allocation reasonable.
    fn compact_input(&mut self) {
        if self.input_start == self.input.len() {
            self.input.clear();
            self.input_start = 0;
            if self.input.capacity() > KEPT_INPUT_CAPACITY {
                self.input.shrink_to(KEPT_INPUT_CAPACITY);
            }
        } else if self.input_start > 0 && self.input_start >= self.input.len() / 2 {
            self.input.drain(..self.input_start);
            self.input_start = 0;
        }
    }
}

/// A protocol error about the shared-memory pool.
fn pool_error(why: String) -> CloseReason {
    ProtocolError::new(ProtocolErrorKind::SharedMemoryPool(why)).into()
}

/// Reads the `String` payload of an error response.
fn decode_error_message(body: &[u8]) -> Result<String, String> {
    let Some((len, text)) = body.split_first_chunk::<4>() else {
        return Err(format!(
            "its payload is {} bytes, too short for a string",
            body.len()
        ));
    };
    let len = u32::from_le_bytes(*len) as usize;
    if len != text.len() {
        return Err(format!(
            "its string claims {len} bytes but {} follow",
            text.len()
        ));
    }
    String::from_utf8(text.to_vec()).map_err(|_| "its message is not UTF-8".to_owned())
}

/// The longest prefix of `text` of at most `max` bytes that ends on a char
/// boundary.
fn cut_at_char_boundary(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Most bytes of endpoint names an any-peer client keeps for the life of
/// the process (see [`learned_endpoint`]).
const MAX_LEARNED_NAME_BYTES: usize = 64 << 10;
/// Longest endpoint name kept; longer ones are not names anyone wrote.
const MAX_LEARNED_NAME_LEN: usize = 256;
/// What an unkept learned name is shown as.
const UNKEPT_NAME: &str = "(endpoint name not kept)";

/// The endpoint an any-peer client learned from the server's hello.
///
/// [`EndpointInfo`] holds `&'static str` names (generated code's
/// constants), so learned names are interned: each distinct name is leaked
/// once and reused by every later connection. A hostile server could only
/// make that table grow to [`MAX_LEARNED_NAME_BYTES`]; past it, or for a
/// name longer than [`MAX_LEARNED_NAME_LEN`], the name is shown as
/// [`UNKEPT_NAME`] (the magic, which is what the protocol uses, is kept).
fn learned_endpoint(name: &str, magic: u32) -> EndpointInfo {
    EndpointInfo::named(intern(name), magic)
}

pub(super) fn intern(name: &str) -> &'static str {
    use std::collections::BTreeSet;
    use std::sync::{Mutex, PoisonError};

    static NAMES: Mutex<(BTreeSet<&'static str>, usize)> = Mutex::new((BTreeSet::new(), 0));
    let mut guard = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    let (names, bytes) = &mut *guard;
    if let Some(&known) = names.get(name) {
        return known;
    }
    if name.len() > MAX_LEARNED_NAME_LEN || *bytes + name.len() > MAX_LEARNED_NAME_BYTES {
        return UNKEPT_NAME;
    }
    let kept: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(kept);
    *bytes += name.len();
    kept
}
