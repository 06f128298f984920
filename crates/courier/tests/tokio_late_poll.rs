//! A tokio connection whose task runs late (its thread was busy) delivers
//! an answer that is already in the socket, even when the call's timeout
//! has passed meanwhile: the driver reads before it expires calls, as the
//! blocking driver does. Reading second turned an answer that came in time
//! into `Error::Timeout` and then threw it away as late.
#![cfg(feature = "tokio")]

#[path = "support/mod.rs"]
mod support;

use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use courier::Reply;
use courier::blocking::BlockingConnection;
use courier::tokio::AsyncConnection;
use courier_examples::echo_client::EchoClient;
use courier_examples::echo_server::{Echo, EchoResponse, EchoServer, EchoServerMessage};
use rustix::event::{PollFd, PollFlags, poll};

/// The call's timeout: far above what a local answer takes, far below what
/// would slow the test.
const TIMEOUT: Duration = Duration::from_millis(100);

#[test]
fn an_answer_waiting_in_the_socket_is_delivered_after_the_timeout_passed() {
    let fds = support::fd_check();
    let (client_end, server_end) = UnixStream::pair().unwrap();
    // The test watches the client's socket through a second descriptor.
    let watch = client_end.try_clone().unwrap();
    let (got_tx, got_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let connection = BlockingConnection::<EchoServer, EchoClient>::accept(server_end).unwrap();
        connection.serve(&mut |message| match message {
            EchoServerMessage::Echo(echo) => {
                // Answers only once the client's thread is about to be busy.
                got_tx.send(()).unwrap();
                go_rx.recv().unwrap();
                Reply::response(EchoResponse { text: echo.text })
            }
            _ => Reply::none(),
        })
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let connection = AsyncConnection::<EchoClient, EchoServer>::from_stream(client_end)
            .await
            .unwrap();
        let sent_at = Instant::now();
        let call = connection.call_with_timeout(
            &Echo {
                text: "in time".to_owned(),
            },
            TIMEOUT,
        );
        // Let the driver write the request; no answer can come before `go`.
        while got_rx.try_recv().is_err() {
            tokio::task::yield_now().await;
        }
        // The thread is now busy: the answer arrives meanwhile, and the
        // call's deadline passes before the driver runs again.
        go_tx.send(()).unwrap();
        let mut readable = [PollFd::new(&watch, PollFlags::IN)];
        poll(&mut readable, None).unwrap();
        let past_deadline =
            (sent_at + TIMEOUT + TIMEOUT / 2).saturating_duration_since(Instant::now());
        std::thread::sleep(past_deadline);
        let response = call.await;
        assert_eq!(
            response.map(|r| r.text).map_err(|e| e.to_string()),
            Ok("in time".to_owned()),
            "an answer in the socket before the driver looked at its timers"
        );
        connection.close();
    });
    drop(runtime);
    drop(watch);
    assert!(server.join().unwrap().is_ok());
    fds.finish();
}
