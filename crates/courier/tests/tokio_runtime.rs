//! The tokio flavour across processes: `MultiServer` in a child process
//! (this test binary started again, see `tokio_common/mod.rs`) with
//! `AsyncConnection` clients in the test, or the server in the test with a
//! crowd of clients in a child. Every test checks that no fd leaked and no
//! task outlived it.
#![cfg(feature = "tokio")]

#[path = "common/runtime/mod.rs"]
mod runtime_common;
#[path = "support/mod.rs"]
mod support;
#[path = "tokio_common/mod.rs"]
mod tokio_common;

use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use courier::tokio::{AsyncConnection, MultiServer};
use courier::{Error, HandshakeErrorKind, Limits, NoMessages, Reply};
use runtime_common::echo::echo_client::Event;
use runtime_common::echo::echo_server::{Echo, EchoResponse, Push};
use runtime_common::echo::other_server::OtherServerAsyncClient;
use runtime_common::echo::{
    EchoClient, EchoClientHandler, EchoClientMessage, EchoClientService, EchoServer,
    EchoServerAsyncClient, EchoServerClient, EchoServerMessage, EchoServerSender,
};
use runtime_common::{fd_check, file_with, pattern, pipe, read_all, socket_big_limits};
use tokio_common::fake_echo::{BadEcho, FakeEchoServer};
use tokio_common::{Child, run, within};

/// The generated async client, with the server's events for `EchoClient`.
type Client = EchoServerAsyncClient<EchoClient>;
/// The connection under it.
type Connection = AsyncConnection<EchoClient, EchoServer>;

#[test]
fn tokio_child() {
    tokio_common::child_main();
}

async fn connect(path: &Path) -> Client {
    within("connecting", Client::connect(path))
        .await
        .expect("connect to the echo server")
}

async fn echo(client: &Client, text: &str) -> Result<String, Error> {
    within("an echo", client.echo(text.to_owned())).await
}

/// Drops `client` (the last handle on its connection) and waits until the
/// connection's task has ended.
async fn close_and_wait(client: Client) {
    let done = client.connection().closed();
    drop(client);
    within("the connection's task to end", done).await;
}

/// [`close_and_wait`] for a bare connection.
async fn close_connection_and_wait<L: courier::Endpoint, P: courier::Endpoint>(
    connection: AsyncConnection<L, P>,
) {
    let done = connection.closed();
    drop(connection);
    within("the connection's task to end", done).await;
}

#[test]
fn a_request_gets_its_response() {
    let fds = fd_check();
    let mut server = Child::server("server");
    run(async {
        let client = connect(server.path()).await;
        assert_eq!(echo(&client, "hello").await.unwrap(), "hello");
        assert_eq!(echo(&client, "señor 🦀").await.unwrap(), "señor 🦀");
        assert_eq!(echo(&client, "").await.unwrap(), "");
        assert_eq!(client.connection().peer_credentials().pid, server.pid());
        close_and_wait(client).await;
    });
    server.stop();
    assert_eq!(server.result(), "stopped, socket file left: false");
    fds.finish();
}

#[test]
fn many_calls_in_flight_from_several_tasks_are_answered_out_of_order() {
    let fds = fd_check();
    let mut server = Child::server("server");
    run(async {
        let client = connect(server.path()).await;
        // The handler answers none of these until all 100 have arrived, then
        // answers them in reverse order: they must all be in flight at once,
        // and each response must find its own caller. `AsyncConnection::call`
        // sends at once (the generated methods send when first polled).
        const TASKS: usize = 4;
        const CALLS: usize = 25;
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let connection = client.connection().clone();
                tokio::spawn(async move {
                    let calls: Vec<_> = (0..CALLS)
                        .map(|call| {
                            let text = format!("batch:{}:task {task} call {call}", TASKS * CALLS);
                            (text.clone(), connection.call(&Echo { text }))
                        })
                        .collect();
                    for (text, response) in calls {
                        assert_eq!(response.await.unwrap().text, text);
                    }
                })
            })
            .collect();
        for task in tasks {
            within("a batch of calls", task).await.unwrap();
        }
        // Plain calls from several tasks at once.
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let client = client.clone();
                tokio::spawn(async move {
                    for call in 0..50 {
                        let text = format!("task {task} call {call}");
                        assert_eq!(echo(&client, &text).await.unwrap(), text);
                    }
                })
            })
            .collect();
        for task in tasks {
            within("plain calls", task).await.unwrap();
        }
        close_and_wait(client).await;
    });
    server.stop();
    server.result();
    fds.finish();
}

