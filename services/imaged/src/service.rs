//! The handlers of imaged's two endpoints.
//!
//! - [`DecoderService`] serves SerenityOS's `ImageDecoderServer`:
//!   `decode_image` answers at once with an id, a [`DecoderPool`] thread
//!   decodes, and the client gets `did_decode_image` (every frame in one
//!   [`BitmapSequence`]) or `did_fail_to_decode_image` through its
//!   `ImageDecoderClient` endpoint. `cancel_decoding` forgets an id: no
//!   event is ever sent for it afterwards.
//! - [`SimpleDecoderService`] serves the overview's synchronous
//!   `ImageDecoder`: `DecodeImage([File])` answers with the first frame as a
//!   bitmap, decoded on the pool too (a deferred reply), so a slow image
//!   never stalls the connection.

use std::collections::HashSet;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex, PoisonError};

use courier::gfx::{FloatPoint, IntSize};
use courier::shm::{BitmapFormat, BitmapMetadata, BitmapSequence, ShareableBitmap, SharedBuffer};
use courier::{ByteString, Handler, HandlerError, Reply, Sender};
use tracing::{debug, warn};

use crate::decode::{DecodeError, DecodeLimits, DecodedFrames, decode};
use crate::image_decoder::{DecodeImageResponse, ImageDecoderMessage};
use crate::image_decoder_client::{DidDecodeImage, DidFailToDecodeImage, ImageDecoderClient};
use crate::image_decoder_server::ImageDecoderServerHandler;
use crate::pool::DecoderPool;

/// The most decodes one client may have queued or running at once; past it
/// `decode_image` fails, so a client that floods requests without waiting
/// for events cannot make imaged hold unbounded shared memory.
pub const MAX_PENDING_PER_CLIENT: usize = 64;

/// The ids of one client's decodes that are still wanted: in the pool or
/// being decoded, not cancelled, no event sent yet.
type Pending = Arc<Mutex<HashSet<i64>>>;

/// One client's `ImageDecoderServer` session. `S` sends the client its
/// events: a [`courier::tokio::ClientHandle`] in imaged, anything
/// implementing [`Sender`] in tests.
#[derive(Debug)]
pub struct DecoderService<S> {
    client: S,
    pool: DecoderPool,
    limits: DecodeLimits,
    next_id: i64,
    pending: Pending,
}

impl<S> DecoderService<S>
where
    S: Sender<ImageDecoderClient> + Send + Sync + Clone + 'static,
{
    /// A session for the client reached through `client`, decoding on
    /// `pool` within `limits`. Ids count from 1, as in SerenityOS.
    pub fn new(client: S, pool: DecoderPool, limits: DecodeLimits) -> DecoderService<S> {
        DecoderService {
            client,
            pool,
            limits,
            next_id: 1,
            pending: Arc::default(),
        }
    }

    /// The ids still being decoded (not cancelled, no event sent yet).
    pub fn pending(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = lock(&self.pending).iter().copied().collect();
        ids.sort_unstable();
        ids
    }
}

impl<S> ImageDecoderServerHandler for DecoderService<S>
where
    S: Sender<ImageDecoderClient> + Send + Sync + Clone + 'static,
{
    fn decode_image(
        &mut self,
        data: SharedBuffer,
        _ideal_size: Option<IntSize>,
        mime_type: Option<ByteString>,
    ) -> Result<i64, HandlerError> {
        // `ideal_size` asks vector formats for a size; every format imaged
        // decodes is a raster, decoded at its own size (scale 1).
        let image_id = self.next_id;
        {
            let mut pending = lock(&self.pending);
            if pending.len() >= MAX_PENDING_PER_CLIENT {
                return Err(HandlerError::new(format!(
                    "this client already has {} images being decoded, the most imaged allows; \
                     wait for their events (or cancel some) before sending more",
                    pending.len()
                )));
            }
            pending.insert(image_id);
        }
        self.next_id += 1;
        let client = self.client.clone();
        let pending = Arc::clone(&self.pending);
        let limits = self.limits;
        let mime = mime_type.and_then(|m| m.to_str().ok().map(str::to_owned));
        self.pool.submit(move || {
            let wanted = || lock(&pending).contains(&image_id);
            if !wanted() {
                return; // cancelled while queued
            }
            let outcome = decode_buffer(&data, mime.as_deref(), &limits, &|| !wanted())
                .and_then(|frames| to_event(image_id, frames));
            drop(data);
            // Under the lock: a cancel is either before (no event) or after
            // (the event is already queued for the client).
            let mut pending = lock(&pending);
            if !pending.remove(&image_id) {
                debug!("image {image_id}: cancelled, no event sent");
                return;
            }
            let sent = match outcome {
                Ok(event) => client.send(&event),
                Err(error) => {
                    debug!("image {image_id}: {error}");
                    client.send(&DidFailToDecodeImage {
                        image_id,
                        error_message: error.to_string(),
                    })
                }
            };
            if let Err(error) = sent {
                debug!("image {image_id}: the client left before its event: {error}");
            }
        });
        Ok(image_id)
    }

    fn cancel_decoding(&mut self, image_id: i64) {
        if lock(&self.pending).remove(&image_id) {
            debug!("image {image_id}: cancelled");
        }
    }
}

