//! Faults between real processes (issue 6): a server killed with `SIGKILL`
//! during a call, during a large transfer and between calls; a client
//! killed mid-call; the socket file deleted under a running service; the
//! service restarted while clients retry.
//!
//! The server is a tokio `MultiServer` of the test echo service in a child
//! process (this test binary started again as `fault_child`); a killed
//! client is a child too. What each test proves:
//!
//! - a client, blocking or async, gets [`Error::Disconnected`] promptly
//!   (within [`DEADLINE`], never a hang) whatever the server was doing when
//!   it died;
//! - a server frees everything of a client that died: its fd count comes
//!   back, and it counts one client fewer;
//! - with its socket file deleted, a service keeps serving the clients it
//!   has, a new connect fails with an error naming the path, and a new
//!   instance can bind the path;
//! - clients that retry with
//!   [`Portal::connect_with_retry`](courier::discovery::Portal::connect_with_retry)
//!   reach a restarted service and their calls succeed.
//!
//! Synchronisation is by pipes and `/proc` only, polled with a deadline:
//! the child prints `COURIER-READY` once it listens; a server shuts down
//! when its stdin reaches end of file.

#[path = "support/mod.rs"]
mod support;

#[path = "common/runtime/mod.rs"]
mod runtime_common;

#[path = "tokio_common/mod.rs"]
mod tokio_common;

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use courier::blocking::BlockingConnection;
use courier::discovery::{DiscoveryErrorKind, Portal};
use courier::{Error, Limits};
use runtime_common::echo::{EchoClient, EchoServer, EchoServerAsyncClient, EchoServerClient};
use support::{ChildProcess, fd_check, open_fds_of, say, self_command};

/// The generated blocking client, with the server's events for `EchoClient`.
type Client = EchoServerClient<EchoClient>;
/// The generated async client.
type AsyncClient = EchoServerAsyncClient<EchoClient>;

/// The environment variable that makes `fault_child` a server or a client.
const CHILD_ENV: &str = "COURIER_FAULT_CHILD";

/// How long any expected event may take before the test fails: a bug, not
/// a slow machine.
const DEADLINE: Duration = Duration::from_secs(30);

/// The service name of the discovery tests.
const SERVICE: &str = "echo";

// ----- the child -----

/// The child: a server (`server:<path>`, `service:<portal dir>`) or a
/// client to be killed mid-call (`client:<path>`). Without the variable
/// (the normal test run) it does nothing.
#[test]
fn fault_child() {
    let Some(spec) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let spec = spec.into_string().expect("UTF-8 child spec");
    let (mode, arg) = spec.split_once(':').expect("mode:arg");
    match mode {
        "server" => serve(|| tokio_common::echo_server(Path::new(arg), Limits::default())),
        "service" => serve(|| {
            let listener = Portal::at(arg)
                .bind(SERVICE)
                .expect("bind the service in the portal");
            courier::tokio::MultiServer::from_service(listener)
        }),
        "client" => client_stuck_in_a_call(Path::new(arg)),
        other => panic!("unknown fault child mode {other}"),
    }
}

/// Serves the echo service until stdin reaches end of file.
fn serve(bind: impl FnOnce() -> courier::tokio::MultiServer<EchoServer, EchoClient>) {
    tokio_common::run(async {
        let server = bind();
        let shutdown = server.shutdown_handle();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            shutdown.shutdown();
        });
        say("COURIER-READY");
        tokio_common::run_echo(&server).await;
    });
    say("COURIER-RESULT: stopped");
}

