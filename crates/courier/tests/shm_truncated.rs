//! A memfd truncated by its sender after sending never raises `SIGBUS` in
//! the receiver (issue 6).
//!
//! A buffer keeper runs in a child process (this test binary started again
//! as `truncate_child`); each test is a hostile client that sends a shared
//! buffer, has the keeper map (or copy) it, then cuts the memory file to
//! zero bytes and asks the keeper to read every byte it kept. Before the
//! fix, the read touched pages that were gone and the keeper died of
//! `SIGBUS`; now the receiver seals the file against shrinking on receipt
//! (so the truncation fails) or, when it cannot, keeps a private copy (so
//! the truncation does not matter). Either way the keeper reads the right
//! bytes and then serves the next client.
//!
//! Synchronisation is by pipes only: the child prints `COURIER-READY` once
//! it listens, and `COURIER-CONN <n>: <outcome>` as each connection ends.

#[path = "support/mod.rs"]
#[macro_use]
mod support;

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::Stdio;

use courier::blocking::BlockingConnection;
use courier::shm::{BitmapFormat, ShareableBitmap, SharedBuffer};
use courier::{NoMessages, Reply};
use rustix::fs::{MemfdFlags, SealFlags};
use support::{ChildProcess, fd_check, self_command};

use keeper::*;

/// The environment variable that makes `truncate_child` a server:
/// `<connections to serve>:<socket path>`.
const CHILD_ENV: &str = "COURIER_TRUNCATE_CHILD";

/// The size of every buffer sent: 1 MiB, 256 pages.
const LEN: usize = 1 << 20;
/// The byte every buffer is filled with.
const FILL: u8 = 0x5a;

/// By hand, what `courier-build` would generate for:
///
/// ```text
/// endpoint TruncateKeeper
/// {
///     keep(Core::AnonymousBuffer buffer) => (bool private_copy, bool writable)
///     keep_bitmap(Gfx::ShareableBitmap bitmap) => (bool private_copy)
///     sum() => (u64 sum, u64 len)
/// }
/// ```
mod keeper {
    use courier::shm::{ShareableBitmap, SharedBuffer};

    /// The `TruncateKeeper` endpoint.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct TruncateKeeper;

    message!(
        TruncateKeeper,
        1,
        "keep",
        Keep {
            buffer: SharedBuffer
        }
    );
    message!(
        TruncateKeeper,
        2,
        "KeepResponse",
        KeepResponse {
            private_copy: bool,
            writable: bool
        }
    );
    message!(
        TruncateKeeper,
        3,
        "keep_bitmap",
        KeepBitmap {
            bitmap: ShareableBitmap
        }
    );
    message!(
        TruncateKeeper,
        4,
        "KeepBitmapResponse",
        KeepBitmapResponse { private_copy: bool }
    );
    message!(TruncateKeeper, 5, "sum", Sum {});
    message!(
        TruncateKeeper,
        6,
        "SumResponse",
        SumResponse { sum: u64, len: u64 }
    );

    impl courier::Request for Keep {
        type Response = KeepResponse;
    }
    impl courier::Request for KeepBitmap {
        type Response = KeepBitmapResponse;
    }
    impl courier::Request for Sum {
        type Response = SumResponse;
    }

    /// Any message for `TruncateKeeper`.
    #[derive(Debug)]
    pub enum KeeperMessage {
        Keep(Keep),
        KeepBitmap(KeepBitmap),
        Sum(Sum),
    }

    impl courier::Endpoint for TruncateKeeper {
        const NAME: &'static str = "TruncateKeeper";
        const MAGIC: u32 = 0x5452_4e4b;
        type Message = KeeperMessage;

        fn decode_message(
            id: u32,
            decoder: &mut courier::Decoder<'_>,
        ) -> Result<KeeperMessage, courier::DecodeError> {
            use courier::Decode;
            match id {
                1 => Keep::decode(decoder).map(KeeperMessage::Keep),
                3 => KeepBitmap::decode(decoder).map(KeeperMessage::KeepBitmap),
                5 => Sum::decode(decoder).map(KeeperMessage::Sum),
                _ => Err(courier::DecodeError::new(
                    courier::codec::DecodeErrorKind::UnknownMessage {
                        endpoint: "TruncateKeeper",
                        id,
                    },
                )),
            }
        }

