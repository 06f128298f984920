//! The receiving side: [`Handler`] and its [`Reply`].
//!
//! A handler takes the decoded messages of the local endpoint (requests and
//! one-way messages) one at a time, in the order the peer sent them, and
//! returns a [`Reply`] for each. Generated code implements it for a wrapper
//! around a typed server trait, matching on the endpoint's message enum:
//!
//! ```ignore
//! impl<T: WindowServerHandler> courier::Handler<WindowServer> for WindowServerService<T> {
//!     fn handle(&mut self, message: WindowServerMessage) -> courier::Reply {
//!         match message {
//!             WindowServerMessage::CreateWindow(m) => courier::Reply::from_result(
//!                 self.0.create_window(m.rect, m.title).map(|window_id| CreateWindowResponse { window_id }),
//!             ),
//!             WindowServerMessage::InvalidateRect(m) => {
//!                 self.0.invalidate_rect(m.window_id, m.rect);
//!                 courier::Reply::none()
//!             }
//!         }
//!     }
//! }
//! ```
//!
//! Both drivers (blocking and tokio) call handlers through the same code, so
//! a handler behaves the same under either.

use std::fmt;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard};

use tracing::{debug, error, trace, warn};

use crate::codec::{Decoder, encode_to_parts};
use crate::endpoint::{Endpoint, Message};
use crate::error::{Error, HandlerError, ProtocolError};
use crate::proto::{Connection, MessageRef, RequestId};

/// Handles the messages of endpoint `L`.
///
/// Implemented by generated code for each endpoint's server trait, and for
/// any closure `FnMut(L::Message) -> Reply`.
///
/// A handler that panics (with the default `panic = "unwind"`) does not
/// take the connection down: the panic is caught and logged, the caller of
/// a request gets [`Error::Remote`](crate::Error::Remote) saying the
/// handler panicked and with what message, and the next messages are
/// handled as usual by the same handler (whose state is as the panic left
/// it).
///
/// # Example
///
/// A handler for an endpoint that only receives one-way events, written as a
/// closure:
///
/// ```ignore
/// let mut seen = Vec::new();
/// connection.dispatch(&mut |event: WindowClientMessage| {
///     seen.push(event);
///     courier::Reply::none()
/// })?;
/// ```
pub trait Handler<L: Endpoint> {
    /// Handles one message. For a request, the reply is sent back to the
    /// caller: a response ([`Reply::response`]) or an error
    /// ([`Reply::error`]). For a one-way message, return [`Reply::none`].
    fn handle(&mut self, message: L::Message) -> Reply;
}

impl<L: Endpoint, F: FnMut(L::Message) -> Reply> Handler<L> for F {
    fn handle(&mut self, message: L::Message) -> Reply {
        self(message)
    }
}

/// What a [`Handler`] answers to a message.
///
/// # Example
///
/// ```ignore
/// // A request answered with its response struct, or an error:
/// Reply::from_result(lookup(&m.name).map(|address| LookupResponse { address }))
/// // A one-way message:
/// Reply::none()
/// ```
#[derive(Debug)]
#[must_use = "a reply does nothing unless returned from `Handler::handle`"]
pub struct Reply {
    kind: ReplyKind,
}

#[derive(Debug)]
enum ReplyKind {
    None,
    Response {
        magic: u32,
        message_id: u32,
        name: &'static str,
        body: Vec<u8>,
        fds: Vec<OwnedFd>,
    },
    Error(String),
    /// Answered later through a [`Responder`].
    Deferred(Arc<Mutex<DeferredState>>),
}

impl Reply {
    /// No reply: the answer to a one-way message.
    pub fn none() -> Reply {
        Reply {
            kind: ReplyKind::None,
        }
    }

    /// The response to a request, encoded now. If it cannot be encoded, the
    /// caller gets a remote error saying so.
    pub fn response<M: Message>(response: M) -> Reply {
        match encode_to_parts(&response) {
            Ok((body, fds)) => Reply {
                kind: ReplyKind::Response {
                    magic: M::Endpoint::MAGIC,
                    message_id: M::ID,
                    name: M::NAME,
                    body,
                    fds,
                },
            },
            Err(error) => {
                warn!("could not encode the response `{}`: {error}", M::NAME);
                Reply::error(HandlerError::new(format!(
                    "the service could not encode its `{}`: {error}",
                    M::NAME
                )))
            }
        }
    }

