//! The shared-memory pool: large frames through reused, already-mapped
//! memfd segments instead of many socket writes.
//!
//! Each side of a connection keeps its own **send pool**: a bounded set of
//! memfd segments it created, mapped read-write, each carrying at most one
//! message at a time. A frame whose body is at least
//! [`Limits::shm_threshold`](crate::Limits::shm_threshold) is copied into a
//! free segment and sent as a 20-byte [`ShmDescriptor`] with header flag
//! [`FLAG_SHM`]; the first time a segment is used its fd travels as the
//! frame's first fd ([`FLAG_SHM_NEW_SEGMENT`]). The receiver keeps a
//! **receive pool**: the peer's segments, each mapped read-only once,
//! checked on arrival (a memfd sealed against shrinking, of a size within
//! the limits), so no descriptor can make it touch memory that is not there.
//! It copies the body out and answers with a [`CONTROL_SEGMENT_RELEASE`]
//! control frame; the sender may then reuse the segment. A segment unused
//! for [`Limits::shm_idle_timeout`](crate::Limits::shm_idle_timeout) is
//! unmapped and closed, and the receiver told so with
//! [`CONTROL_SEGMENT_DROP`].
//!
//! The pool never blocks a send and never fails one: when no segment is free
//! and no new one fits the limits, or the system refuses the memory, the
//! frame goes through the socket as usual.
//!
//! This module owns memory (mappings) but does no I/O; the
//! [`Connection`](super::Connection) calls it. The bytes are specified in
//! `docs/wire-format.md`, section "Shared-memory pool".

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::fs::{FileType, MemfdFlags, SealFlags};
use tracing::debug;

use crate::sys::mm::{Access, Mapping};

/// Header flag: the payload is a [`ShmDescriptor`]; the body is in a pool
/// segment. Only between peers that both offered the pool.
pub const FLAG_SHM: u16 = 1 << 2;
/// Header flag, only with [`FLAG_SHM`]: the frame's first fd is the segment
/// named by the descriptor, used for the first time on this connection; the
/// message's own fds follow it.
pub const FLAG_SHM_NEW_SEGMENT: u16 = 1 << 3;
/// The endpoint magic of courier's own control frames (between peers that
/// both offered the pool).
pub const CONTROL_MAGIC: u32 = 0;
/// Control message: the receiver copied the body out of segment `id` (u32
/// payload); the sender may reuse it.
pub const CONTROL_SEGMENT_RELEASE: u32 = 1;
/// Control message: the sender unmapped and closed segment `id` (u32
/// payload); the receiver unmaps it too.
pub const CONTROL_SEGMENT_DROP: u32 = 2;
/// Bytes of a [`ShmDescriptor`] on the wire.
pub const SHM_DESCRIPTOR_LEN: usize = 20;

/// Smallest segment the sender creates: small segments are reused less.
const MIN_SEGMENT: usize = 1 << 20;
/// Segment sizes are multiples of this.
const PAGE: usize = 4096;
/// The seals a segment carries: its size is final, so a mapping of it can
/// never point past the end of the file (no `SIGBUS`).
const SEGMENT_SEALS: SealFlags = SealFlags::SHRINK
    .union(SealFlags::GROW)
    .union(SealFlags::SEAL);

/// Where a frame's body lies in a pool segment: the payload of a frame
/// flagged [`FLAG_SHM`] (all little-endian).
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | segment id |
/// | 4 | 8 | offset of the body in the segment |
/// | 12 | 8 | length of the body |
///
/// ```
/// use courier::proto::ShmDescriptor;
///
/// let descriptor = ShmDescriptor { segment: 1, offset: 0, len: 300 << 10 };
/// assert_eq!(ShmDescriptor::parse(&descriptor.to_bytes()), Some(descriptor));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShmDescriptor {
    /// The segment, as numbered by the sender.
    pub segment: u32,
    /// Where the body starts in the segment.
    pub offset: u64,
    /// The body's length.
    pub len: u64,
}

impl ShmDescriptor {
    /// The descriptor's 20 bytes.
    pub fn to_bytes(&self) -> [u8; SHM_DESCRIPTOR_LEN] {
        let mut out = [0u8; SHM_DESCRIPTOR_LEN];
        out[0..4].copy_from_slice(&self.segment.to_le_bytes());
        out[4..12].copy_from_slice(&self.offset.to_le_bytes());
        out[12..20].copy_from_slice(&self.len.to_le_bytes());
        out
    }

