//! Messages named like the helpers of the generated code (`connect`,
//! `from_connection`, `connection`, `with_timeout`, `clone`, `send`) and like
//! its generic parameters (`L`, `T`): the helpers keep their names, the
//! message methods get `_message`, and everything works over a connection.

use std::os::unix::net::UnixStream;

use courier::blocking::BlockingConnection;
use courier::{HandlerError, NoMessages};
use courier_examples::helper_names::{
    ConnectionResponse, HelperNames, HelperNamesClient, HelperNamesHandler, HelperNamesSender,
    HelperNamesService,
};

/// Records the one-way messages; `Connection` reports their sum.
#[derive(Default)]
struct Recorder {
    sum: i32,
}

impl HelperNamesHandler for Recorder {
    fn connect_message(&mut self, path: String) -> Result<bool, HandlerError> {
        Ok(path == "/run/ok")
    }

    fn from_connection_message(&mut self, id: i32) {
        self.sum += id;
    }

    fn connection_message(&mut self) -> Result<ConnectionResponse, HandlerError> {
        Ok(ConnectionResponse {
            id: self.sum,
            peer: "recorder".to_string(),
        })
    }

    fn with_timeout_message(&mut self, milliseconds: u32) {
        self.sum += milliseconds as i32;
    }

    fn clone_message(&mut self) -> Result<(), HandlerError> {
        Err(HandlerError::new("cloning is not supported"))
    }

    fn send_message(&mut self, value: i32) {
        self.sum += value;
    }

    fn l(&mut self, value: i32) -> Result<i32, HandlerError> {
        Ok(value * 2)
    }

    fn t(&mut self, value: i32) {
        self.sum += value;
    }
}

#[test]
fn helper_names_and_message_methods_coexist() {
    let (client_end, server_end) = UnixStream::pair().unwrap();
    let server = std::thread::spawn(move || {
        let connection = BlockingConnection::<HelperNames, NoMessages>::accept(server_end)?;
        connection.serve(&mut HelperNamesService(Recorder::default()))
    });
    let connection =
        BlockingConnection::<NoMessages, HelperNames>::from_stream(client_end).unwrap();
    let client = HelperNamesClient::from_connection(connection);

    // The helpers: `clone` is `Clone`'s, `with_timeout` and `connection` the client's.
    let copy = client
        .clone()
        .with_timeout(std::time::Duration::from_secs(30));
    assert!(!copy.connection().is_closed());

    // The messages, through their suffixed methods.
    assert!(client.connect_message("/run/ok".to_string()).unwrap());
    assert!(!copy.connect_message("/run/other".to_string()).unwrap());
    client.from_connection_message(1).unwrap();
    client.with_timeout_message(10).unwrap();
    client.send_message(100).unwrap();
    client.t(1000).unwrap();
    // Through the sender trait, on the connection itself.
    HelperNamesSender::send_message(client.connection(), 10000).unwrap();
    client.connection().send_message(100000).unwrap();
    assert_eq!(client.l(21).unwrap(), 42);
    let response = client.connection_message().unwrap();
    assert_eq!((response.id, response.peer.as_str()), (111111, "recorder"));
    match client.clone_message() {
        Err(courier::Error::Remote(error)) => {
            assert_eq!(error.message(), "cloning is not supported")
        }
        other => panic!("expected a remote error, got {other:?}"),
    }

    drop((client, copy));
    server.join().unwrap().unwrap();
}
