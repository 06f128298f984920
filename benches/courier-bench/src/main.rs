//! `courier-bench`: courier side by side with raw Unix sockets, ipc-channel,
//! tarpc, tonic, bincode and postcard, cross-process, in one run.
//!
//! ```text
//! cargo run --release -p courier-bench -- [--quick|--smoke] [--json PATH] [--only SCENARIO] [--system NAME] [--pinning P]
//! ```
//!
//! Every scenario but the codec runs the server in another process: this
//! binary again, as `courier-bench serve <system> <address> <cpu>`, which
//! prints `ready` once it listens and exits when its stdin closes. See the
//! "Benchmarks" section of the workspace README and `docs/performance.md`.
#![deny(unsafe_code)]

mod codec_rows;
mod courier_rows;
mod ipc_rows;
mod many;
mod process;
mod raw;
mod report;
mod tarpc_rows;
mod tonic_rows;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use report::{Pinning, Row, Samples};

/// The generated code of `ipc/Bench.ipc`.
#[allow(missing_docs)]
mod generated {
    courier::include_ipc!("Bench");
}
use generated::bench;

/// The system every round-trip and bulk ratio refers to.
pub const RAW_STREAM: &str = "raw-stream";

/// A checksum of a few bytes: the length, the first, middle and last eight
/// bytes. Enough to prove the payload arrived and is readable, without
/// touching (and so faulting in) every page of a shared mapping.
pub fn checksum(data: &[u8]) -> u64 {
    let mut sum = data.len() as u64;
    let n = data.len();
    for start in [0, n / 2, n.saturating_sub(8)] {
        for (i, byte) in data.iter().skip(start).take(8).enumerate() {
            sum = sum
                .wrapping_mul(31)
                .wrapping_add(u64::from(*byte) << (i * 8));
        }
    }
    sum
}

/// How long the run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    /// Everything at full size.
    Full,
    /// Under two minutes on a 2-core machine.
    Quick,
    /// A few iterations per row: only proves that every row runs.
    Smoke,
}

impl Mode {
    fn round_trips(self) -> usize {
        match self {
            Mode::Full => 100_000,
            Mode::Quick => 10_000,
            Mode::Smoke => 20,
        }
    }

    fn one_way(self) -> (u64, usize) {
        match self {
            Mode::Full => (1_000_000, 5),
            Mode::Quick => (100_000, 5),
            Mode::Smoke => (1_000, 2),
        }
    }

    fn bulk_runs(self, size: usize) -> usize {
        let base = match size {
            s if s <= 4096 => 2000,
            s if s <= 1 << 20 => 200,
            _ => 10,
        };
        match self {
            Mode::Full => base * 5,
            Mode::Quick => base,
            Mode::Smoke => 2,
        }
    }

    fn calls_per_client(self, clients: usize) -> usize {
        match self {
            Mode::Full => (100_000 / clients).max(20),
            Mode::Quick => (10_000 / clients).max(10),
            Mode::Smoke => 2,
        }
    }

    fn codec_runs(self) -> usize {
        match self {
            Mode::Full => 50,
            Mode::Quick => 10,
            Mode::Smoke => 2,
        }
    }
}

/// The machine, named in the output.
#[derive(Debug, Serialize)]
struct Machine {
    nproc: usize,
    cpu: String,
    kernel: String,
}

impl Machine {
    fn detect() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
            })
            .unwrap_or_else(|| "unknown".to_string());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".to_string());
        Machine {
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
            kernel,
        }
    }
}

/// A row that was attempted: `(scenario, system, pinning)`.
#[derive(Debug, Serialize)]
struct Planned {
    scenario: String,
    system: String,
    pinning: Pinning,
}

/// A row of the issue that this version does not measure.
#[derive(Debug, Serialize)]
struct Missing {
    scenario: &'static str,
    system: &'static str,
    why: &'static str,
}

const MISSING: &[Missing] = &[];

/// What the JSON file holds.
#[derive(Debug, Serialize)]
struct Output<'a> {
    mode: Mode,
    machine: &'a Machine,
    planned: &'a [Planned],
    rows: &'a [Row],
    missing: &'a [Missing],
    errors: &'a [String],
}

/// A client measuring `n` round trips against the server at a path.
type RoundTrips = fn(&Path, usize) -> io::Result<Samples>;

