//! The sans-IO protocol core: handshake, framing, fds, pending requests and
//! limits, with no sockets, no clock and no async runtime.
//!
//! A [`Connection`] is a deterministic state machine. Bytes and fds that a
//! driver read from a socket go in through [`Connection::handle_input`]; the
//! current time comes in as an [`Instant`] argument; commands such as
//! [`Connection::send_request`] queue frames; the driver takes the frames to
//! write from [`Connection::poll_transmit`] and what happened from
//! [`Connection::poll_event`]. The blocking driver ([`crate::blocking`]) and the
//! tokio driver are thin loops around it, which is what keeps them identical
//! in behaviour, and what lets the tests run two cores against each other on
//! a fake clock.
//!
//! The core knows endpoints only by [`EndpointInfo`] (name, magic, message
//! names for logs); it never decodes a message body. Drivers decode bodies
//! with [`Endpoint::decode_message`] or [`crate::codec::decode_from_parts`].
//!
//! Large bodies may travel through the shared-memory pool (see the `pool`
//! module's docs and [`PoolStats`]): the core owns the pool's mappings, but
//! still does no I/O.
//!
//! The core also answers the reserved introspection request by itself
//! ([`INTROSPECT_MAGIC`], [`Introspection`]), on both sides, so that a tool
//! can ask any service what it serves; such a tool connects with
//! [`Config::any_peer`](Config::any_peer()) and adopts the endpoints the
//! server's hello names.
//!
//! The bytes on the wire are specified in `docs/wire-format.md`.

mod connection;
mod frame;
mod hello;
mod introspect;
mod pool;

use std::fmt;
use std::num::NonZeroU32;
use std::os::fd::OwnedFd;
use std::time::Instant;

pub use connection::{COALESCE_BYTES, Connection, MessageRef};
pub use frame::{FLAG_ERROR, FLAG_RESPONSE, FrameHeader, HEADER_LEN, KNOWN_FLAGS};
pub use hello::{
    HELLO_FLAG_ANY_PEER, HELLO_FLAG_FINGERPRINTS, HELLO_FLAG_REFUSED, HELLO_FLAG_SHM_POOL,
    HELLO_MAGIC, PROTOCOL_VERSION, Refusal,
};
pub use introspect::{
    INTROSPECT_MAGIC, INTROSPECT_REQUEST, INTROSPECT_RESPONSE, IntrospectedEndpoint, Introspection,
};
pub use pool::{
    CONTROL_MAGIC, CONTROL_SEGMENT_DROP, CONTROL_SEGMENT_RELEASE, FLAG_SHM, FLAG_SHM_NEW_SEGMENT,
    PoolStats, SHM_DESCRIPTOR_LEN, ShmDescriptor,
};

use crate::endpoint::Endpoint;
use crate::error::{Error, HandshakeError, LimitError, ProtocolError, RemoteError};
use crate::limits::Limits;

/// Which side of the handshake a connection plays: the client speaks first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The side that connected; it sends its hello first.
    Client,
    /// The side that accepted; it answers the client's hello.
    Server,
}

/// What the core knows of an endpoint: enough to frame, check, log and
/// answer the introspection request.
///
/// # Example
///
/// ```
/// use courier::proto::EndpointInfo;
///
/// let info = EndpointInfo::of::<courier::NoMessages>();
/// assert_eq!(info.name, "NoMessages");
/// assert_eq!(info.definition, "");
///
/// let named = EndpointInfo::named("LookupServer", 3613307456);
/// assert_eq!((named.message_name)(1), None);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct EndpointInfo {
    /// [`Endpoint::NAME`].
    pub name: &'static str,
    /// [`Endpoint::MAGIC`].
    pub magic: u32,
    /// [`Endpoint::message_name`], for logs.
    pub message_name: fn(u32) -> Option<&'static str>,
    /// [`Endpoint::DEFINITION`]: the `.ipc` text sent to introspecting
    /// tools; empty when unknown.
    pub definition: &'static str,
    /// [`Endpoint::FINGERPRINT`]: the interface fingerprint the hello
    /// carries; `0` when unknown (no check).
    pub fingerprint: u64,
}

impl EndpointInfo {
    /// The info of endpoint `E`.
    pub fn of<E: Endpoint>() -> EndpointInfo {
        EndpointInfo {
            name: E::NAME,
            magic: E::MAGIC,
            message_name: E::message_name,
            definition: E::DEFINITION,
            fingerprint: E::FINGERPRINT,
        }
    }

    /// An endpoint known only by its name and magic: no message names, no
    /// definition, no fingerprint.
    pub const fn named(name: &'static str, magic: u32) -> EndpointInfo {
        EndpointInfo {
            name,
            magic,
            message_name: no_message_names,
            definition: "",
            fingerprint: 0,
        }
    }

