//! The runtime's errors.
//!
//! [`Error`] holds the outcomes a caller branches on: the peer is gone, the
//! call timed out, the remote handler failed, a limit was hit. The detail of
//! handshake, protocol and limit failures lives in opaque structs with
//! accessors ([`HandshakeError`], [`ProtocolError`], [`LimitError`]), so it
//! can grow without breaking anyone. Every message says what happened, with
//! the numbers, and what to do.

use std::fmt;
use std::time::Duration;

use crate::codec::{DecodeError, DecodeErrorKind, EncodeError};
use crate::limits::{SCM_MAX_FD, format_size};
use crate::proto::Side;

/// Why a call, a send or a connection failed.
///
/// # Example
///
/// ```
/// use courier::Error;
///
/// fn describe(result: Result<i32, Error>) -> String {
///     match result {
///         Ok(id) => format!("window {id}"),
///         Err(Error::Disconnected) => "the window server went away".to_owned(),
///         Err(Error::Timeout) => "the window server is busy".to_owned(),
///         Err(Error::Remote(e)) => format!("refused: {}", e.message()),
///         Err(other) => other.to_string(),
///     }
/// }
/// assert_eq!(describe(Err(Error::Timeout)), "the window server is busy");
/// ```
///
/// `{:?}` prints the same sentence as `{}`, so that a `main` returning
/// `Result<(), courier::Error>` (or an `unwrap`) shows what happened and what
/// to do; `{:#?}` prints the structure.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer closed the connection (it exited, crashed or dropped its
    /// end), or the connection was closed earlier for a reason already
    /// reported. Reconnect to continue.
    #[error(
        "the connection is closed: the peer went away or the connection was shut down; reconnect to continue"
    )]
    Disconnected,
    /// No response arrived before the call's timeout. The connection stays
    /// usable; a response that arrives later is discarded.
    #[error(
        "no response arrived within the call's timeout; the peer may be busy or stuck (the connection stays usable)"
    )]
    Timeout,
    /// The peer's handler returned an error.
    #[error(transparent)]
    Remote(RemoteError),
    /// The handshake failed: wrong service, wrong protocol, refused peer.
    #[error(transparent)]
    Handshake(HandshakeError),
    /// The peer broke the wire protocol; the connection was closed.
    #[error(transparent)]
    Protocol(ProtocolError),
    /// A limit of [`Limits`](crate::Limits) was hit: by a local send (nothing
    /// was sent) or by the peer (the connection was closed).
    #[error(transparent)]
    LimitExceeded(LimitError),
    /// A value of the message could not be encoded; nothing was sent.
    #[error("could not encode the message: {0}")]
    Encode(#[source] EncodeError),
    /// A received message or response could not be decoded; the connection
    /// was closed, since the peer does not speak the same interface.
    #[error(
        "could not decode what the peer sent: {0}; are both sides built from the same .ipc file?"
    )]
    Decode(#[source] DecodeError),
    /// An operating-system call failed (connecting, polling, reading).
    #[error(transparent)]
    Io(std::io::Error),
    /// Finding, binding or taking over a service by name failed (see
    /// [`crate::discovery`]).
    #[error(transparent)]
    Discovery(crate::discovery::DiscoveryError),
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !f.alternate() {
            return fmt::Display::fmt(self, f);
        }
        match self {
            Error::Disconnected => f.write_str("Disconnected"),
            Error::Timeout => f.write_str("Timeout"),
            Error::Remote(error) => f.debug_tuple("Remote").field(error).finish(),
            Error::Handshake(error) => f.debug_tuple("Handshake").field(error).finish(),
            Error::Protocol(error) => f.debug_tuple("Protocol").field(error).finish(),
            Error::LimitExceeded(error) => f.debug_tuple("LimitExceeded").field(error).finish(),
            Error::Encode(error) => f.debug_tuple("Encode").field(error).finish(),
            Error::Decode(error) => f.debug_tuple("Decode").field(error).finish(),
            Error::Io(error) => f.debug_tuple("Io").field(error).finish(),
            Error::Discovery(error) => f.debug_tuple("Discovery").field(error).finish(),
        }
    }
}