    /// An error: the caller gets [`Error::Remote`] with its message.
    pub fn error(error: HandlerError) -> Reply {
        Reply {
            kind: ReplyKind::Error(error.message().to_owned()),
        }
    }

    /// [`Reply::response`] or [`Reply::error`].
    pub fn from_result<M: Message>(result: Result<M, HandlerError>) -> Reply {
        match result {
            Ok(response) => Reply::response(response),
            Err(error) => Reply::error(error),
        }
    }

    /// A reply given later: return the [`Reply`] from the handler and answer
    /// through the [`Responder`] when the result is ready, from any thread or
    /// task. Meanwhile the connection goes on handling the next messages, so
    /// requests may be answered out of order.
    ///
    /// The request counts against the caller's
    /// [`Limits::max_in_flight_per_client`](crate::Limits::max_in_flight_per_client)
    /// until it is answered. A [`Responder`] dropped without answering sends
    /// the caller an error saying so.
    ///
    /// Supported by the tokio driver (`courier::tokio`). The blocking driver
    /// answers a deferred request with an error saying it needs the tokio
    /// driver, unless the responder already answered while the handler ran.
    ///
    /// # Example
    ///
    /// ```ignore
    /// fn handle(&mut self, message: WindowServerMessage) -> Reply {
    ///     match message {
    ///         WindowServerMessage::Render(m) => {
    ///             let (reply, responder) = Reply::deferred();
    ///             tokio::task::spawn_blocking(move || {
    ///                 responder.response(RenderResponse { pixels: render(m.scene) });
    ///             });
    ///             reply
    ///         }
    ///         // ...
    ///     }
    /// }
    /// ```
    pub fn deferred() -> (Reply, Responder) {
        let state = Arc::new(Mutex::new(DeferredState::Waiting));
        (
            Reply {
                kind: ReplyKind::Deferred(Arc::clone(&state)),
            },
            Responder { state: Some(state) },
        )
    }
}

/// Answers a request whose handler returned [`Reply::deferred`].
///
/// Answer once with [`respond`](Responder::respond) (or
/// [`response`](Responder::response), [`error`](Responder::error),
/// [`from_result`](Responder::from_result)); each consumes the responder.
/// Dropping it unanswered sends the caller an error. Answering after the
/// connection closed does nothing. The responder does not keep the
/// connection open.
#[must_use = "dropping a responder answers its request with an error"]
pub struct Responder {
    state: Option<Arc<Mutex<DeferredState>>>,
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("answered", &self.state.is_none())
            .finish()
    }
}

impl Responder {
    /// Answers with `reply`, as a handler's return value would.
    pub fn respond(mut self, reply: Reply) {
        if let Some(state) = self.state.take() {
            deliver(&state, reply);
        }
    }

    /// Answers with the request's response: [`Reply::response`].
    pub fn response<M: Message>(self, response: M) {
        self.respond(Reply::response(response));
    }

    /// Answers with an error: [`Reply::error`].
    pub fn error(self, error: HandlerError) {
        self.respond(Reply::error(error));
    }

    /// Answers with [`Reply::from_result`].
    pub fn from_result<M: Message>(self, result: Result<M, HandlerError>) {
        self.respond(Reply::from_result(result));
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            let message = "the service's handler dropped the request without answering it (a bug in the service)";
            deliver(&state, Reply::error(HandlerError::new(message)));
        }
    }
}

/// Where a deferred reply stands.
// Only the tokio driver binds deferred replies.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) enum DeferredState {
    /// Neither answered nor claimed by a driver yet.
    Waiting,
    /// Answered before a driver claimed it.
    Answered(Reply),
    /// Claimed by a driver: answering calls this.
    Bound(Box<dyn FnOnce(Reply) + Send>),
    /// Answered and delivered (or abandoned).
    Finished,
}

impl fmt::Debug for DeferredState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeferredState::Waiting => "Waiting",
            DeferredState::Answered(_) => "Answered",
            DeferredState::Bound(_) => "Bound",
            DeferredState::Finished => "Finished",
        })
    }
}

fn lock_state(state: &Mutex<DeferredState>) -> MutexGuard<'_, DeferredState> {
    // Only courier's own short critical sections run under this lock.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Hands `reply` to the driver that claimed the request, or keeps it for
