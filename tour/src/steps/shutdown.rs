//! Step 7: SIGTERM to each daemon, and each must exit with status 0.

use crate::fail::{Result, ensure};

use super::Tour;

/// Runs the step.
pub fn run(tour: &mut Tour) -> Result<()> {
    let stopped = tour.fleet.shutdown();
    ensure(stopped.len() == tour.ready.len(), || {
        format!(
            "{} daemons were started but {} could be stopped",
            tour.ready.len(),
            stopped.len()
        )
    })?;
    for daemon in &stopped {
        let name = daemon.kind.name();
        ensure(!daemon.killed, || {
            format!(
                "{name} (pid {}) ignored SIGTERM for 10 s and was killed",
                daemon.pid
            )
        })?;
        ensure(daemon.status.success(), || {
            format!(
                "{name} (pid {}) stopped with {} instead of exit status 0",
                daemon.pid, daemon.status
            )
        })?;
        tour.report.done(
            format_args!(
                "{name:<10} pid {:<7} SIGTERM: stopped, exit status 0",
                daemon.pid
            ),
            daemon.took,
        );
    }
    Ok(())
}
