//! What the core's in-memory tests share: moving bytes between two
//! connections and reading their events.

use std::time::Instant;

use super::{Connection, Event};

/// Moves everything `from` has to write into `to`, one transmit at a time.
pub(super) fn pump(now: Instant, from: &mut Connection, to: &mut Connection) {
    while let Some(transmit) = from.poll_transmit() {
        to.handle_input(now, &transmit.bytes, transmit.fds);
    }
}

/// Every event `connection` has, in order.
pub(super) fn events_of(connection: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| connection.poll_event()).collect()
}

/// Runs the handshake between `client` and `server` and asserts that both
/// completed it, with no other event.
pub(super) fn complete_handshake(now: Instant, client: &mut Connection, server: &mut Connection) {
    pump(now, client, server);
    pump(now, server, client);
    assert!(matches!(events_of(server)[..], [Event::HandshakeComplete]));
    assert!(matches!(events_of(client)[..], [Event::HandshakeComplete]));
}