/// What a cross-process row is.
struct Spec<'a> {
    scenario: &'a str,
    system: &'a str,
    /// The server process (`courier-bench serve <server> ...`).
    server: &'a str,
    pinning: Pinning,
    unit: &'a str,
    bytes: Option<u64>,
    note: &'a str,
}

/// The benchmark's state while it runs.
struct Bench {
    mode: Mode,
    dir: tempfile::TempDir,
    sockets: usize,
    all_cpus: rustix::thread::CpuSet,
    two_cores: bool,
    rows: Vec<Row>,
    planned: Vec<Planned>,
    errors: Vec<String>,
    filter: Filter,
}

/// Which rows to run (`--only`, `--system`, `--pinning`): all by default.
#[derive(Debug, Default)]
struct Filter {
    /// Rows whose scenario starts with this (`rt-small`, `one-way`, `bulk`).
    scenario: Option<String>,
    /// Rows of this system exactly (`courier-blocking`).
    system: Option<String>,
    /// Rows at this pinning (`one-core`, `two-cores`, `unpinned`).
    pinning: Option<String>,
}

impl Filter {
    fn admits(&self, scenario: &str, system: &str, pinning: Pinning) -> bool {
        self.scenario
            .as_deref()
            .is_none_or(|only| scenario.starts_with(only))
            && self.system.as_deref().is_none_or(|only| system == only)
            && self
                .pinning
                .as_deref()
                .is_none_or(|only| pinning.name() == only)
    }
}

impl Bench {
    fn socket(&mut self, system: &str) -> PathBuf {
        self.sockets += 1;
        self.dir
            .path()
            .join(format!("{system}-{}.sock", self.sockets))
    }

    fn pinnings(&self) -> Vec<Pinning> {
        if self.two_cores {
            vec![Pinning::OneCore, Pinning::TwoCores]
        } else {
            vec![Pinning::OneCore]
        }
    }

    /// Runs `measure` for one row, recording it, or its error.
    fn record(
        &mut self,
        scenario: &str,
        system: &str,
        pinning: Pinning,
        measure: impl FnOnce(&mut Bench) -> io::Result<Row>,
    ) {
        if !self.filter.admits(scenario, system, pinning) {
            return;
        }
        self.planned.push(Planned {
            scenario: scenario.to_string(),
            system: system.to_string(),
            pinning,
        });
        let started = Instant::now();
        eprint!("  {scenario:<18} {system:<30} {:<10}", pinning.name());
        let result = measure(self);
        let _ = process::pin_current_thread(None, &self.all_cpus);
        match result {
            Ok(row) => {
                eprintln!(
                    " median {:>10.3} us  ({:.1} s)",
                    row.median_us,
                    started.elapsed().as_secs_f64()
                );
                self.rows.push(row);
            }
            Err(error) => {
                eprintln!(" FAILED: {error}");
                self.errors.push(format!(
                    "{scenario} / {system} / {}: {error}",
                    pinning.name()
                ));
            }
        }
    }

    /// A row whose server is the process `server` at a fresh socket, with
    /// the client pinned as `pinning` says.
    fn cross_process(&mut self, spec: Spec<'_>, client: impl FnOnce(&Path) -> io::Result<Samples>) {
        let Spec {
            scenario,
            system,
            server,
            pinning,
            unit,
            bytes,
            note,
        } = spec;
        let path = self.socket(server);
        self.record(scenario, system, pinning, |bench| {
            let (client_cpu, server_cpu) = pinning.cpus();
            process::pin_current_thread(client_cpu, &bench.all_cpus)?;
            let address = path.to_string_lossy().into_owned();
            let process = process::Server::spawn(server, &address, server_cpu)?;
            let samples = client(&path)?;
            process.stop()?;
            Ok(report::row(
                scenario, system, pinning, unit, samples, bytes, note,
            ))
        });
    }