/// A client that leaves the server holding things of it (a file sent
/// with a call, a pool segment, a blocked call with its fds), says
/// `COURIER-READY` once the blocked call is in the server's hands, and
/// waits to be killed.
fn client_stuck_in_a_call(path: &Path) {
    let client = Client::connect(path).expect("connect");
    assert_eq!(client.echo("hello".into()).unwrap(), "hello");
    // Through the pool: the server maps a segment of this client's.
    let data = vec![7u8; 1 << 20];
    assert_eq!(client.echo_bytes(data.clone()).unwrap(), data);
    let (signal_read, signal_write) = rustix::pipe::pipe().expect("pipe");
    let (release_read, release_write) = rustix::pipe::pipe().expect("pipe");
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let _ = client.block_on(signal_write, release_read);
        });
        let mut byte = [0];
        std::fs::File::from(signal_read)
            .read_exact(&mut byte)
            .expect("the server signals that it holds the call");
        say("COURIER-READY");
        // Killed here; the release pipe stays open until then.
        std::thread::sleep(Duration::from_secs(60));
        drop(release_write);
    });
}

// ----- the parent -----

/// A server child.
struct Server {
    process: ChildProcess,
    stdin: Option<ChildStdin>,
}

impl Server {
    /// Starts `fault_child` as `spec` (`server:<path>`, `service:<dir>`)
    /// and waits until it listens.
    fn start(spec: String) -> Server {
        let mut process = ChildProcess::spawn(
            self_command("fault_child")
                .env(CHILD_ENV, spec)
                .env_remove("IPC_TRACE")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped()),
            "server",
        );
        let stdin = process.take_stdin();
        process.read_until("COURIER-READY");
        Server { process, stdin }
    }

    fn at(path: &Path) -> Server {
        Server::start(format!("server:{}", path.display()))
    }

    fn pid(&self) -> u32 {
        self.process.pid()
    }

    fn fds(&self) -> usize {
        open_fds_of(self.pid())
    }

    /// SIGKILL, then reap.
    fn kill(mut self) {
        self.process.kill();
        self.process.wait();
    }

    /// Closes stdin and checks the server stopped cleanly.
    fn stop(mut self) {
        drop(self.stdin.take());
        assert_eq!(self.process.read_until("COURIER-RESULT: "), "stopped");
        let status = self.process.wait();
        assert!(status.success(), "the server exited with {status}");
    }

    /// Whether the server has mapped a shared-memory pool segment (it
    /// received a large body through the pool).
    fn maps_a_pool_segment(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/maps", self.pid()))
            .is_ok_and(|maps| maps.contains("courier-pool-segment"))
    }

    /// The server's resident memory in KiB (`VmRSS`): it grows as a large
    /// frame arrives through the socket.
    fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

/// Polls `condition` until it holds, failing the test after [`DEADLINE`].
fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < DEADLINE,
            "{what} did not happen within {DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A fresh socket path in its own directory.
fn socket_path() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("echo.sock");
    (dir, path)
}

/// Runs `call` on a thread and returns its result, failing the test if it
/// does not return within [`DEADLINE`] of `trigger` being run (a hang).
fn call_during<T: Send + 'static>(
    call: impl FnOnce() -> T + Send + 'static,
    trigger: impl FnOnce(),
) -> T {
    let (sender, receiver) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = sender.send(call());
    });
    trigger();
    let started = Instant::now();
    let result = receiver
        .recv_timeout(DEADLINE)
        .unwrap_or_else(|_| panic!("the call did not return within {DEADLINE:?}: a hang"));
    eprintln!(
        "the call returned {:?} after the trigger",
        started.elapsed()
    );
    thread.join().expect("the calling thread");
    result
}

fn assert_disconnected<T: std::fmt::Debug>(result: Result<T, Error>, what: &str) {
    match result {
        Err(Error::Disconnected) => {}
        other => panic!("{what}: expected Disconnected, got {other:?}"),
    }
}

/// A pipe whose read end the server signals on (`block_on`), and the
/// release pipe it then waits on.
struct BlockPipes {
    signal_read: OwnedFd,
    signal_write: OwnedFd,
    release_read: OwnedFd,
    release_write: OwnedFd,
}

fn block_pipes() -> BlockPipes {
    let (signal_read, signal_write) = rustix::pipe::pipe().expect("pipe");
    let (release_read, release_write) = rustix::pipe::pipe().expect("pipe");
    BlockPipes {
        signal_read,
        signal_write,
        release_read,
        release_write,
    }
}

