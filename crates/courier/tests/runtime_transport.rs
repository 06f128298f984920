//! The Unix socket transport and the blocking driver against raw peers, over
//! socketpairs in one process (the cross-process tests are in
//! `runtime_blocking.rs`).

#[path = "common/runtime/mod.rs"]
mod runtime_common;
#[path = "support/mod.rs"]
mod support;

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Instant;

use courier::proto::{Config, Connection, EndpointInfo, FrameHeader, Side};
use courier::transport::{Transport, UnixTransport};
use courier::{Error, Limits, PeerCredentials, ProtocolErrorKind, SCM_MAX_FD};
use runtime_common::echo::{EchoClient, EchoServer};
use runtime_common::{fd_check, file_with, read_all};

#[test]
fn the_kernel_maximum_of_fds_travels_in_one_send() {
    let fds = fd_check();
    let (a, b) = UnixStream::pair().unwrap();
    let (a, b) = (UnixTransport::new(a), UnixTransport::new(b));
    let files: Vec<OwnedFd> = (0..SCM_MAX_FD)
        .map(|n| file_with(&format!("file {n}")))
        .collect();
    let borrowed: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
    assert_eq!(a.send(b"x", &borrowed).unwrap(), 1);
    let mut buf = [0u8; 8];
    let mut received = Vec::new();
    let got = b.recv(&mut buf, &mut received).unwrap();
    assert_eq!(
        (got.bytes, got.fds_truncated, received.len()),
        (1, false, SCM_MAX_FD)
    );
    assert_eq!(
        read_all(received.pop().unwrap()),
        format!("file {}", SCM_MAX_FD - 1)
    );
    assert_eq!(read_all(received.remove(0)), "file 0");
    drop(received);
    // One more than the kernel takes is refused up front.
    let extra = file_with("extra");
    let mut too_many = borrowed;
    too_many.push(extra.as_fd());
    assert_eq!(
        a.send(b"x", &too_many).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    drop(too_many);
    drop((files, extra, a, b));
    fds.finish();
}

#[test]
fn a_full_socket_buffer_would_block_instead_of_hanging() {
    let fds = fd_check();
    let (a, b) = UnixStream::pair().unwrap();
    let (a, b) = (UnixTransport::new(a), UnixTransport::new(b));
    let chunk = vec![0xAB; 64 << 10];
    let mut written = 0usize;
    let error = loop {
        match a.send(&chunk, &[]) {
            Ok(n) => written += n,
            Err(error) => break error,
        }
    };
    assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
    assert!(written > 0);
    // Everything written arrives, in order, and then reading would block.
    let mut buf = vec![0u8; 64 << 10];
    let mut read = 0usize;
    let mut ignored = Vec::new();
    loop {
        match b.recv(&mut buf, &mut ignored) {
            Ok(got) => {
                assert!(buf[..got.bytes].iter().all(|&byte| byte == 0xAB));
                read += got.bytes;
            }
            Err(error) => {
                assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
                break;
            }
        }
    }
    assert_eq!(read, written);
    drop((a, b));
    fds.finish();
}

#[test]
fn peer_credentials_name_the_process_on_the_other_end() {
    let fds = fd_check();
    let (a, _b) = UnixStream::pair().unwrap();
    let credentials = PeerCredentials::of(&a).unwrap();
    assert_eq!(credentials.pid, std::process::id());
    assert_eq!(credentials.uid, rustix::process::geteuid().as_raw());
    assert_eq!(credentials.gid, rustix::process::getegid().as_raw());
    drop((a, _b));
    fds.finish();
}

/// A client that speaks the handshake through a core, then writes raw bytes.
fn raw_client_after_handshake(stream: &mut UnixStream) {
    let echo_client = EndpointInfo::of::<EchoClient>();
    let echo_server = EndpointInfo::of::<EchoServer>();
    let config = Config {
        side: Side::Client,
        local: echo_client,
        peer: echo_server,
        limits: Limits::default(),
        any_peer: false,
    };
    let mut core = Connection::new(config, Instant::now());
    let hello = core.poll_transmit().unwrap();
    stream.write_all(&hello.bytes).unwrap();
    // Read the server's hello (it is all the server sends before our input).
    let mut buf = [0u8; 256];
    while !core.is_open() {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the server closed during the handshake");
        core.handle_input(Instant::now(), &buf[..n], Vec::new());
    }
}

fn frame(magic: u32, message_id: u32, flags: u16, body: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        payload_len: body.len() as u32,
        magic,
        message_id,
        request_id: 0,
        fd_count: 0,
        flags,
    };
    [&header.to_bytes()[..], body].concat()
}

#[test]
fn a_peer_that_breaks_the_framing_is_disconnected_with_the_reason() {
    let fds = fd_check();
    let (mut client, server_end) = UnixStream::pair().unwrap();
    let server =
        std::thread::spawn(move || runtime_common::serve_echo(server_end, Limits::default()));
    raw_client_after_handshake(&mut client);
    client
        .write_all(&frame(
            runtime_common::echo::echo_server::MAGIC,
            5,
            0x40,
            &[],
        ))
        .unwrap();
    let error = server.join().unwrap().unwrap_err();
    assert!(
        matches!(&error, Error::Protocol(e) if e.kind() == &ProtocolErrorKind::UnknownFlags(0x40)),
        "{error:?}"
    );
    // The server hung up: the client reads the end of the stream.
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    drop(client);
    fds.finish();
}

#[test]
fn a_message_the_endpoint_does_not_know_disconnects_the_peer() {
    let fds = fd_check();
    let (mut client, server_end) = UnixStream::pair().unwrap();
    let server =
        std::thread::spawn(move || runtime_common::serve_echo(server_end, Limits::default()));
    raw_client_after_handshake(&mut client);
    // Message 99 does not exist; message 5 (`push`) with a 2-byte body is malformed.
    client
        .write_all(&frame(runtime_common::echo::echo_server::MAGIC, 99, 0, &[]))
        .unwrap();
    let error = server.join().unwrap().unwrap_err();
    match &error {
        Error::Protocol(e) => match e.kind() {
            ProtocolErrorKind::MalformedMessage {
                endpoint,
                message_id,
                ..
            } => {
                assert_eq!((*endpoint, *message_id), ("EchoServer", 99))
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    drop(client);

    let (mut client, server_end) = UnixStream::pair().unwrap();
    let server =
        std::thread::spawn(move || runtime_common::serve_echo(server_end, Limits::default()));
    raw_client_after_handshake(&mut client);
    client
        .write_all(&frame(
            runtime_common::echo::echo_server::MAGIC,
            5,
            0,
            &[1, 2],
        ))
        .unwrap();
    let error = server.join().unwrap().unwrap_err();
    assert!(error.to_string().contains("does not decode"), "{error}");
    drop(client);
    fds.finish();
}
