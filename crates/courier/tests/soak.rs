//! Load and soak (issue 6): 1000 concurrent clients on one tokio
//! `MultiServer` in another process, doing mixed calls, one-way messages,
//! fd passing and bitmaps, for a bounded number of rounds.
//!
//! Every answer is checked. The server's fd count and resident memory are
//! measured once every client is connected and has done one round (the
//! start), and after the last round (the end): the fd count must be exactly
//! the same and the memory within [`RSS_TOLERANCE_KIB`]. Once every client
//! has left, the server's fd count is back to what it was before the first
//! one came.
//!
//! - `cargo test -p courier --test soak` runs [`ROUNDS`] rounds (a few
//!   seconds);
//! - `cargo test -p courier --test soak -- --ignored` also runs the soak:
//!   the same load for one minute ([`SOAK_TIME`]).
//!
//! Both processes raise their soft `RLIMIT_NOFILE` to the hard limit first
//! (1000 clients need more than the usual 1024 descriptors). The server
//! child is this test binary started again as `soak_child`; it prints
//! `COURIER-READY` once it listens and stops when its stdin reaches end of
//! file.

#[path = "support/mod.rs"]
#[macro_use]
mod support;

use std::future::Future;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{ChildStdin, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use courier::gfx::Color;
use courier::shm::{BitmapFormat, ShareableBitmap};
use courier::tokio::{AsyncConnection, MultiServer};
use courier::{HandlerError, Limits, NoMessages, Reply};
use support::{ChildProcess, open_fds_of, say, self_command};

use soak_server::*;

/// The environment variable that makes `soak_child` a server.
const CHILD_ENV: &str = "COURIER_SOAK_CHILD";

/// Concurrent clients.
const CLIENTS: usize = 1000;
/// Rounds of the normal run.
const ROUNDS: usize = 4;
/// How long the ignored soak runs.
const SOAK_TIME: Duration = Duration::from_secs(60);
/// How much the server's resident memory may grow between the start and
/// the end of the load: allocator slack and tokio's task and buffer pools,
/// not a per-round leak (which would be CLIENTS times bigger per round).
const RSS_TOLERANCE_KIB: u64 = 32 << 10;
/// How long any single expected event may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(60);

/// By hand, what `courier-build` would generate for:
///
/// ```text
/// endpoint SoakServer
/// {
///     echo(String text) => (String text)
///     add(u32 value) =|
///     total() => (u64 total)
///     read_file(IPC::File file) => (String contents)
///     bitmap_sum(Gfx::ShareableBitmap bitmap) => (u64 sum)
///     make_bitmap(u32 side, u32 argb) => (Gfx::ShareableBitmap bitmap)
/// }
/// ```
mod soak_server {
    use std::os::fd::OwnedFd;

    use courier::shm::ShareableBitmap;

    /// The `SoakServer` endpoint.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct SoakServer;

    message!(SoakServer, 1, "echo", Echo { text: String });
    message!(SoakServer, 2, "EchoResponse", EchoResponse { text: String });
    message!(SoakServer, 3, "add", Add { value: u32 });
    message!(SoakServer, 4, "total", Total {});
    message!(SoakServer, 5, "TotalResponse", TotalResponse { total: u64 });
    message!(SoakServer, 6, "read_file", ReadFile { file: OwnedFd });
    message!(
        SoakServer,
        7,
        "ReadFileResponse",
        ReadFileResponse { contents: String }
    );
    message!(
        SoakServer,
        8,
        "bitmap_sum",
        BitmapSum {
            bitmap: ShareableBitmap
        }
    );
    message!(
        SoakServer,
        9,
        "BitmapSumResponse",
        BitmapSumResponse { sum: u64 }
    );
    message!(
        SoakServer,
        10,
        "make_bitmap",
        MakeBitmap {
            side: u32,
            argb: u32
        }
    );
    message!(
        SoakServer,
        11,
        "MakeBitmapResponse",
        MakeBitmapResponse {
            bitmap: ShareableBitmap
        }
    );

    impl courier::Request for Echo {
        type Response = EchoResponse;
    }
    impl courier::Request for Total {
        type Response = TotalResponse;
    }
    impl courier::Request for ReadFile {
        type Response = ReadFileResponse;
    }
    impl courier::Request for BitmapSum {
        type Response = BitmapSumResponse;
    }
    impl courier::Request for MakeBitmap {
        type Response = MakeBitmapResponse;
    }

    /// Any message for `SoakServer`.
    #[derive(Debug)]
    pub enum SoakMessage {
        Echo(Echo),
        Add(Add),
        Total(Total),
        ReadFile(ReadFile),
        BitmapSum(BitmapSum),
        MakeBitmap(MakeBitmap),
    }

    impl courier::Endpoint for SoakServer {
        const NAME: &'static str = "SoakServer";
        const MAGIC: u32 = 0x534f_414b;
        type Message = SoakMessage;

        fn decode_message(
            id: u32,
            decoder: &mut courier::Decoder<'_>,
        ) -> Result<SoakMessage, courier::DecodeError> {
            use courier::Decode;
            match id {
                1 => Echo::decode(decoder).map(SoakMessage::Echo),
                3 => Add::decode(decoder).map(SoakMessage::Add),
                4 => Total::decode(decoder).map(SoakMessage::Total),
                6 => ReadFile::decode(decoder).map(SoakMessage::ReadFile),
                8 => BitmapSum::decode(decoder).map(SoakMessage::BitmapSum),
                10 => MakeBitmap::decode(decoder).map(SoakMessage::MakeBitmap),
                _ => Err(courier::DecodeError::new(
                    courier::codec::DecodeErrorKind::UnknownMessage {
                        endpoint: "SoakServer",
                        id,
                    },
                )),
            }
        }

        fn message_name(id: u32) -> Option<&'static str> {
            const NAMES: [&str; 11] = [
                "echo",
                "EchoResponse",
                "add",
                "total",
                "TotalResponse",
                "read_file",
                "ReadFileResponse",
                "bitmap_sum",
                "BitmapSumResponse",
                "make_bitmap",
                "MakeBitmapResponse",
            ];
            NAMES.get((id as usize).wrapping_sub(1)).copied()
        }
    }
}

