//! Process and peer ids that may legitimately be zero.
//!
//! rustix models a pid as a non-zero number, but the kernel reports 0 in two
//! ordinary situations: `getsid` when the session leader lives outside this
//! process's pid namespace (a container, a CI runner whose init never called
//! `setsid`), and the pid of `SO_PEERCRED` when the peer lives in a pid
//! namespace this process cannot see. rustix 1.1 asserts (or, for
//! `SO_PEERCRED`, reads 0 into a non-zero type), so these two calls go
//! through libc here, where 0 is just a number.
#![allow(unsafe_code)]

use std::io;
use std::mem::{MaybeUninit, size_of};
use std::os::fd::{AsRawFd, BorrowedFd};

use crate::peer::PeerCredentials;

/// This process's session id (`getsid(0)`); 0 when the session leader is
/// not visible from this pid namespace.
pub(crate) fn session_id() -> io::Result<u32> {
    // SAFETY: getsid takes a pid by value and touches no memory of ours.
    let sid = unsafe { libc::getsid(0) };
    if sid < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(sid as u32)
}

/// The credentials of the peer of a connected Unix socket (`SO_PEERCRED`).
/// The pid is 0 when the peer's process is not visible from this pid
/// namespace.
pub(crate) fn peer_credentials(socket: BorrowedFd<'_>) -> io::Result<PeerCredentials> {
    let mut cred = MaybeUninit::<libc::ucred>::zeroed();
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: the fd is borrowed, so open for the call; `cred` is a writable
    // `ucred` of `len` bytes, which the kernel fills (and `len` says how much).
    let result = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            cred.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    if len as usize != size_of::<libc::ucred>() {
        return Err(io::Error::other(format!(
            "SO_PEERCRED returned {len} bytes, not the {} of a ucred",
            size_of::<libc::ucred>()
        )));
    }
    // SAFETY: zero-initialised, then filled by the kernel; every bit pattern
    // is a valid `ucred` (three integers).
    let cred = unsafe { cred.assume_init() };
    Ok(PeerCredentials {
        pid: u32::try_from(cred.pid).unwrap_or(0),
        uid: cred.uid,
        gid: cred.gid,
    })
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    use super::*;

    #[test]
    fn the_session_id_is_the_one_proc_reports() {
        // Field 6 of /proc/self/stat, after the parenthesised command name.
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let from_proc: u32 = after_name.split(' ').nth(3).unwrap().parse().unwrap();
        assert_eq!(session_id().unwrap(), from_proc);
    }

    #[test]
    fn a_socket_pair_peer_is_this_process() {
        let (a, _b) = UnixStream::pair().unwrap();
        let cred = peer_credentials(a.as_fd()).unwrap();
        assert_eq!(cred.pid, std::process::id());
        assert_eq!(cred.uid, rustix::process::geteuid().as_raw());
        assert_eq!(cred.gid, rustix::process::getegid().as_raw());
    }

    #[test]
    fn a_socket_that_is_not_unix_is_an_error_not_a_panic() {
        let file = tempfile::tempfile().unwrap();
        assert!(peer_credentials(file.as_fd()).is_err());
    }
}