impl From<crate::discovery::DiscoveryError> for Error {
    fn from(error: crate::discovery::DiscoveryError) -> Error {
        Error::Discovery(error)
    }
}

impl From<EncodeError> for Error {
    fn from(error: EncodeError) -> Error {
        Error::Encode(error)
    }
}

impl From<RemoteError> for Error {
    fn from(error: RemoteError) -> Error {
        Error::Remote(error)
    }
}

impl From<HandshakeError> for Error {
    fn from(error: HandshakeError) -> Error {
        Error::Handshake(error)
    }
}

impl From<ProtocolError> for Error {
    fn from(error: ProtocolError) -> Error {
        Error::Protocol(error)
    }
}

impl From<LimitError> for Error {
    fn from(error: LimitError) -> Error {
        Error::LimitExceeded(error)
    }
}

/// The error a remote handler returned, as the caller receives it.
///
/// # Example
///
/// ```
/// # fn check(error: courier::Error) {
/// if let courier::Error::Remote(remote) = error {
///     eprintln!("the service said: {}", remote.message());
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    message: String,
    request: Option<&'static str>,
}

impl RemoteError {
    pub(crate) fn new(message: String, request: Option<&'static str>) -> RemoteError {
        RemoteError { message, request }
    }

    /// The handler's message, exactly as it was returned.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The name of the request that failed, when known.
    pub fn request(&self) -> Option<&'static str> {
        self.request
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.request {
            Some(name) => write!(
                f,
                "the peer's handler for `{name}` failed: {}",
                self.message
            ),
            None => write!(f, "the peer's handler failed: {}", self.message),
        }
    }
}

impl std::error::Error for RemoteError {}

/// The error a handler returns; the caller receives its message as a
/// [`RemoteError`].
///
/// Any `std::error::Error` converts into it, so `?` works inside handlers.
/// (Like `anyhow::Error`, it does not itself implement `std::error::Error`,
/// which is what makes that conversion possible.)
///
/// # Example
///
/// ```
/// use courier::HandlerError;
///
/// fn parse_id(text: &str) -> Result<i32, HandlerError> {
///     if text.is_empty() {
///         return Err(HandlerError::new("the id is empty"));
///     }
///     Ok(text.parse::<i32>()?)
/// }
/// assert_eq!(parse_id("").unwrap_err().message(), "the id is empty");
/// assert!(parse_id("x").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    message: String,
}

impl HandlerError {
    /// An error with `message`, sent to the caller as is.
    pub fn new(message: impl Into<String>) -> HandlerError {
        HandlerError {
            message: message.into(),
        }
    }

    /// The message the caller will receive.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HandlerError {
    fn from(error: E) -> HandlerError {
        HandlerError::new(error.to_string())
    }
}

/// An endpoint as named in a handshake: its name and magic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointName {
    /// The name as written in the `.ipc` file.
    pub name: String,
    /// The endpoint magic (Jenkins hash of the name).
    pub magic: u32,
}

