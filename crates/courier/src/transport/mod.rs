//! Transports: how frames' bytes and fds reach the peer.
//!
//! The protocol core ([`crate::proto`]) produces bytes plus fds and consumes
//! the same; a [`Transport`] moves them. [`UnixTransport`] is a Unix stream
//! socket with `SCM_RIGHTS`.
//!
//! The seam between protocol and I/O is the sans-IO core itself: a driver
//! feeds it what it read and writes what it asks to send, whatever the
//! socket. [`Transport`] is the blocking driver's I/O abstraction; the tokio
//! driver owns a tokio socket and calls [`send_with_fds`] and
//! [`recv_with_fds`] inside its readiness handling. Shared memory sits in
//! the core (the pool of large payloads), not under this trait.
//!
//! [`send_with_fds`] and [`recv_with_fds`] are the two system calls behind
//! [`UnixTransport`], exposed for drivers that own their socket type.

mod unix;

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

pub use unix::UnixTransport;

use crate::peer::PeerCredentials;
use crate::proto::{CloseReason, Connection};

/// What one receive brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Bytes read into the buffer; 0 means the peer closed its end.
    pub bytes: usize,
    /// The kernel dropped fds that did not fit (`MSG_CTRUNC`): a protocol
    /// error, since a message's fds are gone.
    pub fds_truncated: bool,
}

