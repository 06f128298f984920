//! Real fds for the targets, and the check that they were all closed.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use rustix::fs::{MemfdFlags, SealFlags};

/// A memory file of `len` bytes, sealed against shrinking when `sealed`.
pub(crate) fn memfd(len: u64, sealed: bool) -> OwnedFd {
    let fd = rustix::fs::memfd_create(
        "courier-fuzz",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )
    .expect("memfd_create");
    rustix::fs::ftruncate(&fd, len).expect("ftruncate a memfd");
    if sealed {
        rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW)
            .expect("seal a memfd");
    }
    fd
}

/// `count` fds: duplicates of one memory file of `len` bytes (sealed or
/// not) or of a pipe's read end, as `kind` says.
pub(crate) fn make(count: usize, kind: u8, len: u64) -> Vec<OwnedFd> {
    if count == 0 {
        return Vec::new();
    }
    let first: OwnedFd = match kind % 3 {
        0 => memfd(len, false),
        1 => memfd(len, true),
        _ => rustix::pipe::pipe().expect("pipe").0,
    };
    let mut fds = Vec::with_capacity(count);
    for _ in 1..count {
        fds.push(first.try_clone().expect("dup"));
    }
    fds.push(first);
    fds
}

/// The fd numbers of `fds`, to check later with [`assert_closed`].
pub(crate) fn numbers(fds: &[OwnedFd]) -> Vec<RawFd> {
    fds.iter().map(AsRawFd::as_raw_fd).collect()
}

/// Panics when any of `numbers` is still open. Call only once everything
/// that may legitimately hold them was dropped (a number reused by a newer
/// fd that is still open would be a leak too).
pub(crate) fn assert_closed(numbers: &[RawFd], what: &str) {
    for &number in numbers {
        // rustix asks for a BorrowedFd, which a number that may be closed
        // is not: ask /proc instead.
        let open = std::fs::symlink_metadata(format!("/proc/self/fd/{number}")).is_ok();
        assert!(!open, "fd {number} is still open after {what}");
    }
}

/// The (device, inode) of an fd's file, to tell files apart.
pub(crate) fn identity(fd: impl AsFd) -> (u64, u64) {
    let stat = rustix::fs::fstat(fd).expect("fstat");
    (stat.st_dev, stat.st_ino)
}