impl fmt::Display for EndpointName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` (magic {})", self.name, self.magic)
    }
}

/// Why a handshake failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeError {
    kind: Box<HandshakeErrorKind>,
}

/// What went wrong in a handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeErrorKind {
    /// The peer's first bytes are not `CRIR`: it does not speak courier.
    NotCourier {
        /// The first bytes received (at most 4).
        received: Vec<u8>,
    },
    /// The peer speaks another protocol version.
    Version {
        /// This side's version.
        ours: u16,
        /// The peer's version.
        theirs: u16,
    },
    /// The peer set handshake flags this version does not know.
    Flags(u16),
    /// An endpoint name in the peer's hello is not UTF-8.
    InvalidName,
    /// The two sides do not speak the same pair of endpoints.
    EndpointMismatch {
        /// Which side this is.
        side: Side,
        /// The endpoint this side handles.
        local: EndpointName,
        /// The endpoint this side expected the peer to handle.
        expected_peer: EndpointName,
        /// The endpoint the peer handles.
        peer_local: EndpointName,
        /// The endpoint the peer expected this side to handle.
        peer_expects: EndpointName,
    },
    /// Both sides speak the same endpoints, but were built from different
    /// versions of the `.ipc` file that declares `endpoint`: their interface
    /// fingerprints ([`Endpoint::FINGERPRINT`](crate::Endpoint::FINGERPRINT))
    /// differ. Checked only when both sides know the fingerprint (non-zero).
    FingerprintMismatch {
        /// Which side this is.
        side: Side,
        /// The endpoint whose fingerprints differ (when both endpoints'
        /// differ, the server's: the one the client calls).
        endpoint: EndpointName,
        /// This side's fingerprint of `endpoint`.
        ours: u64,
        /// The peer's fingerprint of `endpoint`.
        theirs: u64,
    },
    /// The peer closed the connection before the handshake completed.
    PeerClosed,
    /// The handshake did not complete in time.
    TimedOut(Duration),
    /// The service already serves as many clients as its
    /// [`Limits::max_clients`](crate::Limits::max_clients) allows, and
    /// refused this one.
    ServiceFull {
        /// Clients the service serves.
        clients: u32,
        /// Its limit.
        max_clients: u32,
    },
    /// The service refused the connection for a reason this version does not
    /// know (a newer peer).
    Refused {
        /// The reason code from the peer's hello.
        reason: u16,
    },
    /// A server's [`PeerPolicy`](crate::discovery::PeerPolicy) refused the
    /// peer.
    PeerRefused {
        /// Who the peer is.
        peer: crate::peer::PeerCredentials,
        /// The policy that refused it, described (`same user (uid 1000)`).
        policy: String,
    },
}

impl HandshakeError {
    pub(crate) fn new(kind: HandshakeErrorKind) -> HandshakeError {
        HandshakeError {
            kind: Box::new(kind),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &HandshakeErrorKind {
        &self.kind
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            HandshakeErrorKind::NotCourier { received } => {
                let hex: Vec<String> = received.iter().map(|b| format!("{b:02x}")).collect();
                write!(
                    f,
                    "the peer does not speak the courier protocol: its first bytes were [{}], not `CRIR`; check the socket path",
                    hex.join(" ")
                )
            }
            HandshakeErrorKind::Version { ours, theirs } => write!(
                f,
                "the peer speaks courier protocol version {theirs}, this side speaks version {ours}; rebuild the older side with a matching courier"
            ),
            HandshakeErrorKind::Flags(flags) => write!(
                f,
                "the peer's hello sets flags {flags:#06x} that this version does not know; rebuild the older side with a matching courier"
            ),
            HandshakeErrorKind::InvalidName => {
                f.write_str("the peer's hello names an endpoint in bytes that are not UTF-8; the peer is not a courier program")
            }
            HandshakeErrorKind::EndpointMismatch {
                side,
                local,
                expected_peer,
                peer_local,
                peer_expects,
            } => {
                let hint = "check the socket path and that both sides are built from the same .ipc file";
                match side {
                    Side::Client if expected_peer != peer_local => write!(
                        f,
                        "this client expects the service to serve {expected_peer}, but it serves {peer_local}; {hint}"
                    ),
                    Side::Client => write!(
                        f,
                        "the service serves {peer_local} and expects its clients to handle {peer_expects}, but this client handles {local}; build the client with `{expects}` as its local endpoint (`{serves}Client<{expects}>`, `BlockingConnection::<{expects}, {serves}>`), or {hint}",
                        expects = peer_expects.name,
                        serves = peer_local.name,
                    ),
                    Side::Server if peer_expects != local => write!(
                        f,
                        "a client expected this service to serve {peer_expects}, but it serves {local}; {hint}"
                    ),
                    Side::Server => write!(
                        f,
                        "this service expects its clients to handle {expected_peer}, but a client handles {peer_local}; the client must be built with `{expects}` as its local endpoint (`{serves}Client<{expects}>`), or {hint}",
                        expects = expected_peer.name,
                        serves = local.name,
                    ),
                }
            }
            HandshakeErrorKind::FingerprintMismatch {
                side,
                endpoint,
                ours,
                theirs,
            } => {
                let (this, peer) = match side {
                    Side::Client => ("this client", "the service"),
                    Side::Server => ("this service", "the client"),
                };
                write!(
                    f,
                    "{this} and {peer} were built from different versions of the .ipc file of {endpoint}: its fingerprint is {ours:#018x} here and {theirs:#018x} in {peer}; rebuild both from the same .ipc file"
                )
            }
            HandshakeErrorKind::PeerClosed => f.write_str(
                "the peer closed the connection during the handshake; it may have refused this connection (see its logs)",
            ),
            HandshakeErrorKind::TimedOut(after) => write!(
                f,
                "the handshake did not complete within {after:?}; the peer is stuck or is not a courier program (raise `Limits::handshake_timeout` if it is just slow)"
            ),
            HandshakeErrorKind::ServiceFull { clients, max_clients } => write!(
                f,
                "the service is full: it serves {clients} clients and its `Limits::max_clients` is {max_clients}; try again later, or raise that limit on the service"
            ),
            HandshakeErrorKind::Refused { reason } => write!(
                f,
                "the service refused the connection (reason {reason}, unknown to this version of courier); see the service's logs"
            ),
            HandshakeErrorKind::PeerRefused { peer, policy } => write!(
                f,
                "refused a peer (pid {}, uid {}, gid {}): the service's peer policy is {policy}; if it should be served, give the service a `PeerPolicy` that admits it (`PeerPolicy::Uids`, `PeerPolicy::Any`)",
                peer.pid, peer.uid, peer.gid
            ),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// How the peer broke the wire protocol (or how a driver misused the core).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    kind: Box<ProtocolErrorKind>,
    /// The typed decode failure behind a [`ProtocolErrorKind::MalformedMessage`].
    decode: Option<Box<DecodeErrorKind>>,
}

/// What broke the wire protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolErrorKind {
    /// A frame header sets flag bits that are not defined.
    UnknownFlags(u16),
    /// A frame has the ERROR flag without the RESPONSE flag.
    ErrorWithoutResponse,
    /// A message (not a response) names an endpoint this side does not handle.
    WrongMagic {
        /// The magic of the endpoint this side handles.
        expected: u32,
        /// The magic in the frame.
        found: u32,
    },
    /// A response for a request id that is not waiting (and never timed out).
    UnexpectedResponse {
        /// The request id of the response.
        request_id: u32,
    },
    /// A response whose magic or message id does not fit its request.
    ResponseMismatch {
        /// The request id.
        request_id: u32,
        /// The response message id expected (request id + 1).
        expected_id: u32,
        /// The message id in the frame.
        found_id: u32,
        /// The magic in the frame.
        found_magic: u32,
    },
    /// A response with request id 0.
    ResponseWithoutRequest,
    /// A request reuses the id of a request still waiting for its response.
    DuplicateRequestId(u32),
    /// A frame announces more fds than arrived with it.
    MissingFds {
        /// Fds announced in the header.
        announced: usize,
        /// Fds that arrived.
        arrived: usize,
    },
    /// Fds arrived that no frame claims.
    StrayFds(usize),
    /// The kernel dropped fds because the receive buffer was too small
    /// (`MSG_CTRUNC`).
    FdsTruncated,
    /// Fds arrived during the handshake.
    FdsInHandshake,
    /// An error response carries fds or a body that is not a string.
    MalformedErrorResponse(String),
    /// A message body could not be decoded into the local endpoint's message.
    MalformedMessage {
        /// The endpoint name.
        endpoint: &'static str,
        /// The message id.
        message_id: u32,
        /// Why decoding failed.
        reason: String,
    },
    /// A response to a local call could not be decoded.
    MalformedResponse {
        /// The response's name.
        response: &'static str,
        /// Why decoding failed.
        reason: String,
    },
    /// A command was given before the handshake completed (a driver bug).
    NotReady,
    /// A command named an endpoint other than the connection's peer (a driver
    /// bug).
    WrongEndpoint {
        /// The peer endpoint's magic.
        expected: u32,
        /// The magic given.
        found: u32,
    },
    /// A response was sent for a request that is not waiting for one.
    NoSuchRequest(u32),
    /// The peer misused the shared-memory pool (`docs/wire-format.md`,
    /// "Shared-memory pool"): a descriptor out of range, an unknown segment,
    /// a segment that is not a sealed memfd, too many segments...
    SharedMemoryPool(String),
}

impl ProtocolError {
    pub(crate) fn new(kind: ProtocolErrorKind) -> ProtocolError {
        ProtocolError {
            kind: Box::new(kind),
            decode: None,
        }
    }

    /// A [`ProtocolErrorKind::MalformedMessage`] for a body that failed to
    /// decode with `error`, which stays available, typed, through
    /// [`ProtocolError::decode_error_kind`].
    pub(crate) fn malformed_message(
        endpoint: &'static str,
        message_id: u32,
        error: &DecodeError,
    ) -> ProtocolError {
        ProtocolError {
            kind: Box::new(ProtocolErrorKind::MalformedMessage {
                endpoint,
                message_id,
                reason: error.to_string(),
            }),
            decode: Some(Box::new(error.kind().clone())),
        }
    }

    /// For a message whose body did not decode
    /// ([`ProtocolErrorKind::MalformedMessage`]), what the decoder said, as
    /// its type (the `reason` holds the sentence): a service can tell, say,
    /// a [`DecodeErrorKind::SharedBufferTooSmall`] from other malformed
    /// input. `None` for every other protocol error.
    ///
    /// ```
    /// # use courier::{Error, codec::DecodeErrorKind};
    /// fn lied_about_shared_memory(error: &Error) -> bool {
    ///     matches!(
    ///         error,
    ///         Error::Protocol(e) if matches!(
    ///             e.decode_error_kind(),
    ///             Some(DecodeErrorKind::SharedBufferTooSmall { .. })
    ///         )
    ///     )
    /// }
    /// ```
    pub fn decode_error_kind(&self) -> Option<&DecodeErrorKind> {
        self.decode.as_deref()
    }

    /// What went wrong.
    pub fn kind(&self) -> &ProtocolErrorKind {
        &self.kind
    }
}

