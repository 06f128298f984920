//! Binding and connecting by name: a real server answering a call, stale
//! sockets, a second instance, what is not a socket, clean-up, the peer
//! policy, name checks. Each test has its own portal directory
//! (`Portal::at`) and checks that no fd leaked.

#[path = "discovery_common/mod.rs"]
mod discovery_common;
#[path = "common/runtime/mod.rs"]
mod runtime_common;
#[path = "support/mod.rs"]
mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use courier::blocking::BlockingConnection;
use courier::discovery::{
    DiscoveryErrorKind, NameProblem, PeerPolicy, Portal, ServiceListener, validate_name,
};
use courier::{Error, HandshakeErrorKind, Limits};
use discovery_common::SERVICE;
use runtime_common::echo::{EchoClient, EchoServer, EchoServerClient};
use runtime_common::{FdCheck, fd_check, serve_echo};

#[test]
fn discovery_child() {
    discovery_common::child_main();
}

fn temp_portal() -> (tempfile::TempDir, Portal) {
    let dir = tempfile::tempdir().expect("tempdir");
    let portal = Portal::at(dir.path().join("portal"));
    (dir, portal)
}

/// Removes the test's directory, then checks that no fd leaked (removing a
/// directory opens fds, so it must not overlap another test's count).
fn finish(fds: FdCheck, dir: tempfile::TempDir) {
    drop(dir);
    fds.finish();
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

fn lock_file(portal: &Portal, name: &str) -> std::path::PathBuf {
    portal.dir().join(format!("{name}.lock"))
}

/// Serves one client of `listener` with the echo service, on a thread.
fn serve_one(
    listener: ServiceListener,
) -> std::thread::JoinHandle<(ServiceListener, Result<(), Error>)> {
    std::thread::spawn(move || {
        let result = listener
            .accept()
            .and_then(|(stream, _)| serve_echo(stream, Limits::default()));
        (listener, result)
    })
}

fn echo_client(stream: UnixStream) -> EchoServerClient<EchoClient> {
    EchoServerClient::from_connection(
        BlockingConnection::<EchoClient, EchoServer>::from_stream(stream).expect("handshake"),
    )
}

#[test]
fn a_service_bound_by_name_answers_a_client_connected_by_name() {
    let fds = fd_check();
    let (dir, portal) = temp_portal();
    let listener = portal.bind(SERVICE).unwrap();
    let path = portal.service_path(SERVICE).unwrap();
    assert_eq!(listener.path(), path);
    assert_eq!(listener.name(), SERVICE);
    assert!(!listener.is_taken_over());
    assert_eq!(mode(portal.dir()), 0o700, "the portal directory is private");
    assert_eq!(mode(&path), 0o600, "the socket is private");
    assert_eq!(mode(&lock_file(&portal, SERVICE)), 0o600);

    let server = serve_one(listener);
    let client = echo_client(portal.connect(SERVICE).unwrap());
    assert_eq!(client.echo("by name".to_owned()).unwrap(), "by name");
    assert_eq!(
        client.connection().peer_credentials().pid,
        std::process::id()
    );
    drop(client);
    let (listener, result) = server.join().unwrap();
    result.unwrap();

    drop(listener);
    assert!(
        !path.exists(),
        "the socket file is removed with the listener"
    );
    assert!(
        !lock_file(&portal, SERVICE).exists(),
        "and so is the lock file"
    );
    let error = portal.connect(SERVICE).unwrap_err();
    assert!(matches!(
        error.kind(),
        DiscoveryErrorKind::NotRunning { .. }
    ));
    finish(fds, dir);
}

#[test]
fn a_stale_socket_is_reported_to_clients_and_replaced_by_the_next_instance() {
    let fds = fd_check();
    let (dir, portal) = temp_portal();
    portal.prepare().unwrap();
    let path = portal.service_path(SERVICE).unwrap();
    // An instance that died without cleaning up: its socket file stays.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());

    let error = portal.connect(SERVICE).unwrap_err();
    assert!(
        matches!(error.kind(), DiscoveryErrorKind::StaleSocket { service, .. } if service == SERVICE),
        "{error}"
    );
    assert!(
        error.to_string().contains("start the service again"),
        "{error}"
    );

    let listener = portal.bind(SERVICE).unwrap();
    let server = serve_one(listener);
    let client = echo_client(portal.connect(SERVICE).unwrap());
    assert_eq!(client.echo("fresh".to_owned()).unwrap(), "fresh");
    drop(client);
    let (listener, result) = server.join().unwrap();
    result.unwrap();
    drop(listener);
    finish(fds, dir);
}

#[test]
fn a_second_live_instance_is_refused_with_the_path_and_the_pid() {
    let fds = fd_check();
    let (dir, portal) = temp_portal();
    let first = portal.bind(SERVICE).unwrap();
    let error = portal.bind(SERVICE).unwrap_err();
    let path = portal.service_path(SERVICE).unwrap();
    assert!(
        matches!(
            error.kind(),
            DiscoveryErrorKind::AlreadyRunning { path: p, pid: Some(pid), .. }
                if *p == path && *pid == std::process::id()
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "the service `echo` is already running at {} (pid {}); stop that instance first, or give this one another name",
            path.display(),
            std::process::id()
        )
    );
    // The refused attempt removed nothing of the running instance's.
    assert!(path.exists() && lock_file(&portal, SERVICE).exists());
    drop(first);
    // Now the name is free again.
    drop(portal.bind(SERVICE).unwrap());
    finish(fds, dir);
}

#[test]
fn a_live_socket_of_a_program_that_takes_no_lock_is_not_replaced() {
    let fds = fd_check();
    let (dir, portal) = temp_portal();
    portal.prepare().unwrap();
    let path = portal.service_path(SERVICE).unwrap();
    let other = UnixListener::bind(&path).unwrap();
    let error = portal.bind(SERVICE).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            DiscoveryErrorKind::AlreadyRunning { pid: Some(_), .. }
        ),
        "{error}"
    );
    // The other program's socket still works.
    let client = UnixStream::connect(&path).unwrap();
    let (accepted, _) = other.accept().unwrap();
    drop((client, accepted, other));
    finish(fds, dir);
}

