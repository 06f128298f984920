//! Socket takeover across processes: the parent binds the service's socket
//! and passes it to a child (this test binary started again) in systemd's
//! form (`LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`, fd 3) or SerenityOS's
//! (`SOCKET_TAKEOVER`); the child serves and the parent connects by name.
//! How the fd reaches the child without `unsafe` is explained in
//! `discovery_common/mod.rs`.

#[path = "discovery_common/mod.rs"]
mod discovery_common;
#[path = "common/runtime/mod.rs"]
mod runtime_common;
#[path = "support/mod.rs"]
mod support;

use std::os::fd::{AsFd, OwnedFd};
use std::process::Stdio;

use courier::blocking::BlockingConnection;
use courier::discovery::{PORTAL_DIR_ENV, Portal, ServiceListener};
use discovery_common::{ChildSpec, SERVICE, SYSTEMD_WRAPPER};
use runtime_common::echo::{EchoClient, EchoServer, EchoServerClient};
use runtime_common::{FdCheck, fd_check};

#[test]
fn discovery_child() {
    discovery_common::child_main();
}

fn finish(fds: FdCheck, dir: tempfile::TempDir) {
    drop(dir);
    fds.finish();
}

/// A portal in a fresh directory, with the service bound in it by this
/// process (the "service manager").
fn bound_service() -> (tempfile::TempDir, Portal, ServiceListener) {
    let dir = tempfile::tempdir().expect("tempdir");
    let portal = Portal::at(dir.path().join("portal"));
    let listener = portal.bind(SERVICE).expect("bind");
    (dir, portal, listener)
}

/// A duplicate of the listening socket, for a child's stdin.
fn duplicate(listener: &ServiceListener) -> OwnedFd {
    listener.as_fd().try_clone_to_owned().expect("dup")
}

/// Connects by name and makes a call; returns the pid `SO_PEERCRED`
/// reports, which is the pid of the process that made the socket listen
/// (not of the one that accepted).
fn call_the_child(portal: &Portal) -> u32 {
    let stream = portal.connect(SERVICE).expect("connect by name");
    let client = EchoServerClient::from_connection(
        BlockingConnection::<EchoClient, EchoServer>::from_stream(stream).expect("handshake"),
    );
    assert_eq!(client.echo("taken".to_owned()).unwrap(), "taken");
    client.connection().peer_credentials().pid
}

#[test]
fn a_child_takes_over_a_socket_passed_the_systemd_way() {
    let fds = fd_check();
    let (dir, portal, listener) = bound_service();
    let mut child = ChildSpec::new("take-serve")
        .through_shell(SYSTEMD_WRAPPER)
        .stdin(duplicate(&listener))
        .env("LISTEN_FDS", "1")
        .env("LISTEN_FDNAMES", SERVICE)
        .env(PORTAL_DIR_ENV, portal.dir())
        .spawn();
    // libtest runs even a single test on a thread of its own, so the child
    // has two threads when it takes over and the variables stay (removing
    // them would race); `discovery_single_thread.rs` shows them removed.
    assert_eq!(
        child.ready(),
        "taken_over=true env_left=LISTEN_PID,LISTEN_FDS,LISTEN_FDNAMES"
    );
    // This process never accepts: the child answered ("served" below).
    assert_eq!(call_the_child(&portal), std::process::id());
    assert_eq!(child.result(), "served");
    // The parent still owns the socket file and removes it.
    assert!(listener.path().exists());
    drop(listener);
    assert!(!portal.service_path(SERVICE).unwrap().exists());
    finish(fds, dir);
}

#[test]
fn a_child_takes_over_a_socket_passed_the_serenity_way_by_path() {
    let fds = fd_check();
    let (dir, portal, listener) = bound_service();
    // The key is the socket path, as SerenityOS's SystemServer writes it; the
    // child matches it against the service path in its portal.
    let takeover = format!("other:7 {}:0", listener.path().display());
    let mut child = ChildSpec::new("take-serve")
        .stdin(duplicate(&listener))
        .env("SOCKET_TAKEOVER", takeover)
        .env(PORTAL_DIR_ENV, portal.dir())
        .spawn();
    assert_eq!(child.ready(), "taken_over=true env_left=SOCKET_TAKEOVER");
    call_the_child(&portal);
    assert_eq!(child.result(), "served");
    drop(listener);
    finish(fds, dir);
}

#[test]
fn without_a_socket_for_its_name_a_child_binds_its_own() {
    let fds = fd_check();
    let dir = tempfile::tempdir().expect("tempdir");
    let portal = Portal::at(dir.path().join("portal"));
    // Offered for another name, and systemd's for another process.
    let mut child = ChildSpec::new("take-serve")
        .stdin(Stdio::null())
        .env("SOCKET_TAKEOVER", "clipboard:0")
        .env("LISTEN_PID", "1")
        .env("LISTEN_FDS", "1")
        .env(PORTAL_DIR_ENV, portal.dir())
        .spawn();
    assert_eq!(
        child.ready(),
        "taken_over=false env_left=LISTEN_PID,LISTEN_FDS,SOCKET_TAKEOVER"
    );
    assert_eq!(call_the_child(&portal), child.pid(), "the child listens");
    assert_eq!(child.result(), "served");
    assert!(
        !portal.service_path(SERVICE).unwrap().exists(),
        "the child removed the socket it bound"
    );
    finish(fds, dir);
}

#[test]
fn an_fd_that_is_not_a_listening_unix_socket_is_refused() {
    let fds = fd_check();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = std::fs::File::create(dir.path().join("file")).unwrap();
    let cases: [(&str, Stdio, &str); 4] = [
        (
            "echo:0",
            Stdio::from(file),
            "could not take over the socket passed in SOCKET_TAKEOVER: fd 0 for `echo`: it is a regular file, not a socket",
        ),
        (
            "echo:0",
            Stdio::null(),
            "it is a character device, not a socket",
        ),
        (
            "echo:1000",
            Stdio::null(),
            "fd 1000 for `echo`: no file is open with that number",
        ),
        ("echo", Stdio::null(), "`echo` is not of the form `name:fd`"),
    ];
    for (value, stdin, expected) in cases {
        let child = ChildSpec::new("take-report")
            .stdin(stdin)
            .env("SOCKET_TAKEOVER", value)
            .spawn();
        let result = child.result();
        assert!(
            result.starts_with("err: ") && result.contains(expected),
            "{value}: {result}"
        );
    }
    // A connected socket is not a listening one.
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let child = ChildSpec::new("take-report")
        .stdin(OwnedFd::from(theirs))
        .env("SOCKET_TAKEOVER", "echo:0")
        .spawn();
    let result = child.result();
    assert!(
        result.contains("it is a Unix stream socket that is not listening"),
        "{result}"
    );
    drop(ours);
    finish(fds, dir);
}

#[test]
fn systemd_variables_for_another_process_are_ignored() {
    let fds = fd_check();
    let (dir, _portal, listener) = bound_service();
    // Fd 3 is the socket, but LISTEN_PID names another process (no wrapper
    // sets it to the child's pid): not ours to take.
    let child = ChildSpec::new("take-report")
        .through_shell(r#"exec "$0" "$@" 3<&0 0</dev/null"#)
        .stdin(duplicate(&listener))
        .env("LISTEN_PID", "1")
        .env("LISTEN_FDS", "1")
        .spawn();
    assert_eq!(child.result(), "none");
    drop(listener);
    finish(fds, dir);
}
