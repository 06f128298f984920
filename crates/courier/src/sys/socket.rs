//! `sendmsg(2)` / `recvmsg(2)` with `SCM_RIGHTS` over
//! rustix's safe wrappers.
//!
//! Nothing here needs `unsafe`: rustix hands received fds back as `OwnedFd`
//! (and closes any the caller does not take), and takes fds to send as
//! `BorrowedFd`. Both calls are non-blocking (`MSG_DONTWAIT`) whatever the
//! socket's `O_NONBLOCK` flag (except [`recv_with_fds_waiting`], which may
//! block on a blocking socket), retry on `EINTR`, and never raise `SIGPIPE`
//! (`MSG_NOSIGNAL`): a vanished peer is an `EPIPE` error, not a dead process.
//!
//! A send without fds is a plain `send(2)`: no control buffer to build, and
//! the kernel skips the ancillary-data path.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::io::Errno;
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};

use crate::limits::SCM_MAX_FD;
use crate::transport::Received;

/// Room for the largest `SCM_RIGHTS` message the kernel sends or accepts.
const CMSG_SPACE: usize = rustix::cmsg_space!(ScmRights(SCM_MAX_FD));

/// Sends `bytes` with `fds` attached (to the first byte) in one `sendmsg`.
///
/// Returns the number of bytes written, which may be fewer than `bytes.len()`
/// (the fds went with them as soon as at least one byte was written), or a
/// `WouldBlock` error when the socket buffer is full.
pub(crate) fn send_with_fds(
    socket: BorrowedFd<'_>,
    bytes: &[u8],
    fds: &[BorrowedFd<'_>],
) -> io::Result<usize> {
    if fds.len() > SCM_MAX_FD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "cannot send {} file descriptors at once, the kernel takes at most {SCM_MAX_FD}",
                fds.len()
            ),
        ));
    }
    if fds.is_empty() {
        return send_plain(socket, bytes);
    }
    let mut space = [MaybeUninit::<u8>::uninit(); CMSG_SPACE];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() && !control.push(SendAncillaryMessage::ScmRights(fds)) {
        // Unreachable given the size check above; kept as an error, not a panic.
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "file descriptors do not fit the control buffer",
        ));
    }
    let iov = [IoSlice::new(bytes)];
    loop {
        match rustix::net::sendmsg(
            socket,
            &iov,
            &mut control,
            SendFlags::NOSIGNAL | SendFlags::DONTWAIT,
        ) {
            Ok(n) => return Ok(n),
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(errno.into()),
        }
    }
}

/// `send(2)` of bytes alone, non-blocking, without `SIGPIPE`.
fn send_plain(socket: BorrowedFd<'_>, bytes: &[u8]) -> io::Result<usize> {
    loop {
        match rustix::net::send(socket, bytes, SendFlags::NOSIGNAL | SendFlags::DONTWAIT) {
            Ok(n) => return Ok(n),
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(errno.into()),
        }
    }
}

/// Reads into `buf`, appending the fds that arrived to `fds` (close-on-exec).
///
/// Returns a `WouldBlock` error when nothing is there to read.
pub(crate) fn recv_with_fds(
    socket: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> io::Result<Received> {
    recv_flags(
        socket,
        buf,
        fds,
        RecvFlags::CMSG_CLOEXEC | RecvFlags::DONTWAIT,
    )
}

/// Like [`recv_with_fds`], but without `MSG_DONTWAIT`: on a socket in
/// blocking mode it waits for input (one system call instead of `poll(2)`
/// then `recvmsg(2)`); on a non-blocking socket it is [`recv_with_fds`].
pub(crate) fn recv_with_fds_waiting(
    socket: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> io::Result<Received> {
    recv_flags(socket, buf, fds, RecvFlags::CMSG_CLOEXEC)
}

fn recv_flags(
    socket: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    flags: RecvFlags,
) -> io::Result<Received> {
    let mut space = [MaybeUninit::<u8>::uninit(); CMSG_SPACE];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut iov = [IoSliceMut::new(buf)];
    let received = loop {
        match rustix::net::recvmsg(socket, &mut iov, &mut control, flags) {
            Ok(received) => break received,
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(errno.into()),
        }
    };
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received_fds) = message {
            fds.extend(received_fds);
        }
        // Any other control message is dropped here (and its resources with it).
    }
    Ok(Received {
        bytes: received.bytes,
        fds_truncated: received.flags.contains(ReturnFlags::CTRUNC),
    })
}

/// This process's effective uid.
pub(crate) fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Seek, Write};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    use super::*;

    #[test]
    fn fds_travel_with_the_bytes_and_arrive_close_on_exec() {
        let (a, b) = UnixStream::pair().unwrap();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"hello").unwrap();
        let sent = send_with_fds(a.as_fd(), b"xyz", &[file.as_fd()]).unwrap();
        assert_eq!(sent, 3);
        let mut buf = [0u8; 16];
        let mut fds = Vec::new();
        let received = recv_with_fds(b.as_fd(), &mut buf, &mut fds).unwrap();
        assert_eq!(
            received,
            Received {
                bytes: 3,
                fds_truncated: false
            }
        );
        assert_eq!(&buf[..3], b"xyz");
        assert_eq!(fds.len(), 1);
        let flags = rustix::io::fcntl_getfd(&fds[0]).unwrap();
        assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
        let mut received_file = std::fs::File::from(fds.pop().unwrap());
        received_file.rewind().unwrap();
        let mut text = String::new();
        received_file.read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello");
    }

    #[test]
    fn a_waiting_receive_blocks_until_bytes_come_and_a_plain_send_carries_them() {
        let (a, b) = UnixStream::pair().unwrap();
        let writer = std::thread::spawn(move || {
            // Sent while (or before) the reader waits: either way it arrives.
            let sent = send_with_fds(a.as_fd(), b"ping", &[]).unwrap();
            // Kept open, so that the second receive finds no end of file.
            (sent, a)
        });
        let mut buf = [0u8; 16];
        let mut fds = Vec::new();
        let received = recv_with_fds_waiting(b.as_fd(), &mut buf, &mut fds).unwrap();
        let (sent, _a) = writer.join().unwrap();
        assert_eq!(sent, 4);
        assert_eq!(&buf[..received.bytes], b"ping");
        assert!(fds.is_empty());
        b.set_nonblocking(true).unwrap();
        let err = recv_with_fds_waiting(b.as_fd(), &mut buf, &mut fds).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn an_empty_socket_would_block_and_a_closed_peer_reads_zero() {
        let (a, b) = UnixStream::pair().unwrap();
        let mut buf = [0u8; 4];
        let mut fds = Vec::new();
        let err = recv_with_fds(b.as_fd(), &mut buf, &mut fds).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(a);
        assert_eq!(
            recv_with_fds(b.as_fd(), &mut buf, &mut fds).unwrap().bytes,
            0
        );
        let err = send_with_fds(b.as_fd(), b"x", &[]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