        fn message_name(id: u32) -> Option<&'static str> {
            const NAMES: [&str; 6] = [
                "keep",
                "KeepResponse",
                "keep_bitmap",
                "KeepBitmapResponse",
                "sum",
                "SumResponse",
            ];
            NAMES.get((id as usize).wrapping_sub(1)).copied()
        }
    }
}

// ----- the service, in the child -----

/// One connection's state: what it was given, read only on `sum`.
#[derive(Default)]
struct Keeper {
    buffers: Vec<SharedBuffer>,
    bitmaps: Vec<ShareableBitmap>,
}

impl courier::Handler<TruncateKeeper> for Keeper {
    fn handle(&mut self, message: KeeperMessage) -> Reply {
        match message {
            KeeperMessage::Keep(Keep { buffer }) => {
                let response = KeepResponse {
                    private_copy: buffer.is_private_copy(),
                    writable: buffer.is_writable(),
                };
                self.buffers.push(buffer);
                Reply::response(response)
            }
            KeeperMessage::KeepBitmap(KeepBitmap { bitmap }) => {
                let response = KeepBitmapResponse {
                    private_copy: bitmap.buffer().is_private_copy(),
                };
                self.bitmaps.push(bitmap);
                Reply::response(response)
            }
            KeeperMessage::Sum(Sum {}) => {
                // Touches every byte kept: a page the sender cut off would
                // raise SIGBUS here.
                let slices = self
                    .buffers
                    .iter()
                    .map(SharedBuffer::as_slice)
                    .chain(self.bitmaps.iter().map(ShareableBitmap::pixels));
                let (mut sum, mut len) = (0u64, 0u64);
                for slice in slices {
                    sum += slice.iter().map(|&b| u64::from(b)).sum::<u64>();
                    len += slice.len() as u64;
                }
                Reply::response(SumResponse { sum, len })
            }
        }
    }
}

