//! ipc-channel: typed requests and replies over `IpcSender`/`IpcReceiver`,
//! bootstrapped with an `IpcOneShotServer` whose name the client passes to
//! the server process; bytes over an `IpcBytesSender`; shared memory as
//! `IpcSharedMemory`.

use std::io;
use std::time::Instant;

use ipc_channel::ipc::{
    self, IpcBytesSender, IpcOneShotServer, IpcReceiver, IpcSender, IpcSharedMemory,
};
use serde::{Deserialize, Serialize};

use crate::report::Samples;

/// A request to the ipc-channel server.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    /// Answered with `x + 1`.
    Ping(u64),
    /// One-way, counted.
    Notify {
        /// First field.
        a: u32,
        /// Second field.
        b: u32,
        /// Third field.
        c: u64,
    },
    /// Answered with the count of notifies.
    Drain,
    /// Answered with the checksum of the memory.
    Shared(IpcSharedMemory),
}

/// What the server hands the client: its request sender, the receiver of
/// its replies, and a bytes sender (bytes are answered on the same reply
/// channel).
type Bootstrap = (IpcSender<Request>, IpcReceiver<u64>, IpcBytesSender);

fn err(error: impl std::fmt::Debug) -> io::Error {
    io::Error::other(format!("ipc-channel: {error:?}"))
}

/// The server side: connects to the client's one-shot server `name`, hands
/// it the channels, and serves on two threads until the client goes away.
pub fn serve(name: &str) -> io::Result<()> {
    let (request_tx, request_rx) = ipc::channel::<Request>()?;
    let (reply_tx, reply_rx) = ipc::channel::<u64>()?;
    let (bytes_tx, bytes_rx) = ipc::bytes_channel()?;
    let bootstrap = IpcSender::<Bootstrap>::connect(name.to_string())?;
    bootstrap
        .send((request_tx, reply_rx, bytes_tx))
        .map_err(err)?;
    let bytes_reply = reply_tx.clone();
    std::thread::spawn(move || {
        let mut notified = 0u64;
        let mut acc = 0u64;
        while let Ok(request) = request_rx.recv() {
            let reply = match request {
                Request::Ping(x) => x.wrapping_add(1),
                Request::Notify { a, b, c } => {
                    acc = acc.wrapping_add(u64::from(a) ^ u64::from(b) ^ c);
                    notified += 1;
                    continue;
                }
                Request::Drain => notified,
                Request::Shared(memory) => crate::checksum(&memory),
            };
            if reply_tx.send(reply).is_err() {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        while let Ok(bytes) = bytes_rx.recv() {
            if bytes_reply.send(crate::checksum(&bytes)).is_err() {
                break;
            }
        }
    });
    Ok(())
}

/// A client connected to a server process.
pub struct Client {
    requests: IpcSender<Request>,
    replies: IpcReceiver<u64>,
    bytes: IpcBytesSender,
    /// The server process; stop it when done.
    pub server: crate::process::Server,
}

/// Starts the server process and takes its channels.
pub fn connect(cpu: Option<usize>) -> io::Result<Client> {
    let (one_shot, name) = IpcOneShotServer::<Bootstrap>::new()?;
    let server = crate::process::Server::spawn("ipc-channel", &name, cpu)?;
    let (_, (requests, replies, bytes)) = one_shot.accept().map_err(err)?;
    Ok(Client {
        requests,
        replies,
        bytes,
        server,
    })
}

fn expect(what: &str, got: u64, expected: u64) -> io::Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ipc-channel {what} answered {got}, expected {expected}"
        )))
    }
}

impl Client {
    fn call(&self, request: Request) -> io::Result<u64> {
        self.requests.send(request).map_err(err)?;
        self.replies.recv().map_err(err)
    }

    /// `n` round trips.
    pub fn round_trips(&self, n: usize) -> io::Result<Samples> {
        let mut samples = Samples::with_capacity(n);
        for x in 0..n as u64 {
            let start = Instant::now();
            let y = self.call(Request::Ping(x))?;
            samples.push(start.elapsed());
            expect("ping", y, x + 1)?;
        }
        Ok(samples)
    }

    /// `n` notifies per run, then a drain.
    pub fn one_way(&self, n: u64, runs: usize) -> io::Result<Samples> {
        let mut samples = Samples::with_capacity(runs);
        let mut total = 0;
        for _ in 0..runs {
            let start = Instant::now();
            for i in 0..n {
                self.requests
                    .send(Request::Notify {
                        a: i as u32,
                        b: (i >> 32) as u32,
                        c: i,
                    })
                    .map_err(err)?;
            }
            let count = self.call(Request::Drain)?;
            samples.push_per_unit(start.elapsed(), n);
            total += n;
            expect("drain", count, total)?;
        }
        Ok(samples)
    }

    /// `data` through the bytes channel, `runs` times.
    pub fn bulk_bytes(&self, data: &[u8], runs: usize) -> io::Result<Samples> {
        let expected = crate::checksum(data);
        let mut samples = Samples::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            self.bytes.send(data)?;
            let got = self.replies.recv().map_err(err)?;
            samples.push(start.elapsed());
            expect("bytes", got, expected)?;
        }
        Ok(samples)
    }

    /// `data` as a fresh `IpcSharedMemory` per message (ipc-channel's shared
    /// memory cannot be cloned or resent), `runs` times.
    pub fn bulk_shared(&self, data: &[u8], runs: usize) -> io::Result<Samples> {
        let expected = crate::checksum(data);
        let mut samples = Samples::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            let got = self.call(Request::Shared(IpcSharedMemory::from_bytes(data)))?;
            samples.push(start.elapsed());
            expect("shared memory", got, expected)?;
        }
        Ok(samples)
    }
}