#[test]
fn one_way_messages_arrive_in_the_order_sent() {
    let fds = fd_check();
    let mut server = Child::server("server");
    run(async {
        let client = connect(server.path()).await;
        for value in 0..1000 {
            client.push(value).await.unwrap();
        }
        let pushed = within("take_pushed", client.take_pushed()).await.unwrap();
        assert_eq!(pushed, (0..1000).collect::<Vec<i32>>());
        close_and_wait(client).await;
    });
    server.stop();
    server.result();
    fds.finish();
}

#[test]
fn an_event_reaches_every_client_through_clients() {
    let fds = fd_check();
    let mut server = Child::server("server");
    run(async {
        let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
        let mut handled = Vec::new();
        for name in ["a", "b"] {
            // The generated handler trait of the events, through its service.
            let connection = Connection::builder()
                .with_handler(EchoClientService(Forward {
                    name,
                    events: events.clone(),
                }))
                .connect(server.path());
            let connection = within("connecting", connection).await.unwrap();
            handled.push(Client::from_connection(connection));
        }
        drop(events);
        // Without a handler, events wait for `next_message`.
        let queued = connect(server.path()).await;
        let answered = within("notify", handled[0].notify_then_reply(7))
            .await
            .unwrap();
        assert_eq!(answered, 3, "the server sent the event to its 3 clients");
        let mut seen = vec![
            within("event", received.recv()).await.unwrap(),
            within("event", received.recv()).await.unwrap(),
        ];
        seen.sort();
        assert_eq!(seen, [("a", 7), ("b", 7)]);
        let message = within("next_message", queued.connection().next_message())
            .await
            .unwrap();
        assert!(
            matches!(message.message, EchoClientMessage::Event(Event { seq: 7 })),
            "{message:?}"
        );
        assert!(message.responder.is_none(), "an event is one-way");
        for client in handled {
            close_and_wait(client).await;
        }
        close_and_wait(queued).await;
        // The handlers were dropped with their connections.
        assert_eq!(received.recv().await, None);
    });
    server.stop();
    server.result();
    fds.finish();
}