// ----- the service, in the child -----

/// One client's state: the sum of its `add`s.
#[derive(Default)]
struct Soak {
    total: u64,
}

impl courier::Handler<SoakServer> for Soak {
    fn handle(&mut self, message: SoakMessage) -> Reply {
        match message {
            SoakMessage::Echo(Echo { text }) => Reply::response(EchoResponse { text }),
            SoakMessage::Add(Add { value }) => {
                self.total += u64::from(value);
                Reply::none()
            }
            SoakMessage::Total(Total {}) => Reply::response(TotalResponse { total: self.total }),
            SoakMessage::ReadFile(ReadFile { file }) => {
                Reply::from_result(read_file(file).map(|contents| ReadFileResponse { contents }))
            }
            SoakMessage::BitmapSum(BitmapSum { bitmap }) => {
                let sum = bitmap.pixels().iter().map(|&b| u64::from(b)).sum();
                Reply::response(BitmapSumResponse { sum })
            }
            SoakMessage::MakeBitmap(MakeBitmap { side, argb }) => Reply::from_result(
                filled_bitmap(side, Color::from_argb(argb))
                    .map(|bitmap| MakeBitmapResponse { bitmap })
                    .map_err(|e| HandlerError::new(e.to_string())),
            ),
        }
    }
}

fn read_file(file: OwnedFd) -> Result<String, HandlerError> {
    let mut text = String::new();
    std::fs::File::from(file).read_to_string(&mut text)?;
    Ok(text)
}

/// A `side` x `side` bitmap of `color`.
fn filled_bitmap(side: u32, color: Color) -> Result<ShareableBitmap, courier::shm::ShmError> {
    let mut bitmap = ShareableBitmap::new(side, side, BitmapFormat::Bgra8888)?;
    for y in 0..side {
        for x in 0..side {
            bitmap.set_pixel(x, y, color)?;
        }
    }
    Ok(bitmap)
}