/// Why a decoded image could not be handed over: the frames decoded, but
/// shared memory for them could not be had.
#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("the image decoded but its frames could not be put in shared memory: {0}")]
    Shm(#[from] courier::shm::ShmError),
}

/// Decodes the client's buffer, after checking its size (before copying).
fn decode_buffer(
    data: &SharedBuffer,
    mime: Option<&str>,
    limits: &DecodeLimits,
    cancelled: &dyn Fn() -> bool,
) -> Result<DecodedFrames, ServeError> {
    if data.len() > limits.max_input_bytes {
        return Err(DecodeError::InputTooLarge {
            len: data.len(),
            max: limits.max_input_bytes,
        }
        .into());
    }
    // The client can change its buffer at any moment: decode a copy.
    let bytes = data.as_slice().to_vec();
    Ok(decode(&bytes, mime, limits, cancelled)?)
}

/// The `did_decode_image` event for `frames`.
fn to_event(image_id: i64, frames: DecodedFrames) -> Result<DidDecodeImage, ServeError> {
    Ok(DidDecodeImage {
        image_id,
        is_animated: frames.is_animated,
        loop_count: frames.loop_count,
        bitmaps: to_sequence(&frames.frames)?,
        durations: frames.durations,
        scale: FloatPoint::new(1.0, 1.0),
    })
}

/// Every frame, in SerenityOS's native BGRA8888, packed in one sealed
/// shared buffer.
pub(crate) fn to_sequence(
    frames: &[image::RgbaImage],
) -> Result<BitmapSequence, courier::shm::ShmError> {
    let mut metadata = Vec::with_capacity(frames.len());
    let mut total = 0usize;
    for frame in frames {
        let bytes = frame.as_raw().len();
        let too_large = || courier::shm::ShmError::TooLarge {
            len: total.saturating_add(bytes),
        };
        metadata.push(Some(BitmapMetadata::new(
            frame.width(),
            frame.height(),
            BitmapFormat::Bgra8888,
        )?));
        total = total.checked_add(bytes).ok_or_else(too_large)?;
    }
    let mut buffer = SharedBuffer::new(total)?;
    if let Some(memory) = buffer.as_mut_slice() {
        let mut at = 0;
        for frame in frames {
            let raw = frame.as_raw();
            write_bgra(&mut memory[at..at + raw.len()], raw);
            at += raw.len();
        }
    }
    seal(&mut buffer);
    BitmapSequence::from_parts(metadata, buffer)
}

/// RGBA bytes into `target` as BGRA.
fn write_bgra(target: &mut [u8], rgba: &[u8]) {
    for (out, pixel) in target.chunks_exact_mut(4).zip(rgba.chunks_exact(4)) {
        out.copy_from_slice(&[pixel[2], pixel[1], pixel[0], pixel[3]]);
    }
}

/// Seals a buffer read-only, so the client knows imaged can no longer
/// change it; a buffer that cannot be sealed is sent as it is.
fn seal(buffer: &mut SharedBuffer) {
    if let Err(error) = buffer.seal_read_only() {
        warn!("sending the frames unsealed: {error}");
    }
}

/// One client's session of the overview's synchronous `ImageDecoder`:
/// `DecodeImage([File] image_file) => ([Bitmap] decoded_bitmap)`. The file
/// is read from offset 0 (the client's file position is not used) and its
/// first frame is returned in BGRA8888.
#[derive(Debug, Clone)]
pub struct SimpleDecoderService {
    pool: DecoderPool,
    limits: DecodeLimits,
}

impl SimpleDecoderService {
    /// A session decoding on `pool` within `limits`.
    pub fn new(pool: DecoderPool, limits: DecodeLimits) -> SimpleDecoderService {
        SimpleDecoderService { pool, limits }
    }
}

impl Handler<crate::image_decoder::ImageDecoder> for SimpleDecoderService {
    fn handle(&mut self, message: ImageDecoderMessage) -> Reply {
        match message {
            ImageDecoderMessage::DecodeImage(request) => {
                let (reply, responder) = Reply::deferred();
                let limits = self.limits;
                self.pool.submit(move || {
                    let result = decode_file(request.image_file, &limits)
                        .map(|decoded_bitmap| DecodeImageResponse { decoded_bitmap })
                        .map_err(|error| HandlerError::new(error.to_string()));
                    responder.from_result(result);
                });
                reply
            }
        }
    }
}

