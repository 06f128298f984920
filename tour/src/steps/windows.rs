//! Step 5: windowd. Two clients open overlapping windows, the first showing
//! the PNG imaged decoded, the second a translucent overlay; windowd
//! composites them and writes `screen.png`.

use courier::gfx::IntRect;
use courier_windowd::{WindowEvent, save_screenshot, take_events};

use crate::fail::{Context, Failure, Result, ensure};
use crate::pictures;
use crate::report::timed;

use super::{SCREEN, Tour};

/// Where the first window (the PNG) goes.
const FIRST_AT: (i32, i32) = (32, 40);

/// The second window: over the first one's lower right corner.
const SECOND: IntRect = IntRect::new(160, 120, 240, 150);

/// Runs the step.
pub fn run(tour: &mut Tour) -> Result<()> {
    let frame = tour
        .decoded_png
        .clone()
        .ok_or_else(|| Failure::new("no decoded PNG to show (the imaged step did not run)"))?;
    let (viewer, took) = timed(|| courier_windowd::connect_in(&tour.portal));
    let viewer = viewer.context("the first client could not connect to windowd")?;
    let painter = courier_windowd::connect_in(&tour.portal)
        .context("the second client could not connect to windowd")?;
    let screen = viewer
        .get_screen_size()
        .context("windowd did not give its screen size")?;
    tour.report.done(
        format_args!(
            "two clients connect to windowd (service `window`): a {}×{} screen",
            screen.width, screen.height
        ),
        took,
    );

    let (width, height) = (frame.width(), frame.height());
    let first_rect = IntRect::new(FIRST_AT.0, FIRST_AT.1, width as i32, height as i32);
    let bitmap = pictures::bitmap_from_rgba(width, height, frame.rgba())?;
    let (first, took) = timed(|| -> Result<i32> {
        let id = viewer
            .create_window(first_rect, "Decoded by imaged".into())
            .context("could not create the first window")?;
        viewer
            .set_window_bitmap(id, bitmap)
            .context("could not show the PNG in the first window")?;
        Ok(id)
    });
    let first = first?;
    tour.report.done(
        format_args!(
            "client 1: window {first} \"Decoded by imaged\" at ({}, {}), {width}×{height}, \
             showing the PNG",
            FIRST_AT.0, FIRST_AT.1
        ),
        took,
    );

    let overlay = pictures::overlay(SECOND.width as u32, SECOND.height as u32)?;
    let (second, took) = timed(|| -> Result<i32> {
        let id = painter
            .create_window(SECOND, "Overlay".into())
            .context("could not create the second window")?;
        painter
            .set_window_bitmap(id, overlay)
            .context("could not show the overlay in the second window")?;
        Ok(id)
    });
    let second = second?;
    tour.report.done(
        format_args!(
            "client 2: window {second} \"Overlay\" at ({}, {}), {}×{}, translucent, on top",
            SECOND.x, SECOND.y, SECOND.width, SECOND.height
        ),
        took,
    );

    for (name, client, window) in [("client 1", &viewer, first), ("client 2", &painter, second)] {
        let events = take_events(client).context("could not read windowd's events")?;
        let painted = events.iter().any(
            |event| matches!(event, WindowEvent::Paint { window_id, .. } if *window_id == window),
        );
        ensure(painted, || {
            format!("{name} was not sent Paint for window {window}: {events:?}")
        })?;
        tour.report
            .detail(format_args!("{name} received Paint for window {window}"));
    }

    std::fs::create_dir_all(&tour.out_dir).context(format_args!(
        "could not create the output directory `{}`",
        tour.out_dir.display()
    ))?;
    let out_dir = tour.out_dir.canonicalize().context(format_args!(
        "could not resolve the output directory `{}`",
        tour.out_dir.display()
    ))?;
    let path = out_dir.join("screen.png");
    let (saved, took) = timed(|| save_screenshot(&painter, &path));
    saved.context("windowd could not write the screenshot")?;
    let written =
        std::fs::read(&path).context(format_args!("could not read back `{}`", path.display()))?;
    tour.report.done(
        format_args!(
            "windowd composites the screen: screen.png, {} bytes",
            written.len()
        ),
        took,
    );

    // Check the picture: its size, the PNG where nothing covers it, and a
    // blend where the overlay does.
    let screenshot = image::load_from_memory(&written)
        .context("the screenshot is not a readable PNG")?
        .to_rgba8();
    ensure(screenshot.dimensions() == SCREEN, || {
        format!(
            "the screenshot is {:?}, the screen {SCREEN:?}",
            screenshot.dimensions()
        )
    })?;
    let (x, y) = (10, 10);
    let uncovered = screenshot
        .get_pixel((FIRST_AT.0 + x) as u32, (FIRST_AT.1 + y) as u32)
        .0;
    ensure(frame.pixel(x as u32, y as u32) == Some(uncovered), || {
        format!("the screenshot does not show the PNG's pixel ({x}, {y}) at its place")
    })?;
    let (bx, by) = (SECOND.x + 20, SECOND.y + 10);
    let below = frame
        .pixel((bx - FIRST_AT.0) as u32, (by - FIRST_AT.1) as u32)
        .unwrap_or_default();
    let blended = screenshot.get_pixel(bx as u32, by as u32).0;
    ensure(blended != below, || {
        format!("the overlay does not show over the PNG at ({bx}, {by})")
    })?;
    tour.report.detail(format_args!(
        "checked: {}×{}, the PNG exact where uncovered, blended under the overlay",
        SCREEN.0, SCREEN.1
    ));
    tour.report
        .detail(format_args!("written to {}", path.display()));
    tour.screenshot = Some(path);
    Ok(())
}