#[test]
fn two_instances_starting_together_one_wins() {
    let fds = fd_check();
    let (dir, portal) = temp_portal();
    let barrier = Arc::new(Barrier::new(2));
    let attempts: Vec<_> = (0..2)
        .map(|_| {
            let (portal, barrier) = (portal.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                portal.bind(SERVICE)
            })
        })
        .collect();
    let results: Vec<_> = attempts.into_iter().map(|t| t.join().unwrap()).collect();
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    for result in &results {
        if let Err(error) = result {
            assert!(
                matches!(error.kind(), DiscoveryErrorKind::AlreadyRunning { .. }),
                "{error}"
            );
        }
    }
    drop(results);
    finish(fds, dir);
}

#[test]
fn what_is_not_a_socket_is_refused_and_left_untouched() {
    let fds = fd_check();
    let (dir, portal) = temp_portal();
    portal.prepare().unwrap();
    let path = portal.service_path(SERVICE).unwrap();
    std::fs::write(&path, "precious").unwrap();
    let error = portal.bind(SERVICE).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            DiscoveryErrorKind::NotASocket {
                found: "regular file",
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("not a socket; courier leaves it untouched")
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
    // A client is told too, rather than "connection refused".
    let error = portal.connect(SERVICE).unwrap_err();
    assert!(
        matches!(error.kind(), DiscoveryErrorKind::NotASocket { .. }),
        "{error}"
    );

    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let error = portal.bind(SERVICE).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            DiscoveryErrorKind::NotASocket {
                found: "directory",
                ..
            }
        ),
        "{error}"
    );
    assert!(path.is_dir());
    finish(fds, dir);
}

#[test]
fn a_listener_leaves_a_socket_file_that_is_no_longer_its_own() {
    let fds = fd_check();
    let (dir, portal) = temp_portal();
    let listener = portal.bind(SERVICE).unwrap();
    let path = listener.path().to_owned();
    // Someone replaced the file behind the listener's back.
    std::fs::remove_file(&path).unwrap();
    let replacement = UnixListener::bind(&path).unwrap();
    drop(listener);
    assert!(path.exists(), "the replacement socket is not removed");
    assert!(
        !lock_file(&portal, SERVICE).exists(),
        "the lock file is the listener's and goes with it"
    );
    drop(replacement);
    finish(fds, dir);
}

#[test]
fn into_parts_keeps_the_clean_up_and_into_std_gives_it_up() {
    let fds = fd_check();
    let (dir, portal) = temp_portal();
    let path = portal.service_path(SERVICE).unwrap();

    let (listener, guard) = portal.bind(SERVICE).unwrap().into_parts();
    assert_eq!(guard.path(), path);
    assert!(matches!(
        portal.bind(SERVICE).unwrap_err().kind(),
        DiscoveryErrorKind::AlreadyRunning { .. }
    ));
    drop(listener);
    drop(guard);
    assert!(!path.exists() && !lock_file(&portal, SERVICE).exists());

    let listener = portal.bind(SERVICE).unwrap().into_std();
    assert!(path.exists(), "into_std leaves the socket file");
    assert!(
        !lock_file(&portal, SERVICE).exists(),
        "and releases the lock"
    );
    assert!(
        matches!(
            portal.bind(SERVICE).unwrap_err().kind(),
            DiscoveryErrorKind::AlreadyRunning { .. }
        ),
        "the socket still listens, so a second instance is still refused"
    );
    drop(listener);
    // Closed: its file is now stale and the next instance replaces it.
    drop(portal.bind(SERVICE).unwrap());
    finish(fds, dir);
}

