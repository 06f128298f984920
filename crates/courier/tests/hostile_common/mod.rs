//! Helpers for the hostile-client tests (`tests/hostile_*.rs`): a tokio
//! `MultiServer` of the echo service in a child process (this test binary
//! started again, with the limits a case needs), the wire format spelled out
//! by hand (hellos and frame headers per `docs/wire-format.md`), raw sends
//! with fds, and the checks every case makes afterwards: the hostile
//! connection is closed, a well-behaved client is still answered, and the
//! server's fd count is back where it was.
//!
//! Include after the shared support, the runtime and the tokio helpers:
//!
//! ```ignore
//! #[path = "support/mod.rs"]
//! mod support;
//! #[path = "common/runtime/mod.rs"]
//! mod runtime_common;
//! #[path = "tokio_common/mod.rs"]
//! mod tokio_common;
//! #[path = "hostile_common/mod.rs"]
//! mod hostile_common;
//! ```
//!
//! Each test binary declares `#[test] fn hostile_child() {
//! hostile_common::child_main() }`. Synchronisation with the child is by
//! pipes only: it prints `COURIER-READY` once it listens and shuts down when
//! its stdin reaches end of file.
#![allow(dead_code)]

use std::io::{ErrorKind, IoSlice, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Stdio};
use std::time::{Duration, Instant};

use courier::Limits;
use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};

use crate::runtime_common::echo::echo_client;
use crate::runtime_common::echo::echo_server;
use crate::runtime_common::echo::{EchoClient, EchoServerClient};
use crate::support::{ChildProcess, open_fds_of, say, self_command};

/// The environment variable that makes `hostile_child` a server.
pub const SERVER_ENV: &str = "COURIER_HOSTILE_SERVER";
/// The environment variable that makes `hostile_child` a client running
/// under another uid.
pub const CLIENT_ENV: &str = "COURIER_HOSTILE_CLIENT";

/// How long any single expected event may take before the test fails (a bug,
/// not a slow machine).
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Handshake timeout of the `slow` server mode. It applies to the
/// well-behaved clients of that mode's cases too, whose handshakes must
/// never reach it however loaded the machine: a few seconds, not a few
/// hundred milliseconds.
pub const SHORT_HANDSHAKE: Duration = Duration::from_secs(3);
/// `max_clients` of the `full` server mode.
pub const FEW_CLIENTS: usize = 2;
/// `max_unsent_bytes` of the `unread` server mode (whose largest message is
/// 1 MiB, so the limit applies as set).
pub const UNSENT_LIMIT: u64 = 8 << 20;

/// `max_messages_per_second` of the `rate` server mode.
pub const LOW_RATE: u32 = 100;

/// The server's limits for a mode.
fn limits_for(mode: &str) -> Limits {
    let defaults = Limits::default();
    match mode {
        "default" => defaults,
        "slow" => Limits {
            handshake_timeout: SHORT_HANDSHAKE,
            ..defaults
        },
        "full" => Limits {
            max_clients: FEW_CLIENTS,
            ..defaults
        },
        "rate" => Limits {
            max_messages_per_second: LOW_RATE,
            ..defaults
        },
        "unread" => Limits {
            max_message_bytes: 1 << 20,
            max_unsent_bytes: UNSENT_LIMIT,
            ..defaults
        },
        other => panic!("unknown hostile server mode {other}"),
    }
}

// ----- the wire format, by hand -----

/// Hello flag REFUSED.
pub const HELLO_REFUSED: u16 = 1;
/// Hello flag SHM_POOL.
pub const HELLO_SHM_POOL: u16 = 2;
/// Hello flag FINGERPRINTS.
pub const HELLO_FINGERPRINTS: u16 = 8;
/// Frame flag RESPONSE.
pub const FLAG_RESPONSE: u16 = 1;

/// A hello per `docs/wire-format.md`, without the pool.
pub fn hello_bytes(local: (u32, &str), peer: (u32, &str), max_message_bytes: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"CRIR");
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&0u16.to_le_bytes());
    bytes.extend_from_slice(&local.0.to_le_bytes());
    bytes.extend_from_slice(&peer.0.to_le_bytes());
    bytes.extend_from_slice(&max_message_bytes.to_le_bytes());
    for name in [local.1, peer.1] {
        bytes.extend_from_slice(&(name.len() as u16).to_le_bytes());
        bytes.extend_from_slice(name.as_bytes());
    }
    bytes
}

