//! Socket takeover in a single-threaded child, where courier removes the
//! takeover variables from the environment once it has taken every socket
//! they offer.
//!
//! This test has no libtest harness (`harness = false` in Cargo.toml):
//! libtest runs every test on a thread of its own, so a child started as a
//! libtest test always has two threads, and courier then leaves the
//! environment alone (removing a variable while another thread may read
//! the environment is a data race). Here `main` is the whole test, on the
//! process's only thread, in the parent and in the child alike. The child is
//! this binary again, with `COURIER_DISCOVERY_SINGLE_CHILD` set; the fd
//! reaches it as described in `discovery_common/mod.rs`.

#[path = "common/runtime/mod.rs"]
mod runtime_common;
#[path = "support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::process::{Command, Stdio};

use courier::Limits;
use courier::blocking::BlockingConnection;
use courier::discovery::{self, PORTAL_DIR_ENV, Portal, TAKEOVER_ENV_VARS};
use runtime_common::echo::{EchoClient, EchoServer, EchoServerClient};

const CHILD_ENV: &str = "COURIER_DISCOVERY_SINGLE_CHILD";
const SERVICE: &str = "echo";

fn main() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
    } else {
        parent();
    }
}

/// Takes the socket over, says which variables are left, serves one client.
fn child() {
    let threads = std::fs::read_dir("/proc/self/task").map(|tasks| tasks.count());
    let listener = discovery::bind_or_take(SERVICE).expect("take over");
    let env_left: Vec<&str> = TAKEOVER_ENV_VARS
        .into_iter()
        .filter(|var| std::env::var_os(var).is_some())
        .collect();
    println!(
        "COURIER-READY threads={} taken_over={} env_left={}",
        threads.unwrap_or(0),
        listener.is_taken_over(),
        env_left.join(",")
    );
    std::io::stdout().flush().expect("flush");
    let (stream, _) = listener.accept().expect("accept");
    runtime_common::serve_echo(stream, Limits::default()).expect("serve");
    println!("COURIER-RESULT: served");
}

fn parent() {
    let fds = runtime_common::fd_check();
    let systemd = r#"export LISTEN_PID=$$; exec "$0" "$@" 3<&0 0</dev/null"#;
    run_case(
        "systemd",
        Some(systemd),
        &[("LISTEN_FDS", "1"), ("LISTEN_FDNAMES", SERVICE)],
    );
    run_case(
        "serenity",
        None,
        &[("SOCKET_TAKEOVER", &format!("{SERVICE}:0"))],
    );
    fds.finish();
    println!("discovery_single_thread: ok (2 cases)");
}

/// Binds the service, passes its socket to a child in one form, calls the
/// child by name, and checks that the child removed the variables.
fn run_case(label: &str, shell: Option<&str>, env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let portal = Portal::at(dir.path().join("portal"));
    let listener = portal.bind(SERVICE).expect("bind");
    let exe = std::env::current_exe().expect("current_exe");
    let mut command = match shell {
        Some(script) => {
            let mut command = Command::new("/bin/sh");
            command.arg("-c").arg(script).arg(&exe);
            command
        }
        None => Command::new(&exe),
    };
    for var in TAKEOVER_ENV_VARS {
        command.env_remove(var);
    }
    command
        .env(CHILD_ENV, "1")
        .env(PORTAL_DIR_ENV, portal.dir())
        .envs(env.iter().copied())
        .stdin(listener.as_fd().try_clone_to_owned().expect("dup"))
        .stdout(Stdio::piped());
    let mut child = command.spawn().expect("spawn the child");
    drop(command);
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read READY");
    assert_eq!(
        line.trim(),
        "COURIER-READY threads=1 taken_over=true env_left=",
        "{label}: the single-threaded child removes the variables"
    );
    let stream = portal.connect(SERVICE).expect("connect by name");
    let client = EchoServerClient::from_connection(
        BlockingConnection::<EchoClient, EchoServer>::from_stream(stream).expect("handshake"),
    );
    assert_eq!(client.echo(label.to_owned()).expect("echo"), label);
    drop(client);
    line.clear();
    stdout.read_line(&mut line).expect("read RESULT");
    assert_eq!(line.trim(), "COURIER-RESULT: served", "{label}");
    let status = child.wait().expect("wait");
    assert!(status.success(), "{label}: child exited with {status}");
    drop((stdout, listener));
    drop(dir);
}