/// Waits until the server wrote its signal: it holds the call.
fn wait_for_signal(signal_read: OwnedFd) {
    let mut byte = [0];
    std::fs::File::from(signal_read)
        .read_exact(&mut byte)
        .expect("the server signals that it holds the call");
}

// ----- the server killed -----

#[test]
fn a_blocking_client_gets_disconnected_when_the_server_is_killed_during_a_call() {
    let fds = fd_check();
    let (_dir, path) = socket_path();
    let server = Server::at(&path);
    let client = Client::connect(&path).unwrap();
    let pipes = block_pipes();
    let (signal, release) = (pipes.signal_write, pipes.release_read);
    let result = call_during(
        move || client.block_on(signal, release),
        || {
            wait_for_signal(pipes.signal_read);
            server.kill();
        },
    );
    assert_disconnected(result, "a call in the hands of a killed server");
    drop(pipes.release_write);
    fds.finish();
}

#[test]
fn an_async_client_gets_disconnected_when_the_server_is_killed_during_a_call() {
    let fds = fd_check();
    let (_dir, path) = socket_path();
    let server = Server::at(&path);
    tokio_common::run(async move {
        let client = AsyncClient::connect(&path).await.unwrap();
        let pipes = block_pipes();
        let call = client.block_on(pipes.signal_write, pipes.release_read);
        let killer = tokio::task::spawn_blocking(move || {
            wait_for_signal(pipes.signal_read);
            server.kill();
            pipes.release_write
        });
        let result = tokio_common::within("the call's end", call).await;
        assert_disconnected(result, "an async call in the hands of a killed server");
        drop(killer.await.unwrap());
        let closed = client.connection().closed();
        drop(client);
        closed.await;
    });
    fds.finish();
}

/// 48 MiB: well past the pool's threshold, within the message limit.
const LARGE: usize = 48 << 20;

/// `LARGE` bytes of `fill` that the server never answers (see
/// `tokio_common::NEVER_ANSWER`): however long the test takes to notice
/// that the transfer is under way, the call cannot have been answered
/// before the kill (an answered call would return its echo, not the
/// `Disconnected` these tests are about), and the server keeps the body,
/// so what the test waits for does not go away again.
fn unanswered_body(fill: u8) -> Vec<u8> {
    let mut data = vec![fill; LARGE];
    data[..tokio_common::NEVER_ANSWER.len()].copy_from_slice(tokio_common::NEVER_ANSWER);
    data
}

#[test]
fn a_client_gets_disconnected_when_the_server_is_killed_during_a_large_pool_transfer() {
    let fds = fd_check();
    let (_dir, path) = socket_path();
    let server = Server::at(&path);
    let client = Client::connect(&path).unwrap();
    let before = server.rss_kib();
    let data = unanswered_body(0xa5);
    let result = call_during(
        move || client.echo_bytes(data),
        || {
            // The server has the body's segment mapped: the transfer is
            // under way. (Or, if this thread was not scheduled for that
            // long, the body already sits in the server's memory.)
            wait_for("the pool segment reaching the server", || {
                server.maps_a_pool_segment() || server.rss_kib() > before + (LARGE as u64 >> 11)
            });
            server.kill();
        },
    );
    assert_disconnected(result, "a large call to a killed server");
    fds.finish();
}

#[test]
fn a_client_gets_disconnected_when_the_server_is_killed_during_a_large_socket_transfer() {
    let fds = fd_check();
    let (_dir, path) = socket_path();
    let server = Server::at(&path);
    // No pool: the 48 MiB go through the socket.
    let limits = Limits {
        shm_threshold: None,
        ..Limits::default()
    };
    let client = Client::from_connection(
        BlockingConnection::<EchoClient, EchoServer>::builder()
            .limits(limits)
            .connect(&path)
            .unwrap(),
    );
    let before = server.rss_kib();
    let data = unanswered_body(0x5a);
    let result = call_during(
        move || client.echo_bytes(data),
        || {
            // The frame is arriving: the server's input grows (and stays
            // grown: the server keeps the body it never answers).
            wait_for("the server receiving the first MiBs", || {
                server.rss_kib() > before + 4096
            });
            server.kill();
        },
    );
    assert_disconnected(result, "a large call to a server killed mid-transfer");
    fds.finish();
}

