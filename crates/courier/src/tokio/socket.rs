//! The socket types the tokio flavour accepts: std's or tokio's.

use std::io;

mod sealed {
    pub trait Sealed {}
    impl Sealed for std::os::unix::net::UnixStream {}
    impl Sealed for tokio::net::UnixStream {}
    impl Sealed for std::os::unix::net::UnixListener {}
    impl Sealed for tokio::net::UnixListener {}
}

/// A connected Unix stream socket: [`std::os::unix::net::UnixStream`] or
/// [`tokio::net::UnixStream`](::tokio::net::UnixStream).
///
/// A std stream is switched to non-blocking mode and registered with the
/// tokio runtime of the task that uses it.
pub trait IntoUnixStream: sealed::Sealed + Send {
    /// The stream as tokio's, registered with the current runtime.
    ///
    /// # Errors
    ///
    /// When the stream cannot be made non-blocking or registered.
    #[doc(hidden)]
    fn into_tokio(self) -> io::Result<::tokio::net::UnixStream>;
}

impl IntoUnixStream for std::os::unix::net::UnixStream {
    fn into_tokio(self) -> io::Result<::tokio::net::UnixStream> {
        self.set_nonblocking(true)?;
        ::tokio::net::UnixStream::from_std(self)
    }
}

impl IntoUnixStream for ::tokio::net::UnixStream {
    fn into_tokio(self) -> io::Result<::tokio::net::UnixStream> {
        Ok(self)
    }
}

/// A listening Unix stream socket: [`std::os::unix::net::UnixListener`] or
/// [`tokio::net::UnixListener`](::tokio::net::UnixListener), such as one
/// taken over from a service manager.
pub trait IntoUnixListener: sealed::Sealed + Send {
    /// The listener as std's (tokio's is deregistered from its runtime).
    ///
    /// # Errors
    ///
    /// When a tokio listener cannot be deregistered.
    #[doc(hidden)]
    fn into_std(self) -> io::Result<std::os::unix::net::UnixListener>;
}

impl IntoUnixListener for std::os::unix::net::UnixListener {
    fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        Ok(self)
    }
}

impl IntoUnixListener for ::tokio::net::UnixListener {
    fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        ::tokio::net::UnixListener::into_std(self)
    }
}
