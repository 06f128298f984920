//! The blocking connection across processes: the server is this test binary
//! started again as a child (see `common/runtime/mod.rs`), the client is the
//! test. Every test checks that no fd leaked.

#[path = "common/runtime/mod.rs"]
mod runtime_common;
#[path = "support/mod.rs"]
mod support;

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use courier::blocking::BlockingConnection;
use courier::{Error, HandshakeErrorKind, Limit, LimitSide, Limits, NoMessages};
use runtime_common::echo::other_server::{OtherServer, OtherServerClient};
use runtime_common::echo::{
    EchoClient, EchoClientHandler, EchoClientService, EchoServer, EchoServerClient,
};
use runtime_common::{
    ServerChild, fd_check, file_with, pattern, pipe, read_all, socket_big_limits,
};

#[test]
fn child_server() {
    runtime_common::child_server_main();
}

fn connect(server: &ServerChild) -> EchoServerClient<EchoClient> {
    EchoServerClient::connect(server.path()).expect("connect to the child server")
}

#[test]
fn a_request_gets_its_response() {
    let fds = fd_check();
    let server = ServerChild::spawn("echo");
    let client = connect(&server);
    assert_eq!(client.echo("hello".to_owned()).unwrap(), "hello");
    assert_eq!(client.echo("señor 🦀".to_owned()).unwrap(), "señor 🦀");
    assert_eq!(client.echo(String::new()).unwrap(), "");
    assert_eq!(client.connection().peer_credentials().pid, server.pid());
    drop(client);
    assert_eq!(server.result(), "ok");
    fds.finish();
}

#[test]
fn one_way_messages_arrive_in_the_order_sent() {
    let fds = fd_check();
    let server = ServerChild::spawn("echo");
    let client = connect(&server);
    for value in 0..1000 {
        client.push(value).unwrap();
    }
    assert_eq!(
        client.take_pushed().unwrap(),
        (0..1000).collect::<Vec<i32>>()
    );
    drop(client);
    assert_eq!(server.result(), "ok");
    fds.finish();
}

/// Records the `seq` of each `EchoClient::event`.
#[derive(Default)]
struct Events {
    seen: Vec<i32>,
}

impl EchoClientHandler for Events {
    fn event(&mut self, seq: i32) {
        self.seen.push(seq);
    }
}

#[test]
fn events_sent_while_a_call_waits_are_kept_and_dispatched_after_in_order() {
    let fds = fd_check();
    let server = ServerChild::spawn("echo");
    let client = connect(&server);
    // The server sends 3 events, then answers; then 2 more, then answers.
    assert_eq!(client.notify_then_reply(3).unwrap(), 3);
    assert_eq!(
        client.connection().queued_messages(),
        3,
        "events are queued, not dropped nor handled during the call"
    );
    assert_eq!(client.notify_then_reply(2).unwrap(), 2);
    // The generated handler trait of the events, through its service.
    let mut events = EchoClientService(Events::default());
    let handled = client.connection().dispatch(&mut events).unwrap();
    assert_eq!(handled, 5);
    assert_eq!(events.0.seen, [0, 1, 2, 3, 4]);
    assert_eq!(client.connection().queued_messages(), 0);
    drop(client);
    assert_eq!(server.result(), "ok");
    fds.finish();
}

#[test]
fn a_handler_error_reaches_the_caller_as_a_remote_error() {
    let fds = fd_check();
    let server = ServerChild::spawn("echo");
    let client = connect(&server);
    match client.fail("no window with id 7".to_owned()) {
        Err(Error::Remote(remote)) => {
            assert_eq!(remote.message(), "no window with id 7");
            assert_eq!(remote.request(), Some("fail"));
            assert_eq!(
                remote.to_string(),
                "the peer's handler for `fail` failed: no window with id 7"
            );
        }
        other => panic!("expected a remote error, got {other:?}"),
    }
    // The connection is still fine.
    assert_eq!(client.echo("still here".to_owned()).unwrap(), "still here");
    drop(client);
    assert_eq!(server.result(), "ok");
    fds.finish();
}

#[test]
fn a_call_that_times_out_leaves_the_connection_usable() {
    let fds = fd_check();
    let server = ServerChild::spawn("echo");
    let client = connect(&server);
    let (signal_read, signal_write) = pipe();
    let (release_read, release_write) = pipe();
    let started = Instant::now();
    // The generated client's timeout applies to every call of the handle
    // `with_timeout` returns; the original handle keeps waiting forever.
    let impatient = client.with_timeout(Duration::from_millis(200));
    let result = impatient.block_on(signal_write, release_read);
    assert!(matches!(result, Err(Error::Timeout)), "{result:?}");
    assert!(started.elapsed() >= Duration::from_millis(200));
    drop(impatient);
    // The handler did run: it signalled before blocking.
    let mut byte = [0u8; 1];
    std::fs::File::from(signal_read)
        .read_exact(&mut byte)
        .unwrap();
    // Let the handler finish: its late response must be discarded quietly.
    drop(release_write);
    assert_eq!(
        client.echo("after the timeout".to_owned()).unwrap(),
        "after the timeout"
    );
    assert_eq!(client.echo("and again".to_owned()).unwrap(), "and again");
    drop(client);
    assert_eq!(server.result(), "ok");
    fds.finish();
}

