//! The `imaged` command line: its options and [`main_with_args`], which the
//! `imaged` binary (and the tour) runs.
//!
//! Run `imaged --help` for the options; the README's `## imaged` section is
//! the manual.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::DecodeLimits;
use crate::sandbox;
use crate::server::{Config, Imaged, Listen};
use clap::Parser;

/// Decode untrusted images (PNG, JPEG, GIF, BMP, WebP) for other processes,
/// in a confined process: SerenityOS's ImageDecoder on courier.
///
/// Serves SerenityOS's ImageDecoderServer (events through
/// ImageDecoderClient) as the service `image`, and the simple synchronous
/// ImageDecoder as `image-simple`, in the portal directory. Once listening
/// it forbids itself files, sockets and new processes (no_new_privs and a
/// seccomp filter), then prints one line `ready image=PATH simple=PATH
/// sandbox=on|off` on stdout. SIGTERM or SIGINT stop it cleanly.
#[derive(Debug, Parser)]
#[command(name = "imaged", version)]
struct Args {
    /// The portal directory to listen in (default: $XDG_RUNTIME_DIR/portal,
    /// else /tmp/session/SID/portal).
    #[arg(long, env = "COURIER_PORTAL_DIR", value_name = "DIR")]
    portal_dir: Option<PathBuf>,

    /// Listen for ImageDecoderServer at PATH instead of the portal
    /// directory (it wins over --portal-dir); the simple endpoint then
    /// listens at PATH.simple.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,

    /// The simple endpoint's socket, with --socket (default: PATH.simple).
    #[arg(long, value_name = "PATH", requires = "socket")]
    simple_socket: Option<PathBuf>,

    /// Widest image accepted, in pixels.
    #[arg(long, value_name = "PIXELS", default_value_t = DecodeLimits::default().max_width)]
    max_width: u32,

    /// Tallest image accepted, in pixels.
    #[arg(long, value_name = "PIXELS", default_value_t = DecodeLimits::default().max_height)]
    max_height: u32,

    /// Most pixels of one image, all frames together.
    #[arg(long, value_name = "PIXELS", default_value_t = DecodeLimits::default().max_pixels)]
    max_pixels: u64,

    /// Most frames of an animation.
    #[arg(long, value_name = "N", default_value_t = DecodeLimits::default().max_frames)]
    max_frames: usize,

    /// Largest encoded image accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DecodeLimits::default().max_input_bytes)]
    max_input_bytes: usize,

    /// Decoding threads (started before confinement).
    #[arg(long, value_name = "N", default_value_t = 2)]
    workers: usize,

    /// Do not confine the process (no seccomp filter, no no_new_privs): for
    /// systems without seccomp, or to debug a decoder under strace or gdb.
    #[arg(long)]
    no_sandbox: bool,

    /// Test hook: after confinement, try to open PATH, make a socket and
    /// start a process, and print each outcome on stdout before `ready`.
    #[arg(long, value_name = "PATH", hide = true)]
    probe_confinement: Option<PathBuf>,
}

/// The `imaged` command: parses `args` (the first item is the program
/// name, as in [`std::env::args_os`]), serves until SIGTERM or SIGINT and
/// returns the exit status: success after a clean stop, 2 for a usage
/// error (after printing it), failure when imaged could not start.
///
/// The `imaged` binary is this function over [`std::env::args_os`]; another
/// program can run the daemon the same way (the tour re-executes itself as
/// `tour daemon imaged ...`).
///
/// ```no_run
/// use std::process::ExitCode;
///
/// fn main() -> ExitCode {
///     courier_imaged::cli::main_with_args(std::env::args_os())
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
        Err(message) => {
            eprintln!("imaged: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let listen = match (args.socket, args.simple_socket) {
        (Some(image), Some(simple)) => Listen::Sockets { image, simple },
        (Some(image), None) => Listen::socket(image),
        (None, _) => Listen::Portal(args.portal_dir),
    };
    let config = Config {
        listen,
        limits: DecodeLimits {
            max_width: args.max_width,
            max_height: args.max_height,
            max_pixels: args.max_pixels,
            max_frames: args.max_frames,
            max_input_bytes: args.max_input_bytes,
        },
        workers: args.workers,
        ..Config::default()
    };
    let imaged = Imaged::start(config).map_err(|e| e.to_string())?;
    // Signal handlers are installed before confinement.
    let terminated = imaged
        .block_on(async { courier::tokio::termination_signals() })
        .map_err(|e| format!("could not handle SIGTERM and SIGINT: {e}"))?;
    let mut stdout = std::io::stdout().lock();
    if !args.no_sandbox {
        sandbox::confine().map_err(|e| e.to_string())?;
    }
    if let Some(path) = &args.probe_confinement {
        for result in sandbox::probe(path) {
            let _ = writeln!(stdout, "{result}");
        }
    }
    let _ = writeln!(
        stdout,
        "ready image={} simple={} sandbox={}",
        imaged.image_socket().display(),
        imaged.simple_socket().display(),
        if args.no_sandbox { "off" } else { "on" }
    );
    let _ = stdout.flush();
    drop(stdout);
    imaged.block_on(terminated);
    let errors = imaged.shutdown();
    for error in &errors {
        eprintln!("imaged: {error}");
    }
    Ok(())
}

/// Prints a clap error (or the help or version it stands for) and gives its
/// exit status.
fn clap_exit(error: &clap::Error) -> ExitCode {
    let _ = error.print();
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}