#[test]
fn clients_get_disconnected_when_the_server_was_killed_between_calls() {
    let fds = fd_check();
    let (_dir, path) = socket_path();
    let server = Server::at(&path);
    let blocking = Client::connect(&path).unwrap();
    assert_eq!(blocking.echo("one".into()).unwrap(), "one");
    tokio_common::run(async move {
        let client = AsyncClient::connect(&path).await.unwrap();
        assert_eq!(client.echo("two".into()).await.unwrap(), "two");
        let closed = client.connection().closed();
        tokio::task::spawn_blocking(move || server.kill())
            .await
            .unwrap();
        // The async driver notices on its own; the next call fails at once.
        tokio_common::within("the async connection's close", closed).await;
        assert!(client.connection().is_closed());
        let result = tokio_common::within("the next async call", client.echo("three".into())).await;
        assert_disconnected(result, "an async call after the server died");
    });
    let result = call_during(move || blocking.echo("four".into()), || {});
    assert_disconnected(result, "a blocking call after the server died");
    fds.finish();
}

// ----- the client killed -----

#[test]
fn the_server_frees_everything_of_a_client_killed_mid_call() {
    let fds = fd_check();
    let (_dir, path) = socket_path();
    let server = Server::at(&path);
    let good = Client::connect(&path).unwrap();
    assert_eq!(good.echo("before".into()).unwrap(), "before");
    // The echo service answers how many clients it notified: all of them.
    let clients = |good: &Client| good.notify_then_reply(0);
    assert_eq!(clients(&good).unwrap(), 1);
    let fds_before = server.fds();

    let mut victim = ChildProcess::spawn(
        self_command("fault_child")
            .env(CHILD_ENV, format!("client:{}", path.display()))
            .env_remove("IPC_TRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped()),
        "client",
    );
    victim.read_until("COURIER-READY");
    assert_eq!(clients(&good).unwrap(), 2, "the victim is connected");
    assert!(
        server.fds() > fds_before,
        "the server holds the victim's fds"
    );
    victim.kill();
    victim.wait();
    drop(victim);

    // The server notices, drops the client's handler, responders, pool
    // segments and fds.
    wait_for("the server to count one client", || {
        matches!(clients(&good), Ok(1))
    });
    wait_for("the server's fds to come back", || {
        server.fds() == fds_before
    });
    assert_eq!(good.echo("after".into()).unwrap(), "after");
    let fresh = Client::connect(&path).unwrap();
    assert_eq!(fresh.echo("fresh".into()).unwrap(), "fresh");
    drop(fresh);
    drop(good);
    server.stop();
    fds.finish();
}

// ----- the socket file deleted -----

#[test]
fn a_deleted_socket_file_keeps_clients_refuses_new_ones_and_frees_the_path() {
    let fds = fd_check();
    let (_dir, path) = socket_path();
    let server = Server::at(&path);
    let client = Client::connect(&path).unwrap();
    assert_eq!(client.echo("before".into()).unwrap(), "before");

    std::fs::remove_file(&path).expect("delete the socket file");
    assert_eq!(client.echo("still here".into()).unwrap(), "still here");
    let error = Client::connect(&path).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "the error names the path: {message}"
    );

    // A new instance binds the same path; new clients reach it, the old
    // client stays with the old instance.
    let second = Server::at(&path);
    let new_client = Client::connect(&path).unwrap();
    assert_eq!(new_client.echo("new".into()).unwrap(), "new");
    assert_eq!(client.echo("old".into()).unwrap(), "old");
    drop(client);
    server.stop();
    assert_eq!(new_client.echo("new again".into()).unwrap(), "new again");
    drop(new_client);
    second.stop();
    fds.finish();
}