/// The hello of a well-behaved `EchoClient` talking to `EchoServer`.
pub fn client_hello() -> Vec<u8> {
    hello_bytes(
        (echo_client::MAGIC, "EchoClient"),
        (echo_server::MAGIC, "EchoServer"),
        Limits::default().max_message_bytes,
    )
}

/// A 20-byte frame header.
pub fn header(len: u32, magic: u32, id: u32, request: u32, fds: u16, flags: u16) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(20);
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(&magic.to_le_bytes());
    bytes.extend_from_slice(&id.to_le_bytes());
    bytes.extend_from_slice(&request.to_le_bytes());
    bytes.extend_from_slice(&fds.to_le_bytes());
    bytes.extend_from_slice(&flags.to_le_bytes());
    bytes
}

/// A whole frame to `EchoServer`: header (announcing `fds`) and `payload`.
pub fn request(id: u32, request: u32, fds: u16, payload: &[u8]) -> Vec<u8> {
    let mut bytes = header(
        payload.len() as u32,
        echo_server::MAGIC,
        id,
        request,
        fds,
        0,
    );
    bytes.extend_from_slice(payload);
    bytes
}

/// An encoded `String` (or byte vector): `u32` length, then the bytes.
pub fn string(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// The server's hello, as read by [`handshake`].
#[derive(Debug)]
pub struct ServerHello {
    pub flags: u16,
    pub local_magic: u32,
    /// Reason, clients, max_clients of a refusal.
    pub refusal: Option<(u16, u32, u32)>,
    /// The interface fingerprints (local, expected of the peer), when the
    /// hello carries them.
    pub fingerprints: Option<(u64, u64)>,
}

/// Reads exactly `n` bytes, failing the test after [`DEADLINE`].
fn read_exact(stream: &mut UnixStream, n: usize) -> Vec<u8> {
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let mut buf = vec![0; n];
    stream
        .read_exact(&mut buf)
        .expect("read the server's hello");
    buf
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// Reads the server's hello (and its refusal, pool offer and fingerprints,
/// if any).
pub fn read_server_hello(stream: &mut UnixStream) -> ServerHello {
    let fixed = read_exact(stream, 22);
    assert_eq!(&fixed[..4], b"CRIR", "the server's hello starts with CRIR");
    let flags = u16_at(&fixed, 6);
    let local_magic = u32_at(&fixed, 8);
    let n = u16_at(&fixed, 20) as usize;
    let rest = read_exact(stream, n + 2);
    let m = u16_at(&rest, n) as usize;
    read_exact(stream, m);
    let refusal = (flags & HELLO_REFUSED != 0).then(|| {
        let refusal = read_exact(stream, 10);
        (
            u16_at(&refusal, 0),
            u32_at(&refusal, 2),
            u32_at(&refusal, 6),
        )
    });
    if flags & HELLO_SHM_POOL != 0 {
        read_exact(stream, 12);
    }
    let fingerprints = (flags & HELLO_FINGERPRINTS != 0).then(|| {
        let both = read_exact(stream, 16);
        let u64_at = |at: usize| u64::from_le_bytes(both[at..at + 8].try_into().expect("8 bytes"));
        (u64_at(0), u64_at(8))
    });
    ServerHello {
        flags,
        local_magic,
        refusal,
        fingerprints,
    }
}

/// Connects to `path` and completes a handshake by hand (this side offers
/// no pool, so the connection speaks the pool-less protocol).
pub fn handshake(path: &Path) -> UnixStream {
    let mut stream = UnixStream::connect(path).expect("connect");
    stream.write_all(&client_hello()).expect("send the hello");
    let hello = read_server_hello(&mut stream);
    assert_eq!(hello.refusal, None, "the server refused: {hello:?}");
    assert_eq!(hello.local_magic, echo_server::MAGIC);
    assert_eq!(
        hello.fingerprints.map(|(local, _)| local),
        Some(<echo_server::EchoServer as courier::Endpoint>::FINGERPRINT),
        "a generated server sends its fingerprint"
    );
    stream
}

/// Sends `bytes` with `fds` attached in one `sendmsg`; returns the bytes
/// written.
pub fn send_with_fds(
    stream: &UnixStream,
    bytes: &[u8],
    fds: &[BorrowedFd<'_>],
) -> std::io::Result<usize> {
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(253))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    assert!(
        fds.is_empty() || control.push(SendAncillaryMessage::ScmRights(fds)),
        "too many fds for one sendmsg"
    );
    let iov = [IoSlice::new(bytes)];
    Ok(rustix::net::sendmsg(
        stream.as_fd(),
        &iov,
        &mut control,
        SendFlags::NOSIGNAL,
    )?)
}

/// Reads and discards until the server closes `stream`: end of file or
/// `ECONNRESET`. Fails the test if it stays open for [`DEADLINE`]. Returns
/// how many bytes arrived before the close.
pub fn expect_closed(stream: &mut UnixStream) -> usize {
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let start = Instant::now();
    let mut total = 0;
    let mut buf = vec![0; 64 << 10];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(error) if error.kind() == ErrorKind::ConnectionReset => return total,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => panic!(
                "the server did not close the hostile connection within {:?} ({error})",
                start.elapsed()
            ),
        }
    }
}

