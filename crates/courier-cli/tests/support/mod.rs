//! What the `courier` command's integration tests share: the echo service
//! (tests/ipc/Echo.ipc) run in a child process (this test binary started
//! again), and a way to run the `courier` binary against it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use courier::HandlerError;
use courier::blocking::BlockingConnection;
use courier::gfx::{Color, IntPoint, IntRect};

courier::include_ipc!("Echo");

use echo_client::{EchoClient, EchoClientSender};
use echo_server::{
    ContainersResponse, EchoServer, EchoServerHandler, EchoServerService, FloatsResponse,
    GeometryResponse, IntegersResponse, TextsResponse,
};

/// Set (to the portal directory) in the child that serves.
pub const CHILD_ENV: &str = "COURIER_CLI_TEST_ECHO_DIR";
/// The child prints this, then the socket path, once it listens.
pub const READY: &str = "ECHO-READY ";
/// The service's name in the portal directory.
pub const SERVICE: &str = "echo";

// ----- the service -----

/// The user type of `tally() => (Tally tally)`: its layout is in this Rust
/// code only, not in the `.ipc` text.
#[derive(Debug, Clone, PartialEq, courier::Encode, courier::Decode)]
pub struct Tally {
    /// Always [`TALLY_MAGIC`].
    pub magic: u32,
    /// Always `"tally"`.
    pub label: String,
}

/// The `magic` of every [`Tally`] the service sends.
pub const TALLY_MAGIC: u32 = 0x00c0_ffee;

impl Tally {
    /// The tally the service answers with.
    pub fn answer() -> Tally {
        Tally {
            magic: TALLY_MAGIC,
            label: "tally".to_owned(),
        }
    }
}

/// What every connection of the service shares.
#[derive(Default)]
struct Shared {
    connections: AtomicU32,
    calls: AtomicU32,
    notes: Mutex<Vec<String>>,
}

/// The handler of one connection.
struct Echo<S> {
    shared: Arc<Shared>,
    client: S,
}

impl<S> Echo<S> {
    fn count(&self) {
        self.shared.calls.fetch_add(1, Ordering::SeqCst);
    }
}

impl<S: courier::Sender<EchoClient>> EchoServerHandler for Echo<S> {
    #[allow(clippy::too_many_arguments)]
    fn integers(
        &mut self,
        a: i8,
        b: i16,
        c: i32,
        d: i64,
        e: u8,
        f: u16,
        g: u32,
        h: u64,
    ) -> Result<IntegersResponse, HandlerError> {
        self.count();
        Ok(IntegersResponse {
            a,
            b,
            c,
            d,
            e,
            f,
            g,
            h,
        })
    }

    fn floats(&mut self, x: f32, y: f64, flag: bool) -> Result<FloatsResponse, HandlerError> {
        self.count();
        Ok(FloatsResponse { x, y, flag })
    }

    fn texts(
        &mut self,
        text: String,
        bytes: courier::ByteString,
    ) -> Result<TextsResponse, HandlerError> {
        self.count();
        Ok(TextsResponse { text, bytes })
    }

    fn containers(
        &mut self,
        list: Vec<i32>,
        groups: std::collections::HashMap<String, Vec<u8>>,
        maybe: Option<String>,
        absent: Option<i32>,
    ) -> Result<ContainersResponse, HandlerError> {
        self.count();
        Ok(ContainersResponse {
            list,
            groups,
            maybe,
            absent,
        })
    }

    fn geometry(
        &mut self,
        rect: IntRect,
        point: IntPoint,
        color: Color,
    ) -> Result<GeometryResponse, HandlerError> {
        self.count();
        Ok(GeometryResponse { rect, point, color })
    }

    fn read_file(&mut self, file: OwnedFd) -> Result<String, HandlerError> {
        self.count();
        let mut contents = String::new();
        std::fs::File::from(file)
            .read_to_string(&mut contents)
            .map_err(|error| HandlerError::new(format!("cannot read the file: {error}")))?;
        Ok(contents)
    }

    fn fail(&mut self, reason: String) -> Result<(), HandlerError> {
        self.count();
        Err(HandlerError::new(reason))
    }

    fn note(&mut self, text: String) {
        self.count();
        self.shared
            .notes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(text);
    }

