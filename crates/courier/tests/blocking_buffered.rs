//! `BlockingConnection::send_buffered` and `flush`: buffered one-way messages
//! keep their order with everything else, and leave by the next call, an
//! explicit flush, or the drop of the last handle. Over socketpairs, the
//! server on a thread of this process.

#[path = "common/runtime/mod.rs"]
mod runtime_common;
#[path = "support/mod.rs"]
mod support;

use std::os::unix::net::UnixStream;
use std::sync::mpsc;

use courier::blocking::BlockingConnection;
use courier::{Error, Handler, Limits, Reply};
use runtime_common::echo::echo_server::Push;
use runtime_common::echo::{EchoClient, EchoServer, EchoServerClient, EchoServerMessage};
use runtime_common::fd_check;

#[test]
fn buffered_messages_arrive_in_order_before_the_next_call_answers() {
    let fds = fd_check();
    let (client_end, server_end) = UnixStream::pair().unwrap();
    let server =
        std::thread::spawn(move || runtime_common::serve_echo(server_end, Limits::default()));
    let connection = BlockingConnection::<EchoClient, EchoServer>::from_stream(client_end).unwrap();
    let client = EchoServerClient::from_connection(connection.clone());
    // Enough small frames to cross the 64 KiB coalescing size several
    // times, mixed with plain sends, which write everything before them.
    for value in 0..20_000 {
        if value % 1000 == 999 {
            client.push(value).unwrap();
        } else {
            connection.send_buffered(&Push { value }).unwrap();
        }
    }
    assert_eq!(
        client.take_pushed().unwrap(),
        (0..20_000).collect::<Vec<i32>>()
    );
    // A few buffered messages, then an explicit flush and a call.
    for value in 0..3 {
        connection.send_buffered(&Push { value }).unwrap();
    }
    connection.flush().unwrap();
    assert_eq!(client.take_pushed().unwrap(), vec![0, 1, 2]);
    drop((client, connection));
    server.join().unwrap().unwrap();
    fds.finish();
}

/// Records the values of `Push` messages and sends them on when the peer
/// has gone.
struct Recorder {
    pushed: Vec<i32>,
}

impl Handler<EchoServer> for Recorder {
    fn handle(&mut self, message: EchoServerMessage) -> Reply {
        if let EchoServerMessage::Push(push) = message {
            self.pushed.push(push.value);
        }
        Reply::none()
    }
}

#[test]
fn dropping_the_last_handle_writes_what_was_buffered() {
    let fds = fd_check();
    let (client_end, server_end) = UnixStream::pair().unwrap();
    let (values, received) = mpsc::channel();
    let server = std::thread::spawn(move || {
        let connection = BlockingConnection::<EchoServer, EchoClient>::accept(server_end).unwrap();
        let mut recorder = Recorder { pushed: Vec::new() };
        let result = connection.serve(&mut recorder);
        values.send(recorder.pushed).unwrap();
        result
    });
    let connection = BlockingConnection::<EchoClient, EchoServer>::from_stream(client_end).unwrap();
    let clone = connection.clone();
    for value in 0..5 {
        connection.send_buffered(&Push { value }).unwrap();
    }
    // Not the last handle: nothing is forced out yet, and nothing is lost.
    drop(connection);
    clone.send_buffered(&Push { value: 5 }).unwrap();
    drop(clone);
    assert_eq!(received.recv().unwrap(), vec![0, 1, 2, 3, 4, 5]);
    server.join().unwrap().unwrap();
    fds.finish();
}

#[test]
fn a_closed_connection_refuses_buffered_sends_and_flushes() {
    let fds = fd_check();
    let (client_end, server_end) = UnixStream::pair().unwrap();
    let server =
        std::thread::spawn(move || runtime_common::serve_echo(server_end, Limits::default()));
    let connection = BlockingConnection::<EchoClient, EchoServer>::from_stream(client_end).unwrap();
    connection.close();
    let error = connection.send_buffered(&Push { value: 1 }).unwrap_err();
    assert!(matches!(error, Error::Disconnected), "{error:?}");
    let error = connection.flush().unwrap_err();
    assert!(matches!(error, Error::Disconnected), "{error:?}");
    drop(connection);
    server.join().unwrap().unwrap();
    fds.finish();
}
