//! imaged: SerenityOS's ImageDecoder on courier, confined, and its typed
//! client.
//!
//! imaged decodes untrusted images in a process of its own, so that a
//! malicious PNG can at worst crash a process that can do nothing else. It
//! serves two endpoints:
//!
//! - SerenityOS's real interface, [`image_decoder_server`] (requests) and
//!   [`image_decoder_client`] (events), declared in
//!   `ipc/ImageDecoderServer.ipc` and `ipc/ImageDecoderClient.ipc` with the
//!   same messages, order and types as SerenityOS's files, so the endpoint
//!   magics and message ids match: `decode_image` takes the encoded image
//!   in a shared buffer and answers at once with an id; the frames arrive
//!   later in a `did_decode_image` event (a `Gfx::BitmapSequence`, one
//!   shared buffer, BGRA8888, sealed read-only, with durations and the loop
//!   count), or the reason in `did_fail_to_decode_image`. Service name
//!   [`SERVICE_NAME`] (`image`, SerenityOS's portal name).
//! - The overview's simple synchronous endpoint, [`image_decoder`]
//!   (`DecodeImage([File] image_file) => ([Bitmap] decoded_bitmap)`): a
//!   file in, its first frame back. Service name [`SIMPLE_SERVICE_NAME`].
//!
//! PNG, JPEG, GIF (animated: every frame, durations, loop count), BMP and
//! WebP (animated too) are decoded with the `image` crate, within
//! [`DecodeLimits`] checked from the header before anything is allocated,
//! on a [`DecoderPool`] so the connections never wait. After start-up the
//! `imaged` binary confines itself ([`sandbox`]): no new privileges and a
//! seccomp filter that refuses files, sockets and processes.
//!
//! # Decoding from a program
//!
//! ```no_run
//! use courier_imaged::ImageDecoderClient;
//!
//! let mut client = ImageDecoderClient::connect()?;
//! let image = client.decode(&std::fs::read("banner.gif")?, None)?;
//! for (frame, duration) in image.frames.iter().zip(&image.durations) {
//!     println!("{}x{} for {duration} ms", frame.width(), frame.height());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The same decoding without a process, for tests and tools: [`decode`].
#![deny(unsafe_code)]
#![warn(missing_docs)]

courier::include_ipc!("ImageDecoderServer");
courier::include_ipc!("ImageDecoderClient");
courier::include_ipc!("ImageDecoder");

pub mod cli;
pub mod client;
mod decode;
mod pool;
pub mod sandbox;
pub mod server;
pub mod service;

pub use client::{DecodedImage, Frame, ImageDecoderClient, ImageError};
pub use decode::{DecodeError, DecodeLimits, DecodedFrames, decode};
pub use pool::DecoderPool;

/// The service name of `ImageDecoderServer` in the portal directory
/// (SerenityOS's ImageDecoder listens at `portal/image` too).
pub const SERVICE_NAME: &str = "image";

/// The service name of the overview's simple `ImageDecoder` endpoint.
pub const SIMPLE_SERVICE_NAME: &str = "image-simple";
