//! The two processes of a row: starting the server (this binary again, as
//! `courier-bench serve <system> <address> <cpu>`), waiting for its `ready`
//! line, stopping it; CPU pinning; resident memory; open-file limits.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};

/// What the server prints once it accepts clients.
pub const READY: &str = "ready";

/// A server process, stopped (stdin closed, waited for) by [`Server::stop`]
/// or killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Starts `courier-bench serve <system> <address> <cpu>` and waits for
    /// its `ready` line (no sleeps: the line is written once it listens).
    pub fn spawn(system: &str, address: &str, cpu: Option<usize>) -> io::Result<Server> {
        let exe = std::env::current_exe()?;
        let cpu = cpu.map_or_else(|| "-".to_string(), |c| c.to_string());
        let mut child = Command::new(exe)
            .args(["serve", system, address, &cpu])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other(
                "the server process has no stdin or stdout pipe",
            ));
        };
        let mut server = Server {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
        };
        let mut line = String::new();
        server.stdout.read_line(&mut line)?;
        if line.trim_end() != READY {
            return Err(io::Error::other(format!(
                "the `{system}` server printed {line:?} instead of `{READY}`; run `courier-bench serve {system} {address} {cpu}` by hand to see why"
            )));
        }
        Ok(server)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes its stdin (which tells it to exit) and waits for it.
    pub fn stop(mut self) -> io::Result<()> {
        drop(self.stdin.take());
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest);
        let status = self.child.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "the server process ended with {status}; it printed {rest:?}"
            )))
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The server side: prints `ready`, then blocks until the parent closes
/// stdin. The caller exits the process afterwards.
pub fn ready_then_wait_for_stdin() -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{READY}")?;
    stdout.flush()?;
    drop(stdout);
    io::copy(&mut io::stdin().lock(), &mut io::sink())?;
    Ok(())
}

/// Pins the calling thread (and so the threads it starts afterwards) to
/// `cpu`, or back to `all` when `cpu` is `None`.
pub fn pin_current_thread(cpu: Option<usize>, all: &CpuSet) -> io::Result<()> {
    let set = match cpu {
        Some(cpu) => {
            let mut set = CpuSet::new();
            set.set(cpu);
            set
        }
        None => *all,
    };
    sched_setaffinity(None, &set).map_err(io::Error::from)
}

/// The CPUs this process may run on now.
pub fn current_affinity() -> io::Result<CpuSet> {
    sched_getaffinity(None).map_err(io::Error::from)
}

/// Raises the soft limit of open files to the hard limit (1000 clients need
/// 1000 descriptors on each side).
pub fn raise_open_files_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        );
    }
}

/// Resident memory of process `pid` in bytes (`VmRSS` of
/// `/proc/<pid>/status`).
pub fn resident_bytes(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .ok_or_else(|| io::Error::other(format!("no VmRSS line in /proc/{pid}/status")))
}
