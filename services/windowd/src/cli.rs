//! The `windowd` command line: its options and [`main_with_args`], which
//! the `windowd` binary (and the tour) runs. See the crate's README.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::SERVICE_NAME;
use crate::service::{self, DEFAULT_MAX_WINDOWS, MAX_SCREEN_SIDE, Options};
use crate::window_client::WindowClient;
use crate::window_server::WindowServer;
use clap::Parser;
use courier::discovery::Portal;
use courier::gfx::{Color, IntSize};
use courier::tokio::MultiServer;

/// A window server: clients create windows and show bitmaps in them; it
/// composites them into a screen and writes it as a PNG on request.
///
/// Listens as `window` in the portal directory (or at --socket), prints
/// `ready <socket path>` on stdout once clients can connect, and serves until
/// SIGINT or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "windowd", version)]
struct Args {
    /// The portal directory to listen in [default: $COURIER_PORTAL_DIR, else
    /// $XDG_RUNTIME_DIR/portal, else /tmp/session/SID/portal, SID the session id].
    #[arg(long, value_name = "DIR", conflicts_with = "socket")]
    portal_dir: Option<PathBuf>,
    /// Listen at this socket path instead of the portal directory.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// The screen's size in pixels, WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH", default_value = "800x600", value_parser = parse_screen)]
    screen: IntSize,
    /// The colour where no window is, as RRGGBB in hexadecimal.
    #[arg(long, value_name = "RRGGBB", default_value = "203040", value_parser = parse_colour)]
    background: Color,
    /// How many windows one client may have open at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_WINDOWS)]
    max_windows: usize,
}

fn parse_screen(text: &str) -> Result<IntSize, String> {
    let invalid = || {
        format!(
            "`{text}` is not a screen size: write WIDTHxHEIGHT, each from 1 to {MAX_SCREEN_SIDE} \
             (such as 800x600)"
        )
    };
    let (width, height) = text.split_once(['x', 'X']).ok_or_else(invalid)?;
    let side = |side: &str| {
        side.parse::<i32>()
            .ok()
            .filter(|side| (1..=MAX_SCREEN_SIDE).contains(side))
            .ok_or_else(invalid)
    };
    Ok(IntSize::new(side(width)?, side(height)?))
}

fn parse_colour(text: &str) -> Result<Color, String> {
    let digits = text.strip_prefix('#').unwrap_or(text);
    let rgb = (digits.len() == 6)
        .then(|| u32::from_str_radix(digits, 16).ok())
        .flatten()
        .ok_or_else(|| format!("`{text}` is not a colour: write RRGGBB in hexadecimal"))?;
    Ok(Color::from_argb(0xff00_0000 | rgb))
}

/// The `windowd` command: parses `args` (the first item is the program
/// name, as in [`std::env::args_os`]), serves until SIGTERM or SIGINT and
/// returns the exit status: success after a clean stop, 2 for a usage
/// error (after printing it), failure when windowd could not start.
///
/// The `windowd` binary is this function over [`std::env::args_os`]; another
/// program can run the daemon the same way (the tour re-executes itself as
/// `tour daemon windowd ...`).
///
/// ```no_run
/// use std::process::ExitCode;
///
/// fn main() -> ExitCode {
///     courier_windowd::cli::main_with_args(std::env::args_os())
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
            eprintln!("windowd: {error}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: &Args) -> Result<(), courier::Error> {
    let options = Options {
        screen: args.screen,
        background: args.background,
        max_windows_per_client: args.max_windows,
    };
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
        service::run(server, options).await
    })
}

type Server = MultiServer<WindowServer, WindowClient>;

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
