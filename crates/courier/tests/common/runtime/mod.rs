//! Helpers for the runtime tests (`tests/runtime_*.rs`): fd accounting, an
//! echo service (the generated `EchoServerHandler` of `examples/ipc/Echo.ipc`,
//! see [`echo`]), and running that service in a child process.
//!
//! Include with `#[path = "common/runtime/mod.rs"] mod runtime_common;`,
//! after `#[path = "support/mod.rs"] mod support;`, which provides the fd
//! accounting and the child process.
//!
//! # Cross-process tests
//!
//! The server runs in a child process that is this same test binary, started
//! as `<test binary> --exact child_server --nocapture` with
//! `COURIER_RUNTIME_CHILD=<mode>:<socket path>` in its environment. Each
//! test binary that uses [`ServerChild`] therefore declares
//! `#[test] fn child_server() { runtime_common::child_server_main() }`.
//! Run without that variable (the normal test run), `child_server` is an
//! in-process smoke test of the same service over a socketpair.
//!
//! Synchronisation is by pipes only: the child prints `COURIER-READY` once it
//! listens, and `COURIER-RESULT: ...` when its connection ends.
#![allow(dead_code, unused_imports)]

pub mod echo;

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{ChildStderr, Stdio};

use courier::blocking::BlockingConnection;
use courier::{HandlerError, Limits};

use crate::support::{ChildProcess, say, self_command};

use self::echo::{EchoClient, EchoClientSender, EchoServer, EchoServerHandler, EchoServerService};

/// The environment variable that makes `child_server` a server.
pub const CHILD_ENV: &str = "COURIER_RUNTIME_CHILD";

/// How soon a caller must see its peer's death for the tests to call it
/// "at once": the socket tells at once (microseconds), and every timer of
/// courier's that could stand in for the socket's notice fires later (the
/// shortest are the 5 s lingers and the pool's 5 s idle timeout). The bound
/// between the two leaves a loaded machine seconds to schedule the caller.
pub const AT_ONCE: std::time::Duration = std::time::Duration::from_secs(4);

/// How long a test waits for what must happen before it calls it a hang.
pub const HANG: std::time::Duration = std::time::Duration::from_secs(60);

// ----- fd accounting -----

pub use crate::support::{FdCheck, fd_check, open_fds};

// ----- fds with contents -----

/// An anonymous file holding `contents`.
pub fn file_with(contents: &str) -> OwnedFd {
    let mut file = tempfile::tempfile().expect("tempfile");
    file.write_all(contents.as_bytes()).expect("write tempfile");
    file.into()
}

/// Everything in the file behind `fd`, from its start.
pub fn read_all(fd: OwnedFd) -> String {
    let mut file = File::from(fd);
    file.rewind().expect("rewind");
    let mut text = String::new();
    file.read_to_string(&mut text).expect("read");
    text
}

/// A pipe: (read end, write end).
pub fn pipe() -> (OwnedFd, OwnedFd) {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).expect("pipe")
}

// ----- limits of the child modes -----

/// Messages of at most 1 MiB (the `echo-small` server).
pub fn small_limits() -> Limits {
    Limits {
        max_message_bytes: 1 << 20,
        ..Limits::default()
    }
}

/// Room for a 64 MiB `Vector<u8>` and its header, with the shared-memory
/// pool turned off, so that large messages cross the socket itself (the
/// `echo-socket-big` server; a client wants the same).
pub fn socket_big_limits() -> Limits {
    Limits {
        max_message_bytes: 65 << 20,
        shm_threshold: None,
        ..Limits::default()
    }
}

/// `len` bytes that differ from one `seed` to the next (an xorshift).
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = vec![0u8; len];
    for chunk in out.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    out
}

// ----- the echo service -----

/// The service behind the tests' `EchoServer`.
pub struct EchoImpl {
    pushed: Vec<i32>,
    next_event: i32,
    /// This connection, to send `EchoClient` events.
    events: Option<BlockingConnection<EchoServer, EchoClient>>,
}

impl EchoImpl {
    pub fn new(events: Option<BlockingConnection<EchoServer, EchoClient>>) -> EchoImpl {
        EchoImpl {
            pushed: Vec::new(),
            next_event: 0,
            events,
        }
    }
}

impl EchoServerHandler for EchoImpl {
    fn echo(&mut self, text: String) -> Result<String, HandlerError> {
        Ok(text)
    }

    fn fail(&mut self, reason: String) -> Result<(), HandlerError> {
        Err(HandlerError::new(reason))
    }

    fn push(&mut self, value: i32) {
        self.pushed.push(value);
    }

    fn take_pushed(&mut self) -> Result<Vec<i32>, HandlerError> {
        Ok(std::mem::take(&mut self.pushed))
    }

    fn notify_then_reply(&mut self, count: i32) -> Result<i32, HandlerError> {
        let events = self
            .events
            .as_ref()
            .ok_or_else(|| HandlerError::new("this server sends no events"))?;
        for _ in 0..count {
            events.event(self.next_event)?;
            self.next_event += 1;
        }
        Ok(count)
    }

