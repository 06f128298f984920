//! Step 1: the private portal directory and the four daemons in it.

use std::ffi::OsString;
use std::os::unix::fs::DirBuilderExt;

use crate::fail::{Context, Result};
use crate::fleet::{Kind, Ready};

use super::{SCREEN, Tour};

/// Creates the portal directory (0700, as discovery requires), starts the
/// daemons together and waits for each one's `ready` line.
pub fn run(tour: &mut Tour) -> Result<()> {
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&tour.portal)
        .context(format_args!(
            "could not create the portal directory `{}`",
            tour.portal.display()
        ))?;
    tour.report.detail(format_args!(
        "private portal directory: {}",
        tour.portal.display()
    ));
    tour.report.detail(format_args!(
        "each daemon is this program again: `tour daemon <name> --portal-dir <dir> ...`"
    ));
    let portal = tour.portal.as_os_str().to_owned();
    let config_dir = tour.config_dir.as_os_str().to_owned();
    let args = |kind: Kind| -> Vec<OsString> {
        let mut args = vec!["--portal-dir".into(), portal.clone()];
        match kind {
            Kind::Configd => args.extend(["--config-dir".into(), config_dir.clone()]),
            Kind::Windowd => args.extend([
                "--screen".into(),
                format!("{}x{}", SCREEN.0, SCREEN.1).into(),
            ]),
            Kind::Clipboardd | Kind::Imaged => {}
        }
        args
    };
    let kinds = [Kind::Configd, Kind::Clipboardd, Kind::Imaged, Kind::Windowd];
    let mut starting = Vec::new();
    for kind in kinds {
        starting.push(tour.fleet.spawn(kind, &args(kind))?);
    }
    for started in starting {
        let ready = match tour.fleet.wait_ready(started) {
            Ok(ready) => ready,
            Err(failure) if failure_is_imaged(&failure) => {
                // Where seccomp is missing imaged cannot confine itself;
                // the tour goes on without the sandbox, and says so.
                tour.report.detail(format_args!(
                    "imaged did not start ({failure}); starting it again with --no-sandbox"
                ));
                let mut retry = args(Kind::Imaged);
                retry.push("--no-sandbox".into());
                let started = tour.fleet.spawn(Kind::Imaged, &retry)?;
                tour.fleet.wait_ready(started)?
            }
            Err(failure) => return Err(failure),
        };
        tour.report.done(describe(&ready), ready.took);
        tour.ready.push(ready);
    }
    Ok(())
}

fn failure_is_imaged(failure: &crate::fail::Failure) -> bool {
    failure.to_string().starts_with("imaged ")
}

/// `configd    pid 4242    ready, listens as config`
fn describe(ready: &Ready) -> String {
    let line = ready
        .line
        .strip_prefix("ready")
        .unwrap_or(&ready.line)
        .trim();
    let shown = match ready.kind {
        // `image=PATH simple=PATH sandbox=on`: the names and the sandbox.
        Kind::Imaged => {
            let field = |key: &str| {
                line.split(' ')
                    .find_map(|field| field.strip_prefix(key)?.strip_prefix('='))
                    .map(|value| value.rsplit('/').next().unwrap_or(value))
                    .unwrap_or("?")
            };
            format!(
                "{} and {} (sandbox {})",
                field("image"),
                field("simple"),
                field("sandbox")
            )
        }
        _ => line.rsplit('/').next().unwrap_or(line).to_owned(),
    };
    format!(
        "{:<10} pid {:<7} ready, listens as {shown}",
        ready.kind.name(),
        ready.pid
    )
}
