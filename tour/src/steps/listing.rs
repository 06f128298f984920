//! Step 6: the live services. Every socket of the portal directory, who
//! listens there (the kernel's word: `SO_PEERCRED`), which endpoint it
//! speaks, and a real request it answers.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use courier::{Endpoint, NoMessages, PeerCredentials};
use courier_clipboardd::Clipboard;
use courier_configd::client::Config;
use courier_imaged::image_decoder::ImageDecoderClient as SimpleDecoderClient;
use courier_imaged::image_decoder_client::ImageDecoderClient as ImageEvents;
use courier_imaged::image_decoder_server::ImageDecoderServerClient;

use crate::fail::{Context, Failure, Result, ensure};
use crate::pictures;
use crate::report::timed;

use super::Tour;

/// What one service said when asked.
struct Answer {
    endpoint: &'static str,
    peer: PeerCredentials,
    said: String,
}

/// Runs the step.
pub fn run(tour: &mut Tour) -> Result<()> {
    let mut names = Vec::new();
    let entries = std::fs::read_dir(&tour.portal).context(format_args!(
        "could not list the portal directory `{}`",
        tour.portal.display()
    ))?;
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|kind| kind.is_socket()) {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    tour.report.detail(format_args!(
        "{} sockets in {}: {}",
        names.len(),
        tour.portal.display(),
        names.join(", ")
    ));
    for name in &names {
        let path = tour.portal.join(name);
        let (answer, took) = timed(|| ask(tour, name, &path));
        let answer = answer?;
        let daemon = tour
            .ready
            .iter()
            .find(|ready| ready.pid == answer.peer.pid)
            .map_or("?", |ready| ready.kind.name());
        ensure(daemon != "?", || {
            format!(
                "`{name}` is served by pid {}, not by one of the tour's daemons",
                answer.peer.pid
            )
        })?;
        tour.report.done(
            format_args!(
                "{name:<12} {daemon:<10} pid {:<7} {:<18} {}",
                answer.peer.pid, answer.endpoint, answer.said
            ),
            took,
        );
    }
    let expected = ["clipboard", "config", "image", "image-simple", "window"];
    ensure(names == expected, || {
        format!("the portal directory holds {names:?}, expected {expected:?}")
    })?;
    Ok(())
}

/// Connects to the service `name` at `path` with its own client and makes
/// one cheap request.
fn ask(tour: &Tour, name: &str, path: &Path) -> Result<Answer> {
    let failed = |what: &str| format!("the service `{name}` did not answer {what}");
    match name {
        "config" => {
            let config = Config::connect_to(path).context(failed("a connection"))?;
            let groups = config.list_groups("Tour").context(failed("list_groups"))?;
            Ok(Answer {
                endpoint: courier_configd::config_server::ConfigServer::NAME,
                peer: config.raw().connection().peer_credentials(),
                said: format!("groups of Tour: {}", groups.join(", ")),
            })
        }
        "clipboard" => {
            let clipboard = Clipboard::connect_to(path).context(failed("a connection"))?;
            let content = clipboard.get().context(failed("get_clipboard_data"))?;
            Ok(Answer {
                endpoint: courier_clipboardd::clipboard_server::ClipboardServer::NAME,
                peer: clipboard.raw().connection().peer_credentials(),
                said: format!("holds {} ({} B)", content.mime_type, content.bytes().len()),
            })
        }
        "image" => {
            let client = ImageDecoderServerClient::<ImageEvents>::connect(path)
                .context(failed("a connection"))?;
            let png = pictures::encode_png(&image::RgbaImage::new(1, 1))?;
            let data = courier::shm::SharedBuffer::from_bytes(&png)
                .context("could not share a PNG with imaged")?;
            let id = client
                .decode_image(data, None, None)
                .context(failed("decode_image"))?;
            Ok(Answer {
                endpoint: courier_imaged::image_decoder_server::ImageDecoderServer::NAME,
                peer: client.connection().peer_credentials(),
                said: format!("decode_image: image id {id}"),
            })
        }
        "image-simple" => {
            let client =
                SimpleDecoderClient::<NoMessages>::connect(path).context(failed("a connection"))?;
            let file = tour.workdir().join("tiny.png");
            std::fs::write(&file, pictures::encode_png(&image::RgbaImage::new(3, 2))?)
                .context("could not write a PNG for imaged")?;
            let opened = std::fs::File::open(&file).context("could not open the PNG")?;
            let bitmap = client
                .decode_image(opened.into())
                .context(failed("DecodeImage"))?;
            Ok(Answer {
                endpoint: courier_imaged::image_decoder::ImageDecoder::NAME,
                peer: client.connection().peer_credentials(),
                said: format!(
                    "DecodeImage(file): {}×{} bitmap",
                    bitmap.width(),
                    bitmap.height()
                ),
            })
        }
        "window" => {
            let client = courier_windowd::connect_to(path).context(failed("a connection"))?;
            let size = client.get_screen_size().context(failed("GetScreenSize"))?;
            Ok(Answer {
                endpoint: courier_windowd::window_server::WindowServer::NAME,
                peer: client.connection().peer_credentials(),
                said: format!("screen {}×{}", size.width, size.height),
            })
        }
        other => Err(Failure::new(format!(
            "the portal directory holds a service the tour did not start: `{other}`"
        ))),
    }
}
