//! The steps of the tour, in order, and what they share ([`Tour`]).

mod clipboard;
mod config;
mod images;
mod listing;
mod shutdown;
mod start;
mod windows;

use std::path::{Path, PathBuf};
use std::time::Duration;

use courier_imaged::Frame;

use crate::fail::Result;
use crate::fleet::{Fleet, Ready};
use crate::report::Report;

/// The titles of the steps, in order (the tests look for them).
pub const TITLES: [&str; 7] = [
    "Start the services, each in its own process",
    "configd: one client writes a setting, another is notified",
    "clipboardd: copy in one client, paste in another",
    "imaged: decode a PNG and an animated GIF in a confined process",
    "windowd: two clients draw overlapping windows; a screenshot",
    "List the live services",
    "Shut everything down",
];

/// How long the tour waits for a notification that should come at once.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// The screen of the window server: small, so the screenshot is quick.
pub const SCREEN: (u32, u32) = (480, 320);

/// What the steps share.
#[derive(Debug)]
pub struct Tour {
    /// Where the tour prints.
    pub report: Report,
    /// The daemons.
    pub fleet: Fleet,
    /// The private portal directory the daemons listen in.
    pub portal: PathBuf,
    /// configd's INI files.
    pub config_dir: PathBuf,
    /// Where `screen.png` goes.
    pub out_dir: PathBuf,
    /// The daemons once ready.
    pub ready: Vec<Ready>,
    /// The PNG as imaged decoded it, for the first window.
    pub decoded_png: Option<Frame>,
    /// Where `screen.png` was written.
    pub screenshot: Option<PathBuf>,
    /// The test hook `--hold-before-step`.
    pub hold_before_step: Option<usize>,
}

impl Tour {
    /// A tour whose daemons live in the fleet's private directory and whose
    /// picture goes to `out_dir`.
    pub fn new(report: Report, fleet: Fleet, out_dir: PathBuf) -> Tour {
        let workdir = fleet.workdir().to_owned();
        Tour {
            report,
            fleet,
            portal: workdir.join("portal"),
            config_dir: workdir.join("config"),
            out_dir,
            ready: Vec::new(),
            decoded_png: None,
            screenshot: None,
            hold_before_step: None,
        }
    }

    /// The private directory (removed at the end).
    fn workdir(&self) -> &Path {
        self.fleet.workdir()
    }

    /// Runs every step in order; the first failure stops the tour.
    ///
    /// # Errors
    ///
    /// The failing step's [`Failure`](crate::fail::Failure).
    pub fn run(&mut self) -> Result<()> {
        let steps: [fn(&mut Tour) -> Result<()>; 7] = [
            start::run,
            config::run,
            clipboard::run,
            images::run,
            windows::run,
            listing::run,
            shutdown::run,
        ];
        for (index, (title, step)) in TITLES.iter().zip(steps).enumerate() {
            if self.hold_before_step == Some(index + 1) {
                hold(index + 1)?;
            }
            self.report.step(title);
            step(self)?;
        }
        Ok(())
    }
}

/// The test hook: says it holds, then waits for a line on stdin.
fn hold(step: usize) -> Result<()> {
    use std::io::{BufRead, Write};
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "holding before step {step}");
    let _ = stdout.flush();
    drop(stdout);
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => Err(crate::fail::Failure::new(format!(
            "stopped before step {step}: stdin closed (--hold-before-step)"
        ))),
        Ok(_) => Ok(()),
    }
}
