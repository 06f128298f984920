//! Shared memory across processes: a bitmap keeper service runs in a child
//! process (this test binary started again as `shm_child`), the tests are
//! its clients. They prove that a bitmap crosses without its pixels being
//! copied (the receiver sees the sender's later writes), that a sealed one
//! cannot be changed after the send (and the receiver knows it: the kernel
//! refuses the sender's writes), that a `BitmapSequence` crosses the same
//! way, every frame intact, and that a buffer whose memory file is smaller
//! than claimed is refused with a typed decode error
//! (`SharedBufferTooSmall`), without a `SIGBUS`, while the service keeps
//! serving its other clients. Every test counts this process's fds.
//!
//! Synchronisation is by pipes only: the child prints `COURIER-READY` once
//! it listens, `COURIER-CONN <n>: <outcome>` as each connection ends (for
//! a malformed message, with the decode error's variant as the service got
//! it), and exits after serving the number of connections it was told.

#[path = "common/runtime/mod.rs"]
mod runtime_common;
#[path = "support/mod.rs"]
#[macro_use]
mod support;

use std::io::{BufRead, BufReader, Read};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};

use courier::blocking::BlockingConnection;
use courier::gfx::Color;
use courier::shm::{BitmapFormat, BitmapSequence, ShareableBitmap, SharedBuffer, ShmError};
use courier::{Error, HandlerError, NoMessages, ProtocolErrorKind, Reply};
use runtime_common::fd_check;

use keeper::*;

/// The environment variable that makes `shm_child` a server:
/// `<connections to serve>:<socket path>`.
const CHILD_ENV: &str = "COURIER_SHM_CHILD";

/// By hand, what `courier-build` would generate for:
///
/// ```text
/// endpoint KeeperServer
/// {
///     keep(Gfx::ShareableBitmap bitmap) => (bool sealed)
///     pixel(u32 x, u32 y) => (u32 argb)
///     take_buffer(Core::AnonymousBuffer buffer) => (u32 len)
///     keep_frames(Gfx::BitmapSequence frames) => (Vector<Optional<BitmapMetadata>> frames, bool shared)
///     frame_pixel(u32 frame, u32 x, u32 y) => (u32 bytes)
/// }
/// ```
///
/// and `LyingKeeper`, the same endpoint as a hostile client sees it: its
/// `take_buffer` spells the buffer's wire form out (`bool` valid, `u32`
/// size, the fd), so the size can lie.
mod keeper {
    use std::os::fd::OwnedFd;

    use courier::shm::{BitmapMetadata, BitmapSequence, ShareableBitmap, SharedBuffer};

    /// The `KeeperServer` endpoint.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct KeeperServer;

    /// The magic of `KeeperServer`.
    pub const MAGIC: u32 = 0x4b45_4550;

    message!(
        KeeperServer,
        1,
        "keep",
        Keep {
            bitmap: ShareableBitmap
        }
    );
    message!(
        KeeperServer,
        2,
        "KeepResponse",
        KeepResponse { sealed: bool }
    );
    message!(KeeperServer, 3, "pixel", Pixel { x: u32, y: u32 });
    message!(
        KeeperServer,
        4,
        "PixelResponse",
        PixelResponse { argb: u32 }
    );
    message!(
        KeeperServer,
        5,
        "take_buffer",
        TakeBuffer {
            buffer: SharedBuffer
        }
    );
    message!(
        KeeperServer,
        6,
        "TakeBufferResponse",
        TakeBufferResponse { len: u32 }
    );

    message!(
        KeeperServer,
        7,
        "keep_frames",
        KeepFrames {
            frames: BitmapSequence
        }
    );
    message!(
        KeeperServer,
        8,
        "KeepFramesResponse",
        KeepFramesResponse {
            frames: Vec<Option<BitmapMetadata>>,
            shared: bool
        }
    );
    message!(
        KeeperServer,
        9,
        "frame_pixel",
        FramePixel {
            frame: u32,
            x: u32,
            y: u32
        }
    );
    message!(
        KeeperServer,
        10,
        "FramePixelResponse",
        FramePixelResponse { bytes: u32 }
    );