/// the driver that will.
fn deliver(state: &Mutex<DeferredState>, reply: Reply) {
    let mut guard = lock_state(state);
    match std::mem::replace(&mut *guard, DeferredState::Finished) {
        DeferredState::Waiting => *guard = DeferredState::Answered(reply),
        DeferredState::Bound(sink) => {
            drop(guard);
            sink(reply);
        }
        DeferredState::Answered(_) | DeferredState::Finished => {}
    }
}

/// A request whose handler deferred its reply, as [`dispatch`] returns it.
#[derive(Debug)]
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) struct Deferred {
    request_id: RequestId,
    id: u32,
    state: Arc<Mutex<DeferredState>>,
}

#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
impl Deferred {
    /// Has `sink` called with the answer when the [`Responder`] answers (at
    /// once if it already has). `sink` runs on the responder's thread,
    /// without any lock of courier's held.
    pub(crate) fn bind<L: Endpoint>(self, sink: impl FnOnce(Answer) + Send + 'static) {
        let Deferred {
            request_id,
            id,
            state,
        } = self;
        let to_answer =
            move |reply: Reply| sink(answer_for::<L>(id, Some(request_id), reply.kind, false));
        let mut guard = lock_state(&state);
        match std::mem::replace(&mut *guard, DeferredState::Finished) {
            DeferredState::Waiting => *guard = DeferredState::Bound(Box::new(to_answer)),
            DeferredState::Answered(reply) => {
                drop(guard);
                to_answer(reply);
            }
            DeferredState::Bound(_) | DeferredState::Finished => {}
        }
    }
}

/// A message for the local endpoint, decoded (or not) under the driver's
/// lock and handed to a handler outside it.
#[derive(Debug)]
pub(crate) struct Decoded<M> {
    pub(crate) id: u32,
    pub(crate) request_id: Option<RequestId>,
    /// The message, or why its body did not decode.
    pub(crate) message: Result<M, ProtocolError>,
}

/// Decodes a message the core lends ([`Connection::poll_message_with`]):
/// the whole body and every fd must be used.
pub(crate) fn decode<L: Endpoint>(message: MessageRef<'_>) -> Decoded<L::Message> {
    let MessageRef {
        id,
        request_id,
        body,
        fds,
        ..
    } = message;
    let mut decoder = Decoder::new(body, fds);
    let decoded =
        L::decode_message(id, &mut decoder).and_then(|message| decoder.finish().map(|()| message));
    let message = decoded.map_err(|error| ProtocolError::malformed_message(L::NAME, id, &error));
    Decoded {
        id,
        request_id,
        message,
    }
}

/// What to send back after handling a message.
#[derive(Debug)]
pub(crate) enum Answer {
    None,
    Response {
        request_id: RequestId,
        body: Vec<u8>,
        fds: Vec<OwnedFd>,
    },
    Error {
        request_id: RequestId,
        message: String,
    },
    /// The handler will answer later; the driver binds it to the connection.
    Deferred(Deferred),
}

/// Hands a decoded message to `handler` and says what to send back.
///
/// # Errors
///
/// The [`ProtocolError`] of a body that did not decode: the driver closes
/// the connection (the peer does not speak this interface).
pub(crate) fn dispatch<L: Endpoint, H: Handler<L> + ?Sized>(
    handler: &mut H,
    decoded: Decoded<L::Message>,
) -> Result<Answer, ProtocolError> {
    let Decoded {
        id,
        request_id,
        message,
    } = decoded;
    let message = message?;
    if tracing::enabled!(tracing::Level::TRACE) {
        let name = L::message_name(id).unwrap_or("unknown message");
        trace!("handle {}::{name} {message:?}", L::NAME);
    }
    // A panicking handler is a bug in the service, not the caller's fault:
    // the caller gets an error response naming it (not a dropped
    // connection), and the connection and its other messages go on.
    let reply =
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler.handle(message))) {
            Ok(reply) => reply,
            Err(payload) => {
                let name = L::message_name(id).unwrap_or("unknown message");
                let what = panic_message(payload.as_ref());
                error!("the handler for `{}::{name}` panicked: {what}", L::NAME);
                return Ok(match request_id {
                    Some(request_id) => Answer::Error {
                        request_id,
                        message: format!("it panicked: {what} (a bug in the service)"),
                    },
                    None => Answer::None,
                });
            }
        };
    Ok(answer_for::<L>(id, request_id, reply.kind, true))
}

