//! Step 3: clipboardd. Text copied by one client is pasted by another,
//! which was told of the change; then a bitmap, pixel for pixel.

use std::time::Instant;

use courier_clipboardd::{BITMAP_MIME_TYPE, Clipboard, TEXT_MIME_TYPE};

use crate::fail::{Context, Failure, Result, ensure};
use crate::pictures;
use crate::report::timed;

use super::{EVENT_TIMEOUT, Tour};

/// Runs the step.
pub fn run(tour: &mut Tour) -> Result<()> {
    let (copier, took) = timed(|| Clipboard::connect_in(&tour.portal));
    let copier = copier.context("the copying client could not connect to clipboardd")?;
    let paster = Clipboard::connect_in(&tour.portal)
        .context("the pasting client could not connect to clipboardd")?;
    tour.report
        .done("a copying and a pasting client connect to clipboardd", took);

    let text = "Hello through shared memory";
    let copied = Instant::now();
    copier
        .set_text(text)
        .context("could not copy text to the clipboard")?;
    expect_change(&paster, TEXT_MIME_TYPE)?;
    tour.report.done(
        format_args!("copy \"{text}\"; the paster is told: {TEXT_MIME_TYPE}"),
        copied.elapsed(),
    );
    let (pasted, took) = timed(|| paster.get_text());
    let pasted = pasted.context("could not paste the text")?;
    ensure(pasted.as_deref() == Some(text), || {
        format!("pasted {pasted:?}, not the text copied")
    })?;
    tour.report.done("paste: the same text", took);

    let (width, height) = (96, 64);
    let card = pictures::card(width, height)?;
    let copied = Instant::now();
    copier
        .set_bitmap(&card)
        .context("could not copy a bitmap to the clipboard")?;
    expect_change(&paster, BITMAP_MIME_TYPE)?;
    tour.report.done(
        format_args!("copy a {width}×{height} bitmap; the paster is told: {BITMAP_MIME_TYPE}"),
        copied.elapsed(),
    );
    let (pasted, took) = timed(|| paster.get_bitmap());
    let pasted = pasted
        .context("could not paste the bitmap")?
        .ok_or_else(|| Failure::new("the clipboard holds no bitmap after a bitmap was copied"))?;
    ensure((pasted.width(), pasted.height()) == (width, height), || {
        format!(
            "pasted a {}×{} bitmap, copied {width}×{height}",
            pasted.width(),
            pasted.height()
        )
    })?;
    for y in 0..height {
        for x in 0..width {
            ensure(pasted.pixel(x, y) == card.pixel(x, y), || {
                format!("pasted pixel ({x}, {y}) differs from the copied one")
            })?;
        }
    }
    tour.report.done(
        format_args!(
            "paste: {width}×{height}, all {} pixels equal, {} bytes{}",
            width * height,
            pasted.pixels().len(),
            if pasted.is_sealed() {
                ", sealed read-only"
            } else {
                ""
            }
        ),
        took,
    );

    // Every change is announced to every client, the copier's own included.
    for mime_type in [TEXT_MIME_TYPE, BITMAP_MIME_TYPE] {
        expect_change(&copier, mime_type)?;
    }
    tour.report
        .detail("the copier heard of both changes too: every client is told");
    Ok(())
}

/// Waits for `client`'s next change notification and checks its mime type.
fn expect_change(client: &Clipboard, mime_type: &str) -> Result<()> {
    let change = client
        .next_change(EVENT_TIMEOUT)
        .context("the clipboard connection closed")?
        .ok_or_else(|| {
            Failure::new(format!(
                "no clipboard change notification within {} s (expected {mime_type})",
                EVENT_TIMEOUT.as_secs()
            ))
        })?;
    ensure(change.mime_type == mime_type, || {
        format!(
            "the clipboard announced {}, expected {mime_type}",
            change.mime_type
        )
    })
}
