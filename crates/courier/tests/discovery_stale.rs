//! The stale socket of a service that was killed: a child process (this
//! test binary started again) binds the service by name and says READY; it
//! is killed with SIGKILL, so nothing of courier's runs to remove its
//! socket file. A client then gets the documented `StaleSocket` error, and
//! the next instance (another child) replaces the file and serves.
//!
//! `discovery_bind.rs` covers the same rule with a listener dropped in this
//! process; here the dead instance is a real process killed without
//! warning, as a crash leaves it. Synchronisation is by pipes only.

#[path = "discovery_common/mod.rs"]
mod discovery_common;
#[path = "common/runtime/mod.rs"]
mod runtime_common;
#[path = "support/mod.rs"]
mod support;

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use courier::blocking::BlockingConnection;
use courier::discovery::{DiscoveryErrorKind, PORTAL_DIR_ENV, Portal, TAKEOVER_ENV_VARS};
use discovery_common::{CHILD_ENV, ChildSpec, SERVICE};
use runtime_common::echo::{EchoClient, EchoServer, EchoServerClient};
use runtime_common::fd_check;
use support::{ChildProcess, self_command};

#[test]
fn discovery_child() {
    discovery_common::child_main();
}

/// A `bind-hold` child: binds `SERVICE` in the portal at `dir` (from
/// `COURIER_PORTAL_DIR`) and holds it while its stdin (a pipe this process
/// keeps) is open. Returns the child once it said READY, with the socket
/// path it reported.
fn bind_and_hold(portal: &Portal) -> (ChildProcess, std::process::ChildStdin, String) {
    let mut command = self_command("discovery_child");
    for var in TAKEOVER_ENV_VARS {
        command.env_remove(var);
    }
    command
        .env_remove("IPC_DEBUG")
        .env_remove("IPC_TRACE")
        .env(CHILD_ENV, "bind-hold")
        .env(PORTAL_DIR_ENV, portal.dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = ChildProcess::spawn(&mut command, "bind-hold child");
    drop(command);
    let stdin = child.take_stdin().expect("the child's stdin");
    let path = child.read_until("COURIER-READY").trim().to_owned();
    (child, stdin, path)
}

#[test]
fn the_socket_of_a_killed_service_is_reported_stale_and_replaced_by_the_next_instance() {
    let fds = fd_check();
    let dir = tempfile::tempdir().expect("tempdir");
    let portal = Portal::at(dir.path().join("portal"));
    let path = portal.service_path(SERVICE).unwrap();

    let (mut first, stdin, reported) = bind_and_hold(&portal);
    assert_eq!(reported, path.display().to_string());
    // While it lives, it is the service: a second instance is refused.
    let error = portal.bind(SERVICE).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            DiscoveryErrorKind::AlreadyRunning { pid: Some(pid), .. } if *pid == first.pid()
        ),
        "{error:?}"
    );

    // Killed: no destructor, no clean-up. Its socket file stays behind.
    first.kill();
    let status = first.wait();
    assert_eq!(status.signal(), Some(9), "{status}");
    drop((first, stdin));
    assert!(
        std::fs::symlink_metadata(&path).is_ok(),
        "the killed service's socket file is still there"
    );
    // A second name for that file keeps its inode from being reused, so
    // that a replacement is sure to have another.
    let old = dir.path().join("the-stale-socket");
    std::fs::hard_link(&path, &old).unwrap();
    let inode = |path: &std::path::Path| std::fs::symlink_metadata(path).unwrap().ino();

    // A client is told the service is gone, not that nothing is there.
    let error = portal.connect(SERVICE).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            DiscoveryErrorKind::StaleSocket { service, path: p } if service == SERVICE && *p == path
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "the service `{SERVICE}` is not running: its socket {} is left over from an instance \
             that exited without removing it (it crashed or was killed); start the service \
             again, it replaces the stale socket",
            path.display()
        )
    );

    // The next instance, another process, replaces the file and serves.
    let mut second = ChildSpec::new("take-serve")
        .stdin(Stdio::null())
        .env(PORTAL_DIR_ENV, portal.dir())
        .spawn();
    assert_eq!(second.ready(), "taken_over=false env_left=");
    assert_ne!(
        inode(&path),
        inode(&old),
        "the stale socket file was replaced"
    );
    let stream = portal
        .connect(SERVICE)
        .expect("connect to the new instance");
    let client = EchoServerClient::from_connection(
        BlockingConnection::<EchoClient, EchoServer>::from_stream(stream).expect("handshake"),
    );
    assert_eq!(client.echo("again".to_owned()).unwrap(), "again");
    assert_eq!(client.connection().peer_credentials().pid, second.pid());
    drop(client);
    assert_eq!(second.result(), "served");
    // The instance that exited cleanly removed its socket.
    assert!(!path.exists());
    drop(dir);
    fds.finish();
}