#[test]
fn a_deleted_service_socket_gives_a_not_running_error_naming_the_path() {
    let fds = fd_check();
    let dir = tempfile::tempdir().expect("tempdir");
    let portal_dir = dir.path().join("portal");
    let server = Server::start(format!("service:{}", portal_dir.display()));
    let portal = Portal::at(&portal_dir);
    let path = portal.service_path(SERVICE).unwrap();
    let client = Client::from_connection(
        BlockingConnection::from_stream(portal.connect(SERVICE).unwrap()).unwrap(),
    );
    std::fs::remove_file(&path).expect("delete the socket file");
    let error = portal.connect(SERVICE).unwrap_err();
    assert!(
        matches!(error.kind(), DiscoveryErrorKind::NotRunning { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "the error names the path: {error}"
    );
    assert_eq!(client.echo("alive".into()).unwrap(), "alive");
    drop(client);
    server.stop();
    fds.finish();
}

// ----- the service restarted -----

#[test]
fn clients_that_retry_reach_a_restarted_service() {
    let fds = fd_check();
    let dir = tempfile::tempdir().expect("tempdir");
    let portal_dir = dir.path().join("portal");
    let spec = format!("service:{}", portal_dir.display());
    let first = Server::start(spec.clone());
    let portal = Portal::at(&portal_dir);
    let connect = |deadline| -> Result<Client, Error> {
        let stream = portal.connect_with_retry(SERVICE, deadline)?;
        BlockingConnection::from_stream(stream).map(Client::from_connection)
    };
    let client = connect(Instant::now() + DEADLINE).unwrap();
    assert_eq!(client.echo("first".into()).unwrap(), "first");

    // The service dies (its socket file stays behind, stale) and comes back
    // while clients retry.
    first.kill();
    assert_disconnected(client.echo("gone".into()), "a call to the dead instance");
    let retrying: Vec<_> = (0..4)
        .map(|n| {
            let portal = Portal::at(&portal_dir);
            std::thread::spawn(move || {
                let stream = portal
                    .connect_with_retry(SERVICE, Instant::now() + DEADLINE)
                    .expect("the retrying connect reaches the new instance");
                let client =
                    Client::from_connection(BlockingConnection::from_stream(stream).unwrap());
                let text = format!("retry {n}");
                client.echo(text.clone()).unwrap() == text
            })
        })
        .collect();
    let second = Server::start(spec);
    for thread in retrying {
        assert!(
            thread.join().expect("a retrying client"),
            "answered correctly"
        );
    }
    let again = connect(Instant::now() + DEADLINE).unwrap();
    assert_eq!(again.echo("second".into()).unwrap(), "second");
    drop((client, again));
    second.stop();
    fds.finish();
}

#[test]
fn a_retrying_connect_gives_up_at_its_deadline_with_a_typed_error() {
    let fds = fd_check();
    let dir = tempfile::tempdir().expect("tempdir");
    let portal = Portal::at(dir.path().join("portal"));
    let start = Instant::now();
    let error = portal
        .connect_with_retry(SERVICE, start + Duration::from_millis(100))
        .unwrap_err();
    let waited = start.elapsed();
    assert!(
        matches!(error.kind(), DiscoveryErrorKind::NotRunning { .. }),
        "{error:?}"
    );
    assert!(
        waited >= Duration::from_millis(100),
        "retried until the deadline: {waited:?}"
    );
    assert!(waited < DEADLINE, "gave up at the deadline: {waited:?}");
    // An error retrying cannot cure comes back at once: not retried until
    // the deadline (which is all a retrying connect does), so well before.
    let start = Instant::now();
    let error = portal
        .connect_with_retry("../escape", start + DEADLINE)
        .unwrap_err();
    assert!(
        matches!(error.kind(), DiscoveryErrorKind::InvalidName { .. }),
        "{error:?}"
    );
    let waited = start.elapsed();
    assert!(waited < DEADLINE / 2, "retried an invalid name: {waited:?}");
    let _ = std::io::stdout().flush();
    drop(dir);
    fds.finish();
}
