//! [`ImageDecoderClient`]: decode an image through imaged in one call.

use std::path::Path;
use std::time::Duration;

use courier::shm::{BitmapSequence, SharedBuffer};
use courier::tokio::AsyncConnection;
use courier::{ByteString, Endpoint};

use crate::SERVICE_NAME;
use crate::image_decoder_client::{self, ImageDecoderClientMessage};
use crate::image_decoder_server::{CancelDecoding, DecodeImage, ImageDecoderServer};

/// How long [`ImageDecoderClient::decode`] waits for its event by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a decode through imaged failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// imaged could not be reached, or the connection failed.
    #[error("imaged: {0}")]
    Ipc(#[from] courier::Error),
    /// The bytes could not be put in shared memory.
    #[error("could not share the image with imaged: {0}")]
    Shm(#[from] courier::shm::ShmError),
    /// imaged could not decode the image; its reason.
    #[error("imaged could not decode the image: {0}")]
    Decode(String),
    /// No event arrived in time (the decode was then cancelled).
    #[error(
        "imaged sent no result for image {image_id} within {timeout:?}; the decode was \
         cancelled (use with_timeout for slow images)"
    )]
    Timeout {
        /// The id imaged gave the image.
        image_id: i64,
        /// How long the client waited.
        timeout: Duration,
    },
    /// imaged sent frames the client cannot use.
    #[error("imaged sent an unusable result: {0}")]
    Invalid(String),
    /// The client's own tokio runtime could not start.
    #[error("could not start the client's runtime: {0}")]
    Runtime(std::io::Error),
}

/// One decoded frame, copied out of shared memory as 8-bit RGBA.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    width: u32,
    height: u32,
    rgba: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

impl Frame {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixels, row by row, 4 bytes each: red, green, blue, alpha.
    pub fn rgba(&self) -> &[u8] {
        &self.rgba
    }

    /// The pixel at `(x, y)` as `[r, g, b, a]`, `None` outside the frame.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let at = (y as usize * self.width as usize + x as usize) * 4;
        let bytes = self.rgba.get(at..at + 4)?;
        Some([bytes[0], bytes[1], bytes[2], bytes[3]])
    }

    /// Takes the pixels.
    pub fn into_rgba(self) -> Vec<u8> {
        self.rgba
    }
}

/// An image decoded by imaged: its frames, durations and loop count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedImage {
    /// The frames in order (one for a still image).
    pub frames: Vec<Frame>,
    /// Each frame's duration in milliseconds (0 for a still image).
    pub durations: Vec<u32>,
    /// How many times the animation plays: 0 forever, 1 for a still image.
    pub loop_count: u32,
    /// True for an animation.
    pub is_animated: bool,
}

impl DecodedImage {
    /// The first frame (every decoded image has one).
    pub fn first(&self) -> &Frame {
        &self.frames[0]
    }

    /// Copies every frame of `bitmaps` out of shared memory, as RGBA.
    fn from_sequence(
        bitmaps: &BitmapSequence,
        durations: Vec<u32>,
        loop_count: u32,
        is_animated: bool,
    ) -> Result<DecodedImage, ImageError> {
        if bitmaps.is_empty() {
            return Err(ImageError::Invalid("no frames".to_string()));
        }
        if durations.len() != bitmaps.len() {
            return Err(ImageError::Invalid(format!(
                "{} frames but {} durations",
                bitmaps.len(),
                durations.len()
            )));
        }
        let mut frames = Vec::with_capacity(bitmaps.len());
        for index in 0..bitmaps.len() {
            let (Some(meta), Some(pixels)) = (bitmaps.frame(index), bitmaps.frame_pixels(index))
            else {
                return Err(ImageError::Invalid(format!("frame {index} is absent")));
            };
            let row_bytes = meta.width() as usize * 4;
            let mut rgba = Vec::with_capacity(row_bytes * meta.height() as usize);
            for row in pixels
                .chunks(meta.pitch() as usize)
                .take(meta.height() as usize)
            {
                for pixel in row[..row_bytes].chunks_exact(4) {
                    let color = meta.format.read([pixel[0], pixel[1], pixel[2], pixel[3]]);
                    rgba.extend_from_slice(&[
                        color.red(),
                        color.green(),
                        color.blue(),
                        color.alpha(),
                    ]);
                }
            }
            frames.push(Frame {
                width: meta.width(),
                height: meta.height(),
                rgba,
            });
        }
        Ok(DecodedImage {
            frames,
            durations,
            loop_count,
            is_animated,
        })
    }
}