/// Forwards each event to the test, with the name of its client.
struct Forward {
    name: &'static str,
    events: tokio::sync::mpsc::UnboundedSender<(&'static str, i32)>,
}

impl EchoClientHandler for Forward {
    fn event(&mut self, seq: i32) {
        self.events.send((self.name, seq)).unwrap();
    }
}

#[derive(Debug)]
enum Hook {
    Connected { id: u64, pid: u32 },
    Disconnected { id: u64, orderly: bool },
}

/// 100 clients at once in a child process, the server in the test: every
/// client gets its own answers; the hooks see ids 1 to 100, each connected
/// then disconnected; a later client gets the next id.
#[test]
fn a_hundred_clients_at_once_get_their_own_answers_and_ids_from_1() {
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crowd.sock");
    run(async {
        let (hooks, mut hook_events) = tokio::sync::mpsc::unbounded_channel();
        let server = MultiServer::<EchoServer, EchoClient>::builder()
            .on_client_connected({
                let hooks = hooks.clone();
                move |client| {
                    let id = client.id().get();
                    let pid = client.credentials().pid;
                    hooks.send(Hook::Connected { id, pid }).unwrap();
                }
            })
            .on_client_disconnected(move |id, reason| {
                hooks
                    .send(Hook::Disconnected {
                        id: id.get(),
                        orderly: reason.is_orderly(),
                    })
                    .unwrap();
            })
            .bind(&path)
            .unwrap();
        let running = tokio::spawn({
            let server = server.clone();
            async move { tokio_common::run_echo(&server).await }
        });

        let mut connected = BTreeSet::new();
        let mut disconnected = BTreeSet::new();
        let mut live = 0usize;
        let mut most_live = 0usize;
        let crowd = |clients: usize| {
            let child = Child::clients(&path, clients);
            let pid = child.pid();
            // Blocks this thread only; the server runs on the workers.
            (child.result(), pid)
        };
        let (result, pid) = crowd(100);
        assert_eq!(result, "ok 100");
        while disconnected.len() < 100 {
            match within("the hooks", hook_events.recv()).await.unwrap() {
                Hook::Connected {
                    id,
                    pid: client_pid,
                } => {
                    assert_eq!(client_pid, pid);
                    assert!(connected.insert(id), "id {id} given twice");
                    live += 1;
                    most_live = most_live.max(live);
                }
                Hook::Disconnected { id, orderly } => {
                    assert!(orderly, "client {id} left in disorder");
                    assert!(connected.contains(&id), "client {id} left before it came");
                    assert!(disconnected.insert(id), "client {id} left twice");
                    live -= 1;
                }
            }
        }
        assert_eq!(connected, (1..=100).collect::<BTreeSet<u64>>());
        assert_eq!(disconnected, connected);
        assert_eq!(most_live, 100, "the clients were all connected at once");
        assert!(server.clients().is_empty(), "{:?}", server.clients());

        let (result, _) = crowd(3);
        assert_eq!(result, "ok 3");
        let mut later = BTreeSet::new();
        while later.len() < 3 {
            if let Hook::Disconnected { id, .. } =
                within("the hooks", hook_events.recv()).await.unwrap()
            {
                later.insert(id);
            }
        }
        assert_eq!(
            later,
            (101..=103).collect::<BTreeSet<u64>>(),
            "ids are never reused"
        );

        server.shutdown();
        within("the server to stop", running).await.unwrap();
    });
    assert!(!path.exists(), "the server removed its socket file");
    // Removing the directory opens fds: before the count, not during the
    // next test's.
    drop(dir);
    fds.finish();
}

#[test]
fn a_call_that_times_out_leaves_the_connection_usable() {
    let fds = fd_check();
    let mut server = Child::server("server");
    run(async {
        let client = connect(server.path()).await;
        // A request the handler never answers.
        let started = Instant::now();
        // The generated client's timeout applies to every call of the
        // handle `with_timeout` returns, which shares the connection.
        let impatient = client.with_timeout(Duration::from_millis(200));
        let result = within("a timeout", impatient.echo("never".into())).await;
        assert!(matches!(result, Err(Error::Timeout)), "{result:?}");
        drop(impatient);
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(
            echo(&client, "after the timeout").await.unwrap(),
            "after the timeout"
        );

        // A request answered after its timeout: the late response is dropped.
        let (signal_read, signal_write) = pipe();
        let (release_read, release_write) = pipe();
        let impatient = client.with_timeout(Duration::from_millis(100));
        let result = within("a timeout", impatient.block_on(signal_write, release_read)).await;
        assert!(matches!(result, Err(Error::Timeout)), "{result:?}");
        drop(impatient);
        let mut byte = [0u8; 1];
        std::fs::File::from(signal_read)
            .read_exact(&mut byte)
            .unwrap();
        drop(release_write);
        assert_eq!(echo(&client, "and again").await.unwrap(), "and again");
        assert_eq!(echo(&client, "and again").await.unwrap(), "and again");
        close_and_wait(client).await;
    });
    server.stop();
    server.result();
    fds.finish();
}

#[test]
fn killing_the_server_during_calls_disconnects_them_all_at_once() {
    let fds = fd_check();
    let mut server = Child::server("server");
    run(async {
        let client = connect(server.path()).await;
        let (signal_read, signal_write) = pipe();
        let (release_read, release_write) = pipe();
        // Each call on a task of its own: both in flight at once.
        let blocked = tokio::spawn({
            let client = client.clone();
            async move { client.block_on(signal_write, release_read).await }
        });
        let never = tokio::spawn({
            let client = client.clone();
            async move { client.echo("never".into()).await }
        });
        // Wait until the server is inside the handler, then kill it.
        let mut byte = [0u8; 1];
        std::fs::File::from(signal_read)
            .read_exact(&mut byte)
            .unwrap();
        let killed_at = Instant::now();
        server.kill();
        let (blocked, never) =
            within("the calls to fail", async { tokio::join!(blocked, never) }).await;
        let waited = killed_at.elapsed();
        let (blocked, never) = (blocked.unwrap(), never.unwrap());
        assert!(matches!(blocked, Err(Error::Disconnected)), "{blocked:?}");
        assert!(matches!(never, Err(Error::Disconnected)), "{never:?}");
        // From the socket, not from a timer (see `AT_ONCE`).
        assert!(
            waited < runtime_common::AT_ONCE,
            "Disconnected took {waited:?}"
        );
        assert!(matches!(
            echo(&client, "anyone?").await,
            Err(Error::Disconnected)
        ));
        assert!(client.connection().is_closed());
        drop(release_write);
        close_and_wait(client).await;
    });
    drop(server);
    fds.finish();
}

#[test]
fn a_handler_error_reaches_the_caller_as_a_remote_error() {
    let fds = fd_check();
    let mut server = Child::server("server");
    run(async {
        let client = connect(server.path()).await;
        let result = within("fail", client.fail("no window with id 7".into())).await;
        match result {
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
        assert_eq!(echo(&client, "still here").await.unwrap(), "still here");
        close_and_wait(client).await;
    });
    server.stop();
    server.result();
    fds.finish();
}

#[test]
fn a_client_of_the_wrong_service_gets_a_handshake_error_naming_both() {
    let fds = fd_check();
    let mut server = Child::server("server");
    run(async {
        let error = within(
            "connecting",
            OtherServerAsyncClient::<NoMessages>::connect(server.path()),
        )
        .await
        .unwrap_err();
        let Error::Handshake(handshake) = &error else {
            panic!("expected a handshake error, got {error:?}")
        };
        assert!(matches!(
            handshake.kind(),
            HandshakeErrorKind::EndpointMismatch { .. }
        ));
        let text = error.to_string();
        let expected = format!(
            "this client expects the service to serve `OtherServer` (magic {}), but it serves `EchoServer` (magic {})",
            runtime_common::echo::other_server::MAGIC,
            runtime_common::echo::echo_server::MAGIC
        );
        assert!(text.starts_with(&expected), "{text}");
        // The service goes on serving the others.
        let client = connect(server.path()).await;
        assert_eq!(echo(&client, "fine").await.unwrap(), "fine");
        close_and_wait(client).await;
    });
    server.stop();
    server.result();
    fds.finish();
}

#[test]
fn a_full_server_refuses_a_client_with_a_typed_error() {
    let fds = fd_check();
    let mut server = Child::server("server-full2");
    run(async {
        let first = connect(server.path()).await;
        let second = connect(server.path()).await;
        let error = within("connecting", Client::connect(server.path()))
            .await
            .unwrap_err();
        let Error::Handshake(handshake) = &error else {
            panic!("expected a handshake error, got {error:?}")
        };
        assert_eq!(
            handshake.kind(),
            &HandshakeErrorKind::ServiceFull {
                clients: 2,
                max_clients: 2
            }
        );
        assert_eq!(
            error.to_string(),
            "the service is full: it serves 2 clients and its `Limits::max_clients` is 2; try again later, or raise that limit on the service"
        );
        // The clients it serves are untouched.
        assert_eq!(echo(&first, "one").await.unwrap(), "one");
        assert_eq!(echo(&second, "two").await.unwrap(), "two");
        close_and_wait(first).await;
        close_and_wait(second).await;
    });
    server.stop();
    server.result();
    fds.finish();
}

#[test]
fn a_32_mib_vector_crosses_intact() {
    let fds = fd_check();
    let mut server = Child::server("server");
    run(async {
        let client = connect(server.path()).await;
        let data: Vec<u8> = (0..32u32 << 20)
            .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        let back = within("32 MiB", client.echo_bytes(data.clone()))
            .await
            .unwrap();
        assert_eq!(back.len(), data.len());
        assert!(back == data, "the 32 MiB came back different");
        close_and_wait(client).await;
    });
    server.stop();
    server.result();
    fds.finish();
}

/// 64 MiB through the socket itself: the pool is off on both sides (the
/// client's limits and the `server-socket-big` child's), and the pool's
/// counters prove that neither direction took it.
#[test]
fn a_64_mib_vector_crosses_the_socket_intact() {
    let fds = fd_check();
    let mut server = Child::server("server-socket-big");
    run(async {
        let connection = within(
            "connecting",
            Connection::builder()
                .limits(socket_big_limits())
                .connect(server.path()),
        )
        .await
        .unwrap();
        let client = Client::from_connection(connection);
        let data = pattern(64 << 20, 64);
        let back = within("64 MiB", client.echo_bytes(data.clone()))
            .await
            .unwrap();
        assert_eq!(back.len(), 64 << 20);
        assert!(back == data, "the 64 MiB came back different");
        let stats = client.connection().pool_stats();
        assert!(!stats.active, "the pool is off: {stats:?}");
        assert_eq!(
            (stats.sent_through_pool, stats.received_through_pool),
            (0, 0),
            "{stats:?}"
        );
        close_and_wait(client).await;
    });
    server.stop();
    server.result();
    fds.finish();
}

/// The `server-small` child (messages of at most 1 MiB) reads a 2 MiB file
/// the client sent and answers with its contents: a response over its
/// limit. The caller gets a remote error naming the limit instead of
/// waiting forever, and the connection stays usable (`queue_answer` in
/// `src/handler.rs`).
#[test]
fn a_response_over_the_limit_reaches_the_caller_as_a_remote_error() {
    let fds = fd_check();
    let mut server = Child::server("server-small");
    run(async {
        let client = connect(server.path()).await;
        let result = within(
            "read_file",
            client.read_file(file_with(&"x".repeat(2 << 20))),
        )
        .await;
        let error = match result {
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
        let small = within("read_file", client.read_file(file_with("small"))).await;
        assert_eq!(small.unwrap(), "small");
        assert_eq!(echo(&client, "still here").await.unwrap(), "still here");
        close_and_wait(client).await;
    });
    server.stop();
    server.result();
    fds.finish();
}

/// One `MultiServer` handler per client: what one client pushes, only its
/// own `take_pushed` returns, however the pushes interleave.
#[test]
fn each_client_of_a_multiserver_has_its_own_handler() {
    let fds = fd_check();
    let mut server = Child::server("server");
    run(async {
        let first = connect(server.path()).await;
        let second = connect(server.path()).await;
        for value in 0..10 {
            first.push(value).await.unwrap();
            second.push(100 + value).await.unwrap();
        }
        // A round trip each, so that every push has been handled.
        assert_eq!(echo(&second, "sync").await.unwrap(), "sync");
        assert_eq!(echo(&first, "sync").await.unwrap(), "sync");
        let (mine, theirs) = tokio::join!(first.take_pushed(), second.take_pushed());
        assert_eq!(mine.unwrap(), (0..10).collect::<Vec<i32>>());
        assert_eq!(theirs.unwrap(), (100..110).collect::<Vec<i32>>());
        close_and_wait(first).await;
        close_and_wait(second).await;
    });
    server.stop();
    server.result();
    fds.finish();
}

/// 100 blocking clients, each on a thread of its own, all connected at
/// once to one `MultiServer` in a child process: each gets its own answers
/// (its own text, its own bytes, its own pushed values).
#[test]
fn a_hundred_blocking_clients_on_threads_get_their_own_answers() {
    const CLIENTS: usize = 100;
    let fds = fd_check();
    let mut server = Child::server("server");
    let all_connected = Arc::new(std::sync::Barrier::new(CLIENTS));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let path = server.path().to_owned();
            let all_connected = Arc::clone(&all_connected);
            std::thread::spawn(move || {
                let client = EchoServerClient::<EchoClient>::connect(&path)
                    .unwrap_or_else(|error| panic!("client {n} could not connect: {error}"));
                all_connected.wait();
                let values: Vec<i32> = (0..5).map(|k| (n * 10 + k) as i32).collect();
                for &value in &values {
                    client.push(value).unwrap();
                }
                for call in 0..3 {
                    let text = format!("client {n} call {call}");
                    assert_eq!(client.echo(text.clone()).unwrap(), text);
                }
                let data = pattern(1000 + n, n as u64);
                assert!(
                    client.echo_bytes(data.clone()).unwrap() == data,
                    "client {n}"
                );
                assert_eq!(client.take_pushed().unwrap(), values, "client {n}");
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a client thread");
    }
    server.stop();
    assert_eq!(server.result(), "stopped, socket file left: false");
    fds.finish();
}

/// `IPC_TRACE=1` in a `MultiServer` child: connection life and every
/// message, by name, with its decoded arguments.
#[test]
fn ipc_trace_logs_connection_life_and_every_message_by_name() {
    let fds = fd_check();
    let mut server = Child::server_traced("server");
    run(async {
        let client = connect(server.path()).await;
        assert_eq!(echo(&client, "traced").await.unwrap(), "traced");
        client.push(5).await.unwrap();
        assert_eq!(
            within("take_pushed", client.take_pushed()).await.unwrap(),
            [5]
        );
        close_and_wait(client).await;
    });
    // The client's end is not the server's notice of it: stopped before its
    // task has read the end of file, the server would close the connection
    // itself, and log that instead of the peer's close. So wait for the
    // server to log the reason checked below before stopping it.
    server.wait_for_log("client disconnected from `EchoServer`: the peer closed the connection");
    server.stop();
    let (result, stderr) = server.result_and_stderr();
    assert_eq!(result, "stopped, socket file left: false");
    for expected in [
        "handshake complete: this side handles `EchoServer`, the peer handles `EchoClient`",
        "recv EchoServer::echo",
        "handle EchoServer::echo Echo(Echo { text: \"traced\" })",
        "send EchoServer::echo_response",
        "recv EchoServer::push",
        "handle EchoServer::push Push(Push { value: 5 })",
        "recv EchoServer::take_pushed",
        "send EchoServer::take_pushed_response",
        "client disconnected from `EchoServer`: the peer closed the connection",
    ] {
        assert!(
            stderr.contains(expected),
            "`{expected}` missing from the server's log:\n{stderr}"
        );
    }
    fds.finish();
}

#[test]
fn fds_cross_both_ways_with_their_contents() {
    let fds = fd_check();
    let mut server = Child::server("server");
    run(async {
        let client = connect(server.path()).await;
        let read = within(
            "read_file",
            client.read_file(file_with("written by the client")),
        )
        .await;
        assert_eq!(read.unwrap(), "written by the client");
        let opened = within(
            "open_file",
            client.open_file("written by the server".into()),
        )
        .await;
        assert_eq!(read_all(opened.unwrap()), "written by the server");
        close_and_wait(client).await;
    });
    server.stop();
    server.result();
    fds.finish();
}

#[test]
fn graceful_shutdown_ends_run_and_the_clients_see_disconnected() {
    let fds = fd_check();
    let mut server = Child::server("server");
    let path = server.path().to_owned();
    run(async {
        let first = connect(&path).await;
        let second = connect(&path).await;
        // `AsyncConnection::call` sends at once, before the pings below.
        let pending = [
            first.connection().call(&Echo {
                text: "never".into(),
            }),
            second.connection().call(&Echo {
                text: "never".into(),
            }),
        ];
        // Calls are handled in order: once these return, the server holds
        // both `never`s.
        assert_eq!(echo(&first, "ping").await.unwrap(), "ping");
        assert_eq!(echo(&second, "ping").await.unwrap(), "ping");
        server.stop();
        for call in pending {
            let result = within("shutdown", call).await;
            assert!(matches!(result, Err(Error::Disconnected)), "{result:?}");
        }
        for client in [first, second] {
            within("the end", client.connection().next_message())
                .await
                .unwrap_err();
            close_and_wait(client).await;
        }
    });
    assert_eq!(server.result(), "stopped, socket file left: false");
    assert!(!path.exists());
    fds.finish();
}

#[test]
fn a_client_that_breaks_the_protocol_or_a_limit_is_disconnected_alone() {
    let fds = fd_check();
    let mut server = Child::server("server");
    run(async {
        let good = connect(server.path()).await;
        // Claims to speak EchoServer, but its `echo` does not decode.
        let liar = within(
            "connecting",
            AsyncConnection::<EchoClient, FakeEchoServer>::connect(server.path()),
        )
        .await
        .unwrap();
        let result = within("a bad call", liar.call(&BadEcho { byte: 7 })).await;
        assert!(matches!(result, Err(Error::Disconnected)), "{result:?}");
        assert_eq!(echo(&good, "unharmed").await.unwrap(), "unharmed");

        // Allows itself more calls in flight than the service's 256.
        let limits = Limits {
            max_in_flight_per_client: 1000,
            ..Limits::default()
        };
        let greedy = within(
            "connecting",
            Connection::builder().limits(limits).connect(server.path()),
        )
        .await
        .unwrap();
        let calls: Vec<_> = (0..257)
            .map(|_| {
                greedy.call(&Echo {
                    text: "never".into(),
                })
            })
            .collect();
        for call in calls {
            let result = within("a greedy call", call).await;
            assert!(matches!(result, Err(Error::Disconnected)), "{result:?}");
        }
        assert_eq!(
            echo(&good, "still unharmed").await.unwrap(),
            "still unharmed"
        );
        close_connection_and_wait(liar).await;
        close_connection_and_wait(greedy).await;
        close_and_wait(good).await;
    });
    server.stop();
    server.result();
    fds.finish();
}

#[test]
fn serve_connection_serves_a_socketpair_end_in_a_child_until_the_peer_leaves() {
    let fds = fd_check();
    let (ours, theirs) = UnixStream::pair().unwrap();
    let server = Child::serve_stream(theirs);
    run(async {
        let connection = within("handshake", Connection::from_stream(ours))
            .await
            .unwrap();
        let client = Client::from_connection(connection);
        assert_eq!(
            echo(&client, "over a socketpair").await.unwrap(),
            "over a socketpair"
        );
        // The handler's client handle sends events to this side.
        let notified = within("notify", client.notify_then_reply(3)).await.unwrap();
        assert_eq!(notified, 1);
        let event = within("the event", client.connection().next_message())
            .await
            .unwrap();
        assert!(
            matches!(event.message, EchoClientMessage::Event(Event { seq: 3 })),
            "{event:?}"
        );
        close_and_wait(client).await;
    });
    assert_eq!(server.result(), "ok");
    fds.finish();
}

#[test]
fn dropping_the_last_handle_writes_what_was_sent_then_closes() {
    let fds = fd_check();
    let (ours, theirs) = UnixStream::pair().unwrap();
    run(async {
        let pushed = Arc::new(Mutex::new(Vec::new()));
        let server = tokio::spawn({
            let pushed = Arc::clone(&pushed);
            courier::tokio::serve_connection::<EchoServer, EchoClient, _>(
                theirs,
                move |message: EchoServerMessage| {
                    if let EchoServerMessage::Push(Push { value }) = message {
                        pushed.lock().unwrap().push(value);
                    }
                    Reply::none()
                },
            )
        });
        let connection = within("handshake", Connection::from_stream(ours))
            .await
            .unwrap();
        let client = Client::from_connection(connection);
        // Far more than the socket buffer holds (about 2 MiB of frames), so
        // most are still queued when the handle is dropped.
        const PUSHES: i32 = 50_000;
        for value in 0..PUSHES {
            client.push(value).await.unwrap();
        }
        // Dropping the last handle writes them, then closes; the server
        // handles them all, then ends.
        close_and_wait(client).await;
        within("serve_connection", server).await.unwrap().unwrap();
        assert_eq!(*pushed.lock().unwrap(), (0..PUSHES).collect::<Vec<i32>>());
    });
    fds.finish();
}

#[test]
fn a_server_calls_its_client_which_answers_through_next_message() {
    let fds = fd_check();
    let (ours, theirs) = UnixStream::pair().unwrap();
    run(async {
        // Roles reversed: the serving side sends `EchoServer` requests to
        // its peer, which handles them.
        let (handle_tx, handle_rx) = tokio::sync::oneshot::channel();
        let server = tokio::spawn(courier::tokio::serve_connection_with::<
            NoMessages,
            EchoServer,
            _,
            _,
        >(theirs, Limits::default(), move |client| {
            handle_tx.send(client).unwrap();
            |message: std::convert::Infallible| match message {}
        }));
        let peer = within(
            "handshake",
            AsyncConnection::<EchoServer, NoMessages>::from_stream(ours),
        )
        .await
        .unwrap();
        let client = within("the client handle", handle_rx).await.unwrap();
        assert_eq!(client.id().get(), 1);
        assert_eq!(client.credentials().pid, std::process::id());
        let response = client.call(&Echo {
            text: "from the server".into(),
        });
        let incoming = within("next_message", peer.next_message()).await.unwrap();
        let EchoServerMessage::Echo(Echo { text }) = incoming.message else {
            panic!("{:?}", incoming.message)
        };
        incoming
            .responder
            .expect("a request has a responder")
            .response(EchoResponse {
                text: text.to_uppercase(),
            });
        assert_eq!(
            within("the response", response).await.unwrap().text,
            "FROM THE SERVER"
        );

        // A responder dropped unanswered answers with an error.
        let response = client.call(&Echo {
            text: "dropped".into(),
        });
        drop(within("next_message", peer.next_message()).await.unwrap());
        let error = within("the response", response).await.unwrap_err();
        assert!(
            matches!(&error, Error::Remote(remote) if remote.message().contains("without answering")),
            "{error:?}"
        );

        // The server disconnects its client: the client sees the end.
        client.disconnect();
        assert!(!client.is_connected());
        let end = within("the end", peer.next_message()).await.unwrap_err();
        assert!(matches!(end, Error::Disconnected), "{end:?}");
        within("serve_connection", server).await.unwrap().unwrap();
        // The generated sender trait, on the server's handle on its client.
        assert!(matches!(client.push(1), Err(Error::Disconnected)));
        close_connection_and_wait(peer).await;
    });
    fds.finish();
}

#[test]
fn the_blocking_driver_answers_a_deferred_reply_it_cannot_wait_for_with_an_error() {
    let fds = fd_check();
    let (ours, theirs) = UnixStream::pair().unwrap();
    let server = std::thread::spawn(move || {
        let mut kept = Vec::new();
        courier::blocking::serve::<EchoServer, EchoClient, _>(
            theirs,
            move |message: EchoServerMessage| {
                let EchoServerMessage::Echo(Echo { text }) = message else {
                    return Reply::none();
                };
                let (reply, responder) = Reply::deferred();
                if text == "answered at once" {
                    responder.response(EchoResponse { text });
                } else {
                    kept.push(responder);
                }
                reply
            },
        )
    });
    let client = EchoServerClient::from_connection(
        courier::blocking::BlockingConnection::<EchoClient, EchoServer>::from_stream(ours).unwrap(),
    );
    let response = client.echo("answered at once".into()).unwrap();
    assert_eq!(response, "answered at once");
    let error = client.echo("later".into()).unwrap_err();
    assert!(
        matches!(&error, Error::Remote(remote) if remote.message().contains("courier::tokio")),
        "{error:?}"
    );
    drop(client);
    server.join().unwrap().unwrap();
    fds.finish();
}

#[test]
fn close_fails_the_calls_in_flight_at_once_and_refuses_further_ones() {
    let fds = fd_check();
    let mut server = Child::server("server");
    run(async {
        let client = connect(server.path()).await;
        let pending = client.connection().call(&Echo {
            text: "never".into(),
        });
        assert_eq!(echo(&client, "ping").await.unwrap(), "ping");
        let other = client.clone();
        client.connection().close();
        assert!(other.connection().is_closed());
        let result = within("the pending call", pending).await;
        assert!(matches!(result, Err(Error::Disconnected)), "{result:?}");
        assert!(matches!(other.push(1).await, Err(Error::Disconnected)));
        assert!(matches!(
            echo(&other, "late").await,
            Err(Error::Disconnected)
        ));
        // The task ends even though clones are alive.
        within("the task to end", other.connection().closed()).await;
        drop(other);
        close_and_wait(client).await;
    });
    server.stop();
    server.result();
    fds.finish();
}

#[test]
fn a_server_takes_over_a_listening_socket() {
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("activated.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    run(async {
        let server = MultiServer::<EchoServer, EchoClient>::from_listener(listener).unwrap();
        let running = tokio::spawn({
            let server = server.clone();
            async move { tokio_common::run_echo(&server).await }
        });
        // Clients in another process.
        assert_eq!(Child::clients(&path, 2).result(), "ok 2");
        server.shutdown();
        within("the server to stop", running).await.unwrap();
        // A second run is refused rather than serving nothing.
        let error = server
            .run(|client| tokio_common::TokioEcho::new(client, None))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("already ran"), "{error}");
    });
    // The socket file belongs to whoever created it.
    assert!(path.exists());
    drop(dir);
    fds.finish();
}

/// Handles and futures can move between tasks and threads.
#[allow(dead_code)]
fn handles_and_futures_are_send() {
    fn send_sync<T: Send + Sync>() {}
    fn send_static<T: Send + 'static>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<AsyncConnection<EchoClient, EchoServer>>();
    send_sync::<courier::tokio::ClientHandle<EchoClient>>();
    send_sync::<MultiServer<EchoServer, EchoClient>>();
    send_sync::<courier::tokio::ShutdownHandle>();
    send_sync::<courier::Responder>();
    send_static::<courier::tokio::ResponseFuture<EchoResponse>>();
    let path = Path::new("/nowhere");
    send_sync::<Client>();
    send(&Client::connect(path));
    send(
        &Connection::builder()
            .with_handler(|_: EchoClientMessage| Reply::none())
            .connect(path),
    );
    // The generated methods' futures too.
    fn generated_futures(client: &Client) {
        send(&client.echo(String::new()));
        send(&client.block_on(file_with(""), file_with("")));
    }
    let _ = generated_futures;
    send(
        &courier::tokio::serve_connection::<EchoServer, EchoClient, _>(
            UnixStream::pair().unwrap().0,
            |_: EchoServerMessage| Reply::none(),
        ),
    );
    let server = MultiServer::<EchoServer, EchoClient>::bind(path).unwrap();
    send(&server.run(|client| tokio_common::TokioEcho::new(client, None)));
}

#[test]
fn after_close_no_handler_sees_another_message_even_one_already_read() {
    let fds = fd_check();
    let (client_end, server_end) = UnixStream::pair().unwrap();
    // The peer: a sans-IO server that answers the client's hello with its
    // own hello and five events in ONE write, so that the client reads them
    // all at once and holds 4 and 5 when its handler closes at 3.
    let peer = std::thread::spawn(move || {
        use courier::Endpoint as _;
        use courier::proto::{Config, Connection as Core, EndpointInfo, Side};
        use std::io::Write;
        let now = Instant::now();
        let mut core = Core::new(
            Config {
                side: Side::Server,
                local: EndpointInfo::of::<EchoServer>(),
                peer: EndpointInfo::of::<EchoClient>(),
                limits: Limits {
                    shm_threshold: None,
                    ..Limits::default()
                },
                any_peer: false,
            },
            now,
        );
        let mut stream = server_end;
        let mut buffer = vec![0; 4096];
        // The handshake, then the client's `push`, which says its handler can
        // reach the connection.
        let mut pushed = false;
        while !pushed {
            let read = stream.read(&mut buffer).unwrap();
            assert!(read > 0, "the client closed before its push");
            core.handle_input(now, &buffer[..read], Vec::new());
            while let Some(event) = core.poll_event() {
                pushed |= matches!(event, courier::proto::Event::Message { .. });
            }
            while let Some(transmit) = core.poll_transmit() {
                stream.write_all(&transmit.bytes).unwrap();
            }
        }
        for seq in 1..=5 {
            let body = courier::codec::encode_to_parts(&Event { seq }).unwrap().0;
            core.send_oneway(EchoClient::MAGIC, 1, body, Vec::new())
                .unwrap();
        }
        let mut bytes = Vec::new();
        while let Some(transmit) = core.poll_transmit() {
            bytes.extend_from_slice(&transmit.bytes);
        }
        stream.write_all(&bytes).unwrap();
        // Until the client's close.
        while stream.read(&mut buffer).unwrap() > 0 {}
    });
    run(async {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let this: Arc<std::sync::OnceLock<Connection>> = Arc::default();
        let connection = Connection::builder()
            .with_handler({
                let (seen, this) = (Arc::clone(&seen), Arc::clone(&this));
                move |message: EchoClientMessage| {
                    let EchoClientMessage::Event(Event { seq }) = message;
                    seen.lock().unwrap().push(seq);
                    if seq == 3 {
                        this.get().expect("the connection").close();
                    }
                    Reply::none()
                }
            })
            .from_stream(client_end);
        let connection = within("the handshake", connection).await.unwrap();
        let done = connection.closed();
        let client = connection.clone();
        assert!(this.set(connection).is_ok());
        client.send(&Push { value: 0 }).unwrap();
        drop(client);
        within("the close", done).await;
        assert_eq!(*seen.lock().unwrap(), [1, 2, 3]);
    });
    peer.join().unwrap();
    fds.finish();
}