/// Why the synchronous endpoint could not decode a file.
#[derive(Debug, thiserror::Error)]
enum FileError {
    #[error("could not read the image file: {0}")]
    Read(std::io::Error),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Reads the whole file (at most `max_input_bytes + 1` bytes) from offset 0
/// and decodes its first frame into a sealed bitmap.
fn decode_file(file: OwnedFd, limits: &DecodeLimits) -> Result<ShareableBitmap, FileError> {
    let file = std::fs::File::from(file);
    let mut bytes = Vec::new();
    let mut chunk = vec![0; 64 * 1024];
    loop {
        let read = match file.read_at(&mut chunk, bytes.len() as u64) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(FileError::Read(error)),
        };
        bytes.extend_from_slice(&chunk[..read]);
        if bytes.len() > limits.max_input_bytes {
            return Err(ServeError::from(DecodeError::InputTooLarge {
                len: bytes.len(),
                max: limits.max_input_bytes,
            })
            .into());
        }
    }
    let decoded = decode(&bytes, None, limits, &|| false).map_err(ServeError::from)?;
    let Some(first) = decoded.frames.first() else {
        return Err(ServeError::from(DecodeError::Malformed("no frames".to_string())).into());
    };
    let mut bitmap = ShareableBitmap::new(first.width(), first.height(), BitmapFormat::Bgra8888)
        .map_err(ServeError::from)?;
    if let Some(pixels) = bitmap.pixels_mut() {
        write_bgra(pixels, first.as_raw());
    }
    if let Err(error) = bitmap.seal_read_only() {
        warn!("sending the bitmap unsealed: {error}");
    }
    Ok(bitmap)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image_decoder_client::ImageDecoderClientMessage;

    /// Collects the events a session sends.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<ImageDecoderClientMessage>>>);

    impl Sender<ImageDecoderClient> for Recorder {
        fn send<M: courier::Message<Endpoint = ImageDecoderClient>>(
            &self,
            message: &M,
        ) -> Result<(), courier::Error> {
            use courier::Message;
            use courier::codec::{decode_from_parts, encode_to_parts};
            let (bytes, fds) = encode_to_parts(message)?;
            let invalid = |e: courier::DecodeError| courier::Error::Io(std::io::Error::other(e));
            let decoded = if M::ID == DidDecodeImage::ID {
                ImageDecoderClientMessage::DidDecodeImage(
                    decode_from_parts(&bytes, fds).map_err(invalid)?,
                )
            } else {
                ImageDecoderClientMessage::DidFailToDecodeImage(
                    decode_from_parts(&bytes, fds).map_err(invalid)?,
                )
            };
            lock(&self.0).push(decoded);
            Ok(())
        }
    }

    fn png() -> SharedBuffer {
        let mut bytes = Vec::new();
        image::RgbaImage::from_pixel(2, 1, image::Rgba([10, 20, 30, 40]))
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .unwrap();
        SharedBuffer::from_bytes(&bytes).unwrap()
    }

    #[test]
    fn a_cancelled_id_gets_no_event_and_the_next_one_does() {
        let pool = DecoderPool::new(1).unwrap();
        pool.pause();
        let recorder = Recorder::default();
        let mut service =
            DecoderService::new(recorder.clone(), pool.clone(), DecodeLimits::default());
        let first = service.decode_image(png(), None, None).unwrap();
        let second = service.decode_image(png(), None, None).unwrap();
        assert_eq!((first, second), (1, 2));
        assert_eq!(service.pending(), [1, 2]);
        service.cancel_decoding(first);
        service.cancel_decoding(99); // unknown: ignored
        assert_eq!(service.pending(), [2]);
        pool.shutdown(); // resumes, runs both jobs, joins
        let events = lock(&recorder.0);
        assert_eq!(events.len(), 1, "{events:?}");
        let ImageDecoderClientMessage::DidDecodeImage(event) = &events[0] else {
            panic!("expected did_decode_image, got {events:?}");
        };
        assert_eq!(event.image_id, second);
        assert!(event.bitmaps.buffer().is_sealed());
        assert_eq!(
            event.bitmaps.frame_pixels(0),
            Some(&[30, 20, 10, 40, 30, 20, 10, 40][..])
        );
        assert!(service.pending().is_empty());
    }

    #[test]
    fn a_client_cannot_queue_unbounded_decodes() {
        let pool = DecoderPool::new(1).unwrap();
        pool.pause();
        let mut service =
            DecoderService::new(Recorder::default(), pool.clone(), DecodeLimits::default());
        for _ in 0..MAX_PENDING_PER_CLIENT {
            service.decode_image(png(), None, None).unwrap();
        }
        let error = service.decode_image(png(), None, None).unwrap_err();
        assert!(
            error.message().contains("64 images being decoded"),
            "{error:?}"
        );
        service.cancel_decoding(1);
        assert_eq!(service.decode_image(png(), None, None).unwrap(), 65);
        pool.shutdown();
    }

    #[test]
    fn garbage_gets_a_readable_failure() {
        let pool = DecoderPool::new(1).unwrap();
        let recorder = Recorder::default();
        let mut service =
            DecoderService::new(recorder.clone(), pool.clone(), DecodeLimits::default());
        let id = service
            .decode_image(
                SharedBuffer::from_bytes(b"not an image").unwrap(),
                None,
                None,
            )
            .unwrap();
        pool.shutdown();
        let events = lock(&recorder.0);
        let [ImageDecoderClientMessage::DidFailToDecodeImage(event)] = &events[..] else {
            panic!("expected one did_fail_to_decode_image, got {events:?}");
        };
        assert_eq!(event.image_id, id);
        assert!(
            event.error_message.starts_with("unknown image format"),
            "{}",
            event.error_message
        );
    }
}