/// The descriptors a process of the load needs: one per client, and room.
const FDS_NEEDED: u64 = CLIENTS as u64 + 200;

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit; returns
/// the new soft limit. A hard limit below [`FDS_NEEDED`] (a machine set up
/// with 1024 for both) is raised too where that is allowed (as root, which
/// CI is); the server child inherits the limits.
fn raise_fd_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.maximum.is_some_and(|hard| hard < FDS_NEEDED) {
        let raised = Rlimit {
            current: Some(FDS_NEEDED),
            maximum: Some(FDS_NEEDED),
        };
        // Refused without privilege: then the assertions below say why.
        if setrlimit(Resource::Nofile, raised).is_ok() {
            limit = getrlimit(Resource::Nofile);
        }
    }
    limit.current = limit.maximum;
    setrlimit(Resource::Nofile, limit).expect("raise RLIMIT_NOFILE to the hard limit");
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The server child: a `MultiServer` of [`Soak`] handlers at the path in
/// [`CHILD_ENV`], until stdin reaches end of file. Without the variable
/// (the normal test run), it checks the service in process.
#[test]
fn soak_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        runtime().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("soak.sock");
            let server = bind(&path);
            let serving = tokio::spawn({
                let server = server.clone();
                async move { server.run(|_| Soak::default()).await }
            });
            let result = client_rounds(&path, 7, 2, Arc::new(tokio::sync::Barrier::new(1))).await;
            assert_eq!(result, Ok(()));
            server.shutdown();
            serving.await.unwrap().unwrap();
        });
        return;
    };
    let limit = raise_fd_limit();
    assert!(
        limit as usize > CLIENTS + 100,
        "RLIMIT_NOFILE {limit} is too low"
    );
    courier::init_tracing_from_env();
    runtime().block_on(async {
        let server = bind(Path::new(&path));
        let shutdown = server.shutdown_handle();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            shutdown.shutdown();
        });
        say("COURIER-READY");
        server
            .run(|_| Soak::default())
            .await
            .expect("run the soak server");
    });
    say("COURIER-RESULT: stopped");
}

fn bind(path: &Path) -> MultiServer<SoakServer, NoMessages> {
    MultiServer::builder()
        .limits(Limits {
            max_clients: CLIENTS + 24,
            ..Limits::default()
        })
        .bind(path)
        .expect("bind the soak server")
}

// ----- the clients -----

/// One client's load: connects, waits for every other client, then does
/// `rounds` rounds of mixed traffic, checking every answer. Returns what
/// went wrong, if anything.
async fn client_rounds(
    path: &Path,
    client: usize,
    rounds: usize,
    all_connected: Arc<tokio::sync::Barrier>,
) -> Result<(), String> {
    let connection = AsyncConnection::<NoMessages, SoakServer>::connect(path)
        .await
        .map_err(|e| format!("client {client} could not connect: {e}"))?;
    all_connected.wait().await;
    let mut expected_total = 0u64;
    for round in 0..rounds {
        one_round(&connection, client, round, &mut expected_total).await?;
    }
    let closed = connection.closed();
    drop(connection);
    closed.await;
    Ok(())
}

/// One round of one client: a call, three one-way messages, a file out,
/// a bitmap out and one back, and the total of the one-way messages.
async fn one_round(
    connection: &AsyncConnection<NoMessages, SoakServer>,
    client: usize,
    round: usize,
    expected_total: &mut u64,
) -> Result<(), String> {
    let tag = format!("client {client} round {round}");
    let echoed = connection
        .call(&Echo { text: tag.clone() })
        .await
        .map_err(|e| format!("{tag}: echo: {e}"))?;
    check(&tag, "echo", &echoed.text, &tag)?;

    for value in [client as u32, round as u32, 1] {
        connection
            .send(&Add { value })
            .map_err(|e| format!("{tag}: add: {e}"))?;
        *expected_total += u64::from(value);
    }

    let file = memfd_with(tag.as_bytes());
    let read = connection
        .call(&ReadFile { file })
        .await
        .map_err(|e| format!("{tag}: read_file: {e}"))?;
    check(&tag, "read_file", &read.contents, &tag)?;

    let side = 4 + (client % 5) as u32;
    let color = Color::from_rgba(client as u8, round as u8, 7, 255);
    let bitmap = filled_bitmap(side, color).map_err(|e| format!("{tag}: bitmap: {e}"))?;
    let expected_sum: u64 = bitmap.pixels().iter().map(|&b| u64::from(b)).sum();
    let sum = connection
        .call(&BitmapSum { bitmap })
        .await
        .map_err(|e| format!("{tag}: bitmap_sum: {e}"))?;
    check(&tag, "bitmap_sum", &sum.sum, &expected_sum)?;

    let made = connection
        .call(&MakeBitmap {
            side,
            argb: color.argb(),
        })
        .await
        .map_err(|e| format!("{tag}: make_bitmap: {e}"))?;
    let corner = made.bitmap.pixel(side - 1, side - 1);
    check(&tag, "make_bitmap", &corner, &Some(color))?;

    let total = connection
        .call(&Total {})
        .await
        .map_err(|e| format!("{tag}: total: {e}"))?;
    check(&tag, "total", &total.total, expected_total)
}

