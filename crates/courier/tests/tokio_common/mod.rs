//! Helpers for the tokio tests (`tests/tokio_*.rs`): a tokio echo service
//! with deferred replies and broadcasts, a child process that is this test
//! binary started again (as a `MultiServer`, as a crowd of clients, or as a
//! `serve_connection` server on a socketpair), and a runtime wrapper that
//! checks no task outlives a test.
//!
//! Include after the shared support (fd accounting, the child process) and
//! the runtime helpers (the echo endpoints):
//!
//! ```ignore
//! #[path = "support/mod.rs"]
//! mod support;
//! #[path = "common/runtime/mod.rs"]
//! mod runtime_common;
//! #[path = "tokio_common/mod.rs"]
//! mod tokio_common;
//! ```
//!
//! # Child processes
//!
//! Each test binary that uses [`Child`] declares
//! `#[test] fn tokio_child() { tokio_common::child_main() }`. The child is
//! `<test binary> --exact tokio_child --nocapture` with
//! `COURIER_TOKIO_CHILD=<mode>:<arg>`; it prints `COURIER-READY` once it
//! listens and `COURIER-RESULT: ...` when done. A server child shuts down
//! gracefully when its stdin reaches end of file, so the parent triggers a
//! shutdown by closing the pipe ([`Child::stop`]). Synchronisation is by
//! pipes only.
#![allow(dead_code)]

use std::fs::File;
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{ChildStderr, ChildStdin, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use courier::tokio::{ClientHandle, MultiServer};
use courier::{Handler, HandlerError, Limits, Reply, Responder};

use crate::runtime_common::echo::echo_server::*;
use crate::runtime_common::echo::{
    EchoClient, EchoClientSender, EchoServer, EchoServerAsyncClient, EchoServerMessage,
};
use crate::runtime_common::{small_limits, socket_big_limits};
use crate::support::{ChildProcess, say, self_command};

/// The environment variable that makes `tokio_child` a child.
pub const CHILD_ENV: &str = "COURIER_TOKIO_CHILD";

// ----- the runtime -----

/// Runs `test` on a fresh two-worker runtime, then checks that every task
/// it spawned has ended (connection drivers, server client tasks) before
/// dropping the runtime.
pub fn run<F: Future>(test: F) -> F::Output {
    courier::init_tracing_from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let output = runtime.block_on(test);
    // A task whose connection just closed may still be returning; give the
    // workers a moment (a generous one: a loaded machine may not schedule
    // them for a while), then insist.
    let deadline = Instant::now() + TASKS_SETTLE;
    while runtime.metrics().num_alive_tasks() > 0 && Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(
        runtime.metrics().num_alive_tasks(),
        0,
        "tasks outlived the test"
    );
    drop(runtime);
    output
}

/// How long [`run`] lets the tasks of a test finish after it returned.
const TASKS_SETTLE: Duration = Duration::from_secs(30);

/// How long [`within`] waits for what should happen at once: long enough
/// for a heavily loaded machine, so that only a hang (a bug) reaches it.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Waits for `future`, failing the test instead of hanging if it takes
/// more than [`PATIENCE`] (a bug).
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(PATIENCE, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not happen within {PATIENCE:?}"),
    }
}

// ----- the tokio echo service -----

/// `EchoServer` for the tokio tests: a `courier::Handler` over the generated
/// messages rather than the generated `EchoServerHandler`, whose methods
/// answer at once, because this one defers replies. Besides echoing:
///
/// - `echo("never")` is deferred and never answered (its responder is kept
///   until the handler is dropped);
/// - `echo_bytes(data)` where `data` starts with [`NEVER_ANSWER`] is the
///   same, and the handler keeps `data` too (so a large body stays in the
///   server's memory until the client is gone);
/// - `echo("batch:<n>:<anything>")` is deferred until `n` such requests
///   arrived, then all are answered in reverse order of arrival;
/// - `notify_then_reply(count)` sends `Event { seq: count }` to every client
///   of the server, and answers how many clients that was;
/// - `block_on(signal, release)` writes to `signal`, then answers from
///   another thread once `release` reaches end of file (a deferred reply).
pub struct TokioEcho {
    client: ClientHandle<EchoClient>,
    server: Option<MultiServer<EchoServer, EchoClient>>,
    pushed: Vec<i32>,
    batch: Vec<(String, Responder)>,
    never: Vec<Responder>,
    /// The bodies of the `echo_bytes` calls never answered.
    kept: Vec<Vec<u8>>,
}

