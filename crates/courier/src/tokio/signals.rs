//! Stopping a service on SIGTERM or SIGINT.

use std::future::Future;
use std::io;

use tokio::signal::unix::{SignalKind, signal};

/// Registers for SIGTERM and SIGINT now, and returns a future that resolves
/// when either arrives: what a daemon awaits before shutting its server down.
///
/// Registration happens in this call, not when the future is first polled,
/// so a daemon that calls it before printing its readiness line cannot miss
/// a signal sent as soon as that line is read. From then on the two signals
/// no longer kill the process. Must be called inside a tokio runtime with
/// I/O enabled.
///
/// # Errors
///
/// The error of installing either handler.
///
/// To shut a [`MultiServer`](super::MultiServer) down on either, see
/// [`ShutdownHandle::shutdown_on_termination_signals`](super::ShutdownHandle::shutdown_on_termination_signals);
/// await this future yourself to do more first (log, flush).
///
/// # Example
///
/// ```no_run
/// # async fn serve() -> std::io::Result<()> {
/// let terminated = courier::tokio::termination_signals()?;
/// println!("ready");
/// terminated.await;
/// eprintln!("stopping");
/// # Ok(())
/// # }
/// ```
pub fn termination_signals() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}