    /// The same endpoint with interface fingerprint `fingerprint`
    /// ([`Endpoint::FINGERPRINT`]; `0` is unknown).
    ///
    /// ```
    /// use courier::proto::EndpointInfo;
    ///
    /// let info = EndpointInfo::named("LookupServer", 3613307456).with_fingerprint(7);
    /// assert_eq!(info.fingerprint, 7);
    /// ```
    pub const fn with_fingerprint(self, fingerprint: u64) -> EndpointInfo {
        EndpointInfo {
            fingerprint,
            ..self
        }
    }

    /// The name of message `id`, or `message <id>` when unknown.
    pub(crate) fn describe(&self, id: u32) -> MessageLabel {
        MessageLabel {
            name: (self.message_name)(id),
            id,
        }
    }
}

/// The message names of an endpoint known only by name: none.
fn no_message_names(_id: u32) -> Option<&'static str> {
    None
}

/// A message name for logs: `CreateWindow` or `message 17`.
pub(crate) struct MessageLabel {
    name: Option<&'static str>,
    id: u32,
}

impl fmt::Display for MessageLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(name) => f.write_str(name),
            None => write!(f, "message {}", self.id),
        }
    }
}

/// How to set up a [`Connection`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Client (speaks first) or server.
    pub side: Side,
    /// The endpoint this side handles: messages for it arrive as
    /// [`Event::Message`].
    pub local: EndpointInfo,
    /// The endpoint the peer handles: this side sends requests and one-way
    /// messages to it.
    pub peer: EndpointInfo,
    /// The limits this side enforces (and announces, for message size).
    pub limits: Limits,
    /// On a client: speak whatever the server serves. The hello carries
    /// [`HELLO_FLAG_ANY_PEER`], the server accepts it whatever its
    /// endpoints, and on the server's hello this side takes the server's
    /// peer endpoint as its local one and the server's local endpoint as
    /// its peer (names and magics only: [`EndpointInfo::message_name`]
    /// knows no names and the definition is empty; ask for it with
    /// [`Connection::send_introspect`]). `local` and `peer` are then only
    /// what [`Connection::local`] and [`Connection::peer`] say until the
    /// handshake completes. Ignored on a server.
    pub any_peer: bool,
}

impl Config {
    /// A configuration for endpoints `local` and `peer`, not any-peer.
    ///
    /// ```
    /// use courier::proto::{Config, EndpointInfo, Side};
    /// use courier::{Limits, NoMessages};
    ///
    /// let info = EndpointInfo::of::<NoMessages>();
    /// let config = Config::new(Side::Server, info, info, Limits::default());
    /// assert!(!config.any_peer);
    /// ```
    pub fn new(side: Side, local: EndpointInfo, peer: EndpointInfo, limits: Limits) -> Config {
        Config {
            side,
            local,
            peer,
            limits,
            any_peer: false,
        }
    }

    /// A client that speaks whatever the server serves (see
    /// [`Config::any_peer`](Config#structfield.any_peer)): what a generic
    /// tool uses to introspect a service and call it by magic and id.
    ///
    /// Before the handshake its endpoints are both [`ANY_PEER_NAME`] with
    /// magic 0; after it, the server's.
    ///
    /// ```
    /// use std::time::Instant;
    /// use courier::proto::{Config, Connection, EndpointInfo, Event, Side};
    /// use courier::{Endpoint, Limits, NoMessages};
    ///
    /// # struct LookupServer;
    /// # impl Endpoint for LookupServer {
    /// #     const NAME: &'static str = "LookupServer";
    /// #     const MAGIC: u32 = 3613307456;
    /// #     type Message = std::convert::Infallible;
    /// #     fn decode_message(id: u32, _: &mut courier::Decoder<'_>) -> Result<Self::Message, courier::DecodeError> {
    /// #         Err(courier::codec::DecodeErrorKind::UnknownMessage { endpoint: "LookupServer", id }.into())
    /// #     }
    /// #     fn message_name(_: u32) -> Option<&'static str> { None }
    /// # }
    /// let now = Instant::now();
    /// let mut tool = Connection::new(Config::any_peer(Limits::default()), now);
    /// let served = Config::new(
    ///     Side::Server,
    ///     EndpointInfo::of::<LookupServer>(),
    ///     EndpointInfo::of::<NoMessages>(),
    ///     Limits::default(),
    /// );
    /// let mut server = Connection::new(served, now);
    ///
    /// let hello = tool.poll_transmit().unwrap();
    /// server.handle_input(now, &hello.bytes, hello.fds);
    /// assert!(matches!(server.poll_event(), Some(Event::HandshakeComplete)));
    /// let hello = server.poll_transmit().unwrap();
    /// tool.handle_input(now, &hello.bytes, hello.fds);
    /// assert!(matches!(tool.poll_event(), Some(Event::HandshakeComplete)));
    /// assert_eq!((tool.peer().name, tool.peer().magic), ("LookupServer", 3613307456));
    /// assert_eq!((tool.local().name, tool.local().magic), ("NoMessages", 0));
    /// ```
    pub fn any_peer(limits: Limits) -> Config {
        let any = EndpointInfo::named(ANY_PEER_NAME, 0);
        Config {
            side: Side::Client,
            local: any,
            peer: any,
            limits,
            any_peer: true,
        }
    }
}

