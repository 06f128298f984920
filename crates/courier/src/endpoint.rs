//! What generated code implements: endpoints and their messages.
//!
//! `courier-codegen` emits, for each `endpoint` of an `.ipc` file, a type
//! implementing [`Endpoint`] and, for each message, a struct implementing
//! [`Message`] (and [`Request`] when it has a response). The runtime only
//! ever talks to these traits, never to a particular interface.

use std::fmt::Debug;

use crate::codec::{Decode, DecodeError, Decoder, Encode};

/// One side of an interface: the messages a peer may send to it.
///
/// # Example
///
/// A generated endpoint exposes its constants:
///
/// ```ignore
/// assert_eq!(<lookup_server::LookupServer as courier::Endpoint>::MAGIC, 3613307456);
/// ```
pub trait Endpoint: Send + Sync + 'static {
    /// The endpoint's name as written in the `.ipc` file.
    const NAME: &'static str;
    /// The SerenityOS magic: Jenkins one-at-a-time hash of [`Endpoint::NAME`].
    const MAGIC: u32;
    /// The canonical `.ipc` text of the file that declared this endpoint,
    /// with every endpoint of that file, as `courier_idl::print` renders it
    /// (doc comments kept, other comments dropped). Generated endpoints
    /// set it; it is empty for hand-written endpoints and [`NoMessages`].
    ///
    /// A server sends it in its answer to the reserved introspection
    /// request (`docs/wire-format.md`, "Introspection"), which is how a
    /// generic tool learns an interface it was not compiled with.
    const DEFINITION: &'static str = "";
    /// The interface fingerprint: a 64-bit hash of what fixes this
    /// endpoint's wire (its magic, and each message's id, name, kind and
    /// resolved types), as `courier_idl::fingerprint` computes it from the
    /// `.ipc` file (`docs/wire-format.md`, "Interface fingerprints").
    ///
    /// Each side's hello carries the fingerprints it was built with; when
    /// both sides know an endpoint's fingerprint and they differ, the
    /// handshake fails with
    /// [`HandshakeErrorKind::FingerprintMismatch`](crate::HandshakeErrorKind::FingerprintMismatch)
    /// instead of the first message whose layout changed. Generated
    /// endpoints set it; `0` (the default, for hand-written endpoints and
    /// [`NoMessages`]) means unknown: no check.
    const FINGERPRINT: u64 = 0;
    /// The enum of every message a peer may send *to* this endpoint (requests
    /// and one-way messages; responses travel back under the same magic but
    /// are decoded by the caller, which knows which response it waits for).
    type Message: Debug + Send + 'static;

    /// Decodes the body of message `id`, consuming every byte and fd.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] for an unknown id, a response id, or a malformed body.
    fn decode_message(id: u32, decoder: &mut Decoder<'_>) -> Result<Self::Message, DecodeError>;

    /// The name of message or response `id`, as written in the `.ipc` file
    /// (`CreateWindowResponse` for a response), for logs.
    fn message_name(id: u32) -> Option<&'static str>;
}

/// One message of an endpoint: a struct holding its parameters.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a message of a courier endpoint",
    label = "not a message generated from an `.ipc` file",
    note = "messages are the structs that courier-build generates for an endpoint's messages \
            (`include_ipc!`); a user type travels as one of their parameters"
)]
pub trait Message: Encode + Decode + Debug + Send + 'static {
    /// The endpoint that receives this message.
    type Endpoint: Endpoint;
    /// The message id: 1-based in declaration order; a request takes `n` and
    /// its response `n + 1`.
    const ID: u32;
    /// The name as written in the `.ipc` file.
    const NAME: &'static str;
}

/// A message that waits for a response.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no response, so it cannot be called",
    label = "a one-way message (`=|`) or not a message",
    note = "send a one-way message with `send`; only a message declared with `=>` is called"
)]
pub trait Request: Message {
    /// The response's struct; its id is `Self::ID + 1`.
    type Response: Message<Endpoint = Self::Endpoint>;
}

/// The endpoint of a side that receives no messages, for interfaces with a
/// single endpoint: a client of `LookupServer` that handles no events is a
/// connection with `NoMessages` as its local endpoint.
///
/// Its magic is 0 and it decodes nothing: a peer that sends it a message
/// is disconnected. Its message type is [`std::convert::Infallible`], so a
/// closure that handles its messages (where an API asks for one) is written
/// `|message: Infallible| match message {}`.
///
/// # Example
///
/// ```
/// use std::convert::Infallible;
///
/// use courier::{Endpoint, Handler, NoMessages, Reply};
///
/// assert_eq!(NoMessages::MAGIC, 0);
/// assert_eq!(NoMessages::message_name(1), None);
/// fn handles_nothing(_: impl Handler<NoMessages>) {}
/// handles_nothing(|message: Infallible| -> Reply { match message {} });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoMessages {}

impl Endpoint for NoMessages {
    const NAME: &'static str = "NoMessages";
    const MAGIC: u32 = 0;
    type Message = std::convert::Infallible;

    fn decode_message(id: u32, _decoder: &mut Decoder<'_>) -> Result<Self::Message, DecodeError> {
        Err(crate::codec::DecodeErrorKind::UnknownMessage {
            endpoint: "NoMessages",
            id,
        }
        .into())
    }

    fn message_name(_id: u32) -> Option<&'static str> {
        None
    }
}
