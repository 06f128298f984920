//! The perimeter: portal directories that are refused (writable by others,
//! owned by another user, a symlink, a file), the modes courier creates
//! whatever the umask, the environment's portal rules in a child, and a peer
//! of another uid refused by the default policy.
//!
//! Tests that need root (to own a directory as another uid, or to run a
//! client as one) print a notice and return when not run as root.

#[path = "discovery_common/mod.rs"]
mod discovery_common;
#[path = "common/runtime/mod.rs"]
mod runtime_common;
#[path = "support/mod.rs"]
mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use courier::blocking::BlockingConnection;
use courier::discovery::{
    DirectoryProblem, DiscoveryErrorKind, PORTAL_DIR_ENV, PeerPolicy, Portal,
};
use courier::{Error, HandshakeErrorKind, Limits};
use discovery_common::{ChildSpec, SERVICE};
use runtime_common::echo::{EchoClient, EchoServer, EchoServerService};
use runtime_common::{EchoImpl, FdCheck, fd_check};

/// The uid (and gid) of `nobody` on most systems.
const NOBODY: u32 = 65534;

#[test]
fn discovery_child() {
    discovery_common::child_main();
}

fn finish(fds: FdCheck, dir: tempfile::TempDir) {
    drop(dir);
    fds.finish();
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Why `NOBODY` could not run this test binary or reach `dir`, if so (a
/// checkout in a private directory): the tests that run a child as
/// `NOBODY` then skip.
fn unreachable_by_nobody(dir: &Path) -> Option<String> {
    let exe = std::env::current_exe().expect("current_exe");
    support::unreachable_by(NOBODY, NOBODY, &exe)
        .or_else(|| support::unreachable_by(NOBODY, NOBODY, dir))
}

fn unsafe_problem(error: &courier::DiscoveryError) -> DirectoryProblem {
    match error.kind() {
        DiscoveryErrorKind::UnsafeDirectory { problem, .. } => problem.clone(),
        other => panic!("expected an unsafe directory, got {other:?}"),
    }
}

/// The check the other-uid tests skip by: mode bits, for a user that owns
/// nothing on the way.
#[test]
fn another_user_is_told_apart_by_the_search_bits_on_the_way() {
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("inner");
    std::fs::create_dir(&inner).unwrap();
    set_mode(dir.path(), 0o700);
    let why = support::unreachable_by(NOBODY, NOBODY, &inner).expect("a private directory");
    assert!(
        why.contains(&format!(
            "may not search or execute {}",
            dir.path().display()
        )),
        "{why}"
    );
    // Search alone is enough to pass through, for the owner too.
    set_mode(dir.path(), 0o711);
    set_mode(&inner, 0o700);
    let uid = rustix::process::geteuid().as_raw();
    let gid = rustix::process::getegid().as_raw();
    assert_eq!(support::unreachable_by(uid, gid, &inner), None);
    if let Some(why) = support::unreachable_by(NOBODY, NOBODY, &std::env::temp_dir()) {
        eprintln!("the rest skipped: the temporary directory is private: {why}");
    } else {
        assert!(support::unreachable_by(NOBODY, NOBODY, &inner).is_some());
        set_mode(&inner, 0o701);
        assert_eq!(support::unreachable_by(NOBODY, NOBODY, &inner), None);
    }
    finish(fds, dir);
}

#[test]
fn a_portal_directory_others_can_write_is_refused_with_the_fix() {
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let portal = Portal::at(dir.path().join("portal"));
    std::fs::create_dir(portal.dir()).unwrap();
    set_mode(portal.dir(), 0o777);
    let error = portal.bind(SERVICE).unwrap_err();
    assert_eq!(
        unsafe_problem(&error),
        DirectoryProblem::Writable { mode: 0o777 }
    );
    assert_eq!(
        error.to_string(),
        format!(
            "refusing the directory `{0}`: its mode is 0777, so other users can create or replace sockets in it; run `chmod 700 {0}`, or remove it and let courier create it",
            portal.dir().display()
        )
    );
    assert_eq!(mode(portal.dir()), 0o777, "refused, not silently changed");
    assert!(!portal.service_path(SERVICE).unwrap().exists());
    // A client does not trust a socket in it either.
    let error = portal.connect(SERVICE).unwrap_err();
    assert_eq!(
        unsafe_problem(&error),
        DirectoryProblem::Writable { mode: 0o777 }
    );

    // Group-writable is refused too; following the advice fixes it.
    set_mode(portal.dir(), 0o770);
    let error = portal.bind(SERVICE).unwrap_err();
    assert_eq!(
        unsafe_problem(&error),
        DirectoryProblem::Writable { mode: 0o770 }
    );
    set_mode(portal.dir(), 0o700);
    drop(portal.bind(SERVICE).unwrap());
    finish(fds, dir);
}

#[test]
fn a_symlink_or_a_file_in_place_of_the_portal_directory_is_refused() {
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    set_mode(&real, 0o700);
    let link = dir.path().join("portal");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let portal = Portal::at(&link);
    let error = portal.bind(SERVICE).unwrap_err();
    assert_eq!(unsafe_problem(&error), DirectoryProblem::Symlink);
    assert!(error.to_string().contains("it is a symbolic link"));
    assert!(std::fs::read_dir(&real).unwrap().next().is_none());

    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let error = Portal::at(&file).bind(SERVICE).unwrap_err();
    assert_eq!(
        unsafe_problem(&error),
        DirectoryProblem::NotADirectory {
            found: "regular file"
        }
    );

    let error = Portal::at(dir.path().join("missing").join("portal"))
        .bind(SERVICE)
        .unwrap_err();
    assert!(
        matches!(error.kind(), DiscoveryErrorKind::MissingParent { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("does not exist; create it"));
    finish(fds, dir);
}

#[test]
fn a_portal_directory_owned_by_another_user_is_refused() {
    if !is_root() {
        eprintln!("skipped: needs root to give a directory to uid {NOBODY}");
        return;
    }
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let portal = Portal::at(dir.path().join("portal"));
    std::fs::create_dir(portal.dir()).unwrap();
    set_mode(portal.dir(), 0o700);
    std::os::unix::fs::chown(portal.dir(), Some(NOBODY), Some(NOBODY)).unwrap();
    let error = portal.bind(SERVICE).unwrap_err();
    assert_eq!(
        unsafe_problem(&error),
        DirectoryProblem::OwnedBy {
            uid: NOBODY,
            ours: 0
        }
    );
    assert!(
        error
            .to_string()
            .contains("it is owned by uid 65534, not by this user (uid 0)"),
        "{error}"
    );
    // Nor does a client trust it (only its own or root's).
    let error = portal.connect(SERVICE).unwrap_err();
    assert!(matches!(
        unsafe_problem(&error),
        DirectoryProblem::OwnedBy { uid: NOBODY, .. }
    ));
    finish(fds, dir);
}

#[test]
fn modes_are_exact_whatever_the_umask_and_the_override_is_honoured() {
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let portal_dir = dir.path().join("portal");
    // A umask that would leave the directory 0500 and the socket 0500.
    let mut child = ChildSpec::new("bind-hold")
        .through_shell(r#"umask 0277; exec "$0" "$@""#)
        .env(PORTAL_DIR_ENV, &portal_dir)
        .spawn();
    let socket = portal_dir.join(SERVICE);
    assert_eq!(child.ready(), socket.display().to_string());
    assert_eq!(mode(&portal_dir), 0o700);
    assert_eq!(mode(&socket), 0o600);
    assert_eq!(
        std::fs::symlink_metadata(&socket).unwrap().uid(),
        rustix::process::geteuid().as_raw()
    );
    child.close_stdin();
    assert_eq!(child.result(), "released");
    assert!(!socket.exists());
    finish(fds, dir);
}

#[test]
fn the_runtime_dir_is_used_when_there_is_no_override() {
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let mut child = ChildSpec::new("bind-hold")
        .env("XDG_RUNTIME_DIR", dir.path())
        .spawn();
    let socket = dir.path().join("portal").join(SERVICE);
    assert_eq!(child.ready(), socket.display().to_string());
    assert_eq!(mode(&dir.path().join("portal")), 0o700);
    child.close_stdin();
    assert_eq!(child.result(), "released");

    // A relative override is an error, not a guess.
    let child = ChildSpec::new("bind-hold")
        .env(PORTAL_DIR_ENV, "portal")
        .spawn();
    assert_eq!(
        child.result(),
        "err: COURIER_PORTAL_DIR is `portal`, a relative path; set it to an absolute path (or unset it to use the default)"
    );
    finish(fds, dir);
}

/// Makes `dir/portal` reachable by uid `NOBODY` (search only, nobody else
/// can write), binds the service there, and opens its socket to all, so
/// that only the peer policy stands between `NOBODY` and the service.
fn open_service(dir: &Path) -> (Portal, courier::discovery::ServiceListener) {
    set_mode(dir, 0o711);
    let portal = Portal::at(dir.join("portal"));
    let listener = portal.bind(SERVICE).unwrap();
    set_mode(portal.dir(), 0o711);
    set_mode(listener.path(), 0o666);
    (portal, listener)
}

#[test]
fn a_peer_of_another_uid_is_refused_by_the_default_policy() {
    if !is_root() {
        eprintln!("skipped: needs root to run a client as uid {NOBODY}");
        return;
    }
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let (portal, listener) = open_service(dir.path());
    if let Some(why) = unreachable_by_nobody(portal.dir()) {
        eprintln!("skipped: uid {NOBODY} cannot run the client: {why}");
        drop(listener);
        return finish(fds, dir);
    }
    let child = ChildSpec::new("connect-echo")
        .with_uid(NOBODY)
        .env(PORTAL_DIR_ENV, portal.dir())
        .spawn();
    let error = listener.accept().unwrap_err();
    let Error::Handshake(handshake) = &error else {
        panic!("unexpected {error:?}");
    };
    let HandshakeErrorKind::PeerRefused { peer, policy } = handshake.kind() else {
        panic!("unexpected {handshake:?}");
    };
    assert_eq!(
        (peer.uid, peer.gid, peer.pid),
        (NOBODY, NOBODY, child.pid())
    );
    assert_eq!(policy, "same user (uid 0)");
    assert!(
        error.to_string().starts_with(&format!(
            "refused a peer (pid {}, uid 65534, gid 65534): the service's peer policy is same user (uid 0)",
            child.pid()
        )),
        "{error}"
    );
    let result = child.result();
    assert!(
        result.starts_with("err: ")
            && result.contains("closed the connection during the handshake"),
        "{result}"
    );
    drop(listener);
    finish(fds, dir);
}

#[test]
fn a_peer_of_another_uid_is_served_when_the_policy_names_it() {
    if !is_root() {
        eprintln!("skipped: needs root to run a client as uid {NOBODY}");
        return;
    }
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let (portal, listener) = open_service(dir.path());
    if let Some(why) = unreachable_by_nobody(portal.dir()) {
        eprintln!("skipped: uid {NOBODY} cannot run the client: {why}");
        drop(listener);
        return finish(fds, dir);
    }
    let policy = PeerPolicy::Uids(vec![NOBODY]);
    let listener = listener.with_peer_policy(policy.clone());
    let child = ChildSpec::new("connect-echo")
        .with_uid(NOBODY)
        .env(PORTAL_DIR_ENV, portal.dir())
        .spawn();
    let (stream, peer) = listener.accept().unwrap();
    assert_eq!(peer.uid, NOBODY);
    // The connection applies the same policy at its handshake.
    let connection = BlockingConnection::<EchoServer, EchoClient>::builder()
        .limits(Limits::default())
        .peer_policy(policy)
        .accept(stream)
        .unwrap();
    connection
        .serve(&mut EchoServerService(EchoImpl::new(None)))
        .unwrap();
    assert_eq!(child.result(), "hi");
    drop((connection, listener));
    finish(fds, dir);
}