    /// Reads a descriptor; `None` unless `bytes` is exactly 20 bytes long.
    pub fn parse(bytes: &[u8]) -> Option<ShmDescriptor> {
        let bytes: &[u8; SHM_DESCRIPTOR_LEN] = bytes.try_into().ok()?;
        let mut segment = [0u8; 4];
        segment.copy_from_slice(&bytes[0..4]);
        let mut offset = [0u8; 8];
        offset.copy_from_slice(&bytes[4..12]);
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[12..20]);
        Some(ShmDescriptor {
            segment: u32::from_le_bytes(segment),
            offset: u64::from_le_bytes(offset),
            len: u64::from_le_bytes(len),
        })
    }
}

/// What the shared-memory pool of one connection holds and has done, from
/// [`Connection::pool_stats`](super::Connection::pool_stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Whether both sides offered the pool, so large frames may use it.
    pub active: bool,
    /// Segments this side created and keeps mapped (its send pool).
    pub segments: usize,
    /// Bytes of those segments.
    pub bytes_mapped: u64,
    /// Of those segments, how many carry a message the peer has not
    /// released yet.
    pub segments_in_use: usize,
    /// Segments of the peer this side keeps mapped (its receive pool).
    pub peer_segments: usize,
    /// Bytes of those segments.
    pub peer_bytes_mapped: u64,
    /// Frames sent through the pool.
    pub sent_through_pool: u64,
    /// Frames sent through the socket, every size.
    pub sent_through_socket: u64,
    /// Of those, frames large enough for the pool that went through the
    /// socket because no segment was free and no new one fit the limits.
    pub pool_fallbacks: u64,
    /// Frames received through the pool.
    pub received_through_pool: u64,
    /// Segments this side unmapped after they stayed idle.
    pub segments_dropped_idle: u64,
}

/// The limits the sender keeps to: the smaller of its own and the peer's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendLimits {
    pub(crate) threshold: usize,
    pub(crate) max_segments: u32,
    pub(crate) max_bytes: u64,
    pub(crate) idle_timeout: Duration,
}

/// A segment this side created.
#[derive(Debug)]
struct OutSegment {
    id: u32,
    mapping: Mapping,
    in_use: bool,
    /// When it was last released (`None` while in use).
    idle_since: Option<Instant>,
}

/// Where a body was placed: the descriptor to send and, for a new segment,
/// its fd (to travel first among the frame's fds).
#[derive(Debug)]
pub(crate) struct Placed {
    pub(crate) descriptor: ShmDescriptor,
    pub(crate) new_segment: Option<OwnedFd>,
}

/// The segments this side sends through.
#[derive(Debug, Default)]
pub(crate) struct SendPool {
    segments: Vec<OutSegment>,
    next_id: u32,
    /// Segments dropped (to make room, or idle) that the peer must be told
    /// of, oldest first.
    dropped: Vec<u32>,
}

impl SendPool {
    pub(crate) fn segments(&self) -> usize {
        self.segments.len()
    }

    pub(crate) fn bytes_mapped(&self) -> u64 {
        self.segments.iter().map(|s| s.mapping.len() as u64).sum()
    }

    pub(crate) fn in_use(&self) -> usize {
        self.segments.iter().filter(|s| s.in_use).count()
    }