    impl courier::Request for KeepFrames {
        type Response = KeepFramesResponse;
    }
    impl courier::Request for FramePixel {
        type Response = FramePixelResponse;
    }
    impl courier::Request for Keep {
        type Response = KeepResponse;
    }
    impl courier::Request for Pixel {
        type Response = PixelResponse;
    }
    impl courier::Request for TakeBuffer {
        type Response = TakeBufferResponse;
    }

    /// Any message for `KeeperServer`.
    #[derive(Debug)]
    pub enum KeeperMessage {
        Keep(Keep),
        Pixel(Pixel),
        TakeBuffer(TakeBuffer),
        KeepFrames(KeepFrames),
        FramePixel(FramePixel),
    }

    fn name(id: u32) -> Option<&'static str> {
        const NAMES: [&str; 10] = [
            "keep",
            "KeepResponse",
            "pixel",
            "PixelResponse",
            "take_buffer",
            "TakeBufferResponse",
            "keep_frames",
            "KeepFramesResponse",
            "frame_pixel",
            "FramePixelResponse",
        ];
        NAMES.get((id as usize).wrapping_sub(1)).copied()
    }

    impl courier::Endpoint for KeeperServer {
        const NAME: &'static str = "KeeperServer";
        const MAGIC: u32 = MAGIC;
        type Message = KeeperMessage;

        fn decode_message(
            id: u32,
            decoder: &mut courier::Decoder<'_>,
        ) -> Result<KeeperMessage, courier::DecodeError> {
            use courier::Decode;
            match id {
                1 => Keep::decode(decoder).map(KeeperMessage::Keep),
                3 => Pixel::decode(decoder).map(KeeperMessage::Pixel),
                5 => TakeBuffer::decode(decoder).map(KeeperMessage::TakeBuffer),
                7 => KeepFrames::decode(decoder).map(KeeperMessage::KeepFrames),
                9 => FramePixel::decode(decoder).map(KeeperMessage::FramePixel),
                _ => Err(courier::DecodeError::new(
                    courier::codec::DecodeErrorKind::UnknownMessage {
                        endpoint: "KeeperServer",
                        id,
                    },
                )),
            }
        }

        fn message_name(id: u32) -> Option<&'static str> {
            name(id)
        }
    }

    /// `KeeperServer` as a hostile client declares it.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct LyingKeeper;

    message!(
        LyingKeeper,
        5,
        "take_buffer",
        LyingTakeBuffer {
            valid: bool,
            size: u32,
            fd: OwnedFd
        }
    );
    message!(
        LyingKeeper,
        6,
        "TakeBufferResponse",
        LyingResponse { len: u32 }
    );

    impl courier::Request for LyingTakeBuffer {
        type Response = LyingResponse;
    }

    impl courier::Endpoint for LyingKeeper {
        const NAME: &'static str = "KeeperServer";
        const MAGIC: u32 = MAGIC;
        type Message = std::convert::Infallible;

        fn decode_message(
            id: u32,
            _: &mut courier::Decoder<'_>,
        ) -> Result<std::convert::Infallible, courier::DecodeError> {
            Err(courier::DecodeError::new(
                courier::codec::DecodeErrorKind::UnknownMessage {
                    endpoint: "KeeperServer",
                    id,
                },
            ))
        }

        fn message_name(id: u32) -> Option<&'static str> {
            name(id)
        }
    }
}

// ----- the service, in the child -----

/// One connection's state: the bitmaps and sequences it was given.
#[derive(Default)]
struct Keeper {
    bitmaps: Vec<ShareableBitmap>,
    sequences: Vec<BitmapSequence>,
}