    fn round_trip_rows(&mut self) {
        let n = self.mode.round_trips();
        let warm = n / 10;
        for pinning in self.pinnings() {
            let rows: [(&str, &str, &str, RoundTrips); 7] = [
                (
                    RAW_STREAM,
                    "raw-stream",
                    "16-byte request, 16-byte reply",
                    raw::stream_round_trips,
                ),
                (
                    "raw-seqpacket",
                    "raw-seqpacket",
                    "one 16-byte packet each way",
                    raw::seqpacket_round_trips,
                ),
                (
                    "courier-blocking",
                    "courier-blocking",
                    "generated blocking client; thread-per-client blocking server",
                    courier_rows::blocking_round_trips,
                ),
                (
                    "courier-async",
                    "courier-tokio",
                    "generated async client, current-thread runtime; MultiServer on a current-thread runtime",
                    courier_rows::async_round_trips,
                ),
                (
                    "tokio-raw",
                    "tokio-raw",
                    "tokio UnixStream both sides, current-thread runtimes (the async reference)",
                    raw::tokio_round_trips,
                ),
                (
                    "tarpc",
                    "tarpc",
                    "tarpc 0.38, unix socket, bincode transport, current-thread runtimes",
                    tarpc_rows::round_trips,
                ),
                (
                    "tonic",
                    "tonic",
                    "tonic 0.13, gRPC unary over a unix socket, prost messages, current-thread runtimes",
                    tonic_rows::round_trips,
                ),
            ];
            for (system, server, note, client) in rows {
                self.cross_process(
                    Spec {
                        scenario: "rt-small",
                        system,
                        server,
                        pinning,
                        unit: "call",
                        bytes: None,
                        note,
                    },
                    |path| Ok(client(path, n + warm)?.drop_first(warm)),
                );
            }
            self.record("rt-small", "ipc-channel", pinning, |bench| {
                let (client_cpu, server_cpu) = pinning.cpus();
                process::pin_current_thread(client_cpu, &bench.all_cpus)?;
                let client = ipc_rows::connect(server_cpu)?;
                let samples = client.round_trips(n + warm)?.drop_first(warm);
                client.server.stop()?;
                Ok(report::row(
                    "rt-small",
                    "ipc-channel",
                    pinning,
                    "call",
                    samples,
                    None,
                    "ipc-channel 0.23, typed request and reply channels",
                ))
            });
        }
        // Unpinned, the setting of the bulk rows: the small call that a
        // shared-memory transfer is compared with.
        let unpinned: [(&str, RoundTrips); 2] = [
            (RAW_STREAM, raw::stream_round_trips),
            ("courier-blocking", courier_rows::blocking_round_trips),
        ];
        for (system, client) in unpinned {
            let spec = Spec {
                scenario: "rt-small",
                system,
                server: system,
                pinning: Pinning::Unpinned,
                unit: "call",
                bytes: None,
                note: "unpinned: the setting of the bulk rows",
            };
            self.cross_process(spec, |path| Ok(client(path, n + warm)?.drop_first(warm)));
        }
    }

    fn one_way_rows(&mut self) {
        let (n, runs) = self.mode.one_way();
        let pinning = Pinning::Unpinned;
        let note = format!("{n} messages per run, until the server decoded the last");
        self.cross_process(
            Spec {
                scenario: "one-way",
                system: "raw-stream-write-per-message",
                server: "raw-stream",
                pinning,
                unit: "msg",
                bytes: None,
                note: &format!("32-byte frames, one write(2) each; {note}"),
            },
            |path| raw::stream_one_way(path, n, runs, false),
        );
        self.cross_process(
            Spec {
                scenario: "one-way",
                system: "raw-stream-batched-64KiB",
                server: "raw-stream",
                pinning,
                unit: "msg",
                bytes: None,
                note: &format!("32-byte frames in 64 KiB writes; {note}"),
            },
            |path| raw::stream_one_way(path, n, runs, true),
        );
        self.cross_process(
            Spec {
                scenario: "one-way",
                system: "courier-blocking",
                server: "courier-blocking",
                pinning,
                unit: "msg",
                bytes: None,
                note: &format!("Notify(u32, u32, u64); {note}"),
            },
            |path| courier_rows::blocking_one_way(path, n, runs),
        );
        self.cross_process(
            Spec {
                scenario: "one-way",
                system: "courier-blocking-buffered",
                server: "courier-blocking",
                pinning,
                unit: "msg",
                bytes: None,
                note: &format!("Notify(u32, u32, u64) with send_buffered (64 KiB writes); {note}"),
            },
            |path| courier_rows::blocking_buffered_one_way(path, n, runs),
        );
        self.cross_process(
            Spec {
                scenario: "one-way",
                system: "courier-async",
                server: "courier-tokio",
                pinning,
                unit: "msg",
                bytes: None,
                note: &format!("Notify(u32, u32, u64); {note}"),
            },
            |path| courier_rows::async_one_way(path, n, runs),
        );
        self.record("one-way", "ipc-channel", pinning, |_| {
            let client = ipc_rows::connect(None)?;
            let samples = client.one_way(n, runs)?;
            client.server.stop()?;
            Ok(report::row(
                "one-way",
                "ipc-channel",
                pinning,
                "msg",
                samples,
                None,
                &format!("enum request, Notify variant; {note}"),
            ))
        });
    }

