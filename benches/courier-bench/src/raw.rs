//! The raw-socket references: a hand-written exchange over a Unix stream
//! socket (round trip, one-way frames, bulk), over `SOCK_SEQPACKET` (round
//! trip), and over tokio's `UnixStream` (round trip).
//!
//! Every frame starts with a 16-byte header: `u32` kind, `u32` zero, `u64`
//! value (little-endian). A ping is the header alone (value `x`, answered
//! with `x + 1`); a notify is the header and 16 bytes (`u32 a, u32 b,
//! u64 c`: 32 bytes on the wire); a drain answers the count of notifies
//! decoded; a bulk frame's value is the length of the bytes that follow, and
//! its answer the [`crate::checksum`] of them.

use std::io::{self, BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Instant;

use rustix::net::{
    AddressFamily, RecvFlags, SendFlags, SocketAddrUnix, SocketType, accept, bind, connect, listen,
    recv, send, socket,
};

use crate::report::Samples;

/// A ping.
pub const PING: u32 = 1;
/// A one-way notify (16 more bytes follow).
pub const NOTIFY: u32 = 2;
/// Asks for the count of notifies decoded.
pub const DRAIN: u32 = 3;
/// Bulk bytes follow, as many as the value says.
pub const BULK: u32 = 4;

/// A 16-byte header.
pub fn header(kind: u32, value: u64) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..4].copy_from_slice(&kind.to_le_bytes());
    h[8..].copy_from_slice(&value.to_le_bytes());
    h
}

fn parse(h: &[u8; 16]) -> (u32, u64) {
    let kind = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let mut v = [0u8; 8];
    v.copy_from_slice(&h[8..]);
    (kind, u64::from_le_bytes(v))
}

/// One notify frame: header and payload, 32 bytes.
pub fn notify_frame(i: u64) -> [u8; 32] {
    let mut f = [0u8; 32];
    f[..16].copy_from_slice(&header(NOTIFY, 0));
    f[16..20].copy_from_slice(&(i as u32).to_le_bytes());
    f[20..24].copy_from_slice(&((i >> 32) as u32).to_le_bytes());
    f[24..].copy_from_slice(&i.to_le_bytes());
    f
}

/// Serves stream clients, a thread each, forever.
pub fn serve_stream(path: &Path) -> io::Result<()> {
    let listener = UnixListener::bind(path)?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve_stream_client(stream));
        }
    });
    Ok(())
}

fn serve_stream_client(stream: UnixStream) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(64 << 10, stream.try_clone()?);
    let mut writer = stream;
    let mut count = 0u64;
    let mut acc = 0u64;
    let mut bulk = Vec::new();
    loop {
        let mut h = [0u8; 16];
        match reader.read_exact(&mut h) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            other => other?,
        }
        let (kind, value) = parse(&h);
        match kind {
            PING => writer.write_all(&header(PING, value.wrapping_add(1)))?,
            NOTIFY => {
                let mut p = [0u8; 16];
                reader.read_exact(&mut p)?;
                let a = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
                let b = u32::from_le_bytes([p[4], p[5], p[6], p[7]]);
                let mut c = [0u8; 8];
                c.copy_from_slice(&p[8..]);
                acc = acc.wrapping_add(u64::from(a) ^ u64::from(b) ^ u64::from_le_bytes(c));
                count += 1;
            }
            DRAIN => writer.write_all(&header(DRAIN, count))?,
            BULK => {
                let len = usize::try_from(value).map_err(io::Error::other)?;
                bulk.resize(len, 0);
                reader.read_exact(&mut bulk)?;
                writer.write_all(&header(BULK, crate::checksum(&bulk)))?;
            }
            other => {
                return Err(io::Error::other(format!(
                    "unknown frame kind {other} (acc {acc})"
                )));
            }
        }
    }
}

/// `n` round trips over a stream socket; one sample per call.
pub fn stream_round_trips(path: &Path, n: usize) -> io::Result<Samples> {
    let mut stream = UnixStream::connect(path)?;
    let mut samples = Samples::with_capacity(n);
    let mut reply = [0u8; 16];
    for x in 0..n as u64 {
        let start = Instant::now();
        stream.write_all(&header(PING, x))?;
        stream.read_exact(&mut reply)?;
        samples.push(start.elapsed());
        check(parse(&reply), (PING, x + 1))?;
    }
    Ok(samples)
}

/// Sends `n` notifies per run, `runs` times, one `write` each (or batched
/// in 64 KiB writes), each run ending with a drain; one sample per run (per
/// message).
pub fn stream_one_way(path: &Path, n: u64, runs: usize, batched: bool) -> io::Result<Samples> {
    let mut stream = UnixStream::connect(path)?;
    let mut samples = Samples::with_capacity(runs);
    let mut total = 0u64;
    let mut batch = Vec::with_capacity(64 << 10);
    let mut reply = [0u8; 16];
    for _ in 0..runs {
        let start = Instant::now();
        for i in 0..n {
            let frame = notify_frame(i);
            if batched {
                batch.extend_from_slice(&frame);
                if batch.len() + frame.len() > batch.capacity() {
                    stream.write_all(&batch)?;
                    batch.clear();
                }
            } else {
                stream.write_all(&frame)?;
            }
        }
        if !batch.is_empty() {
            stream.write_all(&batch)?;
            batch.clear();
        }
        stream.write_all(&header(DRAIN, 0))?;
        stream.read_exact(&mut reply)?;
        samples.push_per_unit(start.elapsed(), n);
        total += n;
        check(parse(&reply), (DRAIN, total))?;
    }
    Ok(samples)
}

