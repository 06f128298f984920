//! The daemons as child processes: [`Kind`] (which daemon, and how `tour
//! daemon NAME` runs it), [`Fleet`] (start them, wait for their `ready`
//! line, stop them cleanly) and the guarantee that they never outlive the
//! tour.
//!
//! Every child is recorded in the fleet the moment it is spawned, under the
//! fleet's lock, so that each way out of the tour finds it:
//!
//! - the normal end: [`Fleet::shutdown`] sends SIGTERM to each, reaps it and
//!   reports its exit status;
//! - an error or a panic: [`Fleet`]'s `Drop` kills (SIGKILL) and reaps what
//!   is left, then removes the private directory;
//! - Ctrl-C or SIGTERM to the tour: a thread that waits for those signals
//!   does the same, then exits with status 130;
//! - the tour killed outright (SIGKILL): each daemon asked the kernel, first
//!   thing, for SIGTERM when its parent dies (`PR_SET_PDEATHSIG`), so it
//!   stops by itself. The kernel ties that to the thread that spawned the
//!   child: the tour spawns from its main thread, which lives as long as
//!   the tour.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};
use tempfile::TempDir;

use crate::fail::{Context, Failure, Result};

/// How long a daemon may take to print its `ready` line (debug builds on a
/// busy machine start slowly; a healthy start takes milliseconds).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a daemon may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The environment variable through which the tour tells its daemons its
/// pid, so that one whose parent is already gone stops at once.
const PARENT_ENV: &str = "COURIER_TOUR_PARENT_PID";

/// Set once Ctrl-C or SIGTERM reached the tour: errors that follow are
/// the services going away, not faults to report.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// A daemon the tour can start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// SerenityOS's ConfigServer: settings in INI files.
    Configd,
    /// SerenityOS's Clipboard.
    Clipboardd,
    /// SerenityOS's ImageDecoder, confined.
    Imaged,
    /// The overview's window server.
    Windowd,
}

impl Kind {
    /// The daemon's name, as its own binary is called.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Configd => "configd",
            Kind::Clipboardd => "clipboardd",
            Kind::Imaged => "imaged",
            Kind::Windowd => "windowd",
        }
    }

    /// Runs the daemon's own command line with `args` (without the program
    /// name): what `tour daemon NAME ARGS...` does.
    pub fn run(self, args: Vec<OsString>) -> ExitCode {
        if !stay_with_parent() {
            return ExitCode::FAILURE;
        }
        let argv = std::iter::once(OsString::from(self.name())).chain(args);
        match self {
            Kind::Configd => courier_configd::cli::main_with_args(argv),
            Kind::Clipboardd => courier_clipboardd::cli::main_with_args(argv),
            Kind::Imaged => courier_imaged::cli::main_with_args(argv),
            Kind::Windowd => courier_windowd::cli::main_with_args(argv),
        }
    }
}

/// Asks for SIGTERM when the tour dies, and checks it has not died
/// already (the request covers only a parent alive when it is made).
/// False when the daemon should not start.
fn stay_with_parent() -> bool {
    let Some(expected) = std::env::var_os(PARENT_ENV) else {
        // Run by hand, not by the tour: nothing to follow.
        return true;
    };
    if let Err(error) = rustix::process::set_parent_process_death_signal(Some(Signal::TERM)) {
        eprintln!("tour: could not ask to stop with the tour ({error}); continuing");
    }
    let parent = rustix::process::getppid().map_or(0, Pid::as_raw_pid);
    let alive = expected.to_str().and_then(|pid| pid.parse().ok()) == Some(parent);
    if !alive {
        eprintln!("tour: the tour that started this daemon is gone; not starting");
    }
    alive
}

/// A daemon the tour started.
#[derive(Debug)]
struct Running {
    kind: Kind,
    child: Child,
}

/// What the fleet owns: the children and the private directory.
#[derive(Debug)]
struct Owned {
    running: Vec<Running>,
    workdir: Option<TempDir>,
}

impl Owned {
    /// Kills and reaps every child, then removes the directory.
    fn clean_up(&mut self) {
        for mut daemon in self.running.drain(..) {
            let _ = daemon.child.kill();
            let _ = daemon.child.wait();
        }
        if let Some(workdir) = self.workdir.take() {
            let _ = workdir.close();
        }
    }
}

/// The daemons of the tour and the private directory they live in.
#[derive(Debug)]
pub struct Fleet {
    owned: Arc<Mutex<Owned>>,
    workdir: PathBuf,
    exe: PathBuf,
}