    fn bulk_rows(&mut self) {
        use courier::shm::{BitmapFormat, ShareableBitmap, SharedBuffer};
        let pinning = Pinning::Unpinned;
        for (size, label, side) in [
            (4usize << 10, "4KiB", 32u32),
            (1 << 20, "1MiB", 512),
            (64 << 20, "64MiB", 4096),
        ] {
            let scenario = format!("bulk-{label}");
            let runs = self.mode.bulk_runs(size);
            let mut data = vec![0xA5u8; size];
            for (i, byte) in data.iter_mut().enumerate().step_by(4093) {
                *byte = i as u8;
            }
            let bytes = Some(size as u64);
            let ack = "server acks a checksum of 24 bytes (first, middle, last 8)";
            self.cross_process(
                Spec {
                    scenario: &scenario,
                    system: RAW_STREAM,
                    server: "raw-stream",
                    pinning,
                    unit: "transfer",
                    bytes,
                    note: &format!(
                        "header + write of the bytes, server reads into a reused buffer; {ack}"
                    ),
                },
                |path| Ok(raw::stream_bulk(path, &data, runs + 1)?.drop_first(1)),
            );
            self.cross_process(
                Spec {
                    scenario: &scenario,
                    system: "courier-bytes",
                    server: "courier-blocking",
                    pinning,
                    unit: "transfer",
                    bytes,
                    note: &format!("Vector<u8> argument, blocking client; {ack}"),
                },
                |path| {
                    Ok(courier_rows::blocking_bulk(
                        path,
                        courier_rows::Payload::Bytes(&data),
                        runs + 1,
                    )?
                    .drop_first(1))
                },
            );
            self.cross_process(
                Spec {
                    scenario: &scenario,
                    system: "courier-shared-buffer",
                    server: "courier-blocking",
                    pinning,
                    unit: "transfer",
                    bytes,
                    note: &format!(
                        "existing filled Core::AnonymousBuffer, mapped by the receiver; {ack}"
                    ),
                },
                |path| {
                    let buffer = SharedBuffer::from_bytes(&data).map_err(io::Error::other)?;
                    Ok(courier_rows::blocking_bulk(
                        path,
                        courier_rows::Payload::Buffer(buffer),
                        runs + 1,
                    )?
                    .drop_first(1))
                },
            );
            let note = format!(
                "existing filled {side}x{side} BGRA Gfx::ShareableBitmap, mapped by the receiver; {ack}"
            );
            let spec = Spec {
                scenario: &scenario,
                system: "courier-bitmap",
                server: "courier-blocking",
                pinning,
                unit: "transfer",
                bytes,
                note: &note,
            };
            self.cross_process(spec, |path| {
                let mut bitmap = ShareableBitmap::new(side, side, BitmapFormat::Bgra8888)
                    .map_err(io::Error::other)?;
                let pixels = bitmap
                    .pixels_mut()
                    .ok_or_else(|| io::Error::other("a new bitmap is not writable"))?;
                pixels.copy_from_slice(&data);
                Ok(courier_rows::blocking_bulk(
                    path,
                    courier_rows::Payload::Bitmap(bitmap),
                    runs + 1,
                )?
                .drop_first(1))
            });
            self.record(&scenario, "ipc-channel-bytes", pinning, |_| {
                let client = ipc_rows::connect(None)?;
                let samples = client.bulk_bytes(&data, runs + 1)?.drop_first(1);
                client.server.stop()?;
                Ok(report::row(
                    &scenario,
                    "ipc-channel-bytes",
                    pinning,
                    "transfer",
                    samples,
                    bytes,
                    &format!("IpcBytesSender; {ack}"),
                ))
            });
            self.record(&scenario, "ipc-channel-shmem", pinning, |_| {
                let client = ipc_rows::connect(None)?;
                let samples = client.bulk_shared(&data, runs + 1)?.drop_first(1);
                client.server.stop()?;
                Ok(report::row(
                    &scenario,
                    "ipc-channel-shmem",
                    pinning,
                    "transfer",
                    samples,
                    bytes,
                    &format!(
                        "IpcSharedMemory::from_bytes per message (it cannot be resent); {ack}"
                    ),
                ))
            });
            self.record(&scenario, "fill-and-read", pinning, |_| {
                // Faulted in once before timing: the floor is the copy, not
                // the first touch of fresh pages.
                let mut target = vec![1u8; size];
                let mut samples = Samples::with_capacity(runs);
                for run in 0..runs {
                    let start = Instant::now();
                    target.fill(run as u8);
                    let sum = target
                        .chunks_exact(8)
                        .map(|c| {
                            u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
                        })
                        .fold(0u64, u64::wrapping_add);
                    samples.push(start.elapsed());
                    std::hint::black_box(sum);
                }
                Ok(report::row(
                    &scenario,
                    "fill-and-read",
                    pinning,
                    "transfer",
                    samples,
                    bytes,
                    "one process: fill a reused buffer, then read every byte (the floor)",
                ))
            });
        }
    }