impl TokioEcho {
    pub fn new(
        client: ClientHandle<EchoClient>,
        server: Option<MultiServer<EchoServer, EchoClient>>,
    ) -> TokioEcho {
        TokioEcho {
            client,
            server,
            pushed: Vec::new(),
            batch: Vec::new(),
            never: Vec::new(),
            kept: Vec::new(),
        }
    }

    fn echo(&mut self, text: String) -> Reply {
        if text == "never" {
            let (reply, responder) = Reply::deferred();
            self.never.push(responder);
            return reply;
        }
        if let Some(rest) = text.strip_prefix("batch:") {
            let size: usize = rest
                .split(':')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            let (reply, responder) = Reply::deferred();
            self.batch.push((text, responder));
            if self.batch.len() >= size {
                for (text, responder) in self.batch.drain(..).rev() {
                    responder.response(EchoResponse { text });
                }
            }
            return reply;
        }
        Reply::response(EchoResponse { text })
    }

    fn broadcast(&mut self, count: i32) -> Reply {
        let clients = match &self.server {
            Some(server) => server.clients(),
            None => vec![self.client.clone()],
        };
        for client in &clients {
            // The generated sender trait of `EchoClient`, on a server's
            // handle on its client.
            if let Err(error) = client.event(count) {
                return Reply::error(HandlerError::new(format!(
                    "could not notify client {}: {error}",
                    client.id()
                )));
            }
        }
        Reply::response(NotifyThenReplyResponse {
            count: clients.len() as i32,
        })
    }
}

impl Handler<EchoServer> for TokioEcho {
    fn handle(&mut self, message: EchoServerMessage) -> Reply {
        match message {
            EchoServerMessage::Echo(Echo { text }) => self.echo(text),
            EchoServerMessage::Fail(Fail { reason }) => Reply::error(HandlerError::new(reason)),
            EchoServerMessage::Push(Push { value }) => {
                self.pushed.push(value);
                Reply::none()
            }
            EchoServerMessage::TakePushed(TakePushed {}) => Reply::response(TakePushedResponse {
                values: std::mem::take(&mut self.pushed),
            }),
            EchoServerMessage::NotifyThenReply(NotifyThenReply { count }) => self.broadcast(count),
            EchoServerMessage::EchoBytes(EchoBytes { data }) if data.starts_with(NEVER_ANSWER) => {
                let (reply, responder) = Reply::deferred();
                self.never.push(responder);
                self.kept.push(data);
                reply
            }
            EchoServerMessage::EchoBytes(EchoBytes { data }) => {
                Reply::response(EchoBytesResponse { data })
            }
            EchoServerMessage::ReadFile(ReadFile { file }) => {
                Reply::from_result(read_file(file).map(|contents| ReadFileResponse { contents }))
            }
            EchoServerMessage::OpenFile(OpenFile { contents }) => {
                Reply::from_result(open_file(&contents).map(|file| OpenFileResponse { file }))
            }
            EchoServerMessage::BlockOn(BlockOn { signal, release }) => {
                let (reply, responder) = Reply::deferred();
                if let Err(error) = File::from(signal).write_all(b"!") {
                    responder.error(error.into());
                    return reply;
                }
                tokio::task::spawn_blocking(move || {
                    let mut rest = Vec::new();
                    let result = File::from(release).read_to_end(&mut rest);
                    responder.from_result(
                        result
                            .map(|_| BlockOnResponse {})
                            .map_err(HandlerError::from),
                    );
                });
                reply
            }
        }
    }
}

