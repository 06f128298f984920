//! Memory mappings of shared-memory fds.
//!
//! [`Mapping`] owns one `mmap` region and unmaps it when dropped. It is the
//! only code in courier that maps memory or makes slices over it, so this is
//! where the `unsafe` of shared memory lives, each block with its argument.
//!
//! # Shared memory may change under the reader
//!
//! A `MAP_SHARED` region is also mapped by the peer (and, in tests, by other
//! `Mapping`s of the same file in this process), who may write to it at any
//! moment, including while a `&[u8]` from [`Mapping::as_slice`] is alive.
//! Rust's rules assume that memory behind a shared reference does not change;
//! here the changes come from outside the program, the same situation every
//! memory-mapped file is in (see `memmap2`'s documentation). What keeps it
//! sound in practice is the type: the slices are plain bytes, every bit
//! pattern is a valid `u8`, and courier never derives an unsafe invariant
//! (a length, an index, a UTF-8 promise) from bytes read there. Users must
//! do the same: copy out, then validate.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;

use rustix::mm::{MapFlags, ProtFlags};

/// How a region may be accessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// `PROT_READ`.
    ReadOnly,
    /// `PROT_READ | PROT_WRITE`.
    ReadWrite,
}

/// An owned `MAP_SHARED` mapping of the first `len` bytes of a file.
///
/// A zero-length mapping maps nothing (`mmap` refuses length 0) and yields
/// empty slices.
#[derive(Debug)]
pub(crate) struct Mapping {
    /// Start of the region; dangling (but aligned and non-null) when `len`
    /// is 0.
    ptr: NonNull<u8>,
    len: usize,
    access: Access,
}