    fn many_client_rows(&mut self) {
        let pinning = Pinning::Unpinned;
        for clients in [1usize, 10, 100, 1000] {
            let scenario = format!("many-clients-{clients}");
            let calls = self.mode.calls_per_client(clients);
            let path = self.socket("courier-multi");
            self.record(&scenario, "courier-async", pinning, |_| {
                let address = path.to_string_lossy().into_owned();
                let server = process::Server::spawn("courier-multi", &address, None)?;
                let outcome = many::run(&path, server.pid(), clients, calls)?;
                server.stop()?;
                let mut row = report::row(
                    &scenario,
                    "courier-async",
                    pinning,
                    "call",
                    outcome.samples,
                    None,
                    &format!(
                        "{clients} clients x {calls} calls; server RSS {:.1} KiB per idle connection; rate is aggregate",
                        outcome.rss_per_connection / 1024.0
                    ),
                );
                row.per_second = Some(outcome.calls_per_second);
                row.rss_per_connection_bytes = Some(outcome.rss_per_connection);
                Ok(row)
            });
        }
    }

    fn codec_rows(&mut self) {
        let runs = self.mode.codec_runs();
        let pinning = Pinning::Unpinned;
        let message = codec_rows::message();
        let vector = codec_rows::vector();
        for system in codec_rows::SYSTEMS {
            self.record("codec-message", system, pinning, |_| {
                let len = codec_rows::courier_len(&message)?;
                let samples = codec_rows::run(system, &message, &message.values, runs)?;
                Ok(report::row(
                    "codec-message",
                    system,
                    pinning,
                    "encode+decode",
                    samples,
                    Some(len as u64),
                    "String + Vec<u32> of 1 M + HashMap of 1000; B/s counted on courier's encoded size; memcpy copies the vector out and back",
                ))
            });
        }
        for system in codec_rows::SYSTEMS {
            self.record("codec-vec-u32", system, pinning, |_| {
                let len = codec_rows::courier_len(&vector)?;
                let samples = codec_rows::run(system, &vector, &vector.values, runs)?;
                Ok(report::row(
                    "codec-vec-u32",
                    system,
                    pinning,
                    "encode+decode",
                    samples,
                    Some(len as u64),
                    "Vec<u32> of 1 M alone; B/s counted on courier's encoded size",
                ))
            });
        }
    }
}

