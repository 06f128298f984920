//! Test support shared by every integration-test helper module: fd
//! accounting, and a child process that is this test binary started again,
//! read line by line up to a marker and killed if a test drops it early.
//!
//! Include from each test crate root, before the helper modules that use it:
//!
//! ```ignore
//! #[path = "support/mod.rs"]
//! #[macro_use]
//! mod support;
//! ```
//!
//! It also holds `message!`, which declares a message struct with the impls
//! `courier-build` would generate, for tests that write an endpoint by hand.
//!
//! The child side of the protocol is [`say`]: a child prints a marker line
//! (`COURIER-READY`, `COURIER-RESULT: ...`) and flushes, and the parent waits
//! for it with [`ChildProcess::read_until`]. Synchronisation is by pipes
//! only.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus};
use std::sync::{Mutex, MutexGuard};

// ----- hand-written endpoints -----

/// Declares a message struct with its `Encode`, `Decode` and `Message`
/// impls, as `courier-build` generates them. Exported: `crate::message!`
/// anywhere in a test crate, or `message!` after `#[macro_use] mod support`.
#[macro_export]
macro_rules! message {
    ($endpoint:ident, $id:expr, $name:literal, $ident:ident { $($field:ident : $ty:ty),* }) => {
        #[derive(Debug)]
        pub struct $ident {
            $(pub $field: $ty,)*
        }

        impl ::courier::Encode for $ident {
            #[allow(unused_variables)]
            fn encode(&self, encoder: &mut ::courier::Encoder) -> Result<(), ::courier::EncodeError> {
                $(encoder.encode(&self.$field)?;)*
                Ok(())
            }
        }

        impl ::courier::Decode for $ident {
            #[allow(unused_variables)]
            fn decode(decoder: &mut ::courier::Decoder<'_>) -> Result<Self, ::courier::DecodeError> {
                let in_message = |error: ::courier::DecodeError| error.in_field(stringify!($ident));
                Ok($ident { $($field: decoder.decode_field(stringify!($field)).map_err(in_message)?,)* })
            }
        }

        impl ::courier::Message for $ident {
            type Endpoint = $endpoint;
            const ID: u32 = $id;
            const NAME: &'static str = $name;
        }
    };
}

// ----- fd accounting -----

static SERIAL: Mutex<()> = Mutex::new(());

/// The number of fds open in this process.
pub fn open_fds() -> usize {
    count_fds("/proc/self/fd")
}

/// The number of fds open in the process `pid`.
pub fn open_fds_of(pid: u32) -> usize {
    count_fds(&format!("/proc/{pid}/fd"))
}

/// Every fd of this process as `fd -> target`, without the handle that
/// lists them.
fn fd_links() -> BTreeSet<String> {
    let entries = std::fs::read_dir("/proc/self/fd")
        .unwrap_or_else(|error| panic!("read /proc/self/fd: {error}"));
    entries
        .flatten()
        .filter_map(|entry| {
            let target = std::fs::read_link(entry.path()).ok()?;
            // The listing's own directory handle (its number varies).
            if target.ends_with("fd") && target.starts_with("/proc") {
                return None;
            }
            let fd = entry.file_name().to_string_lossy().into_owned();
            Some(format!("{fd} -> {}", target.display()))
        })
        .collect()
}

fn count_fds(dir: &str) -> usize {
    std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("read {dir}: {error}"))
        .count()
}

/// Counts this process's fds at the start of a test and checks at the end
/// that none leaked. Holding it also runs the tests of a binary one at a
/// time, since the fd table is shared by all of them.
pub struct FdCheck {
    /// The fds open when the check started, as `fd -> target`.
    before: BTreeSet<String>,
    _serial: MutexGuard<'static, ()>,
}

/// Starts fd accounting for one test.
pub fn fd_check() -> FdCheck {
    let serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    open_process_globals();
    FdCheck {
        before: fd_links(),
        _serial: serial,
    }
}

/// Opens, once per process, the fds that legitimately stay open for the
/// life of the process, so that the first test to open them is not taken
/// for a leaker: with tokio's `signal` feature (enabled in a workspace build
/// by the daemons), the first runtime creates the signal driver's global
/// socket pair, which is never closed.
fn open_process_globals() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(feature = "tokio")]
        {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            drop(runtime);
        }
    });
}

/// How long [`FdCheck::finish`] waits for fds that other threads are still
/// closing (a dropped multi-thread tokio runtime closes its driver's fds as
/// its worker threads finish exiting, just after `drop` returns). Those
/// threads are done in microseconds; the bound is for a machine so loaded
/// that they are not scheduled for a while, and is only reached by a leak.
const FD_SETTLE: std::time::Duration = std::time::Duration::from_secs(30);