fn read_file(file: std::os::fd::OwnedFd) -> Result<String, HandlerError> {
    let mut file = File::from(file);
    file.rewind()?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

fn open_file(contents: &str) -> Result<std::os::fd::OwnedFd, HandlerError> {
    let mut file = tempfile::tempfile()?;
    file.write_all(contents.as_bytes())?;
    file.rewind()?;
    Ok(file.into())
}

/// The first bytes of an `echo_bytes` body that [`TokioEcho`] never
/// answers (see there).
pub const NEVER_ANSWER: &[u8] = b"COURIER-NEVER-ANSWER";

/// A `MultiServer` of the tokio echo service at `path`, its handlers able to
/// broadcast to every client.
pub fn echo_server(path: &Path, limits: Limits) -> MultiServer<EchoServer, EchoClient> {
    MultiServer::builder()
        .limits(limits)
        .bind(path)
        .expect("bind the echo server")
}

/// Runs `server` with [`TokioEcho`] handlers until it shuts down.
pub async fn run_echo(server: &MultiServer<EchoServer, EchoClient>) {
    let broadcaster = server.clone();
    server
        .run(move |client| TokioEcho::new(client, Some(broadcaster.clone())))
        .await
        .expect("run the echo server");
}

// ----- an endpoint that lies -----

pub mod fake_echo {
    //! Claims to be `EchoServer` (same name and magic) but sends `echo`
    //! with a one-byte body, which does not decode as the real `Echo`.

    use courier::{Decode, DecodeError, Decoder, Encode, Endpoint};

    /// The lying endpoint.
    #[derive(Debug)]
    pub struct FakeEchoServer;

    impl Endpoint for FakeEchoServer {
        const NAME: &'static str = "EchoServer";
        const MAGIC: u32 = crate::runtime_common::echo::echo_server::MAGIC;
        type Message = std::convert::Infallible;

        fn decode_message(
            id: u32,
            _decoder: &mut Decoder<'_>,
        ) -> Result<Self::Message, DecodeError> {
            Err(DecodeError::new(
                courier::codec::DecodeErrorKind::UnknownMessage {
                    endpoint: "EchoServer",
                    id,
                },
            ))
        }

        fn message_name(_id: u32) -> Option<&'static str> {
            None
        }
    }

    /// `echo` with a body of one byte.
    #[derive(Debug, Encode, Decode)]
    pub struct BadEcho {
        pub byte: u8,
    }

    /// Its response, never sent.
    #[derive(Debug, Encode, Decode)]
    pub struct BadEchoResponse {
        pub text: String,
    }

    impl courier::Message for BadEcho {
        type Endpoint = FakeEchoServer;
        const ID: u32 = 1;
        const NAME: &'static str = "echo";
    }

    impl courier::Message for BadEchoResponse {
        type Endpoint = FakeEchoServer;
        const ID: u32 = 2;
        const NAME: &'static str = "EchoResponse";
    }

    impl courier::Request for BadEcho {
        type Response = BadEchoResponse;
    }
}

// ----- the child process -----

/// A child process running this test binary's `tokio_child`.
pub struct Child {
    process: ChildProcess,
    stdin: Option<ChildStdin>,
    log: Option<ChildLog>,
    path: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

/// The stderr of a traced child, read line by line on a thread of its own
/// as the child writes it: the test can wait for a line to appear, and the
/// child never blocks on a full pipe.
pub struct ChildLog {
    lines: mpsc::Receiver<String>,
    /// Every line received so far.
    seen: String,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl ChildLog {
    fn start(stderr: ChildStderr) -> ChildLog {
        let (sender, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut stderr = BufReader::new(stderr);
            loop {
                let mut line = String::new();
                match stderr.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if sender.send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        ChildLog {
            lines,
            seen: String::new(),
            reader: Some(reader),
        }
    }

    /// Waits until the child has logged `text`, failing the test after
    /// [`PATIENCE`] or if its stderr ends first.
    pub fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        while !self.seen.contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push_str(&line),
                Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                    "the child did not log `{text}` within {PATIENCE:?}; its log:\n{}",
                    self.seen
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!(
                    "the child's stderr ended without `{text}`; its log:\n{}",
                    self.seen
                ),
            }
        }
    }

    /// Everything the child logged, once its stderr has ended.
    fn rest(mut self) -> String {
        while let Ok(line) = self.lines.recv() {
            self.seen.push_str(&line);
        }
        if let Some(reader) = self.reader.take() {
            reader
                .join()
                .expect("the thread reading the child's stderr");
        }
        self.seen
    }
}

impl Child {
    /// Starts a `MultiServer` child in `mode` (`server`, `server-full2`,
    /// `server-small`, `server-socket-big`) on a fresh socket path and waits
    /// until it listens.
    pub fn server(mode: &str) -> Child {
        Child::server_with(mode, false)
    }