fn serve(system: &str, address: &str, cpu: &str) -> io::Result<()> {
    if let Ok(cpu) = cpu.parse::<usize>() {
        let all = process::current_affinity()?;
        process::pin_current_thread(Some(cpu), &all)?;
    }
    process::raise_open_files_limit();
    let path = Path::new(address);
    match system {
        "raw-stream" => raw::serve_stream(path)?,
        "raw-seqpacket" => raw::serve_seqpacket(path)?,
        "tokio-raw" => raw::serve_tokio(path)?,
        "courier-blocking" => courier_rows::serve_blocking(path)?,
        "courier-tokio" => courier_rows::serve_tokio(path, 0)?,
        "courier-multi" => courier_rows::serve_tokio(path, 2)?,
        "tarpc" => tarpc_rows::serve(path)?,
        "tonic" => tonic_rows::serve(path)?,
        "ipc-channel" => ipc_rows::serve(address)?,
        other => {
            return Err(io::Error::other(format!(
                "no server named `{other}`; the servers are raw-stream, raw-seqpacket, tokio-raw, courier-blocking, courier-tokio, courier-multi, tarpc, tonic, ipc-channel"
            )));
        }
    }
    process::ready_then_wait_for_stdin()
}

const USAGE: &str = "usage: courier-bench [--quick|--smoke] [--json PATH] [--only SCENARIO-PREFIX] [--system SYSTEM] [--pinning one-core|two-cores|unpinned]";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, system, address, cpu] = args.as_slice() {
        if command == "serve" {
            if let Err(error) = serve(system, address, cpu) {
                println!("error: {error}");
                std::process::exit(1);
            }
            // Exit at once: the serving threads need no clean-up.
            std::process::exit(0);
        }
    }
    let mut mode = Mode::Full;
    let mut json = None;
    let mut filter = Filter::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--quick" => mode = Mode::Quick,
            "--smoke" => mode = Mode::Smoke,
            "--json" => match rest.next() {
                Some(path) => json = Some(PathBuf::from(path)),
                None => {
                    eprintln!("--json needs a path\n{USAGE}");
                    std::process::exit(2);
                }
            },
            "--only" | "--system" | "--pinning" => {
                let Some(value) = rest.next() else {
                    eprintln!("{arg} needs a value\n{USAGE}");
                    std::process::exit(2);
                };
                let slot = match arg.as_str() {
                    "--only" => &mut filter.scenario,
                    "--system" => &mut filter.system,
                    _ => &mut filter.pinning,
                };
                *slot = Some(value.clone());
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => {
                eprintln!("unknown argument `{other}`\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    match run(mode, json.as_deref(), filter) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(error) => {
            eprintln!("courier-bench: {error}");
            std::process::exit(1);
        }
    }
}

/// Runs every scenario; `Ok(false)` when a row failed.
fn run(mode: Mode, json: Option<&Path>, filter: Filter) -> io::Result<bool> {
    process::raise_open_files_limit();
    let machine = Machine::detect();
    let all_cpus = process::current_affinity()?;
    let two_cores = all_cpus.is_set(0) && all_cpus.is_set(1);
    eprintln!(
        "courier-bench ({mode:?}): {} CPUs, {}, kernel {}",
        machine.nproc, machine.cpu, machine.kernel
    );
    let mut bench = Bench {
        mode,
        dir: tempfile::tempdir()?,
        sockets: 0,
        all_cpus,
        two_cores,
        rows: Vec::new(),
        planned: Vec::new(),
        errors: Vec::new(),
        filter,
    };
    let started = Instant::now();
    bench.round_trip_rows();
    bench.one_way_rows();
    bench.bulk_rows();
    bench.many_client_rows();
    bench.codec_rows();
    report::fill_ratios(&mut bench.rows);
    println!(
        "courier-bench, {mode:?} mode, {:.0} s: {} CPUs, {}, kernel {}\n",
        started.elapsed().as_secs_f64(),
        machine.nproc,
        machine.cpu,
        machine.kernel
    );
    println!("{}", report::table(&bench.rows));
    for missing in MISSING {
        println!(
            "missing: {} / {}: {}",
            missing.scenario, missing.system, missing.why
        );
    }
    for error in &bench.errors {
        println!("FAILED: {error}");
    }
    if let Some(path) = json {
        let output = Output {
            mode,
            machine: &machine,
            planned: &bench.planned,
            rows: &bench.rows,
            missing: MISSING,
            errors: &bench.errors,
        };
        let text = serde_json::to_string_pretty(&output).map_err(io::Error::other)?;
        std::fs::write(path, text).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("could not write the JSON to `{}`: {error}", path.display()),
            )
        })?;
    }
    Ok(bench.errors.is_empty())
}
