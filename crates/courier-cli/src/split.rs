//! Cuts one direction of a courier connection into its hello and frames,
//! with the fds of each frame: what `courier monitor` forwards and prints.
//!
//! Sans-IO: bytes and fds go in with [`Splitter::push`], whole units come
//! out of [`Splitter::next_unit`]. The hello is rewritten on the way: its
//! SHM_POOL flag is cleared and the pool fields dropped, so that the pool is
//! never active on a monitored connection and every body travels (and is
//! seen) inline; the interface fingerprints (flag FINGERPRINTS) pass
//! through, so the two ends still compare them. Byte layouts are in
//! `docs/wire-format.md`.

use std::collections::VecDeque;
use std::os::fd::OwnedFd;

use courier::proto::{
    FrameHeader, HEADER_LEN, HELLO_FLAG_FINGERPRINTS, HELLO_FLAG_REFUSED, HELLO_FLAG_SHM_POOL,
    HELLO_MAGIC,
};

/// Bytes of a hello before the local name: magic, version, flags, the two
/// magics, max message bytes, the local name's length.
const HELLO_FIXED: usize = 22;
/// Bytes of the refusal after the names, in a refusing hello.
const REFUSAL_LEN: usize = 10;
/// Bytes of the pool offer after the names (and refusal).
const POOL_LEN: usize = 12;
/// Bytes of the interface fingerprints, last (after the pool offer).
const FINGERPRINTS_LEN: usize = 16;
/// Payloads up to this size are gathered whole, to be decoded; larger ones
/// (past courier's default message limit) are forwarded as they come,
/// undecoded, so that a peer cannot make the monitor hold more than this.
pub const WHOLE_FRAME_LIMIT: usize = courier::Limits::DEFAULT_MAX_MESSAGE_BYTES as usize;

/// What a hello said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The flags as sent (before the monitor cleared SHM_POOL).
    pub flags: u16,
    /// The sender's endpoint.
    pub local: (String, u32),
    /// The endpoint it expects the other side to handle.
    pub peer: (String, u32),
}

