//! Helpers for the discovery tests (`tests/discovery_*.rs`): a child process
//! that is this test binary started again, to bind, serve, take over or
//! connect by name with an environment of its own.
//!
//! Include after the shared support (fd accounting, the child process) and
//! the runtime helpers (the echo service):
//!
//! ```ignore
//! #[path = "support/mod.rs"]
//! mod support;
//! #[path = "common/runtime/mod.rs"]
//! mod runtime_common;
//! #[path = "discovery_common/mod.rs"]
//! mod discovery_common;
//! ```
//!
//! # Why children
//!
//! Environment variables are process-global and tests run on parallel
//! threads, so no test sets one in its own process: tests name their portal
//! with `Portal::at`, and whatever must come from the environment
//! (`COURIER_PORTAL_DIR`, `LISTEN_FDS`, `SOCKET_TAKEOVER`, the umask, another
//! uid) is given to a child only.
//!
//! Each test binary that uses [`Child`] declares
//! `#[test] fn discovery_child() { discovery_common::child_main() }`. The
//! child is `<test binary> --exact discovery_child --nocapture
//! --test-threads=1` with `COURIER_DISCOVERY_CHILD=<mode>`; it prints
//! `COURIER-READY ...` when it is ready and `COURIER-RESULT: ...` when done.
//! Synchronisation is by pipes only.
//!
//! # Passing a listening socket to a child without `unsafe`
//!
//! A parent that passes a socket must get it into the child at a known
//! number and without close-on-exec; `std::process::Command` can do that
//! only for fds 0 to 2, through `Stdio`. So the parent hands a duplicate of
//! the listening socket to the child as its stdin (`Stdio::from(OwnedFd)`:
//! std `dup2`s it onto fd 0, which clears close-on-exec in the child only,
//! and closes the parent's duplicate after the spawn). For the systemd form,
//! which numbers sockets from 3, the child is started through
//! `/bin/sh -c 'export LISTEN_PID=$$; exec "$0" "$@" 3<&0 0</dev/null'`:
//! the shell moves the socket to fd 3, gives the test binary an empty stdin,
//! and `exec` keeps the shell's pid, so `LISTEN_PID` names the test binary,
//! exactly as a service manager would.
#![allow(dead_code)]

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{ChildStdin, Command, Stdio};

use courier::Limits;
use courier::blocking::BlockingConnection;
use courier::discovery::{self, PORTAL_DIR_ENV, TAKEOVER_ENV_VARS};

use crate::runtime_common::echo::{EchoClient, EchoServer, EchoServerClient};
use crate::runtime_common::serve_echo;
use crate::support::{ChildProcess, child_test_args, say};

/// The environment variable that makes `discovery_child` a child.
pub const CHILD_ENV: &str = "COURIER_DISCOVERY_CHILD";

/// The service name the children use.
pub const SERVICE: &str = "echo";

/// The shell wrapper that moves the socket on stdin to fd 3 and sets
/// `LISTEN_PID` to the pid the test binary will have.
pub const SYSTEMD_WRAPPER: &str = r#"export LISTEN_PID=$$; exec "$0" "$@" 3<&0 0</dev/null"#;

/// How to start a child.
pub struct ChildSpec {
    mode: &'static str,
    env: Vec<(String, OsString)>,
    stdin: Option<Stdio>,
    shell: Option<String>,
    uid: Option<u32>,
}

impl ChildSpec {
    /// A child in `mode` (`bind-hold`, `take-serve`, `take-report`,
    /// `connect-echo`), with an environment clean of discovery variables.
    pub fn new(mode: &'static str) -> ChildSpec {
        ChildSpec {
            mode,
            env: Vec::new(),
            stdin: None,
            shell: None,
            uid: None,
        }
    }

    /// Sets an environment variable in the child.
    pub fn env(mut self, key: &str, value: impl Into<OsString>) -> ChildSpec {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// The child's stdin (default: a pipe the parent holds).
    pub fn stdin(mut self, stdin: impl Into<Stdio>) -> ChildSpec {
        self.stdin = Some(stdin.into());
        self
    }

    /// Starts the test binary through `/bin/sh -c script`.
    pub fn through_shell(mut self, script: &str) -> ChildSpec {
        self.shell = Some(script.to_owned());
        self
    }

    /// Runs the child as `uid` (and the same gid); the test must run as root.
    pub fn with_uid(mut self, uid: u32) -> ChildSpec {
        self.uid = Some(uid);
        self
    }

    /// Starts the child.
    pub fn spawn(self) -> Child {
        let exe = std::env::current_exe().expect("current_exe");
        let test_args = child_test_args("discovery_child");
        let mut command = match &self.shell {
            Some(script) => {
                let mut command = Command::new("/bin/sh");
                command.arg("-c").arg(script).arg(&exe).args(test_args);
                command
            }
            None => {
                let mut command = Command::new(&exe);
                command.args(test_args);
                command
            }
        };
        for var in TAKEOVER_ENV_VARS {
            command.env_remove(var);
        }
        command
            .env_remove(PORTAL_DIR_ENV)
            .env_remove("IPC_DEBUG")
            .env_remove("IPC_TRACE")
            .env(CHILD_ENV, self.mode)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped());
        let piped_stdin = self.stdin.is_none();
        command.stdin(self.stdin.unwrap_or_else(Stdio::piped));
        if let Some(uid) = self.uid {
            command.uid(uid).gid(uid);
        }
        let mut process = ChildProcess::spawn(&mut command, "child");
        // Drops the Command, and with it the parent's copy of a passed fd.
        drop(command);
        let stdin = if piped_stdin {
            process.take_stdin()
        } else {
            None
        };
        Child { process, stdin }
    }
}

