//! courier's side: the `Bench` service (blocking server, tokio server,
//! multi-client server) and its clients.

use std::io;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Instant;

use courier::blocking::BlockingConnection;
use courier::shm::{ShareableBitmap, SharedBuffer};
use courier::tokio::{AsyncConnection, MultiServer};
use courier::{HandlerError, Limits, NoMessages};

use crate::bench::{Bench, BenchAsyncClient, BenchClient, BenchHandler, BenchService};
use crate::report::Samples;

/// Limits for every courier connection of the benchmark: 64 MiB payloads
/// plus their framing, no rate limit, room for 1000 clients.
pub fn limits() -> Limits {
    Limits {
        max_message_bytes: 128 << 20,
        max_messages_per_second: u32::MAX,
        max_clients: 4096,
        ..Limits::default()
    }
}

/// The service: answers pings, counts notifies, checksums bulk payloads.
#[derive(Debug, Default)]
pub struct Service {
    notified: u64,
    acc: u64,
}

impl BenchHandler for Service {
    fn ping(&mut self, x: u64) -> Result<u64, HandlerError> {
        Ok(x.wrapping_add(1))
    }

    fn notify(&mut self, a: u32, b: u32, c: u64) {
        self.acc = self.acc.wrapping_add(u64::from(a) ^ u64::from(b) ^ c);
        self.notified += 1;
    }

    fn drain(&mut self) -> Result<u64, HandlerError> {
        Ok(self.notified)
    }

    fn bulk_bytes(&mut self, data: Vec<u8>) -> Result<u64, HandlerError> {
        Ok(crate::checksum(&data))
    }

    fn bulk_buffer(&mut self, buffer: SharedBuffer) -> Result<u64, HandlerError> {
        Ok(crate::checksum(buffer.as_slice()))
    }

    fn bulk_bitmap(&mut self, bitmap: ShareableBitmap) -> Result<u64, HandlerError> {
        Ok(crate::checksum(bitmap.pixels()))
    }
}

/// Serves blocking connections, a thread each, forever.
pub fn serve_blocking(path: &Path) -> io::Result<()> {
    let listener = UnixListener::bind(path)?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || -> Result<(), courier::Error> {
                let connection = BlockingConnection::<Bench, NoMessages>::builder()
                    .limits(limits())
                    .accept(stream)?;
                connection.serve(&mut BenchService(Service::default()))
            });
        }
    });
    Ok(())
}

/// Serves on a tokio `MultiServer`, on a thread of its own, forever: a
/// current-thread runtime (`workers == 0`) or a multi-thread one.
pub fn serve_tokio(path: &Path, workers: usize) -> io::Result<()> {
    let runtime = if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?
    };
    let server = runtime
        .block_on(async {
            MultiServer::<Bench, NoMessages>::builder()
                .limits(limits())
                .bind(path)
        })
        .map_err(io::Error::other)?;
    std::thread::spawn(move || {
        runtime.block_on(server.run(|_client| BenchService(Service::default())))
    });
    Ok(())
}

fn connect_blocking(path: &Path) -> io::Result<BenchClient> {
    let connection = BlockingConnection::<NoMessages, Bench>::builder()
        .limits(limits())
        .connect(path)
        .map_err(io::Error::other)?;
    Ok(BenchClient::from_connection(connection))
}

/// Connects an async client (inside a runtime).
pub async fn connect_async(path: &Path) -> io::Result<BenchAsyncClient> {
    let connection = AsyncConnection::<NoMessages, Bench>::builder()
        .limits(limits())
        .connect(path)
        .await
        .map_err(io::Error::other)?;
    Ok(BenchAsyncClient::from_connection(connection))
}

fn expect(what: &str, got: u64, expected: u64) -> io::Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "courier {what} answered {got}, expected {expected}"
        )))
    }
}

/// `n` round trips with the blocking client.
pub fn blocking_round_trips(path: &Path, n: usize) -> io::Result<Samples> {
    let client = connect_blocking(path)?;
    let mut samples = Samples::with_capacity(n);
    for x in 0..n as u64 {
        let start = Instant::now();
        let y = client.ping(x).map_err(io::Error::other)?;
        samples.push(start.elapsed());
        expect("ping", y, x + 1)?;
    }
    Ok(samples)
}