/// A non-blocking, connected, ordered byte stream that carries fds.
///
/// Both operations never block: they return an error of kind
/// [`io::ErrorKind::WouldBlock`] when they cannot proceed, and the driver
/// waits for readiness of [`AsFd::as_fd`] (`poll(2)`). They retry `EINTR`
/// themselves. A broken connection is an error of kind `BrokenPipe` or
/// `ConnectionReset`, or a receive of 0 bytes.
pub trait Transport: AsFd + Send + Sync + std::fmt::Debug {
    /// Writes a prefix of `bytes`, with `fds` attached to its first byte, and
    /// returns its length (at least 1 for a non-empty `bytes`). The fds are
    /// sent whenever the result is `Ok`.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the peer's buffer is full; other errors when the
    /// connection failed.
    fn send(&self, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize>;

    /// Reads into `buf`, appending the fds that arrived (close-on-exec) to
    /// `fds`.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when nothing is there; other errors when the connection
    /// failed.
    fn recv(&self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<Received>;

    /// Like [`recv`](Self::recv), but may wait for input instead of returning
    /// `WouldBlock`: the blocking driver calls it when it has nothing to do
    /// but wait for the peer and no deadline, saving a `poll(2)` per
    /// receive. The default waits with `poll(2)` on [`AsFd::as_fd`], then
    /// receives.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv); `WouldBlock` remains possible (the driver
    /// then waits with `poll(2)`).
    fn recv_waiting(&self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<Received> {
        let mut poll = [rustix::event::PollFd::from_borrowed_fd(
            self.as_fd(),
            rustix::event::PollFlags::IN,
        )];
        match rustix::event::poll(&mut poll, None) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(errno) => return Err(errno.into()),
        }
        self.recv(buf, fds)
    }

    /// Who is on the other end.
    ///
    /// # Errors
    ///
    /// When the transport cannot tell (the operating-system error).
    fn peer_credentials(&self) -> io::Result<PeerCredentials>;
}

/// `sendmsg(2)` on a Unix stream socket: writes a prefix of `bytes` with
/// `fds` attached to its first byte (`SCM_RIGHTS`), without blocking, without
/// `SIGPIPE`, retrying `EINTR`.
///
/// # Errors
///
/// `WouldBlock` when the socket buffer is full, `BrokenPipe` when the peer
/// is gone, `InvalidInput` for more than 253 fds.
#[doc(alias = "sendmsg")]
#[doc(alias = "SCM_RIGHTS")]
pub fn send_with_fds(socket: impl AsFd, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
    crate::sys::socket::send_with_fds(socket.as_fd(), bytes, fds)
}

/// `recvmsg(2)` on a Unix stream socket with `MSG_CMSG_CLOEXEC`: reads into
/// `buf` and appends the fds that arrived to `fds`, without blocking,
/// retrying `EINTR`.
///
/// # Errors
///
/// `WouldBlock` when nothing is there to read; `ConnectionReset` and others
/// when the connection failed.
#[doc(alias = "recvmsg")]
#[doc(alias = "SCM_RIGHTS")]
pub fn recv_with_fds(
    socket: impl AsFd,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> io::Result<Received> {
    crate::sys::socket::recv_with_fds(socket.as_fd(), buf, fds)
}

/// Hands the outcome of one receive to `core`, the same way for every driver:
/// bytes and fds as input; end of file or a vanished peer as
/// [`Connection::handle_peer_closed`]; fds dropped by the kernel as a protocol
/// error; any other failure as an I/O close. Returns whether the driver may
/// read again now (`false` on `WouldBlock` and once the connection is over).
pub fn feed_received(
    core: &mut Connection,
    now: std::time::Instant,
    result: io::Result<Received>,
    buffer: &[u8],
    fds: Vec<OwnedFd>,
) -> bool {
    match result {
        Ok(received) if received.fds_truncated => {
            drop(fds);
            let error =
                crate::error::ProtocolError::new(crate::error::ProtocolErrorKind::FdsTruncated);
            core.close(CloseReason::Protocol(error));
            false
        }
        Ok(received) if received.bytes == 0 => {
            core.handle_peer_closed();
            false
        }
        Ok(received) => {
            core.handle_input(now, &buffer[..received.bytes], fds);
            true
        }
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => false,
        Err(error) => {
            fail(core, error);
            false
        }
    }
}

/// Closes `core` after a failed send or receive: a vanished peer (`EPIPE`,
/// `ECONNRESET`) is an orderly end, anything else an I/O error.
pub fn fail(core: &mut Connection, error: io::Error) {
    let peer_gone = matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    );
    if peer_gone {
        core.handle_peer_closed();
    } else {
        core.close(CloseReason::Io(error));
    }
}

/// The error of a failed `connect(2)` to the socket at `path`, saying what
/// is (or is not) there and what to do; the [`io::ErrorKind`] is kept.
pub(crate) fn connect_error(path: &std::path::Path, error: io::Error) -> crate::Error {
    use std::os::unix::fs::FileTypeExt;
    let shown = path.display();
    let why = match error.kind() {
        io::ErrorKind::NotFound => {
            format!("there is no socket at `{shown}`; is the service running?")
        }
        io::ErrorKind::ConnectionRefused => match std::fs::symlink_metadata(path) {
            Ok(metadata) if !metadata.file_type().is_socket() => {
                let found = crate::sys::takeover::describe_metadata(&metadata);
                format!("`{shown}` is a {found}, not a socket; check the path")
            }
            _ => format!(
                "nothing listens at `{shown}` (a service that exited without removing its socket?); start the service"
            ),
        },
        io::ErrorKind::PermissionDenied => format!(
            "not allowed to connect to `{shown}`: the socket, or a directory on its path, belongs to another user or is not writable by this one"
        ),
        _ => format!("could not connect to `{shown}`: {error}"),
    };
    crate::Error::Io(io::Error::new(error.kind(), why))
}

#[cfg(test)]
mod connect_error_tests {
    use super::connect_error;

    fn message(path: &std::path::Path) -> String {
        let error = std::os::unix::net::UnixStream::connect(path).unwrap_err();
        connect_error(path, error).to_string()
    }

    #[test]
    fn each_failed_connect_says_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.sock");
        assert_eq!(
            message(&missing),
            format!(
                "there is no socket at `{}`; is the service running?",
                missing.display()
            )
        );
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(
            message(&file),
            format!(
                "`{}` is a regular file, not a socket; check the path",
                file.display()
            )
        );
        let stale = dir.path().join("stale.sock");
        drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
        assert!(
            message(&stale).starts_with("nothing listens at `"),
            "{}",
            message(&stale)
        );
    }
}
