//! Step 4: imaged. A PNG and an animated GIF, made by the tour, decoded in
//! imaged's confined process; a malformed file is refused with a reason and
//! the service goes on.

use std::time::Duration;

use courier_imaged::{ImageDecoderClient, ImageError};

use crate::fail::{Context, Failure, Result, ensure};
use crate::fleet::Kind;
use crate::pictures::{self, GIF_DURATIONS, GIF_SIDE, PNG_SIZE};
use crate::report::timed;

use super::Tour;

/// The longest a decode may take (a debug build on a busy machine).
const DECODE_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the step.
pub fn run(tour: &mut Tour) -> Result<()> {
    let sandbox = tour
        .ready
        .iter()
        .find(|ready| ready.kind == Kind::Imaged)
        .and_then(|ready| {
            ready
                .line
                .split(' ')
                .find_map(|f| f.strip_prefix("sandbox="))
        })
        .unwrap_or("unknown")
        .to_owned();
    let socket = tour.portal.join(courier_imaged::SERVICE_NAME);
    let (client, took) = timed(|| ImageDecoderClient::connect_to(&socket));
    let mut client = client
        .context("could not connect to imaged")?
        .with_timeout(DECODE_TIMEOUT);
    tour.report.done(
        format_args!(
            "connect to imaged (service `image`), {}",
            if sandbox == "on" {
                "confined: no files, sockets or processes"
            } else {
                "not confined (--no-sandbox)"
            }
        ),
        took,
    );

    let png = pictures::png()?;
    let (decoded, took) = timed(|| client.decode(&png, Some("image/png")));
    let decoded = decoded.context("imaged could not decode the tour's PNG")?;
    let expected = pictures::png_pixels();
    let frame = decoded.first();
    ensure(decoded.frames.len() == 1, || {
        format!("the PNG decoded to {} frames, not 1", decoded.frames.len())
    })?;
    ensure((frame.width(), frame.height()) == PNG_SIZE, || {
        format!(
            "the PNG decoded to {}×{}, not {}×{}",
            frame.width(),
            frame.height(),
            PNG_SIZE.0,
            PNG_SIZE.1
        )
    })?;
    ensure(frame.rgba() == expected.as_raw().as_slice(), || {
        "the PNG's decoded pixels differ from the ones encoded".to_owned()
    })?;
    tour.report.done(
        format_args!(
            "PNG, {} bytes: 1 frame, {}×{}, every pixel as encoded",
            png.len(),
            frame.width(),
            frame.height()
        ),
        took,
    );
    tour.decoded_png = Some(frame.clone());

    let gif = pictures::gif()?;
    let (animation, took) = timed(|| client.decode(&gif, Some("image/gif")));
    let animation = animation.context("imaged could not decode the tour's GIF")?;
    ensure(animation.is_animated, || {
        "imaged did not see the GIF as animated".to_owned()
    })?;
    ensure(animation.durations == GIF_DURATIONS, || {
        format!(
            "the GIF's durations came back as {:?}, not {GIF_DURATIONS:?}",
            animation.durations
        )
    })?;
    let sides_ok = animation
        .frames
        .iter()
        .all(|f| (f.width(), f.height()) == (GIF_SIDE, GIF_SIDE));
    ensure(sides_ok, || {
        format!("a GIF frame is not {GIF_SIDE}×{GIF_SIDE}")
    })?;
    let loops = match animation.loop_count {
        0 => "loops forever".to_owned(),
        n => format!("plays {n} times"),
    };
    tour.report.done(
        format_args!(
            "animated GIF, {} bytes: {} frames, {loops}",
            gif.len(),
            animation.frames.len()
        ),
        took,
    );
    for (index, (frame, millis)) in animation
        .frames
        .iter()
        .zip(&animation.durations)
        .enumerate()
    {
        tour.report.detail(format_args!(
            "frame {}: {}×{}, shown {millis} ms",
            index + 1,
            frame.width(),
            frame.height()
        ));
    }

    let malformed = pictures::malformed_png();
    let (refused, took) = timed(|| client.decode(&malformed, None));
    let reason = match refused {
        Err(ImageError::Decode(reason)) => reason,
        Err(error) => {
            return Err(Failure::new(format!(
                "a malformed PNG should be refused with a reason, but: {error}"
            )));
        }
        Ok(_) => {
            return Err(Failure::new(
                "imaged decoded a malformed PNG instead of refusing it",
            ));
        }
    };
    tour.report.done(
        format_args!(
            "malformed PNG, {} bytes: refused with a reason",
            malformed.len()
        ),
        took,
    );
    tour.report
        .detail(format_args!("\"{}\"", shorten(&reason, 80)));

    let (again, took) = timed(|| client.decode(&png, None));
    let again = again.context("imaged stopped serving after the malformed image")?;
    ensure(again.first() == frame, || {
        "the PNG decoded differently the second time".to_owned()
    })?;
    tour.report
        .done("imaged still serves: the PNG again, same pixels", took);
    Ok(())
}

/// `text` cut to `max` characters, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}