/// `n` round trips with the async client on a current-thread runtime.
pub fn async_round_trips(path: &Path, n: usize) -> io::Result<Samples> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = connect_async(path).await?;
        let mut samples = Samples::with_capacity(n);
        for x in 0..n as u64 {
            let start = Instant::now();
            let y = client.ping(x).await.map_err(io::Error::other)?;
            samples.push(start.elapsed());
            expect("ping", y, x + 1)?;
        }
        Ok(samples)
    })
}

/// `n` notifies per run with the blocking client, then a drain.
pub fn blocking_one_way(path: &Path, n: u64, runs: usize) -> io::Result<Samples> {
    let client = connect_blocking(path)?;
    let mut samples = Samples::with_capacity(runs);
    let mut total = 0;
    for _ in 0..runs {
        let start = Instant::now();
        for i in 0..n {
            client
                .notify(i as u32, (i >> 32) as u32, i)
                .map_err(io::Error::other)?;
        }
        let count = client.drain().map_err(io::Error::other)?;
        samples.push_per_unit(start.elapsed(), n);
        total += n;
        expect("drain", count, total)?;
    }
    Ok(samples)
}

/// `n` notifies per run with the blocking client's
/// [`send_buffered`](BlockingConnection::send_buffered) (written 64 KiB at a
/// time), then a drain (whose call writes what is still buffered).
pub fn blocking_buffered_one_way(path: &Path, n: u64, runs: usize) -> io::Result<Samples> {
    use crate::bench::Notify;
    let client = connect_blocking(path)?;
    let connection = client.connection();
    let mut samples = Samples::with_capacity(runs);
    let mut total = 0;
    for _ in 0..runs {
        let start = Instant::now();
        for i in 0..n {
            connection
                .send_buffered(&Notify {
                    a: i as u32,
                    b: (i >> 32) as u32,
                    c: i,
                })
                .map_err(io::Error::other)?;
        }
        let count = client.drain().map_err(io::Error::other)?;
        samples.push_per_unit(start.elapsed(), n);
        total += n;
        expect("drain", count, total)?;
    }
    Ok(samples)
}

/// `n` notifies per run with the async client, then a drain.
pub fn async_one_way(path: &Path, n: u64, runs: usize) -> io::Result<Samples> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = connect_async(path).await?;
        let mut samples = Samples::with_capacity(runs);
        let mut total = 0;
        for _ in 0..runs {
            let start = Instant::now();
            for i in 0..n {
                client
                    .notify(i as u32, (i >> 32) as u32, i)
                    .await
                    .map_err(io::Error::other)?;
            }
            let count = client.drain().await.map_err(io::Error::other)?;
            samples.push_per_unit(start.elapsed(), n);
            total += n;
            expect("drain", count, total)?;
        }
        Ok(samples)
    })
}

/// What a bulk row sends.
pub enum Payload<'a> {
    /// An ordinary `Vector<u8>` argument.
    Bytes(&'a [u8]),
    /// An existing, filled shared buffer.
    Buffer(SharedBuffer),
    /// An existing, filled shared bitmap.
    Bitmap(ShareableBitmap),
}

/// Sends the payload `runs` times; one sample per transfer, until the
/// server's checksum came back.
pub fn blocking_bulk(path: &Path, payload: Payload<'_>, runs: usize) -> io::Result<Samples> {
    use crate::bench::{BulkBitmap, BulkBuffer, BulkBytes};
    let client = connect_blocking(path)?;
    let connection = client.connection();
    let mut samples = Samples::with_capacity(runs);
    match payload {
        Payload::Bytes(data) => {
            let expected = crate::checksum(data);
            let request = BulkBytes {
                data: data.to_vec(),
            };
            for _ in 0..runs {
                let start = Instant::now();
                let response = connection.call(&request).map_err(io::Error::other)?;
                samples.push(start.elapsed());
                expect("bulk bytes", response.checksum, expected)?;
            }
        }
        Payload::Buffer(buffer) => {
            let expected = crate::checksum(buffer.as_slice());
            let request = BulkBuffer { buffer };
            for _ in 0..runs {
                let start = Instant::now();
                let response = connection.call(&request).map_err(io::Error::other)?;
                samples.push(start.elapsed());
                expect("bulk buffer", response.checksum, expected)?;
            }
        }
        Payload::Bitmap(bitmap) => {
            let expected = crate::checksum(bitmap.pixels());
            let request = BulkBitmap { bitmap };
            for _ in 0..runs {
                let start = Instant::now();
                let response = connection.call(&request).map_err(io::Error::other)?;
                samples.push(start.elapsed());
                expect("bulk bitmap", response.checksum, expected)?;
            }
        }
    }
    Ok(samples)
}
