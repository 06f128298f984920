//! Who is on the other end of a connection.

/// The process on the other end of a Unix socket, as the kernel recorded it
/// when the connection was made (`SO_PEERCRED`): it cannot be forged by the
/// peer.
///
/// # Example
///
/// ```
/// use std::os::unix::net::UnixStream;
///
/// let (a, _b) = UnixStream::pair().unwrap();
/// let peer = courier::PeerCredentials::of(&a).unwrap();
/// assert_eq!(peer.pid, std::process::id());
/// ```
#[doc(alias = "SO_PEERCRED")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerCredentials {
    /// The peer's process id (0 when the peer lives in another pid namespace
    /// the kernel cannot map).
    pub pid: u32,
    /// The peer's effective user id when it connected.
    pub uid: u32,
    /// The peer's effective group id when it connected.
    pub gid: u32,
}

impl PeerCredentials {
    /// Reads the credentials of the peer of `socket`, a connected Unix socket.
    ///
    /// # Errors
    ///
    /// The `getsockopt(2)` error, such as `ENOTCONN` for an unconnected socket.
    pub fn of(socket: &impl std::os::fd::AsFd) -> std::io::Result<PeerCredentials> {
        crate::sys::ids::peer_credentials(socket.as_fd())
    }
}
