use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

use super::{Received, Transport};
use crate::peer::PeerCredentials;

/// A connected Unix stream socket as a [`Transport`].
///
/// It leaves the socket's `O_NONBLOCK` flag alone: `send` and `recv` pass
/// `MSG_DONTWAIT` instead; `recv_waiting` blocks in `recvmsg(2)` when the
/// socket is in blocking mode (std's default).
///
/// # Example
///
/// ```
/// use std::os::unix::net::UnixStream;
/// use courier::transport::{Transport, UnixTransport};
///
/// let (a, b) = UnixStream::pair().unwrap();
/// let (a, b) = (UnixTransport::new(a), UnixTransport::new(b));
/// assert_eq!(a.send(b"hi", &[]).unwrap(), 2);
/// let mut buf = [0; 8];
/// let mut fds = Vec::new();
/// assert_eq!(b.recv(&mut buf, &mut fds).unwrap().bytes, 2);
/// ```
#[derive(Debug)]
pub struct UnixTransport {
    stream: UnixStream,
}

impl UnixTransport {
    /// Wraps a connected stream.
    pub fn new(stream: UnixStream) -> UnixTransport {
        UnixTransport { stream }
    }

    /// The stream.
    pub fn get_ref(&self) -> &UnixStream {
        &self.stream
    }

    /// Gives the stream back.
    pub fn into_inner(self) -> UnixStream {
        self.stream
    }
}

impl AsFd for UnixTransport {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

impl Transport for UnixTransport {
    fn send(&self, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
        super::send_with_fds(&self.stream, bytes, fds)
    }

    fn recv(&self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<Received> {
        super::recv_with_fds(&self.stream, buf, fds)
    }

    fn recv_waiting(&self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<Received> {
        crate::sys::socket::recv_with_fds_waiting(self.stream.as_fd(), buf, fds)
    }

    fn peer_credentials(&self) -> io::Result<PeerCredentials> {
        PeerCredentials::of(&self.stream)
    }
}
