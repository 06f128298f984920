//! tarpc over a Unix socket, with tokio-serde's bincode transport.

use std::io;
use std::path::Path;
use std::time::Instant;

use futures::{StreamExt, future};
use tarpc::server::{BaseChannel, Channel};
use tarpc::tokio_serde::formats::Bincode;
use tarpc::{client, context};

use crate::report::Samples;

/// The tarpc service: the same ping as courier's.
#[tarpc::service]
pub trait PingService {
    /// Answers `x + 1`.
    async fn ping(x: u64) -> u64;
}

#[derive(Clone)]
struct Pinger;

impl PingService for Pinger {
    async fn ping(self, _: context::Context, x: u64) -> u64 {
        x.wrapping_add(1)
    }
}

async fn spawn(task: impl Future<Output = ()> + Send + 'static) {
    tokio::spawn(task);
}

/// Serves on a current-thread runtime, on a thread of its own, forever.
pub fn serve(path: &Path) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let incoming =
        runtime.block_on(tarpc::serde_transport::unix::listen(path, Bincode::default))?;
    std::thread::spawn(move || {
        runtime.block_on(
            incoming
                .filter_map(|transport| future::ready(transport.ok()))
                .map(BaseChannel::with_defaults)
                .for_each(|channel| async move {
                    tokio::spawn(channel.execute(Pinger.serve()).for_each(spawn));
                }),
        )
    });
    Ok(())
}

/// `n` round trips from a current-thread runtime.
pub fn round_trips(path: &Path, n: usize) -> io::Result<Samples> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let transport = tarpc::serde_transport::unix::connect(path, Bincode::default).await?;
        let client = PingServiceClient::new(client::Config::default(), transport).spawn();
        let mut samples = Samples::with_capacity(n);
        for x in 0..n as u64 {
            let start = Instant::now();
            let y = client
                .ping(context::current(), x)
                .await
                .map_err(|e| io::Error::other(format!("tarpc: {e}")))?;
            samples.push(start.elapsed());
            if y != x + 1 {
                return Err(io::Error::other(format!(
                    "tarpc ping answered {y}, expected {}",
                    x + 1
                )));
            }
        }
        Ok(samples)
    })
}
