//! Hostile clients against a tokio `MultiServer` of the echo service running
//! in another process (this test binary started again, see
//! `hostile_common/mod.rs`). Each case connects with a raw `UnixStream`,
//! misbehaves, and then checks that the hostile connection was closed, that a
//! well-behaved client is still answered correctly, and that the server's fd
//! count is back to where it was before the case. `docs/security.md` maps
//! each case of the threat model to its test here.
#![cfg(feature = "tokio")]

#[path = "hostile_common/mod.rs"]
mod hostile_common;
#[path = "common/runtime/mod.rs"]
mod runtime_common;
#[path = "support/mod.rs"]
mod support;
#[path = "tokio_common/mod.rs"]
mod tokio_common;

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Instant;

use courier::{Error, HandshakeErrorKind, Limits};
use hostile_common::{
    CLIENT_ENV, DEADLINE, FEW_CLIENTS, FLAG_RESPONSE, HELLO_REFUSED, SERVER_ENV, SHORT_HANDSHAKE,
    Scene, client_hello, expect_closed, handshake, header, hello_bytes, read_server_hello, request,
    send_with_fds, string, write_lossy,
};
use runtime_common::echo::echo_server::MAGIC as ECHO_SERVER;
use runtime_common::echo::{EchoClient, EchoServerClient};

/// Message ids of `EchoServer` (see `common/runtime/echo.rs`).
const ECHO: u32 = 1;
const PUSH: u32 = 5;
const ECHO_BYTES: u32 = 10;
const READ_FILE: u32 = 12;

#[test]
fn hostile_child() {
    hostile_common::child_main();
}

/// Runs `case` against a fresh server in `mode`; the case returns the
/// hostile connection, which must be closed by the server; then the server
/// must have recovered, and have logged `reason` for the close.
fn against(mode: &str, reason: &str, case: impl FnOnce(&Scene) -> UnixStream) {
    let scene = Scene::new(mode);
    let mut hostile = case(&scene);
    expect_closed(&mut hostile);
    drop(hostile);
    scene.check_recovered();
    scene.server.assert_logged(reason);
    scene.finish();
}

fn dev_null(count: usize) -> Vec<File> {
    (0..count)
        .map(|_| File::open("/dev/null").expect("open /dev/null"))
        .collect()
}

fn borrowed(files: &[File]) -> Vec<BorrowedFd<'_>> {
    files.iter().map(|file| file.as_fd()).collect()
}

// ----- bytes -----

#[test]
fn garbage_instead_of_a_hello_is_closed() {
    against(
        "default",
        "its first bytes were [47 45 54 20], not `CRIR`",
        |scene| {
            let mut stream = UnixStream::connect(scene.server.path()).unwrap();
            write_lossy(&mut stream, b"GET / HTTP/1.1\r\nHost: courier\r\n\r\n");
            stream
        },
    );
}

#[test]
fn garbage_after_a_valid_hello_is_closed() {
    against(
        "default",
        "the peer sent a frame with unknown flags",
        |scene| {
            let mut stream = handshake(scene.server.path());
            let garbage: Vec<u8> = (0..200u32).map(|i| (i * 37 + 11) as u8).collect();
            write_lossy(&mut stream, &garbage);
            stream
        },
    );
}

#[test]
fn a_hello_for_another_endpoint_is_closed() {
    against(
        "default",
        "expected this service to serve `SomethingElse` (magic 2)",
        |scene| {
            let mut stream = UnixStream::connect(scene.server.path()).unwrap();
            let hello = hello_bytes((1, "Somebody"), (2, "SomethingElse"), 1 << 20);
            write_lossy(&mut stream, &hello);
            stream
        },
    );
}

