//! `IPC_DEBUG` and `IPC_TRACE`: logs for people debugging IPC.
//!
//! courier logs through `tracing` under the target `courier`:
//!
//! - `debug`: connection life: connect, handshake (both endpoints and the
//!   peer's message limit), disconnect and why;
//! - `warn`: a peer disconnected for breaking the protocol or a limit, a
//!   handler that failed a one-way message;
//! - `trace`: every message: direction, endpoint, message name, request id,
//!   sizes, fds, and the decoded arguments.
//!
//! An application with its own `tracing` subscriber sees these like any
//! other logs. One without can call [`init_tracing_from_env`] at start-up.

use std::io::IsTerminal;
use std::sync::Once;

/// Installs a `tracing` subscriber that writes courier's logs to stderr when
/// `IPC_DEBUG` or `IPC_TRACE` is set (to anything but `0` or nothing):
/// `IPC_DEBUG=1` shows connection life, `IPC_TRACE=1` every message too.
///
/// Does nothing when neither is set, when called again, or when the
/// application already installed a global subscriber.
///
/// # Example
///
/// ```
/// // First thing in `main`:
/// courier::init_tracing_from_env();
/// ```
pub fn init_tracing_from_env() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let level = if is_set("IPC_TRACE") {
            "trace"
        } else if is_set("IPC_DEBUG") {
            "debug"
        } else {
            return;
        };
        let filter = tracing_subscriber::EnvFilter::new(format!("courier={level}"));
        // Fails only when a global subscriber exists; the application's wins.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(|| LossyStderr(std::io::stderr()))
            .with_ansi(std::io::stderr().is_terminal())
            .try_init();
    });
}

/// Stderr that drops what it cannot write. Logging must never take the
/// process down: tracing-subscriber reports a failed write with `eprintln!`,
/// which panics when stderr itself is broken (a closed pipe, a full disk), and
/// a panic in a connection's handler would leave its peer waiting.
struct LossyStderr(std::io::Stderr);

impl std::io::Write for LossyStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A log line that cannot be written is lost, on purpose.
        let _ = self.0.write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

fn is_set(variable: &str) -> bool {
    std::env::var_os(variable).is_some_and(|value| !value.is_empty() && value != "0")
}