    fn notes(&mut self) -> Result<Vec<String>, HandlerError> {
        self.count();
        Ok(self
            .shared
            .notes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }

    fn announce(&mut self, text: String) -> Result<u32, HandlerError> {
        self.count();
        self.client
            .announced(text)
            .map_err(|error| HandlerError::new(format!("cannot send the event: {error}")))?;
        Ok(1)
    }

    fn tally(&mut self) -> Result<Tally, HandlerError> {
        self.count();
        Ok(Tally::answer())
    }

    fn stats(&mut self) -> Result<echo_server::StatsResponse, HandlerError> {
        Ok(echo_server::StatsResponse {
            connections: self.shared.connections.load(Ordering::SeqCst),
            calls: self.shared.calls.load(Ordering::SeqCst),
        })
    }
}

/// The child's side: serves the echo service in the portal directory of
/// [`CHILD_ENV`] until its stdin closes. Returns `false` (doing nothing) in
/// a normal test run.
pub fn serve_if_child() -> bool {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return false;
    };
    let portal = courier::discovery::Portal::at(PathBuf::from(dir));
    let listener = portal.bind(SERVICE).expect("bind the echo service");
    let shared = Arc::new(Shared::default());
    say(&format!("{READY}{}", listener.path().display()));
    // The parent stops the service by closing its stdin.
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    loop {
        let Ok((stream, _peer)) = listener.accept() else {
            continue;
        };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            let Ok(connection) = BlockingConnection::<EchoServer, EchoClient>::accept(stream)
            else {
                return;
            };
            let mut handler = EchoServerService(Echo {
                shared,
                client: connection.clone(),
            });
            let _ = connection.serve(&mut handler);
        });
    }
}

/// Prints `line` and flushes it, so that the parent sees it at once.
pub fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}").expect("write stdout");
    stdout.flush().expect("flush stdout");
}

// ----- the parent's side -----

/// The echo service running in a child process, in a portal directory of
/// its own.
pub struct EchoService {
    child: Child,
    stdout: BufReader<ChildStdout>,
    /// The portal directory.
    pub portal: PathBuf,
    /// The service's socket.
    pub socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl EchoService {
    /// Starts the service (test `child_test` of this binary, re-executed)
    /// and waits until it listens.
    pub fn start(child_test: &str) -> EchoService {
        let dir = tempfile::Builder::new()
            .prefix("ccli")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let portal = dir.path().join("portal");
        let mut child = Command::new(std::env::current_exe().expect("current_exe"))
            .args(["--exact", child_test, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &portal)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the echo service");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let socket = read_marker(&mut stdout, READY);
        EchoService {
            child,
            stdout,
            portal,
            socket: PathBuf::from(socket),
            _dir: dir,
        }
    }

    /// The service's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs `courier ARGS` with this service's portal directory.
    pub fn courier(&self, args: &[&str]) -> Run {
        courier(&self.portal, args)
    }

    /// (connections accepted, calls handled) so far, asked through a
    /// typed client of its own (which counts as one more connection).
    pub fn stats(&self) -> (u32, u32) {
        let client =
            echo_server::EchoServerClient::<EchoClient>::connect(&self.socket).expect("connect");
        let stats = client.stats().expect("stats");
        (stats.connections, stats.calls)
    }
}

impl Drop for EchoService {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `stdout` up to a line containing `marker`; returns the rest of it.
pub fn read_marker(stdout: &mut impl BufRead, marker: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let n = stdout
            .read_line(&mut line)
            .expect("read the child's stdout");
        assert!(n > 0, "the child exited before printing `{marker}`");
        if let Some(at) = line.find(marker) {
            return line[at + marker.len()..].trim_end().to_owned();
        }
    }
}

/// What a run of `courier` gave.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Asserts exit code 0 and returns stdout.
    pub fn ok(self) -> String {
        assert_eq!(self.code, 0, "courier failed: {self:#?}");
        self.stdout
    }

    /// Stdout as JSON (after asserting success).
    pub fn json(self) -> serde_json::Value {
        let stdout = self.ok();
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
    }
}

/// Runs `courier ARGS` with `COURIER_PORTAL_DIR=portal`.
pub fn courier(portal: &Path, args: &[&str]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_courier"))
        .args(args)
        .env("COURIER_PORTAL_DIR", portal)
        .stdin(Stdio::null())
        .output()
        .expect("run courier");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A connected typed client of the echo service at `socket`.
pub fn client(socket: &Path) -> echo_server::EchoServerClient<EchoClient> {
    echo_server::EchoServerClient::connect(socket).expect("connect to the echo service")
}

/// Whether something listens at `path` (a connection is accepted).
pub fn answers(path: &Path) -> bool {
    UnixStream::connect(path).is_ok()
}