/// The endpoint name an any-peer client puts in its hello (for both of its
/// endpoints, with magic 0): not an identifier, so no `.ipc` file declares
/// it.
pub const ANY_PEER_NAME: &str = "*";

/// The id that matches a response to its request: never 0, unique among the
/// requests of one connection still waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(NonZeroU32);

impl RequestId {
    /// The id `value`, or `None` for 0 (which means "one-way" on the wire).
    pub fn new(value: u32) -> Option<RequestId> {
        NonZeroU32::new(value).map(RequestId)
    }

    /// The id as on the wire.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Bytes to write to the socket, with the fds that must travel with their
/// first byte (`SCM_RIGHTS` in the same `sendmsg`).
///
/// A driver writes `bytes` in order, possibly over several writes; the fds go
/// with the first write that sends at least one byte, after which the
/// driver drops (closes) its copies.
#[derive(Debug)]
pub struct Transmit {
    /// The bytes: one or more whole frames (or the hello).
    pub bytes: Vec<u8>,
    /// Fds to attach to the first byte.
    pub fds: Vec<OwnedFd>,
}

/// What happened on a connection, from [`Connection::poll_event`].
#[derive(Debug)]
pub enum Event {
    /// The handshake succeeded; commands may be given from now on.
    HandshakeComplete,
    /// A request or one-way message for the local endpoint.
    Message {
        /// The local endpoint's magic.
        magic: u32,
        /// The message id (decode with [`Endpoint::decode_message`]).
        id: u32,
        /// `Some` for a request: answer it with [`Connection::send_response`]
        /// or [`Connection::send_error_response`].
        request_id: Option<RequestId>,
        /// The message body.
        body: Vec<u8>,
        /// The fds that came with it, in order.
        fds: Vec<OwnedFd>,
    },
    /// The response to a request this side sent.
    Response {
        /// The request it answers.
        request_id: RequestId,
        /// The body and fds, or the remote handler's error.
        result: Result<(Vec<u8>, Vec<OwnedFd>), RemoteError>,
    },
    /// A request's deadline passed; a response that arrives later is
    /// discarded.
    CallTimedOut {
        /// The request that timed out.
        request_id: RequestId,
    },
    /// The connection is closed; no further events follow. Waiting requests
    /// will get no response. The driver should write what
    /// [`Connection::poll_transmit`] still returns without blocking (a
    /// server's hello after a failed handshake), then close the socket.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// Why a connection closed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer closed its end (end of file, reset, broken pipe).
    PeerClosed,
    /// This side closed it ([`Connection::close`] with no fault).
    Local,
    /// The handshake failed.
    Handshake(HandshakeError),
    /// The peer broke the wire protocol.
    Protocol(ProtocolError),
    /// The peer broke a limit.
    LimitExceeded(LimitError),
    /// The driver's socket failed.
    Io(std::io::Error),
}

impl CloseReason {
    /// Whether this is an orderly close (the peer went away, or this side
    /// closed), as opposed to a failure worth reporting.
    pub fn is_orderly(&self) -> bool {
        matches!(self, CloseReason::PeerClosed | CloseReason::Local)
    }

    /// The error a caller sees for this close: [`Error::Disconnected`] for an
    /// orderly close, the detailed error otherwise.
    pub fn into_error(self) -> Error {
        match self {
            CloseReason::PeerClosed | CloseReason::Local => Error::Disconnected,
            CloseReason::Handshake(e) => Error::Handshake(e),
            CloseReason::Protocol(e) => Error::Protocol(e),
            CloseReason::LimitExceeded(e) => Error::LimitExceeded(e),
            CloseReason::Io(e) => Error::Io(e),
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::PeerClosed => f.write_str("the peer closed the connection"),
            CloseReason::Local => f.write_str("closed by this side"),
            CloseReason::Handshake(e) => e.fmt(f),
            CloseReason::Protocol(e) => e.fmt(f),
            CloseReason::LimitExceeded(e) => e.fmt(f),
            CloseReason::Io(e) => write!(f, "the socket failed: {e}"),
        }
    }
}

impl From<ProtocolError> for CloseReason {
    fn from(error: ProtocolError) -> CloseReason {
        CloseReason::Protocol(error)
    }
}

impl From<LimitError> for CloseReason {
    fn from(error: LimitError) -> CloseReason {
        CloseReason::LimitExceeded(error)
    }
}

impl From<HandshakeError> for CloseReason {
    fn from(error: HandshakeError) -> CloseReason {
        CloseReason::Handshake(error)
    }
}

/// The earlier of two optional instants.
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod fast_tests;
#[cfg(test)]
mod fingerprint_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