/// A daemon spawned and not yet known to be ready.
#[derive(Debug)]
pub struct Starting {
    kind: Kind,
    pid: u32,
    spawned: Instant,
    ready: Receiver<std::result::Result<(String, Instant), Vec<String>>>,
}

/// A daemon that printed its `ready` line.
#[derive(Clone, Debug)]
pub struct Ready {
    /// Which daemon.
    pub kind: Kind,
    /// Its process id.
    pub pid: u32,
    /// The `ready ...` line, without the end of line.
    pub line: String,
    /// From spawn to the line.
    pub took: Duration,
}

/// How a daemon ended at [`Fleet::shutdown`].
#[derive(Debug)]
pub struct Stopped {
    /// Which daemon.
    pub kind: Kind,
    /// Its process id.
    pub pid: u32,
    /// Its exit status.
    pub status: ExitStatus,
    /// From SIGTERM to reaped.
    pub took: Duration,
    /// True when it ignored SIGTERM and had to be killed.
    pub killed: bool,
}

fn lock(owned: &Mutex<Owned>) -> MutexGuard<'_, Owned> {
    owned.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Fleet {
    /// A fleet whose daemons live in `workdir` (removed when the fleet
    /// goes), and a thread that cleans up on Ctrl-C and SIGTERM.
    ///
    /// # Errors
    ///
    /// The tour's own executable cannot be found, or the signals cannot be
    /// watched.
    pub fn new(workdir: TempDir) -> Result<Fleet> {
        let exe = std::env::current_exe()
            .context("cannot find the tour's own executable to start the daemons")?;
        let path = workdir.path().to_owned();
        let owned = Arc::new(Mutex::new(Owned {
            running: Vec::new(),
            workdir: Some(workdir),
        }));
        watch_signals(Arc::clone(&owned))?;
        Ok(Fleet {
            owned,
            workdir: path,
            exe,
        })
    }

    /// The private directory.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// Starts `tour daemon <kind> <args>` with stdout piped (for the
    /// `ready` line) and stderr shared with the tour (their complaints show).
    ///
    /// # Errors
    ///
    /// The process cannot be spawned.
    pub fn spawn(&self, kind: Kind, args: &[OsString]) -> Result<Starting> {
        let mut owned = lock(&self.owned);
        let mut child = Command::new(&self.exe)
            .arg("daemon")
            .arg(kind.name())
            .args(args)
            .env(PARENT_ENV, std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context(format_args!(
                "could not start {} (`{} daemon {}`)",
                kind.name(),
                self.exe.display(),
                kind.name()
            ))?;
        let spawned = Instant::now();
        let pid = child.id();
        let stdout = child.stdout.take();
        owned.running.push(Running { kind, child });
        drop(owned);
        let (sender, ready) = mpsc::channel();
        if let Some(stdout) = stdout {
            // Reads the ready line, then drains the pipe until the daemon
            // closes it (it ends with the daemon).
            thread::Builder::new()
                .name(format!("{}-stdout", kind.name()))
                .spawn(move || {
                    let mut before = Vec::new();
                    let mut sent = false;
                    for line in BufReader::new(stdout).lines() {
                        let Ok(line) = line else { break };
                        if !sent && line.starts_with("ready") {
                            let _ = sender.send(Ok((line, Instant::now())));
                            sent = true;
                        } else if !sent {
                            before.push(line);
                        }
                    }
                    if !sent {
                        let _ = sender.send(Err(before));
                    }
                })
                .context("could not start a thread to read a daemon's output")?;
        }
        Ok(Starting {
            kind,
            pid,
            spawned,
            ready,
        })
    }

    /// Waits for `starting`'s `ready` line.
    ///
    /// # Errors
    ///
    /// The daemon exited first (with its status and what it printed), or
    /// stayed silent for a minute.
    pub fn wait_ready(&self, starting: Starting) -> Result<Ready> {
        let name = starting.kind.name();
        match starting.ready.recv_timeout(READY_TIMEOUT) {
            Ok(Ok((line, at))) => Ok(Ready {
                kind: starting.kind,
                pid: starting.pid,
                line,
                took: at.duration_since(starting.spawned),
            }),
            Ok(Err(before)) => {
                let status = self.reap(starting.pid);
                let printed = if before.is_empty() {
                    String::new()
                } else {
                    format!("; it printed: {}", before.join(" / "))
                };
                Err(Failure::new(format!(
                    "{name} (pid {}) stopped before it was ready ({status}){printed}; its \
                     messages, if any, are above; run `tour daemon {name} --help` to try it alone",
                    starting.pid
                )))
            }
            Err(RecvTimeoutError::Timeout) => Err(Failure::new(format!(
                "{name} (pid {}) printed no `ready` line within {} s; run it alone with \
                 `tour daemon {name}` and IPC_DEBUG=1 to see where it stops",
                starting.pid,
                READY_TIMEOUT.as_secs()
            ))),
            Err(RecvTimeoutError::Disconnected) => Err(Failure::new(format!(
                "{name} (pid {}) started without a readable stdout",
                starting.pid
            ))),
        }
    }

    /// Reaps the child `pid` that closed its stdout, and describes how it
    /// ended.
    fn reap(&self, pid: u32) -> String {
        let mut owned = lock(&self.owned);
        let Some(index) = owned.running.iter().position(|d| d.child.id() == pid) else {
            return "already reaped".to_owned();
        };
        let daemon = owned.running.remove(index);
        drop(owned);
        match wait_with_timeout(daemon.child, STOP_TIMEOUT) {
            (Ok(status), false) => format!("{status}"),
            (Ok(_), true) => "closed its output without exiting; killed".to_owned(),
            (Err(error), _) => format!("could not be waited for: {error}"),
        }
    }

    /// Stops every daemon, in the order they were started: SIGTERM, then
    /// waits for it (SIGKILL after 10 s), and reports how each ended.
    pub fn shutdown(&self) -> Vec<Stopped> {
        let running: Vec<Running> = lock(&self.owned).running.drain(..).collect();
        let mut stopped = Vec::new();
        for daemon in running {
            let pid = daemon.child.id();
            let started = Instant::now();
            if let Some(raw) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
                let _ = rustix::process::kill_process(raw, Signal::TERM);
            }
            let (Ok(status), killed) = wait_with_timeout(daemon.child, STOP_TIMEOUT) else {
                // Not our child any more: nothing to report.
                continue;
            };
            stopped.push(Stopped {
                kind: daemon.kind,
                pid,
                status,
                took: started.elapsed(),
                killed,
            });
        }
        stopped
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        lock(&self.owned).clean_up();
    }
}

