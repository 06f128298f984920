//! A handler that panics answers the caller with a remote error naming the
//! panic, and the connection goes on (both drivers).
#![cfg(feature = "tokio")]

#[path = "support/mod.rs"]
mod support;

use std::os::unix::net::UnixStream;

use courier::blocking::BlockingConnection;
use courier::{Error, Reply};
use courier_examples::echo_client::EchoClient;
use courier_examples::echo_server::{
    EchoResponse, EchoServer, EchoServerAsyncClient, EchoServerClient, EchoServerMessage,
};

/// Echoes, but panics on the text "panic".
fn echo_or_panic(message: EchoServerMessage) -> Reply {
    match message {
        EchoServerMessage::Echo(echo) if echo.text == "panic" => panic!("boom at {}", echo.text),
        EchoServerMessage::Echo(echo) => Reply::response(EchoResponse { text: echo.text }),
        _ => Reply::none(),
    }
}

fn panicked(error: &Error) -> bool {
    matches!(error, Error::Remote(remote)
        if remote.message() == "it panicked: boom at panic (a bug in the service)")
}

#[test]
fn a_panicking_blocking_handler_answers_with_an_error_and_the_connection_goes_on() {
    let fds = support::fd_check();
    let (client_end, server_end) = UnixStream::pair().unwrap();
    let server = std::thread::spawn(move || {
        let connection = BlockingConnection::<EchoServer, EchoClient>::accept(server_end).unwrap();
        connection.serve(&mut echo_or_panic)
    });
    let client = EchoServerClient::<EchoClient>::from_connection(
        BlockingConnection::from_stream(client_end).unwrap(),
    );
    assert_eq!(client.echo("before".to_owned()).unwrap(), "before");
    let error = client.echo("panic".to_owned()).unwrap_err();
    assert!(panicked(&error), "{error}");
    assert_eq!(client.echo("after".to_owned()).unwrap(), "after");
    drop(client);
    assert!(server.join().unwrap().is_ok());
    fds.finish();
}

#[test]
fn a_panicking_tokio_handler_answers_with_an_error_and_the_connection_goes_on() {
    let fds = support::fd_check();
    let (client_end, server_end) = UnixStream::pair().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let served = tokio::spawn(
            courier::tokio::serve_connection::<EchoServer, EchoClient, _>(
                server_end,
                echo_or_panic,
            ),
        );
        let client = EchoServerAsyncClient::<EchoClient>::from_connection(
            courier::tokio::AsyncConnection::from_stream(client_end)
                .await
                .unwrap(),
        );
        assert_eq!(client.echo("before".to_owned()).await.unwrap(), "before");
        let error = client.echo("panic".to_owned()).await.unwrap_err();
        assert!(panicked(&error), "{error}");
        assert_eq!(client.echo("after".to_owned()).await.unwrap(), "after");
        let closed = client.connection().closed();
        drop(client);
        closed.await;
        served.await.unwrap().unwrap();
    });
    drop(runtime);
    fds.finish();
}
