//! Many clients: `n` async clients (tasks of one current-thread runtime in
//! this process) on one courier `MultiServer` (a multi-thread runtime with
//! two workers in the server process), each doing round trips.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::courier_rows::connect_async;
use crate::report::Samples;

/// What one level measured.
pub struct Outcome {
    /// One sample per call.
    pub samples: Samples,
    /// Calls per second, all clients together.
    pub calls_per_second: f64,
    /// Growth of the server's resident memory per idle connection, bytes.
    pub rss_per_connection: f64,
}

/// Connects `clients` clients to the server at `path` (process `pid`),
/// reads its resident memory before and after, then has every client make
/// `calls` round trips at once.
pub fn run(path: &Path, pid: u32, clients: usize, calls: usize) -> io::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let before = crate::process::resident_bytes(pid)?;
        let mut connected = Vec::with_capacity(clients);
        for _ in 0..clients {
            connected.push(connect_async(path).await?);
        }
        // Every handshake is done (connect returns after it): the server
        // holds `clients` idle connections now.
        let after = crate::process::resident_bytes(pid)?;
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for client in connected {
            tasks.spawn(async move {
                let mut times = Vec::with_capacity(calls);
                for x in 0..calls as u64 {
                    let start = Instant::now();
                    let y = client.ping(x).await.map_err(io::Error::other)?;
                    times.push(start.elapsed());
                    if y != x + 1 {
                        return Err(io::Error::other(format!(
                            "courier ping answered {y}, expected {}",
                            x + 1
                        )));
                    }
                }
                Ok::<Vec<Duration>, io::Error>(times)
            });
        }
        let mut samples = Samples::with_capacity(clients * calls);
        while let Some(joined) = tasks.join_next().await {
            for time in joined.map_err(io::Error::other)?? {
                samples.push(time);
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        Ok(Outcome {
            samples,
            calls_per_second: (clients * calls) as f64 / elapsed,
            rss_per_connection: after.saturating_sub(before) as f64 / clients as f64,
        })
    })
}