    /// Like [`server`](Self::server), with `IPC_TRACE=1` and the child's
    /// stderr captured (see [`result_and_stderr`](Self::result_and_stderr)).
    pub fn server_traced(mode: &str) -> Child {
        Child::server_with(mode, true)
    }

    fn server_with(mode: &str, traced: bool) -> Child {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("echo.sock");
        let mut child = Child::spawn(
            &format!("{mode}:{}", path.display()),
            Stdio::piped(),
            path,
            Some(dir),
            traced,
        );
        child.read_until("COURIER-READY");
        child
    }

    /// Starts a child that connects `clients` clients to `path` at once
    /// (see [`crowd`]).
    pub fn clients(path: &Path, clients: usize) -> Child {
        Child::spawn(
            &format!("clients{clients}:{}", path.display()),
            Stdio::null(),
            path.to_owned(),
            None,
            false,
        )
    }

    /// Starts a child that serves `stream` (its stdin) with
    /// `serve_connection` until the peer leaves.
    pub fn serve_stream(stream: UnixStream) -> Child {
        let stdin = Stdio::from(std::os::fd::OwnedFd::from(stream));
        Child::spawn("serve-stdin:-", stdin, PathBuf::new(), None, false)
    }

    fn spawn(
        spec: &str,
        stdin: Stdio,
        path: PathBuf,
        dir: Option<tempfile::TempDir>,
        traced: bool,
    ) -> Child {
        let mut command = self_command("tokio_child");
        command
            .env(CHILD_ENV, spec)
            .stdin(stdin)
            .stdout(Stdio::piped());
        if traced {
            command
                .env_remove("IPC_DEBUG")
                .env("IPC_TRACE", "1")
                .stderr(Stdio::piped());
        }
        let mut process = ChildProcess::spawn(&mut command, "child");
        let stdin = process.take_stdin();
        let log = process.take_stderr().map(ChildLog::start);
        Child {
            process,
            stdin,
            log,
            path,
            _dir: dir,
        }
    }

    /// The socket path of a server child.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Kills the child (SIGKILL).
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Closes the child's stdin: a server child shuts down gracefully.
    pub fn stop(&mut self) {
        drop(self.stdin.take());
    }

    /// Waits for the child's `COURIER-RESULT` line and its exit; returns the
    /// rest of that line.
    pub fn result(mut self) -> String {
        let line = self.read_until("COURIER-RESULT: ");
        let status = self.process.wait();
        assert!(status.success(), "the child exited with {status}");
        line
    }

    /// Waits until the child has written `text` to its stderr (only
    /// captured by [`server_traced`](Self::server_traced)): what a test
    /// waits for when the event it needs is one the child only logs.
    pub fn wait_for_log(&mut self, text: &str) {
        self.log
            .as_mut()
            .expect("spawned with server_traced")
            .wait_for(text);
    }

    /// [`result`](Self::result), and everything the child wrote to stderr
    /// (only captured by [`server_traced`](Self::server_traced)).
    pub fn result_and_stderr(mut self) -> (String, String) {
        let log = self.log.take().expect("spawned with server_traced");
        let result = self.result();
        (result, log.rest())
    }

    /// Reads the child's output up to a line containing `marker`; returns
    /// the rest of that line.
    pub fn read_until(&mut self, marker: &str) -> String {
        self.process.read_until(marker)
    }
}

/// The body of each test binary's `tokio_child` test. Without the
/// environment variable (the normal test run) it is an in-process smoke
/// test of the echo service over a socket.
pub fn child_main() {
    let Some(spec) = std::env::var_os(CHILD_ENV) else {
        in_process_smoke_test();
        return;
    };
    let spec = spec.into_string().expect("UTF-8 child spec");
    let (mode, arg) = spec.split_once(':').expect("mode:arg");
    let path = Path::new(arg);
    match mode {
        "server" => serve_until_stdin_closes(path, Limits::default()),
        "server-full2" => serve_until_stdin_closes(
            path,
            Limits {
                max_clients: 2,
                ..Limits::default()
            },
        ),
        "server-small" => serve_until_stdin_closes(path, small_limits()),
        "server-socket-big" => serve_until_stdin_closes(path, socket_big_limits()),
        "serve-stdin" => serve_stdin(),
        _ => match mode
            .strip_prefix("clients")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(clients) => {
                let result = run(crowd(path, clients));
                say(&format!("COURIER-RESULT: {result}"));
            }
            None => panic!("unknown child mode {mode}"),
        },
    }
}

