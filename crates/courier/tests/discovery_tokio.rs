//! Discovery with the drivers: `MultiServer::bind_service` /
//! `from_service`, `AsyncConnection::connect_service`,
//! `BlockingConnection::connect_service`, and `ServerBuilder::peer_policy`.
//! What reads the environment runs in a child (see
//! `discovery_common/mod.rs`); every test checks that no fd leaked and no
//! task outlived it.
#![cfg(feature = "tokio")]

#[path = "discovery_common/mod.rs"]
mod discovery_common;
#[path = "common/runtime/mod.rs"]
mod runtime_common;
#[path = "support/mod.rs"]
mod support;
#[path = "tokio_common/mod.rs"]
mod tokio_common;

use std::io::{Read, Write};

use courier::blocking::BlockingConnection;
use courier::discovery::{PORTAL_DIR_ENV, PeerPolicy, Portal};
use courier::tokio::{AsyncConnection, MultiServer};
use courier::{Error, HandshakeErrorKind};
use discovery_common::{ChildSpec, SERVICE};
use runtime_common::echo::echo_server::Echo;
use runtime_common::echo::{EchoClient, EchoServer, EchoServerClient};
use runtime_common::{FdCheck, fd_check};
use tokio_common::{run, within};

#[test]
fn discovery_child() {
    match std::env::var(discovery_common::CHILD_ENV).as_deref() {
        Ok("multiserver-bind") => multiserver_bind_child(),
        Ok("connect-service-async") => report(connect_service_async()),
        Ok("connect-service-blocking") => report(connect_service_blocking()),
        _ => discovery_common::child_main(),
    }
}

fn report(outcome: Result<String, Error>) {
    match outcome {
        Ok(text) => println!("COURIER-RESULT: {text}"),
        Err(error) => println!("COURIER-RESULT: err: {error}"),
    }
    std::io::stdout().flush().unwrap();
}

/// Serves `echo` by name (from the environment) until stdin closes.
fn multiserver_bind_child() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime.block_on(async {
        let server = MultiServer::<EchoServer, EchoClient>::bind_service(SERVICE)?;
        println!("COURIER-READY");
        std::io::stdout().flush().unwrap();
        let shutdown = server.shutdown_handle();
        tokio::task::spawn_blocking(move || {
            let mut rest = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut rest);
            shutdown.shutdown();
        });
        tokio_common::run_echo(&server).await;
        Ok("stopped".to_owned())
    });
    report(outcome);
}

fn connect_service_async() -> Result<String, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let connection =
            AsyncConnection::<EchoClient, EchoServer>::connect_service(SERVICE).await?;
        let response = connection
            .call(&Echo {
                text: "async".to_owned(),
            })
            .await?;
        Ok(response.text)
    })
}

fn connect_service_blocking() -> Result<String, Error> {
    let connection = BlockingConnection::<EchoClient, EchoServer>::connect_service(SERVICE)?;
    EchoServerClient::from_connection(connection).echo("blocking".to_owned())
}

fn finish(fds: FdCheck, dir: tempfile::TempDir) {
    drop(dir);
    fds.finish();
}

#[test]
fn a_multiserver_bound_by_name_serves_clients_that_connect_by_name() {
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let portal = Portal::at(dir.path().join("portal"));
    let mut server = ChildSpec::new("multiserver-bind")
        .env(PORTAL_DIR_ENV, portal.dir())
        .spawn();
    server.ready();
    let socket = portal.service_path(SERVICE).unwrap();
    assert!(socket.exists());
    assert!(portal.dir().join("echo.lock").exists());
    run(async {
        let stream = portal.connect(SERVICE).unwrap();
        let connection = AsyncConnection::<EchoClient, EchoServer>::from_stream(stream)
            .await
            .unwrap();
        let response = connection
            .call(&Echo {
                text: "by name".to_owned(),
            })
            .await
            .unwrap();
        assert_eq!(response.text, "by name");
    });
    server.close_stdin();
    assert_eq!(server.result(), "stopped");
    assert!(
        !socket.exists(),
        "the server removed its socket as it stopped"
    );
    assert!(
        !portal.dir().join("echo.lock").exists(),
        "and its lock file"
    );
    finish(fds, dir);
}

#[test]
fn clients_connect_by_name_to_a_multiserver_from_a_service_listener() {
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let portal = Portal::at(dir.path().join("portal"));
    let socket = portal.service_path(SERVICE).unwrap();
    run(async {
        let server =
            MultiServer::<EchoServer, EchoClient>::from_service(portal.bind(SERVICE).unwrap());
        let running = tokio::spawn({
            let server = server.clone();
            async move { tokio_common::run_echo(&server).await }
        });
        for (mode, expected) in [
            ("connect-service-async", "async"),
            ("connect-service-blocking", "blocking"),
        ] {
            let child = ChildSpec::new(mode)
                .env(PORTAL_DIR_ENV, portal.dir())
                .spawn();
            let result = tokio::task::spawn_blocking(move || child.result())
                .await
                .unwrap();
            assert_eq!(result, expected, "{mode}");
        }
        server.shutdown();
        within("the server to stop", running).await.unwrap();
    });
    assert!(
        !socket.exists(),
        "the server released the service as it stopped"
    );
    finish(fds, dir);
}

