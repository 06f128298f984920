//! Step 2: configd. Client A monitors a domain, client B writes to it, A
//! is notified, and reads the value back; the INI file shows it on disk.

use std::sync::mpsc;
use std::time::Instant;

use courier_configd::client::{Config, ConfigEvent, Value};

use crate::fail::{Context, Failure, Result, ensure};
use crate::report::timed;

use super::{EVENT_TIMEOUT, Tour};

/// The domain the tour writes in.
const DOMAIN: &str = "Tour";

/// Runs the step.
pub fn run(tour: &mut Tour) -> Result<()> {
    let (watcher, took) = timed(|| Config::connect_in(&tour.portal));
    let watcher = watcher.context("client A could not connect to configd")?;
    let writer =
        Config::connect_in(&tour.portal).context("client B could not connect to configd")?;
    tour.report.done(
        "clients A and B connect to configd (service `config`)",
        took,
    );

    let (sender, events) = mpsc::channel();
    let (monitored, took) = timed(|| {
        watcher.monitor(DOMAIN, move |event| {
            let _ = sender.send(event.clone());
        })
    });
    monitored.context("client A could not monitor the domain")?;
    tour.report
        .done(format_args!("A monitors the domain `{DOMAIN}`"), took);

    let text = "hello from client B";
    let written = Instant::now();
    writer
        .write_string(DOMAIN, "Greeting", "Text", text)
        .context("client B could not write a setting")?;
    tour.report.done(
        format_args!("B writes {DOMAIN} / Greeting / Text = \"{text}\""),
        written.elapsed(),
    );
    let expected = ConfigEvent::Changed {
        domain: DOMAIN.to_owned(),
        group: "Greeting".to_owned(),
        key: "Text".to_owned(),
        value: Value::String(text.to_owned()),
    };
    expect_event(&events, &expected)?;
    tour.report.done(
        format_args!("A is notified: Greeting / Text changed to \"{text}\""),
        written.elapsed(),
    );

    let written = Instant::now();
    writer
        .write_i32(DOMAIN, "Window", "Width", 480)
        .context("client B could not write a number")?;
    let expected = ConfigEvent::Changed {
        domain: DOMAIN.to_owned(),
        group: "Window".to_owned(),
        key: "Width".to_owned(),
        value: Value::I32(480),
    };
    expect_event(&events, &expected)?;
    tour.report.done(
        "B writes Window / Width = 480; A is notified, as an i32",
        written.elapsed(),
    );

    let (read, took) = timed(|| watcher.read_string(DOMAIN, "Greeting", "Text"));
    let read = read.context("client A could not read the setting back")?;
    ensure(read.as_deref() == Some(text), || {
        format!("client A read back {read:?}, not {text:?}")
    })?;
    let width = watcher
        .read_i32_or(DOMAIN, "Window", "Width", 0)
        .context("client A could not read the number back")?;
    ensure(width == 480, || {
        format!("client A read back the width {width}, not 480")
    })?;
    tour.report.done(
        format_args!("A reads it back: \"{text}\", width {width}"),
        took,
    );

    let file = tour.config_dir.join(format!("{DOMAIN}.ini"));
    let on_disk = std::fs::read_to_string(&file)
        .context(format_args!("could not read `{}`", file.display()))?;
    ensure(on_disk.contains(&format!("Text={text}")), || {
        format!("`{}` does not hold the value: {on_disk:?}", file.display())
    })?;
    tour.report
        .detail(format_args!("on disk, {DOMAIN}.ini (written atomically):"));
    for line in on_disk.lines() {
        tour.report.detail(format_args!("  {line}"));
    }
    Ok(())
}

/// Waits for the next notification and checks it is `expected`.
fn expect_event(events: &mpsc::Receiver<ConfigEvent>, expected: &ConfigEvent) -> Result<()> {
    let event = events.recv_timeout(EVENT_TIMEOUT).map_err(|_| {
        Failure::new(format!(
            "client A was not notified of the change within {} s (expected {expected:?})",
            EVENT_TIMEOUT.as_secs()
        ))
    })?;
    ensure(&event == expected, || {
        format!("client A was notified of {event:?}, expected {expected:?}")
    })
}