    /// Segment ids to announce as dropped ([`CONTROL_SEGMENT_DROP`]).
    pub(crate) fn take_dropped(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.dropped)
    }

    /// Copies `body` into a free segment (or a new one, when the limits
    /// allow), or returns `None`: the caller then sends through the socket.
    pub(crate) fn place(&mut self, body: &[u8], limits: &SendLimits) -> Option<Placed> {
        let fitting = self
            .segments
            .iter_mut()
            .filter(|s| !s.in_use && s.mapping.len() >= body.len())
            .min_by_key(|s| s.mapping.len());
        if let Some(segment) = fitting {
            let memory = segment.mapping.as_mut_slice()?;
            memory[..body.len()].copy_from_slice(body);
            segment.in_use = true;
            segment.idle_since = None;
            return Some(Placed {
                descriptor: ShmDescriptor {
                    segment: segment.id,
                    offset: 0,
                    len: body.len() as u64,
                },
                new_segment: None,
            });
        }
        let size = segment_size(body.len(), limits.max_bytes)?;
        if !self.make_room(size as u64, limits) {
            return None;
        }
        let (fd, mut mapping) = match create_segment(size) {
            Ok(created) => created,
            Err(error) => {
                debug!(
                    "no new shared-memory segment of {size} bytes ({error}); sending through the socket"
                );
                return None;
            }
        };
        mapping.as_mut_slice()?[..body.len()].copy_from_slice(body);
        let id = self.allocate_id();
        self.segments.push(OutSegment {
            id,
            mapping,
            in_use: true,
            idle_since: None,
        });
        Some(Placed {
            descriptor: ShmDescriptor {
                segment: id,
                offset: 0,
                len: body.len() as u64,
            },
            new_segment: Some(fd),
        })
    }

    /// Makes room for a new segment of `size` bytes by dropping free
    /// (too small) segments, only when that is enough; `false` otherwise.
    fn make_room(&mut self, size: u64, limits: &SendLimits) -> bool {
        let fits = |segments: u64, bytes: u64| {
            segments < u64::from(limits.max_segments)
                && bytes
                    .checked_add(size)
                    .is_some_and(|b| b <= limits.max_bytes)
        };
        let (busy_count, busy_bytes) = self
            .segments
            .iter()
            .filter(|s| s.in_use)
            .fold((0u64, 0u64), |(n, b), s| {
                (n + 1, b + s.mapping.len() as u64)
            });
        if !fits(busy_count, busy_bytes) {
            return false;
        }
        // Drop free segments, smallest first, until the new one fits.
        let mut free: Vec<(usize, u32)> = self
            .segments
            .iter()
            .filter(|s| !s.in_use)
            .map(|s| (s.mapping.len(), s.id))
            .collect();
        free.sort_unstable();
        let mut free = free.into_iter();
        while !fits(self.segments.len() as u64, self.bytes_mapped()) {
            let Some((_, id)) = free.next() else {
                return false;
            };
            self.segments.retain(|s| s.id != id);
            self.dropped.push(id);
        }
        true
    }

    fn allocate_id(&mut self) -> u32 {
        // Terminates: far fewer than 2^32 - 1 segments exist at once.
        loop {
            self.next_id = self.next_id.wrapping_add(1);
            let id = self.next_id;
            if id != 0 && self.segments.iter().all(|s| s.id != id) {
                return id;
            }
        }
    }

    /// The peer released segment `id`.
    pub(crate) fn release(&mut self, id: u32, now: Instant) -> Result<(), String> {
        let Some(segment) = self.segments.iter_mut().find(|s| s.id == id) else {
            return Err(format!(
                "it released segment {id}, which this side never sent or already dropped"
            ));
        };
        if !segment.in_use {
            return Err(format!(
                "it released segment {id} twice (the segment carries no message)"
            ));
        }
        segment.in_use = false;
        segment.idle_since = Some(now);
        Ok(())
    }

    /// Drops the segments idle for `idle_timeout` at `now`; returns how many.
    pub(crate) fn expire(&mut self, now: Instant, idle_timeout: Duration) -> usize {
        let before = self.segments.len();
        let dropped = &mut self.dropped;
        self.segments.retain(|s| {
            let expired = s
                .idle_since
                .and_then(|since| since.checked_add(idle_timeout))
                .is_some_and(|at| at <= now);
            if expired {
                dropped.push(s.id);
            }
            !expired
        });
        before - self.segments.len()
    }

    /// When the next idle segment expires.
    pub(crate) fn next_expiry(&self, idle_timeout: Duration) -> Option<Instant> {
        self.segments
            .iter()
            .filter_map(|s| {
                s.idle_since
                    .and_then(|since| since.checked_add(idle_timeout))
            })
            .min()
    }

    /// Unmaps everything (the connection closed).
    pub(crate) fn clear(&mut self) {
        self.segments.clear();
        self.dropped.clear();
    }
}

/// The size of a new segment for a body of `len` bytes: the next power of
/// two (at least [`MIN_SEGMENT`]) so that it can be reused for a bigger
/// message, unless that passes `max_bytes`, then `len` rounded up to a page.
fn segment_size(len: usize, max_bytes: u64) -> Option<usize> {
    let exact = len.max(1).checked_next_multiple_of(PAGE)?;
    let roomy = len.checked_next_power_of_two()?.max(MIN_SEGMENT);
    let size = if roomy as u64 <= max_bytes {
        roomy
    } else {
        exact
    };
    (size as u64 <= max_bytes).then_some(size)
}

/// A new memfd of `size` bytes, sealed against shrinking and growing, and
/// its read-write mapping.
fn create_segment(size: usize) -> std::io::Result<(OwnedFd, Mapping)> {
    let fd = rustix::fs::memfd_create(
        "courier-pool-segment",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )?;
    rustix::fs::ftruncate(&fd, size as u64)?;
    rustix::fs::fcntl_add_seals(&fd, SEGMENT_SEALS)?;
    let mapping = Mapping::map(fd.as_fd(), size, Access::ReadWrite)?;
    Ok((fd, mapping))
}

/// The peer's segments this side reads from.
#[derive(Debug, Default)]
pub(crate) struct RecvPool {
    segments: HashMap<u32, Mapping>,
    bytes: u64,
}

impl RecvPool {
    pub(crate) fn segments(&self) -> usize {
        self.segments.len()
    }

    pub(crate) fn bytes_mapped(&self) -> u64 {
        self.bytes
    }