    fn echo_bytes(&mut self, data: Vec<u8>) -> Result<Vec<u8>, HandlerError> {
        Ok(data)
    }

    fn read_file(&mut self, file: OwnedFd) -> Result<String, HandlerError> {
        let mut file = File::from(file);
        file.rewind()?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        Ok(text)
    }

    fn open_file(&mut self, contents: String) -> Result<OwnedFd, HandlerError> {
        let mut file = tempfile::tempfile()?;
        file.write_all(contents.as_bytes())?;
        file.rewind()?;
        Ok(file.into())
    }

    fn block_on(&mut self, signal: OwnedFd, release: OwnedFd) -> Result<(), HandlerError> {
        File::from(signal).write_all(b"!")?;
        let mut rest = Vec::new();
        File::from(release).read_to_end(&mut rest)?;
        Ok(())
    }
}

/// Serves one connection as the echo server; what a server process does.
pub fn serve_echo(stream: UnixStream, limits: Limits) -> Result<(), courier::Error> {
    let connection = BlockingConnection::<EchoServer, EchoClient>::builder()
        .limits(limits)
        .accept(stream)?;
    let mut service = EchoServerService(EchoImpl::new(Some(connection.clone())));
    connection.serve(&mut service)
}

// ----- the child process -----

/// The body of each test binary's `child_server` test.
pub fn child_server_main() {
    let Some(spec) = std::env::var_os(CHILD_ENV) else {
        in_process_smoke_test();
        return;
    };
    let spec = spec.into_string().expect("UTF-8 child spec");
    let (mode, path) = spec.split_once(':').expect("mode:path");
    let limits = match mode {
        "echo" => Limits::default(),
        "echo-small" => small_limits(),
        "echo-socket-big" => socket_big_limits(),
        other => panic!("unknown child mode {other}"),
    };
    courier::init_tracing_from_env();
    let listener = UnixListener::bind(path).expect("bind");
    say("COURIER-READY");
    let (stream, _) = listener.accept().expect("accept");
    let result = serve_echo(stream, limits);
    match result {
        Ok(()) => say("COURIER-RESULT: ok"),
        Err(error) => say(&format!("COURIER-RESULT: err: {error}")),
    }
}

/// Without a parent: the same service over a socketpair, in a thread.
fn in_process_smoke_test() {
    let fds = fd_check();
    let (client_end, server_end) = UnixStream::pair().expect("socketpair");
    let server = std::thread::spawn(move || serve_echo(server_end, Limits::default()));
    let client = echo::EchoServerClient::<EchoClient>::from_connection(
        BlockingConnection::from_stream(client_end).expect("handshake"),
    );
    assert_eq!(client.echo("smoke".to_owned()).expect("echo"), "smoke");
    drop(client);
    server
        .join()
        .expect("server thread")
        .expect("server result");
    fds.finish();
}

/// A server running in a child process, listening on its own socket path.
pub struct ServerChild {
    process: ChildProcess,
    stderr: Option<ChildStderr>,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl ServerChild {
    /// Starts this test binary's `child_server` as a server in `mode`
    /// (`echo`, `echo-small`, `echo-socket-big`) and waits until it listens.
    pub fn spawn(mode: &str) -> ServerChild {
        ServerChild::spawn_with(mode, false)
    }

    /// Like [`spawn`](Self::spawn), with `IPC_TRACE=1` and the child's
    /// stderr captured (see [`result_and_stderr`](Self::result_and_stderr)).
    pub fn spawn_traced(mode: &str) -> ServerChild {
        ServerChild::spawn_with(mode, true)
    }

    fn spawn_with(mode: &str, traced: bool) -> ServerChild {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("echo.sock");
        let mut command = self_command("child_server");
        command
            .env(CHILD_ENV, format!("{mode}:{}", path.display()))
            .env_remove("IPC_DEBUG")
            .env_remove("IPC_TRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        if traced {
            command.env("IPC_TRACE", "1").stderr(Stdio::piped());
        }
        let mut process = ChildProcess::spawn(&mut command, "child server");
        let stderr = process.take_stderr();
        let mut server = ServerChild {
            process,
            stderr,
            path,
            _dir: dir,
        };
        server.process.read_until("COURIER-READY");
        server
    }

    /// The socket path.
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

    /// Waits for the child's `COURIER-RESULT` line and its exit; returns the
    /// result (`ok` or `err: <message>`).
    pub fn result(mut self) -> String {
        let line = self.process.read_until("COURIER-RESULT: ");
        let status = self.process.wait();
        assert!(status.success(), "child server exited with {status}");
        line
    }

    /// [`result`](Self::result), and everything the child wrote to stderr
    /// (only captured by [`spawn_traced`](Self::spawn_traced)).
    pub fn result_and_stderr(mut self) -> (String, String) {
        let mut stderr = String::new();
        let mut pipe = self.stderr.take().expect("spawned with spawn_traced");
        let result = self.result();
        pipe.read_to_string(&mut stderr)
            .expect("read the child's stderr");
        (result, stderr)
    }
}