#[test]
fn connect_service_says_when_the_service_is_not_running() {
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let portal = Portal::at(dir.path().join("portal"));
    let expected = format!(
        "err: no service `echo` at {}: is it running? (set COURIER_PORTAL_DIR to look elsewhere)",
        portal.service_path(SERVICE).unwrap().display()
    );
    for mode in ["connect-service-async", "connect-service-blocking"] {
        let child = ChildSpec::new(mode)
            .env(PORTAL_DIR_ENV, portal.dir())
            .spawn();
        assert_eq!(child.result(), expected, "{mode}");
    }
    finish(fds, dir);
}

/// Runs `server` and checks that a client of this process is refused before
/// its handshake completes (its policy admits another uid only), then stops
/// it.
async fn refuses_this_process(server: MultiServer<EchoServer, EchoClient>, portal: &Portal) {
    let running = tokio::spawn({
        let server = server.clone();
        async move { tokio_common::run_echo(&server).await }
    });
    let stream = portal.connect(SERVICE).unwrap();
    let error = AsyncConnection::<EchoClient, EchoServer>::from_stream(stream)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Handshake(e) if matches!(e.kind(), HandshakeErrorKind::PeerClosed)),
        "{error}"
    );
    assert!(server.clients().is_empty());
    server.shutdown();
    within("the server to stop", running).await.unwrap();
}

#[test]
fn a_multiserver_applies_its_peer_policy() {
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let portal = Portal::at(dir.path().join("portal"));
    let other_uid = rustix::process::geteuid().as_raw().wrapping_add(1);
    run(async {
        let server = MultiServer::<EchoServer, EchoClient>::builder()
            .peer_policy(PeerPolicy::Uids(vec![other_uid]))
            .from_service(portal.bind(SERVICE).unwrap());
        refuses_this_process(server, &portal).await;
    });
    finish(fds, dir);
}

/// The uid (and gid) of `nobody` on most systems.
const NOBODY: u32 = 65534;

#[test]
fn a_multiserver_refuses_another_uid_by_default_and_serves_it_when_allowed() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root to run a client as uid {NOBODY}");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let open_to_all = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    // Only the server's policy stands between `nobody` and the service: it
    // can search the directories and write the socket.
    open_to_all(dir.path(), 0o711);
    let exe = std::env::current_exe().unwrap();
    if let Some(why) = support::unreachable_by(NOBODY, NOBODY, &exe)
        .or_else(|| support::unreachable_by(NOBODY, NOBODY, dir.path()))
    {
        eprintln!("skipped: uid {NOBODY} cannot run the client: {why}");
        return finish(fds, dir);
    }
    let portal = Portal::at(dir.path().join("portal"));
    for allow in [false, true] {
        run(async {
            let listener = portal.bind(SERVICE).unwrap();
            open_to_all(portal.dir(), 0o711);
            open_to_all(listener.path(), 0o666);
            // The child's exit is not the server's notice of it: the test
            // waits for the disconnect hook before it checks the table.
            let (left_tx, mut left) = tokio::sync::mpsc::unbounded_channel();
            let server = MultiServer::<EchoServer, EchoClient>::builder()
                .allow_other_users(allow)
                .on_client_disconnected(move |id, _| {
                    let _ = left_tx.send(id);
                })
                .from_service(listener);
            let running = tokio::spawn({
                let server = server.clone();
                async move { tokio_common::run_echo(&server).await }
            });
            let child = ChildSpec::new("connect-echo")
                .with_uid(NOBODY)
                .env(PORTAL_DIR_ENV, portal.dir())
                .spawn();
            let result = tokio::task::spawn_blocking(move || child.result())
                .await
                .unwrap();
            if allow {
                assert_eq!(result, "hi", "served with allow_other_users(true)");
                let id = within("the server to see the client leave", left.recv())
                    .await
                    .unwrap();
                assert_eq!(id.get(), 1);
            } else {
                assert!(
                    result.starts_with("err: ")
                        && result.contains("closed the connection during the handshake"),
                    "refused by default: {result}"
                );
            }
            assert!(server.clients().is_empty());
            server.shutdown();
            within("the server to stop", running).await.unwrap();
            // A refused client never completed its handshake, so no hook ran.
            assert!(
                left.try_recv().is_err(),
                "a client left twice or was admitted"
            );
        });
    }
    finish(fds, dir);
}

#[test]
fn a_multiserver_from_a_service_keeps_the_listener_s_policy_and_says_where_it_listens() {
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let portal = Portal::at(dir.path().join("portal"));
    let other_uid = rustix::process::geteuid().as_raw().wrapping_add(1);
    run(async {
        // The listener admits only another uid; the server's builder sets
        // no policy, so that one applies (it used to widen to same-user).
        let listener = portal
            .bind(SERVICE)
            .unwrap()
            .with_peer_policy(PeerPolicy::Uids(vec![other_uid]));
        let server = MultiServer::<EchoServer, EchoClient>::from_service(listener);
        assert_eq!(
            server.path(),
            Some(portal.service_path(SERVICE).unwrap().as_path())
        );
        refuses_this_process(server, &portal).await;
    });
    finish(fds, dir);
}