/// The message of a panic's payload (`panic!("...")` gives a `&str` or a
/// `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// What to send back for `reply` to message `id` (a request when
/// `request_id` is `Some`). `may_defer` is false for a reply given through a
/// [`Responder`], which cannot be deferred again.
fn answer_for<L: Endpoint>(
    id: u32,
    request_id: Option<RequestId>,
    reply: ReplyKind,
    may_defer: bool,
) -> Answer {
    if request_id.is_none() && matches!(reply, ReplyKind::None) {
        // The common one-way case: nothing to answer, nothing to log.
        return Answer::None;
    }
    let name = L::message_name(id).unwrap_or("unknown message");
    match (request_id, reply) {
        (None, ReplyKind::None) => Answer::None,
        (None, ReplyKind::Error(message)) => {
            warn!(
                "the handler for the one-way message `{}::{name}` failed: {message}",
                L::NAME
            );
            Answer::None
        }
        (None, ReplyKind::Response { name: response, .. }) => {
            warn!(
                "the handler for the one-way message `{}::{name}` returned a `{response}`; dropped",
                L::NAME
            );
            Answer::None
        }
        (None, ReplyKind::Deferred(state)) => {
            debug!(
                "the handler for the one-way message `{}::{name}` deferred its reply; nothing to answer",
                L::NAME
            );
            *lock_state(&state) = DeferredState::Finished;
            Answer::None
        }
        (Some(request_id), ReplyKind::Error(message)) => Answer::Error {
            request_id,
            message,
        },
        (Some(request_id), ReplyKind::None) => {
            warn!("the handler for `{}::{name}` returned no response", L::NAME);
            let message = format!(
                "the service's handler gave no response to `{name}` (a bug in the service)"
            );
            Answer::Error {
                request_id,
                message,
            }
        }
        (
            Some(request_id),
            ReplyKind::Response {
                magic,
                message_id,
                name: response,
                body,
                fds,
            },
        ) => {
            if magic == L::MAGIC && message_id == id.wrapping_add(1) {
                Answer::Response {
                    request_id,
                    body,
                    fds,
                }
            } else {
                warn!(
                    "the handler for `{}::{name}` answered with `{response}`, which is not its response",
                    L::NAME
                );
                let message = format!(
                    "the service's handler answered `{name}` with a `{response}` (a bug in the service)"
                );
                Answer::Error {
                    request_id,
                    message,
                }
            }
        }
        (Some(request_id), ReplyKind::Deferred(state)) => {
            let answered = {
                let mut guard = lock_state(&state);
                match std::mem::replace(&mut *guard, DeferredState::Waiting) {
                    DeferredState::Answered(reply) => {
                        *guard = DeferredState::Finished;
                        Some(reply)
                    }
                    other => {
                        *guard = other;
                        None
                    }
                }
            };
            match answered {
                // The responder answered while the handler still ran.
                Some(reply) if may_defer => {
                    answer_for::<L>(id, Some(request_id), reply.kind, false)
                }
                None if may_defer => Answer::Deferred(Deferred {
                    request_id,
                    id,
                    state,
                }),
                _ => {
                    warn!(
                        "the handler for `{}::{name}` answered through its responder with another deferred reply",
                        L::NAME
                    );
                    *lock_state(&state) = DeferredState::Finished;
                    let message = format!(
                        "the service's handler answered `{name}` with a deferred reply twice (a bug in the service)"
                    );
                    Answer::Error {
                        request_id,
                        message,
                    }
                }
            }
        }
    }
}

/// Queues `answer` on `core`. A response over a limit becomes an error
/// response naming the limit, so the caller never waits for nothing.
pub(crate) fn queue_answer(core: &mut Connection, answer: Answer) -> Result<(), Error> {
    match answer {
        Answer::None => Ok(()),
        Answer::Deferred(deferred) => {
            // A driver that supports deferred replies binds them instead of
            // coming here (the tokio driver); answer now rather than never.
            *lock_state(&deferred.state) = DeferredState::Finished;
            let message = "the service's handler deferred its reply, which this connection does not support \
                           (serve it with courier::tokio)";
            warn!("{message}");
            core.send_error_response(deferred.request_id, message)
        }
        Answer::Error {
            request_id,
            message,
        } => core.send_error_response(request_id, &message),
        Answer::Response {
            request_id,
            body,
            fds,
        } => match core.send_response(request_id, body, fds) {
            Err(Error::LimitExceeded(limit)) => {
                warn!("could not send a response: {limit}");
                core.send_error_response(
                    request_id,
                    &format!("the service could not send its response: {limit}"),
                )
            }
            other => other,
        },
    }
}