impl From<ProtocolErrorKind> for ProtocolError {
    fn from(kind: ProtocolErrorKind) -> ProtocolError {
        ProtocolError::new(kind)
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            ProtocolErrorKind::UnknownFlags(flags) => {
                write!(f, "the peer sent a frame with unknown flags {flags:#06x}")
            }
            ProtocolErrorKind::ErrorWithoutResponse => {
                f.write_str("the peer sent a frame flagged ERROR but not RESPONSE")
            }
            ProtocolErrorKind::WrongMagic { expected, found } => write!(
                f,
                "the peer sent a message for endpoint magic {found}, but this side handles magic {expected}"
            ),
            ProtocolErrorKind::UnexpectedResponse { request_id } => write!(
                f,
                "the peer sent a response to request {request_id}, which this side never sent or already answered"
            ),
            ProtocolErrorKind::ResponseMismatch { request_id, expected_id, found_id, found_magic } => write!(
                f,
                "the peer answered request {request_id} with message {found_id} (magic {found_magic}), expected response message {expected_id}"
            ),
            ProtocolErrorKind::ResponseWithoutRequest => {
                f.write_str("the peer sent a response with request id 0")
            }
            ProtocolErrorKind::DuplicateRequestId(id) => write!(
                f,
                "the peer reused request id {id} while that request is still waiting for its response"
            ),
            ProtocolErrorKind::MissingFds { announced, arrived } => write!(
                f,
                "the peer announced {announced} file descriptors in a frame but only {arrived} arrived with it"
            ),
            ProtocolErrorKind::StrayFds(n) => {
                write!(f, "the peer sent {n} file descriptors that no message claims")
            }
            ProtocolErrorKind::FdsTruncated => f.write_str(
                "file descriptors from the peer were dropped by the kernel (MSG_CTRUNC): more arrived at once than a message may carry",
            ),
            ProtocolErrorKind::FdsInHandshake => {
                f.write_str("the peer sent file descriptors during the handshake")
            }
            ProtocolErrorKind::MalformedErrorResponse(why) => {
                write!(f, "the peer sent a malformed error response: {why}")
            }
            ProtocolErrorKind::MalformedMessage { endpoint, message_id, reason } => write!(
                f,
                "the peer sent message {message_id} for `{endpoint}` that does not decode: {reason}; are both sides built from the same .ipc file?"
            ),
            ProtocolErrorKind::MalformedResponse { response, reason } => write!(
                f,
                "the peer sent a `{response}` that does not decode: {reason}; are both sides built from the same .ipc file?"
            ),
            ProtocolErrorKind::NotReady => {
                f.write_str("a message was sent before the handshake completed (a bug in the driver)")
            }
            ProtocolErrorKind::WrongEndpoint { expected, found } => write!(
                f,
                "a message for endpoint magic {found} was sent on a connection whose peer handles magic {expected}"
            ),
            ProtocolErrorKind::NoSuchRequest(id) => write!(
                f,
                "a response was sent for request {id}, which is not waiting for one (answered twice?)"
            ),
            ProtocolErrorKind::SharedMemoryPool(why) => {
                write!(f, "the peer misused the shared-memory pool: {why}")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Which limit of [`Limits`](crate::Limits) was hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_message_bytes`](crate::Limits::max_message_bytes).
    MessageBytes,
    /// [`Limits::max_fds_per_message`](crate::Limits::max_fds_per_message).
    FdsPerMessage,
    /// [`Limits::max_in_flight_per_client`](crate::Limits::max_in_flight_per_client).
    InFlight,
    /// [`Limits::max_messages_per_second`](crate::Limits::max_messages_per_second).
    MessageRate,
    /// [`Limits::max_clients`](crate::Limits::max_clients).
    Clients,
    /// [`Limits::max_unsent_bytes`](crate::Limits::max_unsent_bytes).
    UnsentBytes,
}

impl Limit {
    /// The name of the setting, as written in code (`Limits::max_message_bytes`).
    pub fn setting(self) -> &'static str {
        match self {
            Limit::MessageBytes => "Limits::max_message_bytes",
            Limit::FdsPerMessage => "Limits::max_fds_per_message",
            Limit::InFlight => "Limits::max_in_flight_per_client",
            Limit::MessageRate => "Limits::max_messages_per_second",
            Limit::Clients => "Limits::max_clients",
            Limit::UnsentBytes => "Limits::max_unsent_bytes",
        }
    }
}

/// Who hit a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitSide {
    /// A local send; nothing was sent.
    Sending,
    /// The peer; the connection was closed.
    Receiving,
}

/// A limit was hit.
///
/// # Example
///
/// ```
/// # fn check(error: courier::Error) {
/// if let courier::Error::LimitExceeded(limit) = &error {
///     eprintln!("{} is {} but at most {} is allowed", limit.limit().setting(), limit.actual(), limit.maximum());
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    limit: Limit,
    side: LimitSide,
    actual: u64,
    maximum: u64,
}

impl LimitError {
    pub(crate) fn new(limit: Limit, side: LimitSide, actual: u64, maximum: u64) -> LimitError {
        LimitError {
            limit,
            side,
            actual,
            maximum,
        }
    }

    /// Which limit.
    pub fn limit(&self) -> Limit {
        self.limit
    }

    /// Whether a local send or the peer hit it.
    pub fn side(&self) -> LimitSide {
        self.side
    }

    /// The value that broke the limit (bytes, fds, calls, messages).
    pub fn actual(&self) -> u64 {
        self.actual
    }

    /// The limit in force.
    pub fn maximum(&self) -> u64 {
        self.maximum
    }
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (actual, maximum, setting) = (self.actual, self.maximum, self.limit.setting());
        match (self.limit, self.side) {
            (Limit::MessageBytes, LimitSide::Sending) => write!(
                f,
                "message of {} exceeds the {} limit; raise `{setting}` on both sides",
                format_size(actual),
                format_size(maximum)
            ),
            (Limit::MessageBytes, LimitSide::Receiving) => write!(
                f,
                "the peer sent a message of {}, over the {} limit; raise `{setting}` on both sides",
                format_size(actual),
                format_size(maximum)
            ),
            (Limit::FdsPerMessage, LimitSide::Sending) => write!(
                f,
                "message carries {actual} file descriptors, over the limit of {maximum}; raise `{setting}` on both sides (at most {SCM_MAX_FD})"
            ),
            (Limit::FdsPerMessage, _) => write!(
                f,
                "the peer sent a message with {actual} file descriptors, over the limit of {maximum}; raise `{setting}` on both sides (at most {SCM_MAX_FD})"
            ),
            (Limit::InFlight, LimitSide::Sending) => write!(
                f,
                "{actual} calls are already waiting for a response, the limit is {maximum}; wait for some to finish or raise `{setting}` on both sides"
            ),
            (Limit::InFlight, _) => write!(
                f,
                "the peer has more than {maximum} calls waiting for a response; raise `{setting}` on both sides"
            ),
            (Limit::MessageRate, _) => write!(
                f,
                "the peer sent more than {maximum} messages per second (burst included); raise `{setting}` if this rate is expected"
            ),
            (Limit::Clients, _) => write!(
                f,
                "the service already serves {actual} clients, the limit is {maximum}; raise `{setting}`"
            ),
            (Limit::UnsentBytes, _) => write!(
                f,
                "the peer is not reading: {} of output are waiting to be written, over the {} limit; \
                 the peer must read what it is sent (raise `{setting}` if it is only slow)",
                format_size(actual),
                format_size(maximum)
            ),
        }
    }
}

impl std::error::Error for LimitError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_built_without_the_client_endpoint_is_told_which_to_use() {
        let name = |name: &str, magic| EndpointName {
            name: name.to_owned(),
            magic,
        };
        let error = HandshakeError::new(HandshakeErrorKind::EndpointMismatch {
            side: Side::Client,
            local: name("NoMessages", 0),
            expected_peer: name("KvStore", 1),
            peer_local: name("KvStore", 1),
            peer_expects: name("KvClient", 2),
        });
        assert_eq!(
            error.to_string(),
            "the service serves `KvStore` (magic 1) and expects its clients to handle `KvClient` (magic 2), \
             but this client handles `NoMessages` (magic 0); build the client with `KvClient` as its local \
             endpoint (`KvStoreClient<KvClient>`, `BlockingConnection::<KvClient, KvStore>`), or check the \
             socket path and that both sides are built from the same .ipc file"
        );
    }

