//! Taking ownership of a listening socket that a parent process passed by
//! number (socket activation), and clearing the variables that named it.
//!
//! These are the two places where discovery cannot stay in safe Rust:
//!
//! - an fd number read from the environment becomes an `OwnedFd` only through
//!   `OwnedFd::from_raw_fd`;
//! - `std::env::remove_var` is `unsafe` in edition 2024, since another thread
//!   may read the environment at the same time.
//!
//! Each is narrowed to what can be argued: an fd is taken only once per
//! process, and only after the kernel confirms that it is open and is a
//! listening Unix stream socket; the environment is changed only while this
//! thread is the process's only one.
#![allow(unsafe_code)]

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::sync::Mutex;

use rustix::fs::FileType;
use rustix::io::{Errno, FdFlags};
use rustix::net::{AddressFamily, SocketType};

/// Every fd number this process has taken over. A number is never taken
/// twice, even after the listener made from it is closed and the number is
/// reused by something else: the environment may still name it.
static TAKEN: Mutex<BTreeSet<RawFd>> = Mutex::new(BTreeSet::new());

/// Why an fd passed by the parent was not taken.
#[derive(Debug)]
pub(crate) enum TakeError {
    /// A negative number.
    Invalid,
    /// This process already took this fd number.
    AlreadyTaken,
    /// No open file has this number.
    NotOpen,
    /// The fd is open but is not a socket (the kind of file it is).
    NotASocket(&'static str),
    /// A socket of another family than `AF_UNIX`.
    NotUnix,
    /// A Unix socket of another type than `SOCK_STREAM`.
    NotStream,
    /// A Unix stream socket that is not listening (a connected one, or one
    /// never passed to `listen`).
    NotListening,
    /// A system call failed while checking or adjusting the fd.
    Io(io::Error),
}

impl fmt::Display for TakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TakeError::Invalid => f.write_str("it is negative"),
            TakeError::AlreadyTaken => f.write_str("this process already took it over"),
            TakeError::NotOpen => f.write_str("no file is open with that number"),
            TakeError::NotASocket(kind) => write!(f, "it is a {kind}, not a socket"),
            TakeError::NotUnix => f.write_str("it is a socket of another family than AF_UNIX"),
            TakeError::NotStream => {
                f.write_str("it is a Unix socket of another type than SOCK_STREAM")
            }
            TakeError::NotListening => {
                f.write_str("it is a Unix stream socket that is not listening")
            }
            TakeError::Io(error) => write!(f, "checking it failed: {error}"),
        }
    }
}

/// Whether this process already took `raw` over.
pub(crate) fn is_taken(raw: RawFd) -> bool {
    lock_taken().contains(&raw)
}

fn lock_taken() -> std::sync::MutexGuard<'static, BTreeSet<RawFd>> {
    // Only the short sections below run under this lock.
    TAKEN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Takes ownership of fd `raw`, which a parent process passed as a listening
/// Unix stream socket, after checking that it is one. The listener comes back
/// close-on-exec and in blocking mode (as `UnixListener::bind` makes them).
///
/// Nothing is closed or changed when a check fails: an fd that is not what
/// the parent announced is not ours to touch.
pub(crate) fn take_listening_socket(raw: RawFd) -> Result<UnixListener, TakeError> {
    if raw < 0 {
        return Err(TakeError::Invalid);
    }
    // Held to the end, so two threads cannot both take the same number.
    let mut taken = lock_taken();
    if taken.contains(&raw) {
        return Err(TakeError::AlreadyTaken);
    }
    // SAFETY: `borrow_raw` requires `raw` to stay open while the borrow
    // lives. The borrow lives until the end of `verify_listening_socket`, and
    // is only passed to `fcntl(F_GETFD)`, `fstat` and `getsockopt`; nothing
    // here closes it. If `raw` is not open at all, `fcntl` fails with `EBADF`
    // and we stop: the kernel validates the number, no memory is involved.
    // Another owner that could close it concurrently would contradict the
    // takeover protocol: the parent handed this number to this process for it
    // to take, and `TAKEN` (checked above) shows courier has not taken it yet.
    let borrowed = unsafe { BorrowedFd::borrow_raw(raw) };
    verify_listening_socket(borrowed)?;
    // SAFETY: `raw` is open (F_GETFD succeeded) and is a listening Unix
    // stream socket (checked just above), so it is the socket the parent
    // passed. Ownership is claimed exactly once per process: `TAKEN` is
    // locked, did not contain `raw`, and records it below before the lock
    // is released, so no second `OwnedFd` for this number can come from here.
    // Nothing else in courier holds raw fd numbers it does not own.
    let owned = unsafe { OwnedFd::from_raw_fd(raw) };
    taken.insert(raw);
    drop(taken);
    // Not inherited by processes this one starts (the parent's copy did not
    // have to be close-on-exec for it to reach us).
    rustix::io::fcntl_setfd(&owned, FdFlags::CLOEXEC).map_err(|e| TakeError::Io(e.into()))?;
    let listener = UnixListener::from(owned);
    listener.set_nonblocking(false).map_err(TakeError::Io)?;
    Ok(listener)
}

