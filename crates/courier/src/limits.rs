//! Limits: how much a peer may ask of a connection.
//!
//! Every limit has a documented default, chosen so that an ordinary
//! application never meets it while a misbehaving or hostile peer cannot make
//! the other side allocate without bound. A peer that breaks a limit is
//! disconnected with a logged reason; a local send over a limit fails with
//! [`Error::LimitExceeded`](crate::Error::LimitExceeded) *before* anything is
//! written to the socket. A handler's response over a limit (too big for the
//! caller, too many fds) is not sent: the caller gets
//! [`Error::Remote`](crate::Error::Remote) saying the service could not send
//! its response and naming the limit, and the connection stays usable.

use std::time::Duration;

/// The most fds one `sendmsg(2)` can carry on Linux (`SCM_MAX_FD`), and so the
/// hard maximum of [`Limits::max_fds_per_message`].
pub const SCM_MAX_FD: usize = 253;

/// The limits of one connection (and, for `max_clients`, of one server).
///
/// Build them from the defaults and change what you need:
///
/// ```
/// use courier::Limits;
///
/// let limits = Limits { max_message_bytes: 4 << 20, ..Limits::default() };
/// assert_eq!(limits.max_fds_per_message, 64);
/// ```
///
/// `max_message_bytes` is announced to the peer in the handshake, so a sender
/// always knows the receiver's limit and refuses an oversized message itself.
/// The other limits protect the receiving side only: set them the same on both
/// sides, so that a well-behaved sender meets its own limit (and gets an error)
/// before the receiver would disconnect it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest message body, in bytes, this side accepts (and sends: the
    /// smaller of both sides' values applies to a send).
    ///
    /// Default: 64 MiB + 64 KiB: 64 MiB of data (a `Vector<u8>` of 64 MiB,
    /// a decoded 4K image, a sizeable file passed inline) with room for its
    /// length and the message's other parameters; small enough that a peer
    /// cannot make this process buffer gigabytes. Bigger data belongs in
    /// shared memory or an fd.
    pub max_message_bytes: u32,
    /// Most fds one message may carry.
    ///
    /// Default: 64. A message with dozens of fds is already unusual; each fd
    /// costs a slot in the process's descriptor table until it is handled.
    /// Values above [`SCM_MAX_FD`] (253) act as 253, the kernel's limit for
    /// one `sendmsg(2)`.
    pub max_fds_per_message: usize,
    /// Most clients one server serves at once; further connections are
    /// refused. Not used by a single connection.
    ///
    /// Default: 1024, the usual soft limit of open files per process, which
    /// a server would reach anyway.
    pub max_clients: usize,
    /// Most requests a peer may have waiting for a response on one
    /// connection. A peer that sends more is disconnected; a local call over
    /// the limit fails before it is sent.
    ///
    /// Default: 256. A blocking client has one call in flight; an async one
    /// pipelining hundreds of calls is still well inside it.
    pub max_in_flight_per_client: usize,
    /// Most messages (requests and one-way messages, not responses) a peer
    /// may send per second, enforced by a token bucket that holds one
    /// second's worth of messages as its burst.
    ///
    /// Default: 16 000 000 per second: above the 10 million small messages
    /// per second a coalescing sender reaches (the throughput target of
    /// `docs/performance.md`), so a legitimate fast sender is never cut off,
    /// while a peer beyond it is flooding. It is a tripwire, not a throttle:
    /// what bounds a fast or hostile sender is backpressure (a receiver reads
    /// only as fast as it handles, a bounded amount per round, so the peer's
    /// own socket fills and it blocks) and
    /// [`max_unsent_bytes`](Self::max_unsent_bytes). Set it far lower for a
    /// service whose clients are expected to talk slowly.
    pub max_messages_per_second: u32,
    /// Most bytes of output this side keeps queued for a peer that does not
    /// read them (responses to a client that sends requests and never reads,
    /// events to a stuck client). Beyond it the connection is closed with a
    /// logged reason, so a peer cannot make this process buffer without
    /// bound. The limit in force is never below one largest message
    /// ([`Limits::max_message_bytes`] plus its header).
    ///
    /// Default: 128 MiB: two largest messages, far more than a peer that
    /// reads, however slowly, ever leaves unread.
    pub max_unsent_bytes: u64,
    /// How long the handshake may take before the connection is dropped.
    ///
    /// Default: 10 seconds. A service that accepted the connection but never
    /// answers (or a client that connects and says nothing) must not hold the
    /// other side forever.
    pub handshake_timeout: Duration,
    /// Smallest message body, in bytes, sent through the shared-memory pool
    /// instead of the socket; `None` turns the pool off (and this side does
    /// not offer it in its hello, so it speaks exactly the pool-less
    /// protocol).
    ///
    /// Default: 256 KiB. Below that, a socket write is cheaper than the
    /// bookkeeping; above it, one copy into already-mapped memory beats
    /// many socket writes. The pool is used only when both sides offer it.
    pub shm_threshold: Option<u32>,
    /// Most pool segments one side keeps mapped for one connection and
    /// direction: a sender never creates more, and a receiver disconnects a
    /// peer that maps more (each side announces its value in the hello and
    /// the sender keeps to the smaller).
    ///
    /// Default: 4. One segment carries one message at a time, so this is
    /// also how many large messages can be in flight through the pool;
    /// further ones go through the socket.
    pub shm_pool_segments: u32,
    /// Most bytes of pool segments one side keeps mapped for one connection
    /// and direction (announced and enforced like
    /// [`shm_pool_segments`](Self::shm_pool_segments)).
    ///
    /// Default: 128 MiB, room for one segment holding a message of the
    /// default [`max_message_bytes`](Self::max_message_bytes).
    pub shm_pool_bytes: u64,
    /// How long a pool segment may stay unused before the sender unmaps it
    /// and tells the receiver to do the same.
    ///
    /// Default: 5 seconds: a burst of large messages reuses its segments,
    /// and an idle connection holds no pool memory for long: about two idle
    /// timeouts after its last message, on both sides, even when the
    /// application never uses the connection again (a blocking connection
    /// nobody calls into is looked after by one reaper thread per process;
    /// see `docs/wire-format.md`, "Control frames").
    pub shm_idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message_bytes: Limits::DEFAULT_MAX_MESSAGE_BYTES,
            max_fds_per_message: 64,
            max_clients: 1024,
            max_in_flight_per_client: 256,
            max_messages_per_second: 16_000_000,
            max_unsent_bytes: 128 << 20,
            handshake_timeout: Duration::from_secs(10),
            shm_threshold: Some(256 << 10),
            shm_pool_segments: 4,
            shm_pool_bytes: 128 << 20,
            shm_idle_timeout: Duration::from_secs(5),
        }
    }
}

