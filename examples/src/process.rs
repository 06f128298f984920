//! The example services in a process of their own: the parent side
//! ([`ServerProcess`]) and the child side ([`serve_until_stdin_closes`]).
//!
//! The protocol between the two is two lines and a pipe: the child prints
//! `ready` once both sockets listen; the parent closes the child's stdin to
//! ask it to stop; the child then shuts down cleanly, prints `stopped: ...`
//! and exits with status 0. No sleeps, no polling of the file system.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};

use crate::server::{BlockingServer, Flavour, Report, ServicePaths, TokioServer};

/// What the child prints once it serves.
pub const READY: &str = "ready";

/// A running server process, started by [`ServerProcess::spawn`]. Dropping
/// it without [`stop`](Self::stop) kills the process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    paths: ServicePaths,
}

/// How a server process ended.
#[derive(Debug)]
pub struct Stopped {
    /// Its exit status.
    pub status: ExitStatus,
    /// What it printed after `ready`.
    pub output: String,
}

impl ServerProcess {
    /// Runs `program serve <dir> <flavour>` (the demo binary, or anything
    /// that calls [`serve_until_stdin_closes`] for those arguments) and
    /// waits until it prints [`READY`].
    ///
    /// # Errors
    ///
    /// When the process cannot start, or exits or prints something else
    /// before it is ready.
    pub fn spawn(program: &Path, dir: &Path, flavour: Flavour) -> io::Result<ServerProcess> {
        let mut child = Command::new(program)
            .arg("serve")
            .arg(dir)
            .arg(flavour.name())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!("could not start `{}`: {error}", program.display()),
                )
            })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().map(BufReader::new);
        let (Some(stdin), Some(mut stdout)) = (stdin, stdout) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other(
                "the server process has no stdin or stdout pipe",
            ));
        };
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        if line.trim_end() != READY {
            let _ = child.kill();
            let status = child.wait()?;
            return Err(io::Error::other(format!(
                "the server process printed {line:?} instead of `{READY}` and ended with {status}"
            )));
        }
        Ok(ServerProcess {
            child,
            stdin: Some(stdin),
            stdout,
            paths: ServicePaths::in_dir(dir),
        })
    }

    /// Where its services listen.
    pub fn paths(&self) -> &ServicePaths {
        &self.paths
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks it to stop (closes its stdin) and waits until it has exited.
    ///
    /// # Errors
    ///
    /// When its output cannot be read or it cannot be waited for.
    pub fn stop(mut self) -> io::Result<Stopped> {
        drop(self.stdin.take());
        let mut output = String::new();
        self.stdout.read_to_string(&mut output)?;
        let status = self.child.wait()?;
        Ok(Stopped { status, output })
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Still running only when `stop` was not called (a failed test).
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The child side: serves in `dir` with `flavour`, prints [`READY`] on
/// stdout, serves until stdin is closed, then shuts down and returns what
/// the server did. The caller prints the report and exits.
///
/// # Errors
///
/// When the server cannot start (the sockets cannot be bound).
pub fn serve_until_stdin_closes(dir: &Path, flavour: Flavour) -> io::Result<Report> {
    let paths = ServicePaths::in_dir(dir);
    let stop = || -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "{READY}")?;
        stdout.flush()?;
        // Blocks until the parent closes the pipe (or exits).
        io::copy(&mut io::stdin().lock(), &mut io::sink())?;
        Ok(())
    };
    match flavour {
        Flavour::Blocking => {
            let server = BlockingServer::start(&paths)?;
            let waited = stop();
            let report = server.shutdown();
            waited.map(|()| report)
        }
        Flavour::Tokio => {
            let server = TokioServer::start(&paths).map_err(io::Error::other)?;
            let waited = stop();
            let report = server.shutdown();
            waited.map(|()| report)
        }
    }
}

/// The arguments of the child side, `serve <dir> <flavour>`, if `args` (the
/// program's arguments without its name) are those.
pub fn serve_arguments(args: &[String]) -> Option<(PathBuf, Flavour)> {
    match args {
        [serve, dir, flavour] if serve == "serve" => {
            Some((PathBuf::from(dir), Flavour::from_name(flavour)?))
        }
        _ => None,
    }
}
