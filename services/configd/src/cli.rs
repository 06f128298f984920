//! The `configd` command line: its options and [`main_with_args`], which
//! the `configd` binary (and the tour) runs. See the crate's README.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::server::{Daemon, Listen, SERVICE_NAME};
use clap::Parser;

/// configd: settings for applications, stored as INI files (one per
/// domain) and served over courier as SerenityOS's ConfigServer.
///
/// Prints `ready <socket>` on stdout once clients can connect. Stops on
/// SIGTERM or SIGINT, removing its socket. Logs to stderr with IPC_DEBUG=1
/// (connections and changes) or IPC_TRACE=1 (every message).
#[derive(Debug, Parser)]
#[command(name = "configd", version)]
struct Args {
    /// The directory of the INI files (`<dir>/<domain>.ini`); created if
    /// missing. Default: $XDG_CONFIG_HOME, else ~/.config.
    #[arg(long, value_name = "DIR")]
    config_dir: Option<PathBuf>,

    /// Listen as `config` in this portal directory. Default:
    /// $COURIER_PORTAL_DIR, else $XDG_RUNTIME_DIR/portal, else
    /// `/tmp/session/<sid>/portal`.
    #[arg(long, value_name = "DIR", conflicts_with = "socket")]
    portal_dir: Option<PathBuf>,

    /// Listen on a socket at this path instead of in a portal directory.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
}

/// The library's log target, which `init_tracing_from_env` shows (it
/// filters on the `courier` prefix).
const LOG_TARGET: &str = "courier_configd";

fn default_config_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
        if dir.is_absolute() {
            return Ok(dir);
        }
    }
    match std::env::var_os("HOME").map(PathBuf::from) {
        Some(home) if home.is_absolute() => Ok(home.join(".config")),
        _ => Err(
            "no config directory: neither XDG_CONFIG_HOME nor HOME is an absolute path; pass --config-dir"
                .to_owned(),
        ),
    }
}

/// The `configd` command: parses `args` (the first item is the program
/// name, as in [`std::env::args_os`]), serves until SIGTERM or SIGINT and
/// returns the exit status: success after a clean stop, 2 for a usage
/// error (after printing it), failure when configd could not start.
///
/// The `configd` binary is this function over [`std::env::args_os`]; another
/// program can run the daemon the same way (the tour re-executes itself as
/// `tour daemon configd ...`).
///
/// ```no_run
/// use std::process::ExitCode;
///
/// fn main() -> ExitCode {
///     courier_configd::cli::main_with_args(std::env::args_os())
/// }
/// ```
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    courier::init_tracing_from_env();
    let args = match Args::try_parse_from(args) {
        Ok(args) => args,
        Err(error) => return clap_exit(&error),
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("configd: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let config_dir = match args.config_dir {
        Some(dir) => dir,
        None => default_config_dir()?,
    };
    let listen = match (args.socket, args.portal_dir) {
        (Some(path), _) => Listen::Socket(path),
        (None, Some(dir)) => Listen::PortalDir(dir),
        (None, None) => Listen::Session,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| format!("could not start the async runtime: {error}"))?;
    runtime.block_on(async {
        let daemon = Daemon::bind(&config_dir, &listen)?;
        let shutdown = daemon.shutdown_handle();
        let terminated = courier::tokio::termination_signals()?;
        tokio::spawn(async move {
            terminated.await;
            tracing::info!(target: LOG_TARGET, "stopping");
            shutdown.shutdown();
        });
        // A closed stdout must not stop the service.
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "ready {}", daemon.socket_path().display());
        let _ = stdout.flush();
        drop(stdout);
        tracing::info!(
            target: LOG_TARGET,
            "{SERVICE_NAME} ready at `{}`, settings in `{}`",
            daemon.socket_path().display(),
            config_dir.display()
        );
        daemon.run().await?;
        Ok(())
    })
}

/// Prints a clap error (or the help or version it stands for) and gives its
/// exit status.
fn clap_exit(error: &clap::Error) -> ExitCode {
    let _ = error.print();
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}