#[test]
fn killing_the_server_during_a_call_disconnects_at_once() {
    let fds = fd_check();
    let mut server = ServerChild::spawn("echo");
    let client = connect(&server);
    let (signal_read, signal_write) = pipe();
    let (release_read, release_write) = pipe();
    let (done_tx, done_rx) = mpsc::channel();
    let caller = std::thread::spawn(move || {
        let result = client.block_on(signal_write, release_read);
        done_tx.send((result, Instant::now())).unwrap();
    });
    // Wait until the server is inside the handler, then kill it.
    let mut byte = [0u8; 1];
    std::fs::File::from(signal_read)
        .read_exact(&mut byte)
        .unwrap();
    let killed_at = Instant::now();
    server.kill();
    let (result, returned_at) = done_rx
        .recv_timeout(runtime_common::HANG)
        .expect("the call returned");
    caller.join().unwrap();
    assert!(matches!(result, Err(Error::Disconnected)), "{result:?}");
    // From the socket, not from a timer (see `AT_ONCE`).
    let waited = returned_at.saturating_duration_since(killed_at);
    assert!(
        waited < runtime_common::AT_ONCE,
        "Disconnected took {waited:?}"
    );
    drop(release_write);
    drop(server);
    fds.finish();
}

#[test]
fn a_client_of_the_wrong_service_gets_a_handshake_error_naming_both() {
    let fds = fd_check();
    let server = ServerChild::spawn("echo");
    let error = OtherServerClient::<NoMessages>::connect(server.path()).unwrap_err();
    let Error::Handshake(handshake) = &error else {
        panic!("expected a handshake error, got {error:?}")
    };
    assert!(matches!(
        handshake.kind(),
        HandshakeErrorKind::EndpointMismatch { .. }
    ));
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "this client expects the service to serve `OtherServer` (magic {}), but it serves `EchoServer` (magic {})",
            runtime_common::echo::other_server::MAGIC,
            runtime_common::echo::echo_server::MAGIC
        )),
        "{text}"
    );
    let server_result = server.result();
    assert!(
        server_result.contains("a client expected this service to serve `OtherServer`")
            && server_result.contains("but it serves `EchoServer`"),
        "{server_result}"
    );
    fds.finish();
}