/// One unit of the stream.
#[derive(Debug)]
pub enum Unit {
    /// The hello, rewritten (`bytes` is what to forward).
    Hello {
        /// What it said.
        hello: Hello,
        /// The rewritten hello.
        bytes: Vec<u8>,
    },
    /// A frame: header and payload, with its fds.
    Frame {
        /// Its header.
        header: FrameHeader,
        /// Header and payload, to forward as they are.
        bytes: Vec<u8>,
        /// The fds that travel with it, in order.
        fds: Vec<OwnedFd>,
    },
    /// The header (and fds) of a frame too large to gather
    /// ([`WHOLE_FRAME_LIMIT`]); its payload follows as
    /// [`Unit::Continuation`]s.
    LargeFrame {
        /// Its header.
        header: FrameHeader,
        /// The header's bytes.
        bytes: Vec<u8>,
        /// The fds that travel with it.
        fds: Vec<OwnedFd>,
    },
    /// More of a large frame's payload.
    Continuation {
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Bytes that are not courier (the peer's first bytes were not a
    /// hello): forwarded as they come, with any fds.
    Raw {
        /// The bytes.
        bytes: Vec<u8>,
        /// Fds that came with them.
        fds: Vec<OwnedFd>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hello,
    Frames,
    /// Inside a large frame's payload: this many bytes still to come.
    Payload(usize),
    Raw,
}

/// One direction of a connection, being cut into units.
#[derive(Debug)]
pub struct Splitter {
    state: State,
    buffer: Vec<u8>,
    fds: VecDeque<OwnedFd>,
}

impl Default for Splitter {
    fn default() -> Splitter {
        Splitter::new()
    }
}

impl Splitter {
    /// A direction that starts with a hello.
    pub fn new() -> Splitter {
        Splitter {
            state: State::Hello,
            buffer: Vec::new(),
            fds: VecDeque::new(),
        }
    }

    /// Adds what one receive brought.
    pub fn push(&mut self, bytes: &[u8], fds: Vec<OwnedFd>) {
        self.buffer.extend_from_slice(bytes);
        self.fds.extend(fds);
    }

    /// Bytes received but not yet part of a whole unit.
    pub fn pending_bytes(&self) -> usize {
        self.buffer.len()
    }

    /// The next whole unit, if one has arrived.
    pub fn next_unit(&mut self) -> Option<Unit> {
        match self.state {
            State::Hello => self.hello(),
            State::Frames => self.frame(),
            State::Payload(remaining) => self.continuation(remaining),
            State::Raw => self.raw(),
        }
    }

    fn raw(&mut self) -> Option<Unit> {
        if self.buffer.is_empty() && self.fds.is_empty() {
            return None;
        }
        Some(Unit::Raw {
            bytes: std::mem::take(&mut self.buffer),
            fds: self.fds.drain(..).collect(),
        })
    }

    fn continuation(&mut self, remaining: usize) -> Option<Unit> {
        if self.buffer.is_empty() {
            return None;
        }
        let take = remaining.min(self.buffer.len());
        let rest = self.buffer.split_off(take);
        let bytes = std::mem::replace(&mut self.buffer, rest);
        self.state = if take == remaining {
            State::Frames
        } else {
            State::Payload(remaining - take)
        };
        Some(Unit::Continuation { bytes })
    }

    fn hello(&mut self) -> Option<Unit> {
        let seen = self.buffer.len().min(HELLO_MAGIC.len());
        if self.buffer[..seen] != HELLO_MAGIC[..seen] {
            self.state = State::Raw;
            return self.raw();
        }
        if self.buffer.len() < HELLO_FIXED {
            return None;
        }
        let flags = u16_at(&self.buffer, 6);
        let local_magic = u32_at(&self.buffer, 8);
        let peer_magic = u32_at(&self.buffer, 12);
        let local_len = usize::from(u16_at(&self.buffer, 20));
        let peer_len_at = HELLO_FIXED + local_len;
        if self.buffer.len() < peer_len_at + 2 {
            return None;
        }
        let peer_len = usize::from(u16_at(&self.buffer, peer_len_at));
        let names_end = peer_len_at + 2 + peer_len;
        let refusal = if flags & HELLO_FLAG_REFUSED != 0 {
            REFUSAL_LEN
        } else {
            0
        };
        let pool = if flags & HELLO_FLAG_SHM_POOL != 0 {
            POOL_LEN
        } else {
            0
        };
        let fingerprints = if flags & HELLO_FLAG_FINGERPRINTS != 0 {
            FINGERPRINTS_LEN
        } else {
            0
        };
        let pool_at = names_end + refusal;
        let total = pool_at + pool + fingerprints;
        if self.buffer.len() < total {
            return None;
        }
        let rest = self.buffer.split_off(total);
        let mut bytes = std::mem::replace(&mut self.buffer, rest);
        let name = |from: usize, len: usize| {
            String::from_utf8_lossy(&bytes[from..from + len]).into_owned()
        };
        let hello = Hello {
            flags,
            local: (name(HELLO_FIXED, local_len), local_magic),
            peer: (name(peer_len_at + 2, peer_len), peer_magic),
        };
        // No pool while monitored: clear the flag, drop the offer (the
        // fingerprints after it stay).
        bytes.drain(pool_at..pool_at + pool);
        bytes[6..8].copy_from_slice(&(flags & !HELLO_FLAG_SHM_POOL).to_le_bytes());
        self.state = State::Frames;
        Some(Unit::Hello { hello, bytes })
    }

    fn frame(&mut self) -> Option<Unit> {
        let head: &[u8; HEADER_LEN] = self.buffer.get(..HEADER_LEN)?.try_into().ok()?;
        let header = FrameHeader::parse(head);
        let payload_len = usize::try_from(header.payload_len).ok()?;
        if payload_len > WHOLE_FRAME_LIMIT {
            let rest = self.buffer.split_off(HEADER_LEN);
            let bytes = std::mem::replace(&mut self.buffer, rest);
            let count = usize::from(header.fd_count).min(self.fds.len());
            let fds = self.fds.drain(..count).collect();
            self.state = State::Payload(payload_len);
            return Some(Unit::LargeFrame { header, bytes, fds });
        }
        let total = HEADER_LEN + payload_len;
        if self.buffer.len() < total {
            return None;
        }
        let rest = self.buffer.split_off(total);
        let bytes = std::mem::replace(&mut self.buffer, rest);
        // A frame's fds arrive no later than its first byte; a peer that
        // lies about the count gets what there is, and the receiver judges.
        let count = usize::from(header.fd_count).min(self.fds.len());
        let fds = self.fds.drain(..count).collect();
        Some(Unit::Frame { header, bytes, fds })
    }
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hello as `docs/wire-format.md`'s example: NoMessages to
    /// LookupServer, offering the pool.
    fn hello_with_pool() -> Vec<u8> {
        let mut bytes = b"CRIR".to_vec();
        bytes.extend(1u16.to_le_bytes());
        bytes.extend(HELLO_FLAG_SHM_POOL.to_le_bytes());
        bytes.extend(0u32.to_le_bytes());
        bytes.extend(3_613_307_456u32.to_le_bytes());
        bytes.extend((64u32 << 20).to_le_bytes());
        bytes.extend(10u16.to_le_bytes());
        bytes.extend(b"NoMessages");
        bytes.extend(12u16.to_le_bytes());
        bytes.extend(b"LookupServer");
        bytes.extend(4u32.to_le_bytes());
        bytes.extend((128u64 << 20).to_le_bytes());
        bytes
    }

    fn frame(magic: u32, id: u32, payload: &[u8], fds: u16) -> Vec<u8> {
        let header = FrameHeader {
            payload_len: payload.len() as u32,
            magic,
            message_id: id,
            request_id: 7,
            fd_count: fds,
            flags: 0,
        };
        let mut bytes = header.to_bytes().to_vec();
        bytes.extend_from_slice(payload);
        bytes
    }

    #[test]
    fn the_hello_loses_its_pool_offer_and_frames_keep_their_fds() {
        let mut input = hello_with_pool();
        let hello_len = input.len();
        input.extend(frame(9, 1, b"abc", 1));
        input.extend(frame(9, 2, b"", 0));
        let mut splitter = Splitter::new();
        // Byte by byte: nothing comes out before a unit is whole.
        let (file, _) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut units = Vec::new();
        for (index, byte) in input.iter().enumerate() {
            let fds = if index == hello_len {
                vec![OwnedFd::from(file.try_clone().unwrap())]
            } else {
                Vec::new()
            };
            splitter.push(&[*byte], fds);
            while let Some(unit) = splitter.next_unit() {
                units.push((index, unit));
            }
        }
        assert_eq!(splitter.pending_bytes(), 0);
        assert_eq!(units.len(), 3);
        match &units[0] {
            (at, Unit::Hello { hello, bytes }) => {
                assert_eq!(*at, hello_len - 1);
                assert_eq!(hello.flags, HELLO_FLAG_SHM_POOL);
                assert_eq!(hello.local, ("NoMessages".to_owned(), 0));
                assert_eq!(hello.peer, ("LookupServer".to_owned(), 3_613_307_456));
                assert_eq!(bytes.len(), hello_len - POOL_LEN);
                assert_eq!(u16_at(bytes, 6), 0, "SHM_POOL cleared");
                assert_eq!(bytes[..6], input[..6]);
                assert_eq!(bytes[8..], input[8..hello_len - POOL_LEN]);
            }
            other => panic!("{other:?}"),
        }
        match &units[1] {
            (_, Unit::Frame { header, bytes, fds }) => {
                assert_eq!((header.message_id, header.payload_len), (1, 3));
                assert_eq!(&bytes[HEADER_LEN..], b"abc");
                assert_eq!(fds.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        match &units[2] {
            (at, Unit::Frame { header, fds, .. }) => {
                assert_eq!(*at, input.len() - 1);
                assert_eq!(header.message_id, 2);
                assert!(fds.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_frame_past_the_limit_streams_through_undecoded() {
        let mut splitter = Splitter::new();
        splitter.push(&hello_with_pool(), Vec::new());
        assert!(matches!(splitter.next_unit(), Some(Unit::Hello { .. })));
        let header = FrameHeader {
            payload_len: (WHOLE_FRAME_LIMIT + 3) as u32,
            magic: 9,
            message_id: 1,
            request_id: 0,
            fd_count: 0,
            flags: 0,
        };
        splitter.push(&header.to_bytes(), Vec::new());
        splitter.push(&[1, 2], Vec::new());
        match splitter.next_unit() {
            Some(Unit::LargeFrame {
                header: got, bytes, ..
            }) => {
                assert_eq!(got, header);
                assert_eq!(bytes.len(), HEADER_LEN);
            }
            other => panic!("{other:?}"),
        }
        match splitter.next_unit() {
            Some(Unit::Continuation { bytes }) => assert_eq!(bytes, [1, 2]),
            other => panic!("{other:?}"),
        }
        assert!(splitter.next_unit().is_none());
        // The last bytes of the payload, then the next frame's header.
        let mut rest = vec![0u8; WHOLE_FRAME_LIMIT + 1];
        rest.extend(frame(9, 2, b"z", 0));
        splitter.push(&rest, Vec::new());
        match splitter.next_unit() {
            Some(Unit::Continuation { bytes }) => assert_eq!(bytes.len(), WHOLE_FRAME_LIMIT + 1),
            other => panic!("{other:?}"),
        }
        match splitter.next_unit() {
            Some(Unit::Frame { header, .. }) => assert_eq!(header.message_id, 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bytes_that_are_not_courier_pass_through_raw() {
        let mut splitter = Splitter::new();
        splitter.push(b"GET / HTTP/1.1\r\n", Vec::new());
        match splitter.next_unit() {
            Some(Unit::Raw { bytes, fds }) => {
                assert_eq!(bytes, b"GET / HTTP/1.1\r\n");
                assert!(fds.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert!(splitter.next_unit().is_none());
        splitter.push(b"more", Vec::new());
        assert!(matches!(splitter.next_unit(), Some(Unit::Raw { .. })));
    }

    #[test]
    fn a_hello_with_fingerprints_keeps_them_and_loses_only_the_pool() {
        let mut hello = hello_with_pool();
        let flags = HELLO_FLAG_SHM_POOL | HELLO_FLAG_FINGERPRINTS;
        hello[6..8].copy_from_slice(&flags.to_le_bytes());
        let fingerprints: Vec<u8> = (1..=16).collect();
        hello.extend(&fingerprints);
        hello.extend(frame(9, 1, b"x", 0));
        let mut splitter = Splitter::new();
        splitter.push(&hello, Vec::new());
        match splitter.next_unit() {
            Some(Unit::Hello { hello: seen, bytes }) => {
                assert_eq!(seen.flags, flags);
                assert_eq!(u16_at(&bytes, 6), HELLO_FLAG_FINGERPRINTS);
                let names_end = bytes.len() - FINGERPRINTS_LEN;
                assert_eq!(bytes[8..names_end], hello[8..names_end]);
                assert_eq!(bytes[names_end..], fingerprints[..]);
            }
            other => panic!("{other:?}"),
        }
        match splitter.next_unit() {
            Some(Unit::Frame { header, .. }) => assert_eq!(header.message_id, 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_partial_magic_waits_and_a_refusing_hello_keeps_its_refusal() {
        let mut splitter = Splitter::new();
        splitter.push(b"CR", Vec::new());
        assert!(splitter.next_unit().is_none());
        let mut hello = hello_with_pool();
        // Make it a refusal (which never offers the pool): flags = REFUSED,
        // the pool offer replaced by a 10-byte refusal.
        hello.truncate(hello.len() - POOL_LEN);
        hello[6..8].copy_from_slice(&HELLO_FLAG_REFUSED.to_le_bytes());
        hello.extend([1, 0, 5, 0, 0, 0, 5, 0, 0, 0]);
        splitter.push(&hello[2..], Vec::new());
        match splitter.next_unit() {
            Some(Unit::Hello { bytes, .. }) => assert_eq!(bytes, hello),
            other => panic!("{other:?}"),
        }
    }
}