/// A server child: serves at `path` until its stdin reaches end of file.
fn serve_until_stdin_closes(path: &Path, limits: Limits) {
    run(async {
        let server = echo_server(path, limits);
        let shutdown = server.shutdown_handle();
        // A plain thread: it blocks on stdin, and ends with it.
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            shutdown.shutdown();
        });
        say("COURIER-READY");
        run_echo(&server).await;
        let file_left = path.exists();
        say(&format!(
            "COURIER-RESULT: stopped, socket file left: {file_left}"
        ));
    });
}

/// A `serve_connection` child: serves the socket that is its stdin.
fn serve_stdin() {
    let stream = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .expect("dup stdin");
    let stream = UnixStream::from(stream);
    let result = run(courier::tokio::serve_connection_with::<
        EchoServer,
        EchoClient,
        _,
        _,
    >(stream, Limits::default(), |client| {
        TokioEcho::new(client, None)
    }));
    match result {
        Ok(()) => say("COURIER-RESULT: ok"),
        Err(error) => say(&format!("COURIER-RESULT: err: {error}")),
    }
}

/// `clients` clients connect to `path`; once all are connected, each makes
/// calls of its own at once and checks it gets its own answers. Returns
/// `ok <clients>` or what went wrong.
pub async fn crowd(path: &Path, clients: usize) -> String {
    let all_connected = Arc::new(tokio::sync::Barrier::new(clients));
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let path = path.to_owned();
            let all_connected = Arc::clone(&all_connected);
            tokio::spawn(async move {
                let connection = EchoServerAsyncClient::<EchoClient>::connect(&path)
                    .await
                    .map_err(|error| format!("client {client} could not connect: {error}"))?;
                all_connected.wait().await;
                // Five calls in flight at once, each on its own task.
                let calls: Vec<_> = (0..5)
                    .map(|call| {
                        let text = format!("client {client} call {call}");
                        let connection = connection.clone();
                        let answer = tokio::spawn({
                            let text = text.clone();
                            async move { connection.echo(text).await }
                        });
                        (text, answer)
                    })
                    .collect();
                for (text, answer) in calls {
                    let answer = answer
                        .await
                        .map_err(|error| format!("{text}: the task failed: {error}"))?
                        .map_err(|error| format!("{text}: {error}"))?;
                    if answer != text {
                        return Err(format!("{text} got the answer `{answer}`"));
                    }
                }
                let done = connection.connection().closed();
                drop(connection);
                done.await;
                Ok::<(), String>(())
            })
        })
        .collect();
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return error,
            Err(error) => return format!("a client task failed: {error}"),
        }
    }
    format!("ok {clients}")
}

/// Without a parent: the tokio echo service and a client in one process.
fn in_process_smoke_test() {
    let fds = crate::runtime_common::fd_check();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("smoke.sock");
    run(async {
        let server = echo_server(&path, Limits::default());
        let running = tokio::spawn({
            let server = server.clone();
            async move { run_echo(&server).await }
        });
        let client = EchoServerAsyncClient::<EchoClient>::connect(&path)
            .await
            .expect("connect");
        assert_eq!(client.echo("smoke".into()).await.expect("echo"), "smoke");
        server.shutdown();
        running.await.expect("the server task");
        let error = client.echo("after".into()).await.unwrap_err();
        assert!(matches!(error, courier::Error::Disconnected), "{error:?}");
        let done = client.connection().closed();
        drop(client);
        done.await;
    });
    assert!(!path.exists(), "the server removes its socket file");
    // Removing the directory opens fds: before the count.
    drop(dir);
    fds.finish();
}
