//! The `clipboardd` command line: its options and [`main_with_args`], which
//! the `clipboardd` binary (and the tour) runs. See the crate's README.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::SERVICE_NAME;
use crate::clipboard_client::ClipboardClient;
use crate::clipboard_server::ClipboardServer;
use crate::service::{self, Options};
use clap::Parser;
use courier::discovery::Portal;
use courier::tokio::MultiServer;

/// The session's clipboard: SerenityOS's Clipboard service on courier.
///
/// Listens as `clipboard` in the portal directory (or at --socket), prints
/// `ready <socket path>` on stdout once clients can connect, and serves until
/// SIGINT or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "clipboardd", version)]
struct Args {
    /// The portal directory to listen in [default: $COURIER_PORTAL_DIR, else
    /// $XDG_RUNTIME_DIR/portal, else /tmp/session/SID/portal, SID the session id].
    #[arg(long, value_name = "DIR", conflicts_with = "socket")]
    portal_dir: Option<PathBuf>,
    /// Listen at this socket path instead of the portal directory.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// The largest clipboard content accepted, in bytes (suffixes K, M, G for
    /// KiB, MiB, GiB); a client that sends more is disconnected.
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = size_in_bytes)]
    max_size: usize,
}

fn size_in_bytes(text: &str) -> Result<usize, String> {
    let (digits, shift) = match text.as_bytes().last() {
        Some(b'K' | b'k') => (&text[..text.len() - 1], 10),
        Some(b'M' | b'm') => (&text[..text.len() - 1], 20),
        Some(b'G' | b'g') => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    let number: usize = digits.parse().map_err(|_| {
        format!("`{text}` is not a size: write a number of bytes, optionally followed by K, M or G")
    })?;
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large a size for this machine"))
}

/// The `clipboardd` command: parses `args` (the first item is the program
/// name, as in [`std::env::args_os`]), serves until SIGTERM or SIGINT and
/// returns the exit status: success after a clean stop, 2 for a usage
/// error (after printing it), failure when clipboardd could not start.
///
/// The `clipboardd` binary is this function over [`std::env::args_os`]; another
/// program can run the daemon the same way (the tour re-executes itself as
/// `tour daemon clipboardd ...`).
///
/// ```no_run
/// use std::process::ExitCode;
///
/// fn main() -> ExitCode {
///     courier_clipboardd::cli::main_with_args(std::env::args_os())
/// }
/// ```
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    courier::init_tracing_from_env();
    let args = match Args::try_parse_from(args) {
        Ok(args) => args,
        Err(error) => return clap_exit(&error),
    };
    match serve(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("clipboardd: {error}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: &Args) -> Result<(), courier::Error> {
    let max_size = args.max_size;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(courier::Error::Io)?;
    runtime.block_on(async {
        let (server, path) = bind(args)?;
        // Registered before the readiness line, so that a signal sent as
        // soon as it is read is not missed.
        server
            .shutdown_handle()
            .shutdown_on_termination_signals()
            .map_err(courier::Error::Io)?;
        let mut stdout = std::io::stdout().lock();
        // The readiness line: the socket is listening now.
        writeln!(stdout, "ready {}", path.display())
            .and_then(|()| stdout.flush())
            .map_err(courier::Error::Io)?;
        drop(stdout);
        service::run(server, Options { max_size }).await
    })
}

type Server = MultiServer<ClipboardServer, ClipboardClient>;

fn bind(args: &Args) -> Result<(Server, PathBuf), courier::Error> {
    if let Some(path) = &args.socket {
        return Ok((Server::bind(path)?, path.clone()));
    }
    let portal = match &args.portal_dir {
        Some(dir) => Portal::at(dir),
        None => Portal::from_env()?,
    };
    let listener = portal.bind_or_take(SERVICE_NAME)?;
    let path = listener.path().to_owned();
    Ok((Server::from_service(listener), path))
}

/// Prints a clap error (or the help or version it stands for) and gives its
/// exit status.
fn clap_exit(error: &clap::Error) -> ExitCode {
    let _ = error.print();
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}
