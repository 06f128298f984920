//! The courier tour: the whole system in one command.
//!
//! ```text
//! cargo run --release -p courier-tour
//! ```
//!
//! The tour makes a private portal directory and starts four daemons in it,
//! each a separate process speaking courier over Unix sockets: configd
//! (SerenityOS's ConfigServer), clipboardd (its Clipboard), imaged (its
//! ImageDecoder, confined by seccomp) and windowd (the overview's window
//! server). Then it walks through them, printing each action and its time:
//!
//! 1. start the services and wait for each one's `ready` line;
//! 2. configd: client A monitors a domain, client B writes a setting, A is
//!    notified and reads it back;
//! 3. clipboardd: copy text in one client and paste it in another (which is
//!    told of the change), then a bitmap, pixel for pixel;
//! 4. imaged: decode a PNG and an animated GIF (made by the tour: frames,
//!    sizes, durations); a malformed image is refused with a reason and the
//!    service goes on decoding;
//! 5. windowd: two clients draw overlapping windows, one showing the PNG
//!    imaged decoded, and windowd writes `screen.png` (in the current
//!    directory, or `--out DIR`);
//! 6. list the live services: each socket, who listens (pid), its endpoint,
//!    and a request it answers;
//! 7. shut everything down with SIGTERM; each daemon must exit with 0.
//!
//! It exits 0 when every step did what it shows (each is checked, not only
//! printed), 1 with the reason otherwise, 130 on Ctrl-C. Whatever the way
//! out, the daemons are stopped and reaped and the private directory is
//! removed ([`fleet`]).
//!
//! # The daemons without their binaries
//!
//! The tour needs no other binary built: it runs itself again as
//! `tour daemon <configd|clipboardd|imaged|windowd> [ARGS...]`, which runs
//! exactly that daemon's command line (`courier_imaged::cli::main_with_args`
//! and its siblings, what the daemons' own binaries call). `tour daemon
//! imaged --help` shows imaged's options.
#![deny(unsafe_code)]

mod fail;
mod fleet;
mod pictures;
mod report;
mod steps;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use clap::{Parser, ValueEnum};

use crate::fail::{Context, Result};
use crate::fleet::{Fleet, INTERRUPTED, Kind};
use crate::report::Report;
use crate::steps::{TITLES, Tour};

/// A guided tour of courier: configd, clipboardd, imaged and windowd, each
/// in its own process, talking over courier.
///
/// Starts the four daemons in a private portal directory, then writes and
/// watches a setting, copies and pastes text and a bitmap, decodes a PNG
/// and an animated GIF (and a malformed file), draws two windows and saves
/// the screen as screen.png, lists the live services and stops them all,
/// printing each step with its timing. Exit status: 0 when every step
/// passed its checks, 1 otherwise, 130 when interrupted.
#[derive(Debug, Parser)]
#[command(
    name = "tour",
    version,
    after_help = "The services are this program again: `tour daemon <configd|clipboardd|imaged|windowd> \
                  [ARGS...]` runs one daemon with its own options (try `tour daemon imaged --help`)."
)]
struct Args {
    /// Where to write screen.png (created if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,

    /// Print only the summary.
    #[arg(long, short)]
    quiet: bool,

    /// Test hook: before step N, print `holding before step N` and wait for
    /// a line on stdin; the end of stdin fails the tour there.
    #[arg(long, value_name = "N", hide = true)]
    hold_before_step: Option<usize>,
}

fn main() -> ExitCode {
    // `tour daemon NAME ARGS...` is read by hand: every argument after the
    // name, `--help` included, belongs to the daemon.
    let argv: Vec<OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|word| word == "daemon") {
        return daemon(&argv[2..]);
    }
    let args = Args::parse();
    match tour(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if INTERRUPTED.load(Ordering::SeqCst) {
                // The signal thread is cleaning up and exits with 130.
                loop {
                    std::thread::park();
                }
            }
            eprintln!("tour: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// `tour daemon NAME ARGS...`: runs the daemon NAME with ARGS.
fn daemon(argv: &[OsString]) -> ExitCode {
    let names = "configd, clipboardd, imaged or windowd";
    let Some(name) = argv.first() else {
        eprintln!(
            "tour daemon: which daemon? Write `tour daemon NAME [ARGS...]`, NAME one of {names}"
        );
        return ExitCode::from(2);
    };
    match name.to_str().map(|name| Kind::from_str(name, false)) {
        Some(Ok(kind)) => kind.run(argv[1..].to_vec()),
        _ => {
            eprintln!(
                "tour daemon: no daemon called `{}`; NAME is one of {names}",
                name.to_string_lossy()
            );
            ExitCode::from(2)
        }
    }
}

fn tour(args: &Args) -> Result<()> {
    let report = Report::new(TITLES.len(), args.quiet);
    report.say(
        "courier tour: four services, each in its own process, talking over courier\n\
         (configd, clipboardd, imaged and windowd; every step is checked, not only shown)",
    );
    let workdir = tempfile::Builder::new()
        .prefix("courier-tour-")
        .tempdir()
        .context("could not make a private directory for the services")?;
    let fleet = Fleet::new(workdir)?;
    let mut tour = Tour::new(report, fleet, args.out.clone());
    tour.hold_before_step = args.hold_before_step;
    tour.run()?;
    let screenshot = tour.screenshot.as_ref().map_or_else(String::new, |path| {
        format!("screen.png: {}", path.display())
    });
    tour.report.summary(screenshot);
    Ok(())
}