impl FdCheck {
    /// Asserts that every fd open now was open when the check started (same
    /// number, same target), once the threads that are closing theirs have
    /// done so (polled, with a deadline). Fds are compared, not counted: an
    /// fd another thread opens or closes for an instant around the first
    /// listing cannot make the test fail or hide a leak.
    pub fn finish(self) {
        let deadline = std::time::Instant::now() + FD_SETTLE;
        let leaked = || -> Vec<String> { fd_links().difference(&self.before).cloned().collect() };
        let mut new = leaked();
        while !new.is_empty() && std::time::Instant::now() < deadline {
            std::thread::yield_now();
            new = leaked();
        }
        assert!(
            new.is_empty(),
            "fds opened by the test and still open: {new:?} (open before: {:?})",
            self.before
        );
    }
}

// ----- another user -----

/// Why the user `uid` (group `gid`, no supplementary groups) could not
/// reach `path`: the first directory on the way that it may not search, or
/// `path` itself when it may not execute (search) it; `None` when it can.
/// Judged by the mode bits, as the kernel does for a process of that user.
///
/// Tests that run a child as another user (`Command::uid`) call it for the
/// test binary and the directories the child must reach, and skip with a
/// notice when it says no: a checkout under a private directory (`/root`
/// is `0700`) is not an error of the code under test.
pub fn unreachable_by(uid: u32, gid: u32, path: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let path = match path.canonicalize() {
        Ok(path) => path,
        Err(error) => return Some(format!("{}: {error}", path.display())),
    };
    let mut prefix = std::path::PathBuf::new();
    for component in path.components() {
        prefix.push(component);
        let metadata = match std::fs::metadata(&prefix) {
            Ok(metadata) => metadata,
            Err(error) => return Some(format!("{}: {error}", prefix.display())),
        };
        let mode = metadata.mode();
        let search = if metadata.uid() == uid {
            mode & 0o100
        } else if metadata.gid() == gid {
            mode & 0o010
        } else {
            mode & 0o001
        };
        if search == 0 {
            return Some(format!(
                "uid {uid} may not search or execute {} (mode {:o}, owner {}:{})",
                prefix.display(),
                mode & 0o7777,
                metadata.uid(),
                metadata.gid()
            ));
        }
    }
    None
}

// ----- the child process -----

/// The arguments that make this test binary run only its test `test`, with
/// its output uncaptured: `--exact <test> --nocapture --test-threads=1`.
pub fn child_test_args(test: &str) -> [&str; 4] {
    ["--exact", test, "--nocapture", "--test-threads=1"]
}

/// A command running this test binary's test `test` alone (see
/// [`child_test_args`]).
pub fn self_command(test: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("current_exe"));
    command.args(child_test_args(test));
    command
}

/// A child process whose stdout is piped to this one, killed (SIGKILL) and
/// reaped on drop if it is still running.
pub struct ChildProcess {
    child: Child,
    stdout: BufReader<ChildStdout>,
    /// What the child is, for messages: `the <what> exited ...`.
    what: &'static str,
}

impl ChildProcess {
    /// Spawns `command` (whose stdout must be piped); `what` names the
    /// child in failure messages (`child`, `child server`, `server`).
    pub fn spawn(command: &mut Command, what: &'static str) -> ChildProcess {
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("spawn the {what}: {error:?}"));
        let stdout = BufReader::new(child.stdout.take().expect("child stdout"));
        ChildProcess {
            child,
            stdout,
            what,
        }
    }

    /// Takes the child's stdin, if it was piped.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// Takes the child's stderr, if it was piped.
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the child (SIGKILL).
    pub fn kill(&mut self) {
        let what = self.what;
        self.child
            .kill()
            .unwrap_or_else(|error| panic!("kill the {what}: {error:?}"));
    }

    /// Waits for the child to exit; returns its status.
    pub fn wait(&mut self) -> ExitStatus {
        let what = self.what;
        self.child
            .wait()
            .unwrap_or_else(|error| panic!("wait for the {what}: {error:?}"))
    }

    /// Reads the child's stdout up to a line containing `marker`; returns
    /// the rest of that line, without trailing whitespace. Fails the test if
    /// the child's stdout ends first.
    pub fn read_until(&mut self, marker: &str) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self
                .stdout
                .read_line(&mut line)
                .expect("read the child's stdout");
            assert!(n > 0, "the {} exited before printing `{marker}`", self.what);
            // libtest prints `test <name> ... ` without a newline before the
            // test's own output, so the marker may start mid-line.
            if let Some(at) = line.find(marker) {
                return line[at + marker.len()..].trim_end().to_owned();
            }
        }
    }

    /// Whatever is left on the child's stdout, up to its end (or the first
    /// read error).
    pub fn read_rest(&mut self) -> String {
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest);
        rest
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ----- the child's side -----

/// Prints `line` to stdout and flushes it, so the parent sees it at once.
pub fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}").expect("write stdout");
    stdout.flush().expect("flush stdout");
}