/// Checks that `fd` is open and is a listening Unix stream socket.
fn verify_listening_socket(fd: BorrowedFd<'_>) -> Result<(), TakeError> {
    match rustix::io::fcntl_getfd(fd) {
        Ok(_) => {}
        Err(Errno::BADF) => return Err(TakeError::NotOpen),
        Err(errno) => return Err(TakeError::Io(errno.into())),
    }
    let stat = rustix::fs::fstat(fd).map_err(|e| TakeError::Io(e.into()))?;
    let file_type = FileType::from_raw_mode(stat.st_mode);
    if file_type != FileType::Socket {
        return Err(TakeError::NotASocket(describe_file_type(file_type)));
    }
    let family = rustix::net::sockopt::socket_domain(fd).map_err(|e| TakeError::Io(e.into()))?;
    if family != AddressFamily::UNIX {
        return Err(TakeError::NotUnix);
    }
    let socket_type = rustix::net::sockopt::socket_type(fd).map_err(|e| TakeError::Io(e.into()))?;
    if socket_type != SocketType::STREAM {
        return Err(TakeError::NotStream);
    }
    let listening =
        rustix::net::sockopt::socket_acceptconn(fd).map_err(|e| TakeError::Io(e.into()))?;
    if !listening {
        return Err(TakeError::NotListening);
    }
    Ok(())
}

/// What the file of `metadata` is, in words.
pub(crate) fn describe_metadata(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::MetadataExt;
    describe_file_type(FileType::from_raw_mode(metadata.mode()))
}

/// A file type, in words.
pub(crate) fn describe_file_type(file_type: FileType) -> &'static str {
    match file_type {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symbolic link",
        FileType::Fifo => "pipe",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        _ => "file of unknown type",
    }
}

/// Removes `vars` from this process's environment if this thread is the
/// process's only one; returns whether it did.
///
/// With other threads running, the variables stay: removing them could race
/// with a read in another thread (which is why `remove_var` is `unsafe`).
pub(crate) fn remove_env_if_single_threaded(vars: &[&str]) -> bool {
    if !is_single_threaded() {
        return false;
    }
    for var in vars {
        // SAFETY: `remove_var` is unsafe because another thread may read or
        // write the environment at the same time (through std or libc's
        // `getenv`), a data race. `is_single_threaded` just listed exactly one
        // task in /proc/self/task: this thread is the only one in the process.
        // None can have started since: only a thread of this process can
        // start one, and the only one is here.
        unsafe { std::env::remove_var(var) };
    }
    true
}

/// Whether the process has exactly one thread (Linux: one entry in
/// `/proc/self/task`). `false` when that cannot be read.
fn is_single_threaded() -> bool {
    match std::fs::read_dir("/proc/self/task") {
        Ok(tasks) => tasks.count() == 1,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::{AsRawFd, IntoRawFd};
    use std::os::unix::net::UnixStream;

    use super::*;

    #[test]
    fn a_listening_unix_socket_is_taken_once_close_on_exec_and_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let listener = UnixListener::bind(dir.path().join("s")).unwrap();
        listener.set_nonblocking(true).unwrap();
        // Give up ownership: from here the number is "passed by a parent".
        let raw = listener.into_raw_fd();
        rustix::io::fcntl_setfd(
            // SAFETY: `raw` was just released by `into_raw_fd` and is open.
            unsafe { BorrowedFd::borrow_raw(raw) },
            FdFlags::empty(),
        )
        .unwrap();
        let taken = take_listening_socket(raw).unwrap();
        assert_eq!(taken.as_raw_fd(), raw);
        assert!(is_taken(raw));
        assert!(
            rustix::io::fcntl_getfd(&taken)
                .unwrap()
                .contains(FdFlags::CLOEXEC)
        );
        let flags = rustix::fs::fcntl_getfl(&taken).unwrap();
        assert!(!flags.contains(rustix::fs::OFlags::NONBLOCK));
        assert!(matches!(
            take_listening_socket(raw),
            Err(TakeError::AlreadyTaken)
        ));
        let _client = UnixStream::connect(dir.path().join("s")).unwrap();
        let (_server, _) = taken.accept().unwrap();
        // Kept open for the rest of the test process: once closed, its number
        // could be reused by another test's fd, which `take_listening_socket`
        // would then (rightly) refuse as already taken.
        std::mem::forget(taken);
    }

    #[test]
    fn what_is_not_a_listening_unix_stream_socket_is_left_alone() {
        let file = tempfile::tempfile().unwrap();
        let raw = file.as_raw_fd();
        assert!(matches!(
            take_listening_socket(raw),
            Err(TakeError::NotASocket("regular file"))
        ));
        let (a, _b) = UnixStream::pair().unwrap();
        assert!(matches!(
            take_listening_socket(a.as_raw_fd()),
            Err(TakeError::NotListening)
        ));
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(matches!(
            take_listening_socket(udp.as_raw_fd()),
            Err(TakeError::NotUnix)
        ));
        let (d, _e) = std::os::unix::net::UnixDatagram::pair().unwrap();
        assert!(matches!(
            take_listening_socket(d.as_raw_fd()),
            Err(TakeError::NotStream)
        ));
        assert!(matches!(take_listening_socket(-1), Err(TakeError::Invalid)));
        // Nothing was taken, so nothing is closed twice when these drop.
        assert!(!is_taken(raw) && !is_taken(a.as_raw_fd()));
        // A file that stays open and is still usable proves nothing was closed.
        assert!(rustix::io::fcntl_getfd(&file).is_ok());
    }
}