/// Sends `data` `runs` times as bulk frames; one sample per transfer (until
/// the checksum came back).
pub fn stream_bulk(path: &Path, data: &[u8], runs: usize) -> io::Result<Samples> {
    let mut stream = UnixStream::connect(path)?;
    let mut samples = Samples::with_capacity(runs);
    let mut reply = [0u8; 16];
    let expected = crate::checksum(data);
    for _ in 0..runs {
        let start = Instant::now();
        stream.write_all(&header(BULK, data.len() as u64))?;
        stream.write_all(data)?;
        stream.read_exact(&mut reply)?;
        samples.push(start.elapsed());
        check(parse(&reply), (BULK, expected))?;
    }
    Ok(samples)
}

fn check(got: (u32, u64), expected: (u32, u64)) -> io::Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "the raw server answered kind {} value {}, expected kind {} value {}",
            got.0, got.1, expected.0, expected.1
        )))
    }
}

fn seqpacket_socket() -> io::Result<OwnedFd> {
    Ok(socket(AddressFamily::UNIX, SocketType::SEQPACKET, None)?)
}

/// Serves `SOCK_SEQPACKET` clients (pings only), a thread each, forever.
pub fn serve_seqpacket(path: &Path) -> io::Result<()> {
    let listener = seqpacket_socket()?;
    bind(&listener, &SocketAddrUnix::new(path)?)?;
    listen(&listener, 128)?;
    std::thread::spawn(move || {
        while let Ok(client) = accept(&listener) {
            std::thread::spawn(move || serve_seqpacket_client(client));
        }
    });
    Ok(())
}

fn serve_seqpacket_client(client: OwnedFd) -> io::Result<()> {
    let mut buf = [0u8; 16];
    loop {
        let (got, _) = recv(client.as_fd(), &mut buf, RecvFlags::empty())?;
        if got == 0 {
            return Ok(());
        }
        let (kind, value) = parse(&buf);
        if kind != PING {
            return Err(io::Error::other(format!("unexpected packet kind {kind}")));
        }
        send(
            &client,
            &header(PING, value.wrapping_add(1)),
            SendFlags::empty(),
        )?;
    }
}

/// `n` round trips over `SOCK_SEQPACKET`: one packet each way per call.
pub fn seqpacket_round_trips(path: &Path, n: usize) -> io::Result<Samples> {
    let fd = seqpacket_socket()?;
    connect(&fd, &SocketAddrUnix::new(path)?)?;
    let mut samples = Samples::with_capacity(n);
    let mut reply = [0u8; 16];
    for x in 0..n as u64 {
        let start = Instant::now();
        send(&fd, &header(PING, x), SendFlags::empty())?;
        let (got, _) = recv(&fd, &mut reply, RecvFlags::empty())?;
        samples.push(start.elapsed());
        if got != 16 {
            return Err(io::Error::other(format!(
                "a reply packet of {got} bytes, expected 16"
            )));
        }
        check(parse(&reply), (PING, x + 1))?;
    }
    Ok(samples)
}

/// Serves tokio stream clients (pings only) on a current-thread runtime,
/// on a thread of its own, forever.
pub fn serve_tokio(path: &Path) -> io::Result<()> {
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    listener.set_nonblocking(true)?;
    std::thread::spawn(move || -> io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let listener = tokio::net::UnixListener::from_std(listener)?;
            loop {
                let (stream, _) = listener.accept().await?;
                tokio::spawn(serve_tokio_client(stream));
            }
        })
    });
    Ok(())
}

async fn serve_tokio_client(mut stream: tokio::net::UnixStream) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut h = [0u8; 16];
    loop {
        match stream.read_exact(&mut h).await {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            other => other?,
        };
        let (_, value) = parse(&h);
        stream
            .write_all(&header(PING, value.wrapping_add(1)))
            .await?;
    }
}

/// `n` round trips over tokio's `UnixStream`, from a current-thread runtime.
pub fn tokio_round_trips(path: &Path, n: usize) -> io::Result<Samples> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut stream = tokio::net::UnixStream::connect(path).await?;
        let mut samples = Samples::with_capacity(n);
        let mut reply = [0u8; 16];
        for x in 0..n as u64 {
            let start = Instant::now();
            stream.write_all(&header(PING, x)).await?;
            stream.read_exact(&mut reply).await?;
            samples.push(start.elapsed());
            check(parse(&reply), (PING, x + 1))?;
        }
        Ok(samples)
    })
}