fn check<T: PartialEq + std::fmt::Debug>(
    tag: &str,
    what: &str,
    got: &T,
    expected: &T,
) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!(
            "{tag}: {what} answered {got:?}, expected {expected:?}"
        ))
    }
}

fn memfd_with(contents: &[u8]) -> OwnedFd {
    let fd = rustix::fs::memfd_create("soak-file", rustix::fs::MemfdFlags::CLOEXEC)
        .expect("memfd_create");
    let mut file = std::fs::File::from(fd);
    file.write_all(contents).expect("write a memfd");
    std::io::Seek::rewind(&mut file).expect("rewind a memfd");
    file.into()
}

// ----- the parent -----

/// The soak server in a child process.
struct SoakChild {
    process: ChildProcess,
    stdin: Option<ChildStdin>,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SoakChild {
    fn start() -> SoakChild {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("soak.sock");
        let mut process = ChildProcess::spawn(
            self_command("soak_child")
                .env(CHILD_ENV, &path)
                .env_remove("IPC_TRACE")
                .env_remove("IPC_DEBUG")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped()),
            "soak server",
        );
        let stdin = process.take_stdin();
        process.read_until("COURIER-READY");
        SoakChild {
            process,
            stdin,
            path,
            _dir: dir,
        }
    }

    fn fds(&self) -> usize {
        open_fds_of(self.process.pid())
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.pid()))
            .expect("read the server's /proc/<pid>/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// Polls until the server has `fds` fds open.
    fn wait_for_fds(&self, fds: usize) {
        let start = Instant::now();
        loop {
            let now = self.fds();
            if now == fds {
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "the server has {now} fds open, expected {fds}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(mut self) {
        drop(self.stdin.take());
        assert_eq!(self.process.read_until("COURIER-RESULT: "), "stopped");
        let status = self.process.wait();
        assert!(status.success(), "the soak server exited with {status}");
    }
}

/// Barriers that the test itself also passes, so that it measures the
/// server while every client waits: once every client is connected and
/// warmed up (then `go`), and once every client is done (then `leave`).
struct Phases {
    connected: Arc<tokio::sync::Barrier>,
    warmed: Arc<tokio::sync::Barrier>,
    go: Arc<tokio::sync::Barrier>,
    finished: Arc<tokio::sync::Barrier>,
    leave: Arc<tokio::sync::Barrier>,
}

/// Runs `CLIENTS` clients against a fresh server: one warm-up round, then
/// `keep_going` decides after each round whether to do another. Measures
/// the server after the warm-up and at the end; returns the rounds done.
fn run_load(keep_going: impl Fn(usize, Instant) -> bool + Send + Sync + 'static) -> usize {
    let limit = raise_fd_limit();
    assert!(
        limit as usize > CLIENTS + 100,
        "RLIMIT_NOFILE {limit} is too low"
    );
    let server = SoakChild::start();
    let fds_idle = server.fds();
    let phases = Phases {
        connected: Arc::new(tokio::sync::Barrier::new(CLIENTS)),
        warmed: Arc::new(tokio::sync::Barrier::new(CLIENTS + 1)),
        go: Arc::new(tokio::sync::Barrier::new(CLIENTS + 1)),
        finished: Arc::new(tokio::sync::Barrier::new(CLIENTS + 1)),
        leave: Arc::new(tokio::sync::Barrier::new(CLIENTS + 1)),
    };
    let keep_going = Arc::new(keep_going);
    let start = Instant::now();
    let runtime = runtime();
    let rounds = runtime.block_on(async {
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let path = server.path.clone();
                let (connected, warmed, go, finished, leave) = (
                    Arc::clone(&phases.connected),
                    Arc::clone(&phases.warmed),
                    Arc::clone(&phases.go),
                    Arc::clone(&phases.finished),
                    Arc::clone(&phases.leave),
                );
                let keep_going = Arc::clone(&keep_going);
                tokio::spawn(async move {
                    let connection = AsyncConnection::<NoMessages, SoakServer>::connect(&path)
                        .await
                        .map_err(|e| format!("client {client} could not connect: {e}"));
                    connected.wait().await;
                    let mut outcome = connection.map(|connection| (connection, 0u64));
                    if let Ok((connection, total)) = &mut outcome {
                        if let Err(error) = one_round(connection, client, 0, total).await {
                            outcome = Err(error);
                        }
                    }
                    warmed.wait().await;
                    go.wait().await;
                    let mut round = 1;
                    if let Ok((connection, total)) = &mut outcome {
                        while keep_going(round, start) {
                            if let Err(error) = one_round(connection, client, round, total).await {
                                outcome = Err(error);
                                break;
                            }
                            round += 1;
                        }
                    }
                    // Measured at the end with every client still connected.
                    finished.wait().await;
                    leave.wait().await;
                    let connection = outcome.map(|(connection, _)| connection)?;
                    let closed = connection.closed();
                    drop(connection);
                    closed.await;
                    Ok::<usize, String>(round)
                })
            })
            .collect();
        // One socket per client and nothing else: the fds that came with
        // the calls are closed (polled: the server closes the fds of a
        // response just after sending it).
        let busy = fds_idle + CLIENTS;
        within("every client's warm-up round", phases.warmed.wait()).await;
        server.wait_for_fds(busy);
        let warm = (server.fds(), server.rss_kib());
        within("the clients going on", phases.go.wait()).await;
        within("every client's last round", phases.finished.wait()).await;
        server.wait_for_fds(busy);
        let end = (server.fds(), server.rss_kib());
        within("the clients leaving", phases.leave.wait()).await;
        let mut rounds = usize::MAX;
        for task in tasks {
            let done = within("a client's end", task)
                .await
                .expect("a client task")
                .unwrap_or_else(|error| panic!("{error}"));
            rounds = rounds.min(done);
        }
        eprintln!(
            "{CLIENTS} clients, {rounds} rounds in {:?}; server fds idle {fds_idle}, \
             warm {}, end {}; server RSS warm {} KiB, end {} KiB",
            start.elapsed(),
            warm.0,
            end.0,
            warm.1,
            end.1
        );
        assert_eq!(
            end.0, warm.0,
            "the server's fd count did not grow under load"
        );
        assert!(
            end.1 <= warm.1 + RSS_TOLERANCE_KIB,
            "the server's RSS grew from {} KiB to {} KiB (tolerance {RSS_TOLERANCE_KIB} KiB)",
            warm.1,
            end.1
        );
        rounds
    });
    drop(runtime);
    // Every client gone: every fd of theirs is freed.
    server.wait_for_fds(fds_idle);
    server.stop();
    rounds
}

async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(DEADLINE, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not happen within {DEADLINE:?}"),
    }
}

#[test]
fn a_thousand_clients_doing_mixed_traffic_are_all_answered() {
    let rounds = run_load(|round, _| round < ROUNDS);
    assert_eq!(rounds, ROUNDS);
}

#[test]
#[ignore = "a one-minute soak; run with `cargo test -p courier --test soak -- --ignored`"]
fn soak_a_thousand_clients_for_a_minute() {
    let rounds = run_load(|_, start| start.elapsed() < SOAK_TIME);
    assert!(rounds > ROUNDS, "only {rounds} rounds in {SOAK_TIME:?}");
}