/// A client of imaged's `ImageDecoderServer`: sends an image in shared
/// memory and waits for its `did_decode_image` or
/// `did_fail_to_decode_image` event.
///
/// Blocking (it runs a small tokio runtime of its own); one decode at a
/// time per client (`&mut self`); open several clients to decode in
/// parallel.
///
/// ```no_run
/// use courier_imaged::ImageDecoderClient;
///
/// let mut client = ImageDecoderClient::connect()?; // the `image` service
/// let image = client.decode(&std::fs::read("cat.gif")?, Some("image/gif"))?;
/// println!("{} frames, first {}x{}", image.frames.len(), image.first().width(), image.first().height());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ImageDecoderClient {
    runtime: tokio::runtime::Runtime,
    connection: AsyncConnection<image_decoder_client::ImageDecoderClient, ImageDecoderServer>,
    timeout: Duration,
}

impl std::fmt::Debug for ImageDecoderClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageDecoderClient")
            .field("peer", &ImageDecoderServer::NAME)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ImageDecoderClient {
    /// Connects to the service [`SERVICE_NAME`] (`image`) in this session's
    /// portal directory (`$COURIER_PORTAL_DIR`, `$XDG_RUNTIME_DIR/portal`
    /// or `/tmp/session/<sid>/portal`).
    ///
    /// # Errors
    ///
    /// [`ImageError::Ipc`]: imaged is not running (the error says where it
    /// looked), or speaks another endpoint.
    pub fn connect() -> Result<ImageDecoderClient, ImageError> {
        let runtime = runtime()?;
        let connection = runtime.block_on(AsyncConnection::connect_service(SERVICE_NAME))?;
        Ok(ImageDecoderClient::new(runtime, connection))
    }

    /// Connects to imaged listening at `path`.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub fn connect_to(path: impl AsRef<Path>) -> Result<ImageDecoderClient, ImageError> {
        let runtime = runtime()?;
        let connection = runtime.block_on(AsyncConnection::connect(path.as_ref()))?;
        Ok(ImageDecoderClient::new(runtime, connection))
    }

    fn new(
        runtime: tokio::runtime::Runtime,
        connection: AsyncConnection<image_decoder_client::ImageDecoderClient, ImageDecoderServer>,
    ) -> ImageDecoderClient {
        ImageDecoderClient {
            runtime,
            connection,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Waits at most `timeout` for each decode's result (default
    /// [`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> ImageDecoderClient {
        self.timeout = timeout;
        self
    }

    /// Decodes `bytes` (PNG, JPEG, GIF, BMP or WebP). `mime` is a hint for
    /// bytes that do not identify their format.
    ///
    /// # Errors
    ///
    /// [`ImageError::Decode`] with imaged's reason (malformed, unknown
    /// format, over a limit); [`ImageError::Timeout`];
    /// [`ImageError::Ipc`] when imaged is gone.
    pub fn decode(&mut self, bytes: &[u8], mime: Option<&str>) -> Result<DecodedImage, ImageError> {
        let data = if bytes.is_empty() {
            SharedBuffer::invalid()
        } else {
            let mut data = SharedBuffer::from_bytes(bytes)?;
            // Sealed, imaged knows the bytes cannot change under it; a
            // buffer that cannot be sealed is sent as it is.
            let _ = data.seal_read_only();
            data
        };
        let request = DecodeImage {
            data,
            ideal_size: None,
            mime_type: mime.map(|m| ByteString::from(m.as_bytes().to_vec())),
        };
        let connection = &self.connection;
        let timeout = self.timeout;
        self.runtime.block_on(async move {
            let image_id = connection.call(&request).await?.image_id;
            let waited = tokio::time::timeout(timeout, wait_for(connection, image_id)).await;
            match waited {
                Ok(result) => result,
                Err(_) => {
                    let _ = connection.send(&CancelDecoding { image_id });
                    Err(ImageError::Timeout { image_id, timeout })
                }
            }
        })
    }
}

/// Waits for the event of `image_id`; events for other ids (of decodes
/// that timed out earlier) are dropped.
async fn wait_for(
    connection: &AsyncConnection<image_decoder_client::ImageDecoderClient, ImageDecoderServer>,
    image_id: i64,
) -> Result<DecodedImage, ImageError> {
    loop {
        let incoming = connection.next_message().await?;
        match incoming.message {
            ImageDecoderClientMessage::DidDecodeImage(event) if event.image_id == image_id => {
                return DecodedImage::from_sequence(
                    &event.bitmaps,
                    event.durations,
                    event.loop_count,
                    event.is_animated,
                );
            }
            ImageDecoderClientMessage::DidFailToDecodeImage(event)
                if event.image_id == image_id =>
            {
                return Err(ImageError::Decode(event.error_message));
            }
            _ => {}
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ImageError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("imaged-client")
        .enable_all()
        .build()
        .map_err(ImageError::Runtime)
}