/// Writes `bytes` and ignores a peer that already closed (the server may
/// cut a hostile client off before it finishes writing).
pub fn write_lossy(stream: &mut UnixStream, bytes: &[u8]) {
    match stream.write_all(bytes) {
        Ok(()) => {}
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
            ) => {}
        Err(error) => panic!("writing to the server failed: {error}"),
    }
}

// ----- the server in a child process -----

/// A `MultiServer` of the echo service in a child process.
pub struct Server {
    process: ChildProcess,
    stdin: Option<ChildStdin>,
    path: PathBuf,
    dir: tempfile::TempDir,
}

impl Server {
    /// Starts a server in `mode` (`default`, `slow`, `full`, `rate`) on a
    /// fresh socket path and waits until it listens.
    pub fn start(mode: &str) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("echo.sock");
        let log = dir.path().join("server.log");
        let mut process = ChildProcess::spawn(
            self_command("hostile_child")
                .env(SERVER_ENV, format!("{mode}:{}", path.display()))
                .env_remove(CLIENT_ENV)
                .env_remove("IPC_TRACE")
                .env("IPC_DEBUG", "1")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(&log).expect("create the server's log")),
            "server",
        );
        let stdin = process.take_stdin();
        let mut server = Server {
            process,
            stdin,
            path,
            dir,
        };
        server.process.read_until("COURIER-READY");
        server
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory holding the socket.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's pid.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Everything the server logged so far (it runs with `IPC_DEBUG=1`, its
    /// stderr going to a file beside the socket).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).expect("read the server's log")
    }

    /// Asserts that the server logged `reason` (why it closed a hostile
    /// connection).
    pub fn assert_logged(&self, reason: &str) {
        let log = self.log();
        assert!(
            log.contains(reason),
            "the server did not log `{reason}`; its log:\n{log}"
        );
    }

    /// The number of fds open in the server.
    pub fn fds(&self) -> usize {
        open_fds_of(self.pid())
    }

    /// The server's resident memory, in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read the server's /proc/<pid>/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// Waits (polling with a deadline) until the server has `fds` fds open.
    pub fn wait_for_fds(&self, fds: usize) {
        let start = Instant::now();
        loop {
            let now = self.fds();
            if now == fds {
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "the server has {now} fds open, {fds} before the case"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A well-behaved client.
    pub fn good_client(&self) -> EchoServerClient<EchoClient> {
        EchoServerClient::connect(self.path()).expect("a good client connects")
    }

    /// Shuts the server down (closes its stdin) and checks it stopped
    /// cleanly.
    pub fn stop(mut self) {
        drop(self.stdin.take());
        let line = self.process.read_until("COURIER-RESULT: ");
        assert_eq!(line, "stopped");
        let status = self.process.wait();
        assert!(status.success(), "the server exited with {status}");
    }
}

/// A server with a well-behaved client connected, and the server's fd count
/// with only that client: what every case returns to.
pub struct Scene {
    pub server: Server,
    pub good: EchoServerClient<EchoClient>,
    pub fds_before: usize,
}

impl Scene {
    /// Starts a server in `mode` and connects the good client.
    pub fn new(mode: &str) -> Scene {
        let server = Server::start(mode);
        let good = server.good_client();
        assert_eq!(good.echo("before".into()).expect("echo"), "before");
        let fds_before = server.fds();
        Scene {
            server,
            good,
            fds_before,
        }
    }

    /// The checks after a case, once the hostile connection is closed: the
    /// server serves exactly the good client again (it asks the server,
    /// polling with a deadline), answers it correctly, answers a new
    /// client, and has as many fds open as before the case.
    pub fn check_recovered(&self) {
        let start = Instant::now();
        loop {
            // `notify_then_reply` answers how many clients the server has;
            // it fails while a closing client is still listed (notifying
            // it fails), which also means "not yet".
            match self.good.notify_then_reply(0) {
                Ok(1) => break,
                Ok(clients) => assert!(
                    start.elapsed() < DEADLINE,
                    "the server still counts {clients} clients"
                ),
                Err(courier::Error::Remote(error)) => assert!(
                    start.elapsed() < DEADLINE,
                    "the server still lists a closed client: {error}"
                ),
                Err(error) => panic!("the good client's call failed: {error}"),
            }
            // Paced so that the `rate` server's limit is never reached.
            std::thread::sleep(Duration::from_millis(20));
        }
        let text = "still answering 🦀".to_owned();
        assert_eq!(self.good.echo(text.clone()).expect("echo"), text);
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(self.good.echo_bytes(data.clone()).expect("bytes"), data);
        {
            let fresh = self.server.good_client();
            assert_eq!(fresh.echo("fresh".into()).expect("echo"), "fresh");
        }
        self.server.wait_for_fds(self.fds_before);
    }

    /// Closes the good client and stops the server cleanly.
    pub fn finish(self) {
        drop(self.good);
        self.server.stop();
    }
}

// ----- the child -----

/// The body of each test binary's `hostile_child` test: a server or a
/// client under another uid, by environment; without either (the normal
/// test run), it checks the hand-built hello against the documented example
/// layout.
pub fn child_main() {
    if let Some(spec) = std::env::var_os(CLIENT_ENV) {
        let path = PathBuf::from(spec);
        say(&format!("COURIER-RESULT: {}", other_uid_client(&path)));
        return;
    }
    let Some(spec) = std::env::var_os(SERVER_ENV) else {
        let hello = client_hello();
        assert_eq!(hello.len(), 22 + 10 + 2 + 10);
        assert_eq!(&hello[..8], b"CRIR\x01\x00\x00\x00");
        assert_eq!(u32_at(&hello, 12), echo_server::MAGIC);
        return;
    };
    let spec = spec.into_string().expect("UTF-8 spec");
    let (mode, path) = spec.split_once(':').expect("mode:path");
    let limits = limits_for(mode);
    let path = Path::new(path);
    crate::tokio_common::run(async {
        let server = crate::tokio_common::echo_server(path, limits);
        let shutdown = server.shutdown_handle();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            shutdown.shutdown();
        });
        say("COURIER-READY");
        crate::tokio_common::run_echo(&server).await;
    });
    say("COURIER-RESULT: stopped");
}

/// Run under another uid: connects, sends a valid hello, and reports what
/// came back (`closed after <n> bytes`), then whether a real client could
/// connect.
fn other_uid_client(path: &Path) -> String {
    let mut stream = match UnixStream::connect(path) {
        Ok(stream) => stream,
        Err(error) => return format!("connect failed: {error}"),
    };
    // The server may already have closed: ignore a failed write.
    let _ = stream.write_all(&client_hello());
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let mut received = Vec::new();
    let raw = match stream.read_to_end(&mut received) {
        Ok(_) => format!("closed after {} bytes", received.len()),
        Err(error) if error.kind() == ErrorKind::ConnectionReset => {
            format!("closed after {} bytes", received.len())
        }
        Err(error) => format!("not closed: {error}"),
    };
    let real = match EchoServerClient::<EchoClient>::connect(path) {
        Ok(client) => match client.echo("as nobody".into()) {
            Ok(text) => format!("served: {text}"),
            Err(error) => format!("call failed: {error}"),
        },
        Err(error) => format!("connect failed: {error}"),
    };
    format!("{raw}; real client: {real}")
}
