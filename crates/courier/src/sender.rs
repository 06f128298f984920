//! [`Sender`]: anything that sends one-way messages to an endpoint.

use std::sync::Arc;

use crate::blocking::BlockingConnection;
use crate::endpoint::{Endpoint, Message};
use crate::error::Error;

/// Sends one-way messages to endpoint `P`.
///
/// Implemented by every handle that talks to a `P`:
/// [`BlockingConnection<L, P>`](crate::blocking::BlockingConnection),
/// `courier::tokio::AsyncConnection<L, P>` and, on a server,
/// `courier::tokio::ClientHandle<P>` (the events a service sends to one
/// client). Generated code adds a typed method per one-way message of `P`
/// to every `T: Sender<P>`, so a server handler holding its client's handle
/// writes `client.paint(window_id, rect)?`.
///
/// Messages sent through one connection arrive in the order they were sent.
///
/// # Example
///
/// ```
/// use courier::{Endpoint, Error, Message, Sender};
///
/// /// Sends `message` to every client in `clients`, dropping those that left.
/// fn broadcast<P: Endpoint, S: Sender<P>, M: Message<Endpoint = P>>(clients: &mut Vec<S>, message: &M) {
///     clients.retain(|client| !matches!(client.send(message), Err(Error::Disconnected)));
/// }
/// ```
pub trait Sender<P: Endpoint> {
    /// Sends `message` one way: no response, no wait for the peer. Returns
    /// once the message is queued for the socket (the blocking connection:
    /// once it is written).
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] when the connection is closed,
    /// [`Error::LimitExceeded`] (nothing sent) when the message is over a
    /// limit, [`Error::Encode`] when it cannot be encoded.
    fn send<M: Message<Endpoint = P>>(&self, message: &M) -> Result<(), Error>;
}

impl<L: Endpoint, P: Endpoint> Sender<P> for BlockingConnection<L, P> {
    fn send<M: Message<Endpoint = P>>(&self, message: &M) -> Result<(), Error> {
        BlockingConnection::send(self, message)
    }
}

impl<P: Endpoint, S: Sender<P> + ?Sized> Sender<P> for &S {
    fn send<M: Message<Endpoint = P>>(&self, message: &M) -> Result<(), Error> {
        (**self).send(message)
    }
}

impl<P: Endpoint, S: Sender<P> + ?Sized> Sender<P> for Arc<S> {
    fn send<M: Message<Endpoint = P>>(&self, message: &M) -> Result<(), Error> {
        (**self).send(message)
    }
}

impl<P: Endpoint, S: Sender<P> + ?Sized> Sender<P> for Box<S> {
    fn send<M: Message<Endpoint = P>>(&self, message: &M) -> Result<(), Error> {
        (**self).send(message)
    }
}