impl courier::Handler<KeeperServer> for Keeper {
    fn handle(&mut self, message: KeeperMessage) -> Reply {
        match message {
            KeeperMessage::Keep(Keep { bitmap }) => {
                let sealed = bitmap.is_sealed();
                self.bitmaps.push(bitmap);
                Reply::response(KeepResponse { sealed })
            }
            KeeperMessage::Pixel(Pixel { x, y }) => Reply::from_result(
                self.bitmaps
                    .last()
                    .and_then(|bitmap| bitmap.pixel(x, y))
                    .map(|color| PixelResponse { argb: color.argb() })
                    .ok_or_else(|| {
                        HandlerError::new(format!("no kept bitmap has pixel ({x}, {y})"))
                    }),
            ),
            KeeperMessage::TakeBuffer(TakeBuffer { buffer }) => {
                Reply::response(TakeBufferResponse {
                    len: buffer.len() as u32,
                })
            }
            KeeperMessage::KeepFrames(KeepFrames { frames }) => {
                let response = KeepFramesResponse {
                    frames: frames.frames().to_vec(),
                    // Mapped from the sender's file, not copied on receipt.
                    shared: !frames.buffer().is_private_copy(),
                };
                self.sequences.push(frames);
                Reply::response(response)
            }
            KeeperMessage::FramePixel(FramePixel { frame, x, y }) => Reply::from_result(
                self.sequences
                    .last()
                    .and_then(|sequence| {
                        let metadata = sequence.frame(frame as usize)?;
                        let pixels = sequence.frame_pixels(frame as usize)?;
                        if x >= metadata.width() || y >= metadata.height() {
                            return None;
                        }
                        let at = y as usize * metadata.pitch() as usize + x as usize * 4;
                        pixels.get(at..at + 4)?.try_into().ok()
                    })
                    .map(|bytes| FramePixelResponse {
                        bytes: u32::from_le_bytes(bytes),
                    })
                    .ok_or_else(|| {
                        HandlerError::new(format!(
                            "no kept sequence has pixel ({x}, {y}) in frame {frame}"
                        ))
                    }),
            ),
        }
    }
}

/// What one ended connection reports on the child's stdout: for a message
/// that did not decode, its id, the decode error's kind (`{:?}`, as the
/// service got it) and the reason.
fn outcome(result: Result<(), Error>) -> String {
    match result {
        Ok(()) => "ok".to_owned(),
        Err(Error::Protocol(error)) => match error.kind() {
            ProtocolErrorKind::MalformedMessage {
                message_id, reason, ..
            } => match error.decode_error_kind() {
                Some(kind) => format!("malformed message {message_id}: {kind:?}: {reason}"),
                None => format!("malformed message {message_id}: {reason}"),
            },
            _ => format!("protocol: {error}"),
        },
        Err(error) => format!("err: {error}"),
    }
}

/// The child: serves as many connections as it was told, each on its own
/// thread, then exits. Run without the variable, it is a smoke test of the
/// same service over a socketpair.
#[test]
fn shm_child() {
    let Some(spec) = std::env::var_os(CHILD_ENV) else {
        let fds = fd_check();
        let (client_end, server_end) = std::os::unix::net::UnixStream::pair().unwrap();
        let server = std::thread::spawn(move || {
            let connection =
                BlockingConnection::<KeeperServer, NoMessages>::accept(server_end).unwrap();
            connection.serve(&mut Keeper::default())
        });
        let client =
            BlockingConnection::<NoMessages, KeeperServer>::from_stream(client_end).unwrap();
        let bitmap = ShareableBitmap::new(2, 2, BitmapFormat::Bgra8888).unwrap();
        assert!(!client.call(&Keep { bitmap }).unwrap().sealed);
        drop(client);
        server.join().unwrap().unwrap();
        fds.finish();
        return;
    };
    let spec = spec.into_string().expect("UTF-8 child spec");
    let (count, path) = spec.split_once(':').expect("count:path");
    let count: usize = count.parse().expect("connection count");
    courier::init_tracing_from_env();
    let listener = UnixListener::bind(path).expect("bind");
    println!("COURIER-READY");
    let mut threads = Vec::new();
    for n in 0..count {
        let (stream, _) = listener.accept().expect("accept");
        threads.push(std::thread::spawn(move || {
            let result = BlockingConnection::<KeeperServer, NoMessages>::accept(stream)
                .and_then(|connection| connection.serve(&mut Keeper::default()));
            println!("COURIER-CONN {n}: {}", outcome(result));
        }));
    }
    for thread in threads {
        thread.join().expect("connection thread");
    }
}