#[test]
fn a_payload_length_of_u32_max_is_closed() {
    let scene = Scene::new("default");
    let rss_before = scene.server.rss_kib();
    let mut stream = handshake(scene.server.path());
    write_lossy(&mut stream, &header(u32::MAX, ECHO_SERVER, ECHO, 1, 0, 0));
    write_lossy(&mut stream, &[0; 1000]);
    expect_closed(&mut stream);
    drop(stream);
    scene.check_recovered();
    scene
        .server
        .assert_logged("(4294967295 bytes), over the 64 MiB + 64 KiB limit");
    let rss_after = scene.server.rss_kib();
    // Nothing near 4 GiB (or even the 64 MiB limit) was reserved.
    assert!(
        rss_after < rss_before + 16 * 1024,
        "server RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
    scene.finish();
}

#[test]
fn a_payload_length_just_over_the_limit_is_closed() {
    against(
        "default",
        "(67174401 bytes), over the 64 MiB + 64 KiB limit",
        |scene| {
            let mut stream = handshake(scene.server.path());
            let over = Limits::default().max_message_bytes + 1;
            write_lossy(&mut stream, &header(over, ECHO_SERVER, ECHO, 1, 0, 0));
            stream
        },
    );
}

#[test]
fn a_vector_count_of_u32_max_in_a_tiny_message_is_closed() {
    let scene = Scene::new("default");
    let rss_before = scene.server.rss_kib();
    let mut stream = handshake(scene.server.path());
    write_lossy(
        &mut stream,
        &request(ECHO_BYTES, 1, 0, &u32::MAX.to_le_bytes()),
    );
    expect_closed(&mut stream);
    drop(stream);
    scene.check_recovered();
    scene
        .server
        .assert_logged("count 4294967295 cannot fit in the 0 bytes left");
    let rss_after = scene.server.rss_kib();
    assert!(
        rss_after < rss_before + 16 * 1024,
        "server RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
    scene.finish();
}

#[test]
fn invalid_utf8_in_a_string_is_closed() {
    against("default", "string is not valid UTF-8", |scene| {
        let mut stream = handshake(scene.server.path());
        write_lossy(
            &mut stream,
            &request(ECHO, 1, 0, &string(&[0x66, 0xff, 0xfe])),
        );
        stream
    });
}

#[test]
fn an_unknown_magic_is_closed() {
    against("default", "endpoint magic 3735928559", |scene| {
        let mut stream = handshake(scene.server.path());
        let mut frame = header(6, 0xdead_beef, ECHO, 1, 0, 0);
        frame.extend_from_slice(&string(b"hi"));
        write_lossy(&mut stream, &frame);
        stream
    });
}

#[test]
fn an_unknown_message_id_is_closed() {
    against("default", "has no message with id 999", |scene| {
        let mut stream = handshake(scene.server.path());
        write_lossy(&mut stream, &request(999, 1, 0, &string(b"hi")));
        stream
    });
}

#[test]
fn a_response_to_no_request_is_closed() {
    against(
        "default",
        "a response to request 77, which this side never sent",
        |scene| {
            let mut stream = handshake(scene.server.path());
            let payload = string(b"hi");
            let mut frame = header(
                payload.len() as u32,
                ECHO_SERVER,
                ECHO + 1,
                77,
                0,
                FLAG_RESPONSE,
            );
            frame.extend_from_slice(&payload);
            write_lossy(&mut stream, &frame);
            stream
        },
    );
}

#[test]
fn a_frame_cut_off_then_the_socket_closed_is_freed() {
    against(
        "default",
        "with 62 bytes of an unfinished frame unread",
        |scene| {
            let mut stream = handshake(scene.server.path());
            let frame = request(ECHO, 1, 0, &string(&[b'x'; 100]));
            write_lossy(&mut stream, &frame[..frame.len() / 2]);
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            stream
        },
    );
}

#[test]
fn trailing_bytes_after_a_valid_message_are_closed() {
    against(
        "default",
        "3 unexpected bytes after the last field",
        |scene| {
            let mut stream = handshake(scene.server.path());
            let mut payload = string(b"hi");
            payload.extend_from_slice(b"xyz");
            write_lossy(&mut stream, &request(ECHO, 1, 0, &payload));
            stream
        },
    );
}

// ----- fds -----

#[test]
fn more_fds_than_the_header_announces_are_closed() {
    against(
        "default",
        "3 file descriptors that no message claims",
        |scene| {
            let stream = handshake(scene.server.path());
            let files = dev_null(3);
            let frame = request(ECHO, 1, 0, &string(b"hi"));
            send_with_fds(&stream, &frame, &borrowed(&files)).unwrap();
            stream
        },
    );
}

#[test]
fn fewer_fds_than_the_header_announces_are_closed() {
    against(
        "default",
        "announced 2 file descriptors in a frame but only 0 arrived",
        |scene| {
            let mut stream = handshake(scene.server.path());
            write_lossy(&mut stream, &request(READ_FILE, 1, 2, &[]));
            stream
        },
    );
}

#[test]
fn fds_with_a_hello_are_closed() {
    against(
        "default",
        "file descriptors during the handshake",
        |scene| {
            let stream = UnixStream::connect(scene.server.path()).unwrap();
            let files = dev_null(5);
            send_with_fds(&stream, &client_hello(), &borrowed(&files)).unwrap();
            stream
        },
    );
}

#[test]
fn fds_with_no_frame_are_freed() {
    against(
        "default",
        "with 1 bytes of an unfinished frame unread",
        |scene| {
            let stream = handshake(scene.server.path());
            let files = dev_null(5);
            // One byte of a header carries the fds; the frame never comes.
            send_with_fds(&stream, &[20], &borrowed(&files)).unwrap();
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            stream
        },
    );
}

#[test]
fn a_frame_announcing_10000_fds_is_closed() {
    against(
        "default",
        "10000 file descriptors, over the limit of 64",
        |scene| {
            let mut stream = handshake(scene.server.path());
            write_lossy(&mut stream, &request(READ_FILE, 1, 10_000, &[]));
            stream
        },
    );
}

#[test]
fn a_flood_of_fds_does_not_exhaust_the_server() {
    // 200 frames of 200 fds each to /dev/null (over the 64-fd limit): the
    // server cuts the client off and closes every fd it received.
    against(
        "default",
        "200 file descriptors, over the limit of 64",
        |scene| {
            let stream = handshake(scene.server.path());
            let files = dev_null(200);
            let fds = borrowed(&files);
            let frame = request(READ_FILE, 1, 200, &[]);
            for _ in 0..200 {
                match send_with_fds(&stream, &frame, &fds) {
                    Ok(_) => {}
                    Err(error)
                        if matches!(
                            error.kind(),
                            ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
                        ) =>
                    {
                        break;
                    }
                    // ETOOMANYREFS: the kernel's own cap on fds in flight.
                    Err(error) if error.raw_os_error() == Some(109) => break,
                    Err(error) => panic!("sending fds failed: {error}"),
                }
            }
            stream
        },
    );
}

#[test]
fn a_flood_of_valid_fd_requests_never_exhausts_the_server() {
    // Within every limit: 2000 `read_file` requests, each with its own fd,
    // none of whose responses is read until all are sent. The server must
    // close each fd once handled and answer them all.
    let scene = Scene::new("default");
    let stream = handshake(scene.server.path());
    let reader = {
        let mut stream = stream.try_clone().unwrap();
        std::thread::spawn(move || {
            // Collect every response (20-byte header + 4-byte empty string).
            stream.set_read_timeout(Some(DEADLINE)).unwrap();
            let mut buf = vec![0; 2000 * 24];
            stream.read_exact(&mut buf).map(|()| buf)
        })
    };
    let file = File::open("/dev/null").unwrap();
    for id in 1..=2000u32 {
        let frame = request(READ_FILE, id, 1, &[]);
        send_with_fds(&stream, &frame, &[file.as_fd()]).unwrap();
        if id % 250 == 0 {
            assert_eq!(scene.good.echo("meanwhile".into()).unwrap(), "meanwhile");
        }
    }
    let responses = reader.join().unwrap().expect("all 2000 responses");
    for response in responses.chunks(24) {
        assert_eq!(&response[16..20], &[0, 0, 1, 0], "a plain response");
        assert_eq!(&response[20..], &[0, 0, 0, 0], "an empty string");
    }
    assert!(
        scene.server.fds() <= scene.fds_before + 1,
        "only the hostile connection itself is left open"
    );
    drop(stream);
    scene.check_recovered();
    scene.finish();
}

// ----- slowloris, client limit, rate -----

#[test]
fn a_client_that_says_nothing_is_closed_after_the_handshake_timeout() {
    let scene = Scene::new("slow");
    let start = Instant::now();
    let mut silent = UnixStream::connect(scene.server.path()).unwrap();
    let mut half = UnixStream::connect(scene.server.path()).unwrap();
    half.write_all(&client_hello()[..6]).unwrap();
    expect_closed(&mut silent);
    expect_closed(&mut half);
    let elapsed = start.elapsed();
    assert!(
        elapsed >= SHORT_HANDSHAKE,
        "closed after {elapsed:?}, before the handshake timeout"
    );
    eprintln!("slowloris clients closed after {elapsed:?}");
    drop((silent, half));
    scene.check_recovered();
    let log = scene.server.log();
    let timed_out = format!("the handshake did not complete within {SHORT_HANDSHAKE:?}");
    assert_eq!(log.matches(&timed_out).count(), 2, "{log}");
    scene.finish();
}

#[test]
fn clients_past_max_clients_are_refused_with_service_full() {
    let scene = Scene::new("full");
    // The good client is one; fill the rest.
    let others: Vec<_> = (1..FEW_CLIENTS)
        .map(|_| scene.server.good_client())
        .collect();
    for other in &others {
        assert_eq!(other.echo("in".into()).unwrap(), "in");
    }
    let error = match EchoServerClient::<EchoClient>::connect(scene.server.path()) {
        Ok(_) => panic!("a client past max_clients was served"),
        Err(error) => error,
    };
    match &error {
        Error::Handshake(handshake) => assert_eq!(
            handshake.kind(),
            &HandshakeErrorKind::ServiceFull {
                clients: FEW_CLIENTS as u32,
                max_clients: FEW_CLIENTS as u32
            },
            "{error}"
        ),
        other => panic!("expected ServiceFull, got {other:?}"),
    }
    // By hand: the refusal is a hello with REFUSED, then the close.
    let mut raw = UnixStream::connect(scene.server.path()).unwrap();
    raw.write_all(&client_hello()).unwrap();
    let hello = read_server_hello(&mut raw);
    assert_ne!(hello.flags & HELLO_REFUSED, 0, "{hello:?}");
    assert_eq!(
        hello.refusal,
        Some((1, FEW_CLIENTS as u32, FEW_CLIENTS as u32))
    );
    expect_closed(&mut raw);
    drop(raw);
    // Those served were untouched; once one leaves, a new one gets in.
    drop(others);
    scene.check_recovered();
    scene
        .server
        .assert_logged("the service is full: it serves 2 clients");
    scene.finish();
}

#[test]
fn a_message_rate_over_the_limit_is_closed() {
    against("rate", "more than 100 messages per second", |scene| {
        let mut stream = handshake(scene.server.path());
        let mut frames = Vec::new();
        for value in 0..1000i32 {
            frames.extend_from_slice(&request(PUSH, 0, 0, &value.to_le_bytes()));
        }
        write_lossy(&mut stream, &frames);
        stream
    });
}

// ----- a client that never reads -----

#[test]
fn a_client_that_never_reads_blocks_nobody_and_is_disconnected() {
    let scene = Scene::new("unread");
    let rss_before = scene.server.rss_kib();
    let mut stream = handshake(scene.server.path());
    // Against a hang only: a loaded server may not read for a while.
    stream.set_write_timeout(Some(DEADLINE)).unwrap();
    // 400 requests of 256 KiB: 100 MiB whose responses are never read. The
    // server may queue at most `UNSENT_LIMIT` (8 MiB) of unsent output, then
    // must drop the connection.
    let chunk = string(&vec![0x5a; 256 << 10]);
    let mut sent = 0usize;
    let mut cut_off = false;
    'send: for id in 1..=400u32 {
        let frame = request(ECHO_BYTES, id, 0, &chunk);
        let mut at = 0;
        while at < frame.len() {
            match stream.write(&frame[at..]) {
                Ok(n) => {
                    at += n;
                    sent += n;
                }
                Err(error)
                    if matches!(
                        error.kind(),
                        ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
                    ) =>
                {
                    cut_off = true;
                    break 'send;
                }
                Err(error) => panic!("writing requests failed after {sent} bytes: {error}"),
            }
        }
    }
    // Meanwhile, the others are served: the hostile connection is still
    // open, its responses unread, and a server it blocked would never
    // answer (the timeout turns that hang into a failure).
    let start = Instant::now();
    assert_eq!(
        scene
            .good
            .with_timeout(DEADLINE)
            .echo("not blocked".into())
            .unwrap(),
        "not blocked"
    );
    eprintln!("the good client was answered in {:?}", start.elapsed());
    if !cut_off {
        expect_closed(&mut stream);
    }
    eprintln!(
        "never-reading client: wrote {} KiB before being cut off (at the write: {cut_off}); server RSS {rss_before} KiB before",
        sent >> 10
    );
    // What the socket buffers hold, plus the 8 MiB the server may queue.
    assert!(
        sent < 32 << 20,
        "the server read {} KiB from a client that never reads its responses",
        sent >> 10
    );
    scene.server.assert_logged("the peer is not reading");
    drop(stream);
    scene.check_recovered();
    // The server never held more than the limit (the allocator may keep the
    // freed pages, so this bounds the peak rather than checking they were
    // returned).
    let rss_after = scene.server.rss_kib();
    eprintln!("server RSS after the client was dropped: {rss_after} KiB");
    assert!(
        rss_after < rss_before + 32 * 1024,
        "the server buffered more than the unsent-output limit for a client that never reads: RSS {rss_before} KiB -> {rss_after} KiB"
    );
    scene.finish();
}

// ----- another uid -----

#[test]
fn a_peer_of_another_uid_is_refused_by_default() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: run as root to test a peer of another uid");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    if let Some(why) = support::unreachable_by(65534, 65534, &exe) {
        eprintln!("skipped: uid 65534 cannot run this test binary: {why}");
        return;
    }
    let scene = Scene::new("default");
    // Let uid 65534 reach the socket at all; the server's own policy is
    // what must refuse it.
    std::fs::set_permissions(scene.server.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(scene.server.path(), std::fs::Permissions::from_mode(0o666)).unwrap();
    if let Some(why) = support::unreachable_by(65534, 65534, scene.server.dir()) {
        eprintln!("skipped: uid 65534 cannot reach the server's socket: {why}");
        scene.finish();
        return;
    }
    let output = Command::new(exe)
        .args([
            "--exact",
            "hostile_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CLIENT_ENV, scene.server.path())
        .env_remove(SERVER_ENV)
        .uid(65534)
        .gid(65534)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("run the client as uid 65534");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result = stdout
        .lines()
        .find_map(|line| line.split_once("COURIER-RESULT: ").map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no result from the client: {stdout}"));
    // Closed without service (today with no bytes at all; a refusal hello
    // naming the reason would do as well), and a real client's handshake
    // fails.
    assert!(
        result.starts_with("closed after ") && result.contains("; real client: connect failed:"),
        "{result}"
    );
    scene.server.assert_logged("uid 65534");
    scene.check_recovered();
    scene.finish();
}