/// Reaps `child`, killing it (SIGKILL) if it has not exited within
/// `timeout`; true in the second place when it had to be killed. A thread
/// waits for the child, so that the pid stays valid (un-reaped) until the
/// kill is sent.
fn wait_with_timeout(mut child: Child, timeout: Duration) -> (std::io::Result<ExitStatus>, bool) {
    let pid = child.id();
    let (sender, receiver) = mpsc::channel();
    let waiter = thread::Builder::new()
        .name("tour-reaper".to_owned())
        .spawn(move || {
            let _ = sender.send(child.wait());
        });
    if let Err(error) = waiter {
        return (Err(error), false);
    }
    match receiver.recv_timeout(timeout) {
        Ok(status) => (status, false),
        Err(RecvTimeoutError::Timeout) => {
            if let Some(raw) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
                let _ = rustix::process::kill_process(raw, Signal::KILL);
            }
            let status = receiver.recv().unwrap_or_else(|_| {
                Err(std::io::Error::other(
                    "the thread waiting for the daemon ended",
                ))
            });
            (status, true)
        }
        Err(RecvTimeoutError::Disconnected) => (
            Err(std::io::Error::other(
                "the thread waiting for the daemon ended",
            )),
            false,
        ),
    }
}

/// Starts the thread that cleans up and exits on Ctrl-C or SIGTERM. The
/// handlers are installed before it returns, so no signal is missed once
/// daemons exist.
fn watch_signals(owned: Arc<Mutex<Owned>>) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("could not start the signal watcher")?;
    let (mut terminate, mut interrupt) = runtime
        .block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
            ))
        })
        .context("could not watch for Ctrl-C and SIGTERM")?;
    thread::Builder::new()
        .name("tour-signals".to_owned())
        .spawn(move || {
            runtime.block_on(async {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = interrupt.recv() => {}
                }
            });
            INTERRUPTED.store(true, Ordering::SeqCst);
            // Held until the process exits: nothing else touches the
            // children meanwhile.
            let mut owned = lock(&owned);
            owned.clean_up();
            eprintln!(
                "\ntour: interrupted; the services were stopped and the private directory removed"
            );
            std::process::exit(130);
        })
        .context("could not start the signal watcher")?;
    Ok(())
}