// SAFETY: a `Mapping` is an owned region of plain bytes, like a `Box<[u8]>`:
// nothing in it is tied to the thread that created it, and munmap may run on
// any thread. Shared access (`&Mapping`) only reads, and mutable access needs
// `&mut Mapping`, so moving or sharing it between threads adds no data race
// inside this process beyond what the module docs describe for the peer.
unsafe impl Send for Mapping {}
// SAFETY: see `Send` above: `&Mapping` gives read-only access to plain bytes.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// A zero-length mapping: maps nothing.
    pub(crate) fn empty(access: Access) -> Mapping {
        Mapping {
            ptr: NonNull::dangling(),
            len: 0,
            access,
        }
    }

    /// Maps the first `len` bytes of `fd` shared, with `access`.
    ///
    /// The caller must have checked that the file holds at least `len`
    /// bytes: touching a page past its end raises `SIGBUS`.
    pub(crate) fn map(fd: BorrowedFd<'_>, len: usize, access: Access) -> io::Result<Mapping> {
        if len == 0 {
            return Ok(Mapping::empty(access));
        }
        let prot = match access {
            Access::ReadOnly => ProtFlags::READ,
            Access::ReadWrite => ProtFlags::READ | ProtFlags::WRITE,
        };
        // SAFETY: with a null address hint and without MAP_FIXED, the kernel
        // chooses a fresh range that overlaps no existing mapping, so no
        // memory this program already uses (and no Rust reference) is
        // affected. The new region is owned by the returned `Mapping` alone,
        // which unmaps it exactly once, in `Drop`.
        let ptr =
            unsafe { rustix::mm::mmap(std::ptr::null_mut(), len, prot, MapFlags::SHARED, fd, 0)? };
        let ptr = NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| io::Error::other("mmap returned a null address"))?;
        Ok(Mapping { ptr, len, access })
    }

    /// The mapped length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// How the region may be accessed.
    pub(crate) fn access(&self) -> Access {
        self.access
    }

    /// The region as bytes. See the module docs: the peer may change them.
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` is non-null and aligned (u8 needs no alignment) and
        // either dangling with `len == 0`, which `from_raw_parts` allows, or
        // the start of a live mapping of `len` readable bytes that we own
        // until `Drop`, so the region outlives the returned borrow of `self`.
        // File-backed pages are always initialised (a file reads as zeros
        // where nothing was written), `len <= isize::MAX` because the kernel
        // mapped it, and every bit pattern is a valid `u8`. Writes by the
        // peer while the slice lives are the documented hazard of shared
        // memory (module docs): they can change the values read, never make
        // them invalid for `u8`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The region as mutable bytes, or `None` when it is mapped read-only.
    pub(crate) fn as_mut_slice(&mut self) -> Option<&mut [u8]> {
        if self.access != Access::ReadWrite {
            return None;
        }
        // SAFETY: as in `as_slice`, and the region is mapped writable. The
        // `&mut self` borrow guarantees that no other slice from this
        // `Mapping` is alive. Other mappings of the same memory (the peer's,
        // or a second `Mapping` of the same file) are the documented hazard
        // of shared memory, not an alias Rust code of ours can observe through
        // this `Mapping`.
        Some(unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if self.len == 0 {
            return;
        }
        // SAFETY: `ptr` and `len` describe exactly the region `mmap` returned
        // in `Mapping::map`, which nothing else unmaps; `Drop` runs once, and
        // every slice borrowed from `self` has ended because they borrow
        // `self`. The result is ignored: munmap of a region we own can only
        // fail for arguments that are valid here.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    fn memfd(len: u64) -> std::os::fd::OwnedFd {
        let fd = rustix::fs::memfd_create("courier-mm-test", rustix::fs::MemfdFlags::CLOEXEC)
            .expect("memfd_create");
        rustix::fs::ftruncate(&fd, len).expect("ftruncate");
        fd
    }

    #[test]
    fn two_mappings_of_one_file_share_memory() {
        let fd = memfd(4096);
        let mut writer = Mapping::map(fd.as_fd(), 4096, Access::ReadWrite).unwrap();
        let reader = Mapping::map(fd.as_fd(), 4096, Access::ReadOnly).unwrap();
        writer.as_mut_slice().unwrap()[4095] = 7;
        assert_eq!(reader.as_slice()[4095], 7);
        assert_eq!(reader.len(), 4096);
    }

    #[test]
    fn read_only_mappings_give_no_mutable_slice() {
        let fd = memfd(16);
        let mut reader = Mapping::map(fd.as_fd(), 16, Access::ReadOnly).unwrap();
        assert_eq!(reader.access(), Access::ReadOnly);
        assert!(reader.as_mut_slice().is_none());
        assert_eq!(reader.as_slice(), &[0u8; 16]);
    }

    #[test]
    fn zero_length_maps_nothing() {
        let fd = memfd(0);
        let mut empty = Mapping::map(fd.as_fd(), 0, Access::ReadWrite).unwrap();
        assert!(empty.as_slice().is_empty());
        assert_eq!(empty.as_mut_slice().map(|s| s.len()), Some(0));
    }
}

/// Below this many bytes a fresh vector is left to the allocator as it is.
const HUGE_PAGE_HINT_BYTES: usize = 4 << 20;

/// A vector with room for `capacity` elements. When that is large (4 MiB
/// or more) its memory is marked for transparent huge pages
/// (`MADV_HUGEPAGE`): such a fresh allocation is a new anonymous mapping,
/// and filling it with 4 KiB pages costs one page fault per 4 KiB (16 384
/// for 64 MiB, most of the time of a large message on the VMs measured in
/// `docs/performance.md`); with 2 MiB pages, a few dozen. Only a hint: where
/// the kernel has huge pages off, or the call fails, nothing changes.
pub(crate) fn large_vec<T: Copy>(capacity: usize) -> Vec<T> {
    let mut vec = Vec::with_capacity(capacity);
    advise_huge_pages(&mut vec);
    vec
}

/// Marks the spare capacity of `vec` for transparent huge pages when it
/// is large; see [`large_vec`].
pub(crate) fn advise_huge_pages<T: Copy>(vec: &mut Vec<T>) {
    let spare = vec.spare_capacity_mut();
    let bytes = std::mem::size_of_val(spare);
    if bytes < HUGE_PAGE_HINT_BYTES {
        return;
    }
    let page = rustix::param::page_size();
    let start = spare.as_mut_ptr() as usize;
    let aligned_start = start.next_multiple_of(page);
    let aligned_end = (start + bytes) / page * page;
    if aligned_end <= aligned_start {
        return;
    }
    // SAFETY: the range is whole pages inside the vector's own allocation
    // (its spare capacity, which nothing reads yet), and MADV_HUGEPAGE only
    // changes how the kernel backs those pages, never their contents or
    // their mapping: the allocation stays valid as the allocator made it.
    let advised = unsafe {
        rustix::mm::madvise(
            aligned_start as *mut std::ffi::c_void,
            aligned_end - aligned_start,
            rustix::mm::Advice::LinuxHugepage,
        )
    };
    if let Err(error) = advised {
        tracing::trace!("MADV_HUGEPAGE on a {bytes}-byte buffer: {error}");
    }
}

#[cfg(test)]
mod huge_page_tests {
    use super::*;

    #[test]
    fn large_vectors_are_usable_whatever_the_kernel_says() {
        let mut vec: Vec<u8> = large_vec(8 << 20);
        assert!(vec.capacity() >= 8 << 20);
        vec.extend(std::iter::repeat_n(7u8, 8 << 20));
        assert!(vec.iter().step_by(4096).all(|&byte| byte == 7));
        let mut small: Vec<u32> = large_vec(16);
        small.push(1);
        assert_eq!(small, [1]);
    }
}