    /// Checks and maps a new segment of the peer; the fd is closed after
    /// mapping (the mapping keeps the memory).
    pub(crate) fn add(
        &mut self,
        id: u32,
        fd: OwnedFd,
        max_segments: u32,
        max_bytes: u64,
    ) -> Result<(), String> {
        if self.segments.contains_key(&id) {
            return Err(format!(
                "it sent segment {id} as new while that segment is still mapped"
            ));
        }
        if self.segments.len() as u64 >= u64::from(max_segments) {
            return Err(format!(
                "it sent a segment beyond the {max_segments} segments this side maps at once \
                 (Limits::shm_pool_segments)"
            ));
        }
        let stat =
            rustix::fs::fstat(&fd).map_err(|e| format!("fstat of its segment {id} failed: {e}"))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(format!("its segment {id} is not a memory file"));
        }
        let seals = rustix::fs::fcntl_get_seals(&fd).map_err(|_| {
            format!("its segment {id} is not a memfd (the file does not support seals)")
        })?;
        if !seals.contains(SealFlags::SHRINK) {
            return Err(format!(
                "its segment {id} is not sealed against shrinking (F_SEAL_SHRINK), so it could \
                 shrink under this side's mapping"
            ));
        }
        let size = u64::try_from(stat.st_size).unwrap_or(0);
        if size == 0 {
            return Err(format!("its segment {id} is empty"));
        }
        let total = self.bytes.saturating_add(size);
        if total > max_bytes {
            return Err(format!(
                "its segment {id} of {size} bytes brings the segments mapped from it to {total} \
                 bytes, more than the {max_bytes} this side allows (Limits::shm_pool_bytes)"
            ));
        }
        let len = usize::try_from(size)
            .map_err(|_| format!("its segment {id} of {size} bytes cannot be mapped here"))?;
        let mapping = Mapping::map(fd.as_fd(), len, Access::ReadOnly)
            .map_err(|e| format!("mapping its segment {id} of {size} bytes failed: {e}"))?;
        self.bytes = total;
        self.segments.insert(id, mapping);
        Ok(())
    }

    /// Copies out the body a descriptor names, checking its range.
    pub(crate) fn read(
        &self,
        descriptor: ShmDescriptor,
        max_message_bytes: u32,
    ) -> Result<Vec<u8>, String> {
        let ShmDescriptor {
            segment: id,
            offset,
            len,
        } = descriptor;
        let Some(mapping) = self.segments.get(&id) else {
            return Err(format!(
                "it named segment {id}, which it never sent or already dropped"
            ));
        };
        if len > u64::from(max_message_bytes) {
            return Err(format!(
                "its message in segment {id} is {len} bytes, more than the \
                 {max_message_bytes} this side accepts (Limits::max_message_bytes)"
            ));
        }
        let segment_len = mapping.len() as u64;
        let end = offset.checked_add(len).filter(|&end| end <= segment_len);
        let Some(end) = end else {
            return Err(format!(
                "it named bytes {offset}..{} of segment {id}, which holds only {segment_len} bytes",
                offset.saturating_add(len)
            ));
        };
        // Both fit in usize: `end <= segment_len`, a mapped length.
        // Copied out (never decoded in place: the sender may rewrite the
        // segment), into a vector backed by huge pages when it is large.
        let bytes = &mapping.as_slice()[offset as usize..end as usize];
        let mut body = crate::sys::mm::large_vec(bytes.len());
        body.extend_from_slice(bytes);
        Ok(body)
    }

    /// Unmaps segment `id` (the peer dropped it).
    pub(crate) fn remove(&mut self, id: u32) -> Result<(), String> {
        match self.segments.remove(&id) {
            Some(mapping) => {
                self.bytes = self.bytes.saturating_sub(mapping.len() as u64);
                Ok(())
            }
            None => Err(format!(
                "it dropped segment {id}, which it never sent or already dropped"
            )),
        }
    }

    /// Unmaps everything (the connection closed).
    pub(crate) fn clear(&mut self) {
        self.segments.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_roomy_unless_the_limit_says_no() {
        assert_eq!(segment_size(300 << 10, 128 << 20), Some(1 << 20));
        assert_eq!(segment_size((3 << 20) + 1, 128 << 20), Some(4 << 20));
        assert_eq!(segment_size((64 << 20) + 4, 128 << 20), Some(128 << 20));
        assert_eq!(
            segment_size((64 << 20) + 4, 100 << 20),
            Some((64 << 20) + 4096)
        );
        assert_eq!(segment_size(200 << 20, 128 << 20), None);
    }

    #[test]
    fn descriptors_must_be_exactly_twenty_bytes() {
        assert_eq!(ShmDescriptor::parse(&[0; 19]), None);
        assert_eq!(ShmDescriptor::parse(&[0; 21]), None);
    }
}