/// The child: serves as many connections as it was told, one after the
/// other, then exits. Run without the variable, it is an in-process smoke
/// test of the same service over a socketpair.
#[test]
fn truncate_child() {
    let Some(spec) = std::env::var_os(CHILD_ENV) else {
        let fds = fd_check();
        let (client_end, server_end) = std::os::unix::net::UnixStream::pair().unwrap();
        let server = std::thread::spawn(move || {
            BlockingConnection::<TruncateKeeper, NoMessages>::accept(server_end)
                .and_then(|connection| connection.serve(&mut Keeper::default()))
        });
        let client =
            BlockingConnection::<NoMessages, TruncateKeeper>::from_stream(client_end).unwrap();
        let buffer = SharedBuffer::from_bytes(&[1, 2, 3]).unwrap();
        assert!(!client.call(&Keep { buffer }).unwrap().private_copy);
        let sum = client.call(&Sum {}).unwrap();
        assert_eq!((sum.sum, sum.len), (6, 3));
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
    support::say("COURIER-READY");
    for n in 0..count {
        let (stream, _) = listener.accept().expect("accept");
        let result = BlockingConnection::<TruncateKeeper, NoMessages>::accept(stream)
            .and_then(|connection| connection.serve(&mut Keeper::default()));
        let outcome = match result {
            Ok(()) => "ok".to_owned(),
            Err(error) => format!("err: {error}"),
        };
        support::say(&format!("COURIER-CONN {n}: {outcome}"));
    }
}

// ----- the parent -----

struct KeeperChild {
    child: ChildProcess,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl KeeperChild {
    fn spawn(connections: usize) -> KeeperChild {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keeper.sock");
        let mut command = self_command("truncate_child");
        command
            .env(CHILD_ENV, format!("{connections}:{}", path.display()))
            .env_remove("IPC_TRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let mut child = ChildProcess::spawn(&mut command, "keeper");
        child.read_until("COURIER-READY");
        KeeperChild {
            child,
            path,
            _dir: dir,
        }
    }

    fn connect(&self) -> BlockingConnection<NoMessages, TruncateKeeper> {
        BlockingConnection::connect(&self.path).expect("connect to the keeper")
    }

    /// Waits for the outcome of the next connection to end.
    fn next_outcome(&mut self) -> String {
        self.child.read_until("COURIER-CONN ")
    }

    fn finish(mut self) {
        let status = self.child.wait();
        assert!(status.success(), "the keeper exited with {status}");
    }
}

/// How the hostile sender makes its memory file.
#[derive(Debug, Clone, Copy)]
enum Sender {
    /// `memfd_create` with `MFD_ALLOW_SEALING`, no seals: the receiver can
    /// seal it.
    Sealable,
    /// `memfd_create` without `MFD_ALLOW_SEALING` (as C++ LibIPC does): it
    /// cannot be sealed.
    Unsealable,
    /// Sealable, but locked with `F_SEAL_SEAL` before any shrink seal.
    SealSealed,
    /// A sealable memfd sent read-only (reopened `O_RDONLY`): no write
    /// access, so no sealing.
    ReadOnly,
}

/// A memory file of `LEN` bytes filled with `FILL`, made as `sender` says,
/// and the fd to send (the same file; read-only for `Sender::ReadOnly`).
fn hostile_memfd(sender: Sender) -> (OwnedFd, OwnedFd) {
    let flags = match sender {
        Sender::Unsealable => MemfdFlags::CLOEXEC,
        _ => MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    };
    let fd = rustix::fs::memfd_create("hostile", flags).unwrap();
    rustix::io::write(&fd, &vec![FILL; LEN]).unwrap();
    if let Sender::SealSealed = sender {
        rustix::fs::fcntl_add_seals(&fd, SealFlags::SEAL).unwrap();
    }
    let sent = match sender {
        Sender::ReadOnly => rustix::fs::open(
            format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd)),
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .unwrap(),
        _ => fd.try_clone().unwrap(),
    };
    (fd, sent)
}

/// `TruncateKeeper` as a hostile client sees it: `keep` spells the shared
/// buffer's wire form out (`bool` valid, `u32` size, the fd) and
/// `keep_bitmap` the bitmap's (`bool` valid, the fd, width, height, scale,
/// format), so the client controls the fd and what it claims.
mod hostile {
    use std::os::fd::OwnedFd;

    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct RawKeeper;

    message!(
        RawKeeper,
        1,
        "keep",
        RawKeep {
            valid: bool,
            size: u32,
            fd: OwnedFd
        }
    );
    message!(
        RawKeeper,
        2,
        "KeepResponse",
        RawKeepResponse {
            private_copy: bool,
            writable: bool
        }
    );
    message!(
        RawKeeper,
        3,
        "keep_bitmap",
        RawKeepBitmap {
            valid: bool,
            fd: OwnedFd,
            width: i32,
            height: i32,
            scale: u32,
            format: courier::shm::BitmapFormat
        }
    );
    message!(
        RawKeeper,
        4,
        "KeepBitmapResponse",
        RawKeepBitmapResponse { private_copy: bool }
    );
    message!(RawKeeper, 5, "sum", RawSum {});
    message!(
        RawKeeper,
        6,
        "SumResponse",
        RawSumResponse { sum: u64, len: u64 }
    );

    impl courier::Request for RawKeep {
        type Response = RawKeepResponse;
    }
    impl courier::Request for RawKeepBitmap {
        type Response = RawKeepBitmapResponse;
    }
    impl courier::Request for RawSum {
        type Response = RawSumResponse;
    }

    impl courier::Endpoint for RawKeeper {
        const NAME: &'static str = "TruncateKeeper";
        const MAGIC: u32 = 0x5452_4e4b;
        type Message = std::convert::Infallible;

        fn decode_message(
            id: u32,
            _: &mut courier::Decoder<'_>,
        ) -> Result<std::convert::Infallible, courier::DecodeError> {
            Err(courier::DecodeError::new(
                courier::codec::DecodeErrorKind::UnknownMessage {
                    endpoint: "TruncateKeeper",
                    id,
                },
            ))
        }

        fn message_name(_: u32) -> Option<&'static str> {
            None
        }
    }
}

use hostile::{RawKeep, RawKeepBitmap, RawKeeper, RawSum};

/// Sends a hostile buffer, truncates it once the keeper has it, and checks
/// that the keeper still reads every byte and serves the next client.
/// Returns whether the keeper took a private copy and whether the
/// truncation succeeded.
fn truncate_after_sending(sender: Sender) -> (bool, bool) {
    let fds = fd_check();
    let mut keeper = KeeperChild::spawn(2);
    let hostile = BlockingConnection::<NoMessages, RawKeeper>::connect(&keeper.path).unwrap();
    let (mine, sent) = hostile_memfd(sender);
    let kept = hostile
        .call(&RawKeep {
            valid: true,
            size: LEN as u32,
            fd: sent,
        })
        .unwrap_or_else(|e| panic!("{sender:?}: the keeper takes the buffer: {e}"));
    // The keeper has mapped (or copied) it: now cut it off.
    let truncated = rustix::fs::ftruncate(&mine, 0).is_ok();
    let sum = hostile
        .call(&RawSum {})
        .unwrap_or_else(|e| panic!("{sender:?}: the keeper survives reading the buffer: {e}"));
    assert_eq!(
        (sum.sum, sum.len),
        (u64::from(FILL) * LEN as u64, LEN as u64),
        "{sender:?}: the keeper reads the bytes as sent"
    );
    drop(hostile);
    assert_eq!(keeper.next_outcome(), "0: ok");

    // The next client is served.
    let next = keeper.connect();
    let buffer = SharedBuffer::from_bytes(&[7; 100]).unwrap();
    let response = next.call(&Keep { buffer }).unwrap();
    assert!(!response.private_copy, "courier's own buffers are shared");
    assert_eq!(next.call(&Sum {}).unwrap().sum, 700);
    drop(next);
    assert_eq!(keeper.next_outcome(), "1: ok");
    keeper.finish();
    drop(mine);
    fds.finish();
    (kept.private_copy, truncated)
}

#[test]
fn a_sealable_memfd_is_sealed_by_the_receiver_and_cannot_be_truncated() {
    let (private_copy, truncated) = truncate_after_sending(Sender::Sealable);
    assert!(!private_copy, "a sealable memfd is shared, not copied");
    assert!(!truncated, "the receiver sealed it against shrinking");
}

#[test]
fn an_unsealable_memfd_truncated_after_sending_is_read_from_a_private_copy() {
    let (private_copy, truncated) = truncate_after_sending(Sender::Unsealable);
    assert!(private_copy, "an unsealable memfd is copied on receipt");
    assert!(truncated, "the sender could still truncate its file");
}

#[test]
fn a_memfd_locked_with_f_seal_seal_is_read_from_a_private_copy() {
    let (private_copy, truncated) = truncate_after_sending(Sender::SealSealed);
    assert!(private_copy);
    assert!(truncated);
}

#[test]
fn a_read_only_memfd_is_read_from_a_private_copy() {
    let (private_copy, truncated) = truncate_after_sending(Sender::ReadOnly);
    assert!(private_copy, "no write access, no seal: copied");
    assert!(truncated);
}

#[test]
fn a_bitmap_over_an_unsealable_memfd_truncated_after_sending_is_safe() {
    let fds = fd_check();
    let mut keeper = KeeperChild::spawn(1);
    // A bitmap's wire form, SerenityOS's: valid, the pixels' fd (no size:
    // the receiver derives 512 * 4 * 512 bytes), width, height, scale,
    // format; encoded field by field to send the hostile file.
    let (mine, sent) = hostile_memfd(Sender::Unsealable);
    let client = BlockingConnection::<NoMessages, RawKeeper>::connect(&keeper.path).unwrap();
    let response = client
        .call(&RawKeepBitmap {
            valid: true,
            fd: sent,
            width: 512,
            height: 512,
            scale: 1,
            format: BitmapFormat::Bgra8888,
        })
        .unwrap();
    assert!(response.private_copy);
    rustix::fs::ftruncate(&mine, 0).unwrap();
    let sum = client.call(&RawSum {}).unwrap();
    assert_eq!(sum.sum, u64::from(FILL) * LEN as u64);
    drop(client);
    assert_eq!(keeper.next_outcome(), "0: ok");
    keeper.finish();
    drop(mine);
    fds.finish();
}