impl Limits {
    /// The default of [`Limits::max_message_bytes`]: 64 MiB + 64 KiB.
    pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = (64 << 20) + (64 << 10);

    /// [`Limits::max_unsent_bytes`], raised to one largest message and its
    /// header when set below that.
    pub fn effective_max_unsent_bytes(&self) -> u64 {
        let one_message = u64::from(self.max_message_bytes) + crate::proto::HEADER_LEN as u64;
        self.max_unsent_bytes.max(one_message)
    }

    /// [`Limits::max_fds_per_message`] capped at [`SCM_MAX_FD`].
    pub fn effective_max_fds_per_message(&self) -> usize {
        self.max_fds_per_message.min(SCM_MAX_FD)
    }
}

/// Formats a byte count for an error message: `80 MiB`, `12 KiB`,
/// `64.5 MiB (67633152 bytes)` when not a whole number of units.
pub(crate) fn format_size(bytes: u64) -> String {
    const KIB: u64 = 1 << 10;
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    for (unit, name) in [(GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")] {
        if bytes >= unit {
            let (whole, rest) = (bytes / unit, bytes % unit);
            if rest == 0 {
                return format!("{whole} {name}");
            }
            // A whole number of the next unit down (`64 MiB + 64 KiB`), or so
            // little past a whole unit that one decimal would hide it ("64.0
            // MiB exceeds the 64 MiB limit"): say it exactly.
            if rest % (unit >> 10) == 0 || rest * 20 < unit {
                return format!("{whole} {name} + {}", format_size(rest));
            }
            return format!("{:.1} {name} ({bytes} bytes)", bytes as f64 / unit as f64);
        }
    }
    if bytes == 1 {
        "1 byte".to_owned()
    } else {
        format!("{bytes} bytes")
    }
}

/// A token bucket for [`Limits::max_messages_per_second`], on a clock passed in.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: std::time::Instant,
}

impl TokenBucket {
    /// A full bucket refilling at `per_second`, holding one second's worth.
    pub(crate) fn new(per_second: u32, now: std::time::Instant) -> TokenBucket {
        let per_second = f64::from(per_second.max(1));
        TokenBucket {
            per_second,
            burst: per_second,
            tokens: per_second,
            last: now,
        }
    }

    /// Takes one token; `false` when the bucket is empty.
    pub(crate) fn take(&mut self, now: std::time::Instant) -> bool {
        if now > self.last {
            let elapsed = now.duration_since(self.last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
            self.last = now;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{TokenBucket, format_size};

    #[test]
    fn sizes_read_like_a_person_wrote_them() {
        assert_eq!(format_size(80 << 20), "80 MiB");
        assert_eq!(format_size(12 << 10), "12 KiB");
        assert_eq!(format_size(1), "1 byte");
        assert_eq!(format_size(900), "900 bytes");
        assert_eq!(format_size((64 << 20) + 1), "64 MiB + 1 byte");
        assert_eq!(format_size((64 << 20) + (64 << 10)), "64 MiB + 64 KiB");
        assert_eq!(format_size((64 << 20) + (512 << 10)), "64 MiB + 512 KiB");
        assert_eq!(
            format_size((64 << 20) + (512 << 10) + 3),
            "64.5 MiB (67633155 bytes)"
        );
    }

    #[test]
    fn bucket_allows_a_burst_then_refills_with_time() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, start);
        for _ in 0..10 {
            assert!(bucket.take(start));
        }
        assert!(!bucket.take(start));
        assert!(bucket.take(start + Duration::from_millis(100)));
        assert!(!bucket.take(start + Duration::from_millis(100)));
        // Never more than the burst, however long the pause.
        let later = start + Duration::from_secs(3600);
        let taken = (0..100).filter(|_| bucket.take(later)).count();
        assert_eq!(taken, 10);
    }
}