#[test]
fn a_32_mib_vector_crosses_intact() {
    let fds = fd_check();
    let server = ServerChild::spawn("echo");
    let client = connect(&server);
    let data: Vec<u8> = (0..32u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let back = client.echo_bytes(data.clone()).unwrap();
    assert_eq!(back.len(), data.len());
    assert!(back == data, "the 32 MiB came back different");
    drop(client);
    assert_eq!(server.result(), "ok");
    fds.finish();
}

/// 64 MiB through the socket itself: the pool is off on both sides (the
/// client's limits and the `echo-socket-big` server's), and the pool's
/// counters prove that neither direction took it.
#[test]
fn a_64_mib_vector_crosses_the_socket_intact() {
    let fds = fd_check();
    let server = ServerChild::spawn("echo-socket-big");
    let connection = BlockingConnection::<EchoClient, EchoServer>::builder()
        .limits(socket_big_limits())
        .connect(server.path())
        .unwrap();
    let client = EchoServerClient::from_connection(connection);
    let data = pattern(64 << 20, 64);
    let back = client.echo_bytes(data.clone()).unwrap();
    assert_eq!(back.len(), 64 << 20);
    assert!(back == data, "the 64 MiB came back different");
    let stats = client.connection().pool_stats();
    assert!(!stats.active, "the pool is off: {stats:?}");
    assert_eq!(
        (stats.sent_through_pool, stats.received_through_pool),
        (0, 0),
        "{stats:?}"
    );
    drop(client);
    assert_eq!(server.result(), "ok");
    fds.finish();
}

#[test]
fn fds_cross_both_ways_with_their_contents() {
    let fds = fd_check();
    let server = ServerChild::spawn("echo");
    let client = connect(&server);
    // Client to server: the server reads the file.
    assert_eq!(
        client
            .read_file(file_with("written by the client"))
            .unwrap(),
        "written by the client"
    );
    // Server to client: the client reads the file the server made.
    let file = client
        .open_file("written by the server".to_owned())
        .unwrap();
    assert_eq!(read_all(file), "written by the server");
    drop(client);
    assert_eq!(server.result(), "ok");
    fds.finish();
}

#[test]
fn a_message_over_the_local_limit_is_refused_before_sending() {
    let fds = fd_check();
    let server = ServerChild::spawn("echo");
    let limits = Limits {
        max_message_bytes: 1 << 20,
        ..Limits::default()
    };
    let connection = BlockingConnection::<EchoClient, EchoServer>::builder()
        .limits(limits)
        .connect(server.path())
        .unwrap();
    let client = EchoServerClient::from_connection(connection);
    client.push(1).unwrap();
    let error = client.echo_bytes(vec![7; 2 << 20]).unwrap_err();
    let Error::LimitExceeded(limit) = &error else {
        panic!("expected a limit error, got {error:?}")
    };
    assert_eq!(limit.limit(), Limit::MessageBytes);
    assert_eq!(limit.side(), LimitSide::Sending);
    assert_eq!(limit.maximum(), 1 << 20);
    assert!(
        error
            .to_string()
            .ends_with("exceeds the 1 MiB limit; raise `Limits::max_message_bytes` on both sides"),
        "{error}"
    );
    // Nothing of it was sent: the stream is intact and the server saw only the push.
    client.push(2).unwrap();
    assert_eq!(client.take_pushed().unwrap(), [1, 2]);
    drop(client);
    assert_eq!(server.result(), "ok");
    fds.finish();
}

#[test]
fn a_message_over_the_peers_limit_is_refused_before_sending() {
    let fds = fd_check();
    let server = ServerChild::spawn("echo-small");
    let client = connect(&server);
    let error = client.echo_bytes(vec![7; 2 << 20]).unwrap_err();
    assert!(
        matches!(&error, Error::LimitExceeded(limit) if limit.maximum() == 1 << 20 && limit.side() == LimitSide::Sending),
        "{error:?}"
    );
    assert_eq!(client.echo_bytes(vec![1; 1000]).unwrap(), vec![1; 1000]);
    drop(client);
    assert_eq!(server.result(), "ok");
    fds.finish();
}

/// The server (messages of at most 1 MiB) reads a 2 MiB file the client
/// sent and answers with its contents: a response over its limit. The
/// caller gets a remote error naming the limit instead of waiting forever,
/// and the connection stays usable (`queue_answer` in `src/handler.rs`).
#[test]
fn a_response_over_the_limit_reaches_the_caller_as_a_remote_error() {
    let fds = fd_check();
    let server = ServerChild::spawn("echo-small");
    let client = connect(&server);
    let error = match client.read_file(file_with(&"x".repeat(2 << 20))) {
        Ok(contents) => panic!("a response of {} bytes was sent", contents.len()),
        Err(error) => error,
    };
    let Error::Remote(remote) = &error else {
        panic!("expected a remote error, got {error:?}")
    };
    assert_eq!(remote.request(), Some("read_file"));
    assert!(
        remote
            .message()
            .starts_with("the service could not send its response: ")
            && remote.message().contains("1 MiB limit"),
        "{error}"
    );
    assert_eq!(client.read_file(file_with("small")).unwrap(), "small");
    assert_eq!(client.echo("still here".to_owned()).unwrap(), "still here");
    drop(client);
    assert_eq!(server.result(), "ok");
    fds.finish();
}

#[test]
fn calls_from_several_threads_share_one_connection() {
    let fds = fd_check();
    let (client_end, server_end) = UnixStream::pair().unwrap();
    let server =
        std::thread::spawn(move || runtime_common::serve_echo(server_end, Limits::default()));
    let connection = BlockingConnection::<EchoClient, EchoServer>::from_stream(client_end).unwrap();
    let callers: Vec<_> = (0..4)
        .map(|thread| {
            let client = EchoServerClient::from_connection(connection.clone());
            std::thread::spawn(move || {
                for call in 0..50 {
                    let text = format!("thread {thread} call {call}");
                    assert_eq!(client.echo(text.clone()).unwrap(), text);
                }
            })
        })
        .collect();
    for caller in callers {
        caller.join().unwrap();
    }
    drop(connection);
    server.join().unwrap().unwrap();
    fds.finish();
}

#[test]
fn a_handshake_mismatch_fails_both_ends_of_a_socketpair() {
    let fds = fd_check();
    let (client_end, server_end) = UnixStream::pair().unwrap();
    let server =
        std::thread::spawn(move || runtime_common::serve_echo(server_end, Limits::default()));
    let result = BlockingConnection::<NoMessages, OtherServer>::from_stream(client_end);
    let error = result
        .and_then(|connection| OtherServerClient::from_connection(connection).ping())
        .unwrap_err();
    assert!(matches!(error, Error::Handshake(_)), "{error:?}");
    let server_error = server.join().unwrap().unwrap_err();
    assert!(
        matches!(server_error, Error::Handshake(_)),
        "{server_error:?}"
    );
    fds.finish();
}

#[test]
fn ipc_trace_logs_connection_life_and_every_message_by_name() {
    let fds = fd_check();
    let server = ServerChild::spawn_traced("echo");
    let client = connect(&server);
    assert_eq!(client.echo("traced".to_owned()).unwrap(), "traced");
    client.push(5).unwrap();
    drop(client);
    let (result, stderr) = server.result_and_stderr();
    assert_eq!(result, "ok");
    for expected in [
        "handshake complete: this side handles `EchoServer`, the peer handles `EchoClient`",
        "recv EchoServer::echo",
        "handle EchoServer::echo Echo(Echo { text: \"traced\" })",
        "send EchoServer::echo_response",
        "recv EchoServer::push",
        "connection to `EchoClient` closed: the peer closed the connection",
    ] {
        assert!(
            stderr.contains(expected),
            "`{expected}` missing from the server's log:\n{stderr}"
        );
    }
    fds.finish();
}