// ----- the child, from the parent -----

struct KeeperChild {
    child: Child,
    stdout: BufReader<ChildStdout>,
    stderr: ChildStderr,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl KeeperChild {
    /// Starts the keeper for `connections` connections, with `IPC_DEBUG=1`
    /// and its stderr captured, and waits until it listens.
    fn spawn(connections: usize) -> KeeperChild {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keeper.sock");
        let mut child = Command::new(std::env::current_exe().expect("current_exe"))
            .args(["--exact", "shm_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, format!("{connections}:{}", path.display()))
            .env("IPC_DEBUG", "1")
            .env_remove("IPC_TRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the keeper");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let stderr = child.stderr.take().expect("stderr");
        let mut keeper = KeeperChild {
            child,
            stdout,
            stderr,
            path,
            _dir: dir,
        };
        keeper.read_until("COURIER-READY");
        keeper
    }

    fn connect(&self) -> BlockingConnection<NoMessages, KeeperServer> {
        BlockingConnection::connect(&self.path).expect("connect to the keeper")
    }

    /// The outcome the child reports for a connection that ended.
    fn next_outcome(&mut self) -> String {
        self.read_until("COURIER-CONN ")
    }

    /// Waits for the child's exit; returns its stderr.
    fn finish(mut self) -> String {
        let status = self.child.wait().expect("wait for the keeper");
        assert!(status.success(), "the keeper exited with {status}");
        let mut stderr = String::new();
        self.stderr
            .read_to_string(&mut stderr)
            .expect("read the keeper's stderr");
        stderr
    }

    fn read_until(&mut self, marker: &str) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.stdout.read_line(&mut line).expect("read stdout");
            assert!(n > 0, "the keeper exited before printing `{marker}`");
            if let Some(at) = line.find(marker) {
                return line[at + marker.len()..].trim_end().to_owned();
            }
        }
    }
}

impl Drop for KeeperChild {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// 4096 x 4096 pixels of 4 bytes: 64 MiB.
const SIDE: u32 = 4096;

#[test]
fn a_64_mib_bitmap_crosses_without_its_pixels_being_copied() {
    let fds = fd_check();
    let mut keeper = KeeperChild::spawn(1);
    let client = keeper.connect();
    let mut bitmap = ShareableBitmap::new(SIDE, SIDE, BitmapFormat::Bgra8888).unwrap();
    assert_eq!(bitmap.pixels().len(), 64 << 20);
    let before = Color::from_argb(0xff11_2233);
    bitmap.set_pixel(SIDE - 1, SIDE - 1, before).unwrap();
    // The sender keeps its bitmap: a send encodes it by reference.
    let message = Keep { bitmap };
    let response = client.call(&message).unwrap();
    let mut bitmap = message.bitmap;
    assert!(!response.sealed);
    // Only the bitmap's description and fd went through the socket.
    assert_eq!(client.pool_stats().sent_through_pool, 0);
    let argb = |x, y| client.call(&Pixel { x, y }).unwrap().argb;
    assert_eq!(argb(SIDE - 1, SIDE - 1), before.argb());

    // Written after the send, seen by the other process.
    let after = Color::from_argb(0xff44_5566);
    bitmap.set_pixel(SIDE - 1, SIDE - 1, after).unwrap();
    bitmap.set_pixel(0, 0, after).unwrap();
    assert_eq!(argb(SIDE - 1, SIDE - 1), after.argb());
    assert_eq!(argb(0, 0), after.argb());

    drop(client);
    assert_eq!(keeper.next_outcome(), "0: ok");
    keeper.finish();
    drop(bitmap);
    fds.finish();
}

#[test]
fn a_sealed_bitmap_cannot_change_after_the_send_and_the_receiver_knows() {
    let fds = fd_check();
    let mut keeper = KeeperChild::spawn(1);
    let client = keeper.connect();
    let mut bitmap = ShareableBitmap::new(SIDE, SIDE, BitmapFormat::Bgra8888).unwrap();
    let color = Color::from_argb(0xff00_ff00);
    bitmap.set_pixel(7, 9, color).unwrap();
    bitmap.seal_read_only().unwrap();
    let message = Keep { bitmap };
    assert!(client.call(&message).unwrap().sealed);
    let mut bitmap = message.bitmap;

    // The sender's writes now fail, through every API.
    assert!(bitmap.pixels_mut().is_none());
    assert!(matches!(
        bitmap.set_pixel(7, 9, Color::from_argb(0xffff_ffff)),
        Err(ShmError::ReadOnly)
    ));
    let mut clone = bitmap.buffer().try_clone().unwrap();
    assert!(clone.as_mut_slice().is_none());
    // And not only the API: the kernel refuses a write on the memory file
    // itself (F_SEAL_WRITE), as it would any process's holding the fd.
    let fd = bitmap.buffer().fd().unwrap();
    let at = u64::from(9 * bitmap.pitch() + 7 * 4);
    assert_eq!(
        rustix::io::pwrite(fd, &[0xff; 4], at),
        Err(rustix::io::Errno::PERM)
    );
    assert_eq!(rustix::fs::ftruncate(fd, 0), Err(rustix::io::Errno::PERM));
    assert_eq!(
        client.call(&Pixel { x: 7, y: 9 }).unwrap().argb,
        color.argb()
    );

    drop((client, clone));
    assert_eq!(keeper.next_outcome(), "0: ok");
    keeper.finish();
    drop(bitmap);
    fds.finish();
}

/// A memfd of `len` bytes.
fn memfd(len: u64) -> OwnedFd {
    let fd = rustix::fs::memfd_create("lying-buffer", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
    rustix::fs::ftruncate(&fd, len).unwrap();
    fd
}

#[test]
fn a_buffer_smaller_than_claimed_is_refused_and_the_service_goes_on() {
    let fds = fd_check();
    let mut keeper = KeeperChild::spawn(3);
    // A well-behaved client, connected before the liar and served after it.
    let honest = keeper.connect();
    let bitmap = ShareableBitmap::new(16, 16, BitmapFormat::Bgra8888).unwrap();
    honest.call(&Keep { bitmap }).unwrap();

    let liar = BlockingConnection::<NoMessages, LyingKeeper>::connect(&keeper.path).unwrap();
    let error = liar
        .call(&LyingTakeBuffer {
            valid: true,
            size: 1 << 20,
            fd: memfd(4096),
        })
        .unwrap_err();
    assert!(matches!(error, Error::Disconnected), "{error}");
    // The service got the typed error, and its sentence.
    let reported = keeper.next_outcome();
    assert!(
        reported.starts_with(
            "1: malformed message 5: SharedBufferTooSmall { claimed: 1048576, actual: 4096 }: "
        ) && reported
            .contains("shared buffer claims 1048576 bytes but its memory file holds only 4096"),
        "{reported}"
    );
    drop(liar);

    // The same message, honest, works; so do the other clients.
    let buffer = SharedBuffer::new(4096).unwrap();
    assert_eq!(honest.call(&TakeBuffer { buffer }).unwrap().len, 4096);
    assert_eq!(honest.call(&Pixel { x: 0, y: 0 }).unwrap().argb, 0);
    let late = keeper.connect();
    let buffer = SharedBuffer::new(8192).unwrap();
    assert_eq!(late.call(&TakeBuffer { buffer }).unwrap().len, 8192);

    drop(honest);
    drop(late);
    let mut rest = [keeper.next_outcome(), keeper.next_outcome()];
    rest.sort();
    assert_eq!(rest, ["0: ok", "2: ok"]);
    let stderr = keeper.finish();
    // The reason is logged (IPC_DEBUG), not only returned.
    assert!(
        stderr.contains("shared buffer claims 1048576 bytes"),
        "stderr: {stderr}"
    );
    fds.finish();
}

#[test]
fn a_bitmap_sequence_crosses_with_every_frame_intact_and_its_pixels_shared() {
    let fds = fd_check();
    let mut keeper = KeeperChild::spawn(1);
    let client = keeper.connect();
    // Three frames of different shapes and formats, one absent: 16 MiB in
    // one buffer.
    let mut sequence = BitmapSequence::new(&[
        Some((2048, 1024, BitmapFormat::Bgra8888)),
        None,
        Some((640, 480, BitmapFormat::Rgba8888)),
        Some((1024, 2048, BitmapFormat::Bgrx8888)),
    ])
    .unwrap();
    let frames = sequence.frames().to_vec();
    // A marker at a corner of each present frame.
    let mark = |sequence: &mut BitmapSequence, frame: usize, x: u32, y: u32, bytes: [u8; 4]| {
        let pitch = sequence.frame(frame).unwrap().pitch();
        let at = y as usize * pitch as usize + x as usize * 4;
        sequence.frame_pixels_mut(frame).unwrap()[at..at + 4].copy_from_slice(&bytes);
    };
    mark(&mut sequence, 0, 2047, 1023, [1, 2, 3, 4]);
    mark(&mut sequence, 2, 0, 0, [5, 6, 7, 8]);
    mark(&mut sequence, 3, 1023, 2047, [9, 10, 11, 12]);

    let message = KeepFrames { frames: sequence };
    let response = client.call(&message).unwrap();
    let mut sequence = message.frames;
    assert_eq!(response.frames, frames, "every frame's metadata crossed");
    assert!(response.shared, "the receiver mapped the sender's memory");
    assert_eq!(client.pool_stats().sent_through_pool, 0);
    let pixel = |frame, x, y| {
        client
            .call(&FramePixel { frame, x, y })
            .unwrap()
            .bytes
            .to_le_bytes()
    };
    assert_eq!(pixel(0, 2047, 1023), [1, 2, 3, 4]);
    assert_eq!(pixel(2, 0, 0), [5, 6, 7, 8]);
    assert_eq!(pixel(3, 1023, 2047), [9, 10, 11, 12]);
    assert_eq!(pixel(0, 0, 0), [0, 0, 0, 0]);
    // The absent frame has no pixels on the other side either.
    assert!(matches!(
        client.call(&FramePixel {
            frame: 1,
            x: 0,
            y: 0
        }),
        Err(Error::Remote(_))
    ));

    // No pixel was copied: written after the send, seen by the other process.
    mark(&mut sequence, 0, 2047, 1023, [40, 30, 20, 10]);
    mark(&mut sequence, 3, 0, 0, [0xaa, 0xbb, 0xcc, 0xdd]);
    assert_eq!(pixel(0, 2047, 1023), [40, 30, 20, 10]);
    assert_eq!(pixel(3, 0, 0), [0xaa, 0xbb, 0xcc, 0xdd]);

    drop(client);
    assert_eq!(keeper.next_outcome(), "0: ok");
    keeper.finish();
    drop(sequence);
    fds.finish();
}