#[test]
fn the_peer_policy_refuses_and_the_listener_keeps_accepting() {
    let fds = fd_check();
    let (dir, portal) = temp_portal();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    // Refuses the first peer, admits the next.
    let listener = portal
        .bind(SERVICE)
        .unwrap()
        .with_peer_policy(PeerPolicy::custom(move |_| {
            counter.fetch_add(1, Ordering::SeqCst) > 0
        }));
    let refused = portal.connect(SERVICE).unwrap();
    let error = listener.accept().unwrap_err();
    drop(refused);
    let Error::Handshake(handshake) = &error else {
        panic!("unexpected {error:?}");
    };
    assert!(matches!(
        handshake.kind(),
        HandshakeErrorKind::PeerRefused { peer, policy }
            if peer.pid == std::process::id() && policy == "a custom check"
    ));
    assert!(
        error
            .to_string()
            .starts_with(&format!("refused a peer (pid {}, ", std::process::id())),
        "{error}"
    );
    let server = serve_one(listener);
    let client = echo_client(portal.connect(SERVICE).unwrap());
    assert_eq!(client.echo("second".to_owned()).unwrap(), "second");
    drop(client);
    let (listener, result) = server.join().unwrap();
    result.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 2);

    // Only other uids: this process is refused by the same listener type.
    let listener = listener.with_peer_policy(PeerPolicy::Uids(vec![
        rustix::process::geteuid().as_raw().wrapping_add(1),
    ]));
    let client = portal.connect(SERVICE).unwrap();
    assert!(listener.accept().is_err());
    drop((client, listener));
    finish(fds, dir);
}

#[test]
fn a_client_is_told_when_the_service_is_not_running() {
    let fds = fd_check();
    let (dir, portal) = temp_portal();
    let path = portal.service_path("clipboard").unwrap();
    // No portal directory at all.
    let error = portal.connect("clipboard").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "no service `clipboard` at {}: is it running? (set COURIER_PORTAL_DIR to look elsewhere)",
            path.display()
        )
    );
    assert_eq!(error.path(), Some(path.as_path()));
    // A portal directory without that service.
    portal.prepare().unwrap();
    let error = portal.connect("clipboard").unwrap_err();
    assert!(matches!(
        error.kind(),
        DiscoveryErrorKind::NotRunning { .. }
    ));
    // It converts into courier::Error for `?`.
    let error: Error = error.into();
    assert!(matches!(error, Error::Discovery(_)));
    finish(fds, dir);
}

#[test]
fn names_are_validated_before_anything_touches_the_disk() {
    let fds = fd_check();
    let (dir, portal) = temp_portal();
    for (name, expected) in [
        ("", NameProblem::Empty),
        (
            "../etc",
            NameProblem::BadCharacter {
                character: '/',
                at: 2,
            },
        ),
        ("..", NameProblem::Dots),
        ("echo.lock", NameProblem::LockSuffix),
        (
            "a b",
            NameProblem::BadCharacter {
                character: ' ',
                at: 1,
            },
        ),
    ] {
        for error in [
            portal.bind(name).unwrap_err(),
            portal.connect(name).unwrap_err(),
            portal.service_path(name).unwrap_err(),
            validate_name(name).unwrap_err(),
        ] {
            assert!(
                matches!(error.kind(), DiscoveryErrorKind::InvalidName { problem, .. } if *problem == expected),
                "{name:?}: {error}"
            );
        }
    }
    assert_eq!(
        validate_name("a/b").unwrap_err().to_string(),
        "invalid service name \"a/b\": '/' at byte 1 is not allowed; use only letters, digits, `.`, `_` and `-`"
    );
    let long = "n".repeat(101);
    assert!(
        validate_name(&long)
            .unwrap_err()
            .to_string()
            .contains("it is 101 bytes long, at most 100 fit a socket path")
    );
    assert!(
        !portal.dir().exists(),
        "no directory was created for a bad name"
    );

    // A valid name in a portal directory too deep for sun_path.
    let deep = Portal::at(format!("/tmp/{}", "d".repeat(100)));
    let error = deep.bind(SERVICE).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            DiscoveryErrorKind::PathTooLong {
                len: 110,
                max: 107,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("set COURIER_PORTAL_DIR"));
    finish(fds, dir);
}

#[test]
fn the_socket_mode_is_0600_even_when_bound_into_an_existing_wider_portal() {
    let fds = fd_check();
    let (dir, portal) = temp_portal();
    std::fs::create_dir(portal.dir()).unwrap();
    // Not writable by others, so acceptable; readable and searchable by all.
    std::fs::set_permissions(portal.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let listener = portal.bind(SERVICE).unwrap();
    assert_eq!(mode(listener.path()), 0o600);
    assert_eq!(
        mode(portal.dir()),
        0o755,
        "an acceptable directory is left as it is"
    );
    drop(listener);
    finish(fds, dir);
}