/// A running child.
pub struct Child {
    process: ChildProcess,
    stdin: Option<ChildStdin>,
}

impl Child {
    /// The child's pid (the test binary's, also through the shell wrapper,
    /// which `exec`s it).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Waits for the child's `COURIER-READY` line; returns the rest of it.
    pub fn ready(&mut self) -> String {
        self.read_until("COURIER-READY")
    }

    /// Closes the child's stdin (a `bind-hold` child then lets go).
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Waits for the child's `COURIER-RESULT: ` line and its exit; returns
    /// the result.
    pub fn result(mut self) -> String {
        let line = self.read_until("COURIER-RESULT: ");
        self.stdin.take();
        let rest = self.process.read_rest();
        let status = self.process.wait();
        assert!(status.success(), "child exited with {status}: {rest}");
        line
    }

    /// The rest of the line after `marker`, trimmed at both ends.
    fn read_until(&mut self, marker: &str) -> String {
        self.process.read_until(marker).trim_start().to_owned()
    }
}

// ----- the child's side -----

fn result(outcome: Result<String, String>) {
    match outcome {
        Ok(text) => say(&format!("COURIER-RESULT: {text}")),
        Err(text) => say(&format!("COURIER-RESULT: err: {text}")),
    }
}

/// The body of each discovery test binary's `discovery_child` test.
pub fn child_main() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        in_process_smoke_test();
        return;
    };
    courier::init_tracing_from_env();
    match mode.as_str() {
        "bind-hold" => bind_hold(),
        "take-serve" => take_serve(),
        "take-report" => result(match discovery::take_listener(SERVICE) {
            Ok(Some(_)) => Ok("some".to_owned()),
            Ok(None) => Ok("none".to_owned()),
            Err(error) => Err(error.to_string()),
        }),
        "connect-echo" => result(connect_echo()),
        other => panic!("unknown child mode {other}"),
    }
}

/// Binds by name from the environment, says READY, and holds the socket
/// until stdin closes.
fn bind_hold() {
    let listener = match discovery::bind(SERVICE) {
        Ok(listener) => listener,
        Err(error) => return result(Err(error.to_string())),
    };
    say(&format!("COURIER-READY {}", listener.path().display()));
    let mut rest = Vec::new();
    std::io::stdin()
        .read_to_end(&mut rest)
        .expect("read stdin to its end");
    drop(listener);
    result(Ok("released".to_owned()));
}

/// Takes over (or binds) the service's socket, reports how, then serves one
/// echo client.
fn take_serve() {
    let listener = match discovery::bind_or_take(SERVICE) {
        Ok(listener) => listener,
        Err(error) => return result(Err(error.to_string())),
    };
    let env_left: Vec<&str> = TAKEOVER_ENV_VARS
        .into_iter()
        .filter(|var| std::env::var_os(var).is_some())
        .collect();
    say(&format!(
        "COURIER-READY taken_over={} env_left={}",
        listener.is_taken_over(),
        env_left.join(",")
    ));
    let outcome = listener
        .accept()
        .and_then(|(stream, _peer)| serve_echo(stream, Limits::default()));
    result(
        outcome
            .map(|()| "served".to_owned())
            .map_err(|e| e.to_string()),
    );
}

/// Connects by name from the environment and makes one echo call.
fn connect_echo() -> Result<String, String> {
    let stream = discovery::connect(SERVICE).map_err(|e| e.to_string())?;
    let connection = BlockingConnection::<EchoClient, EchoServer>::from_stream(stream)
        .map_err(|e| e.to_string())?;
    let client = EchoServerClient::from_connection(connection);
    client.echo("hi".to_owned()).map_err(|e| e.to_string())
}

/// Without a parent: bind, connect and serve one call in this process.
fn in_process_smoke_test() {
    let fds = crate::runtime_common::fd_check();
    let dir = tempfile::tempdir().expect("tempdir");
    let portal = discovery::Portal::at(dir.path().join("portal"));
    let listener = portal.bind(SERVICE).expect("bind");
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        serve_echo(stream, Limits::default())
    });
    let stream = portal.connect(SERVICE).expect("connect");
    let client = EchoServerClient::from_connection(
        BlockingConnection::<EchoClient, EchoServer>::from_stream(stream).expect("handshake"),
    );
    assert_eq!(client.echo("smoke".to_owned()).expect("echo"), "smoke");
    drop(client);
    server.join().expect("server thread").expect("served");
    assert!(!portal.service_path(SERVICE).unwrap().exists());
    drop(dir);
    fds.finish();
}