    #[test]
    fn debug_is_the_message_and_alternate_debug_the_structure() {
        let error = Error::from(LimitError::new(
            Limit::MessageBytes,
            LimitSide::Sending,
            80 << 20,
            64 << 20,
        ));
        // What `main() -> Result<(), courier::Error>` prints.
        assert_eq!(format!("{error:?}"), error.to_string());
        assert!(
            format!("{error:#?}").starts_with("LimitExceeded(\n    LimitError {"),
            "{error:#?}"
        );
        assert_eq!(format!("{:#?}", Error::Timeout), "Timeout");
    }

    #[test]
    fn the_size_limit_message_names_size_limit_and_setting() {
        let e = LimitError::new(Limit::MessageBytes, LimitSide::Sending, 80 << 20, 64 << 20);
        assert_eq!(
            e.to_string(),
            "message of 80 MiB exceeds the 64 MiB limit; raise `Limits::max_message_bytes` on both sides"
        );
    }

    #[test]
    fn an_endpoint_mismatch_names_both_endpoints() {
        let name = |n: &str, m| EndpointName {
            name: n.to_owned(),
            magic: m,
        };
        let e = HandshakeError::new(HandshakeErrorKind::EndpointMismatch {
            side: Side::Client,
            local: name("WindowClient", 1),
            expected_peer: name("WindowServer", 2),
            peer_local: name("ClipboardServer", 3),
            peer_expects: name("ClipboardClient", 4),
        });
        let text = e.to_string();
        assert!(
            text.starts_with("this client expects the service to serve `WindowServer` (magic 2), but it serves `ClipboardServer` (magic 3)"),
            "{text}"
        );
    }

    #[test]
    fn handler_errors_convert_from_std_errors() {
        let e: HandlerError = "x".parse::<i32>().unwrap_err().into();
        assert_eq!(e.message(), "invalid digit found in string");
    }
}
