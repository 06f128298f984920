//! The handshake's hello.

use crate::error::{HandshakeError, HandshakeErrorKind};

/// The four bytes every hello starts with.
pub const HELLO_MAGIC: [u8; 4] = *b"CRIR";
/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u16 = 1;
/// Bytes of a hello before the two names.
const FIXED_LEN: usize = 20;
/// Hello flag: a server refuses the client; a refusal (u16 reason, two u32
/// details) follows the names, and the server closes the connection.
pub const HELLO_FLAG_REFUSED: u16 = 1 << 0;
/// Hello flag: this side offers the shared-memory pool; the pool's limits
/// (u32 segments, u64 bytes) follow the names (and the refusal, if any).
/// The pool is used only when both hellos carry it.
pub const HELLO_FLAG_SHM_POOL: u16 = 1 << 1;
/// Hello flag, in a client's hello only: this client speaks whatever the
/// server serves. The server skips the endpoint comparison for it; the
/// client adopts the server's endpoints from the server's hello. The
/// client's own magics and names carry no meaning (courier sends 0 and
/// `*`). A server's hello with this flag is refused as unknown flags.
pub const HELLO_FLAG_ANY_PEER: u16 = 1 << 2;
/// Hello flag: this side knows the interface fingerprint of its local
/// endpoint or of the peer endpoint it expects; the two fingerprints (u64
/// local, u64 expected of the peer, `0` for unknown) follow last. A side
/// sends it only when one of them is known, so a hello without
/// fingerprints is the same bytes as before the flag existed.
pub const HELLO_FLAG_FINGERPRINTS: u16 = 1 << 3;
/// Every hello flag this protocol version defines.
const KNOWN_HELLO_FLAGS: u16 =
    HELLO_FLAG_REFUSED | HELLO_FLAG_SHM_POOL | HELLO_FLAG_ANY_PEER | HELLO_FLAG_FINGERPRINTS;
/// Bytes of the fingerprints after the names (and the refusal and pool).
const FINGERPRINTS_LEN: usize = 16;
/// Bytes of the pool's limits after the names.
const POOL_LIMITS_LEN: usize = 12;
/// Refusal reason: the service already serves as many clients as it allows.
const REFUSAL_SERVICE_FULL: u16 = 1;
/// Bytes of a refusal after the names.
const REFUSAL_LEN: usize = 10;

/// Why a server refuses a client in its hello
/// ([`Connection::refuse`](super::Connection::refuse)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The service already serves
    /// [`Limits::max_clients`](crate::Limits::max_clients) clients.
    ServiceFull {
        /// Clients the service serves.
        clients: u32,
        /// Its limit.
        max_clients: u32,
    },
}

impl Refusal {
    /// The handshake error both sides report for this refusal.
    pub(crate) fn to_error(self) -> HandshakeError {
        match self {
            Refusal::ServiceFull {
                clients,
                max_clients,
            } => HandshakeError::new(HandshakeErrorKind::ServiceFull {
                clients,
                max_clients,
            }),
        }
    }

    fn to_wire(self) -> (u16, u32, u32) {
        match self {
            Refusal::ServiceFull {
                clients,
                max_clients,
            } => (REFUSAL_SERVICE_FULL, clients, max_clients),
        }
    }
}

/// What each side says first (all integers little-endian):
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | `b"CRIR"` |
/// | 4 | 2 | protocol version (1) |
/// | 6 | 2 | flags ([`HELLO_FLAG_REFUSED`], [`HELLO_FLAG_SHM_POOL`], [`HELLO_FLAG_ANY_PEER`], [`HELLO_FLAG_FINGERPRINTS`]) |
/// | 8 | 4 | magic of the endpoint this side handles (local) |
/// | 12 | 4 | magic of the endpoint it expects the other side to handle (peer) |
/// | 16 | 4 | largest message body this side accepts, in bytes |
/// | 20 | 2 + n | length, then UTF-8 name of the local endpoint |
/// | .. | 2 + m | length, then UTF-8 name of the peer endpoint |
///
/// With flag [`HELLO_FLAG_REFUSED`] (bit 0, set by a server refusing the
/// client), a refusal follows: u16 reason (1: the service is full), u32
/// clients served, u32 the service's `max_clients`.
///
/// With flag [`HELLO_FLAG_SHM_POOL`] (bit 1, this side offers the
/// shared-memory pool), the pool's limits follow last: u32 most segments and
/// u64 most bytes this side maps from the peer.
///
/// Flag [`HELLO_FLAG_ANY_PEER`] (bit 2, a client that speaks whatever the
/// server serves) adds no bytes.
///
/// With flag [`HELLO_FLAG_FINGERPRINTS`] (bit 3, this side knows an
/// interface fingerprint), the fingerprints follow last: u64 of the local
/// endpoint, u64 expected of the peer endpoint (`0`: unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hello {
    pub(crate) local_magic: u32,
    pub(crate) peer_magic: u32,
    pub(crate) max_message_bytes: u32,
    pub(crate) local_name: String,
    pub(crate) peer_name: String,
    /// The refusal to send (a refusing server's hello).
    pub(crate) refusal: Option<Refusal>,
    /// The refusal received, as the error to report.
    pub(crate) refused: Option<HandshakeError>,
    /// The pool this side offers (or the peer offered): the most segments
    /// and bytes it maps from the other side.
    pub(crate) shm_pool: Option<PoolOffer>,
    /// Flag ANY_PEER: a client that adopts the server's endpoints.
    pub(crate) any_peer: bool,
    /// The interface fingerprint of the local endpoint (`0`: unknown).
    pub(crate) local_fingerprint: u64,
    /// The interface fingerprint expected of the peer endpoint (`0`:
    /// unknown).
    pub(crate) peer_fingerprint: u64,
}

/// What a side that offers the shared-memory pool accepts from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolOffer {
    /// Most segments it maps at once.
    pub(crate) max_segments: u32,
    /// Most bytes of segments it maps at once.
    pub(crate) max_bytes: u64,
}

/// The outcome of reading a hello from the front of a buffer.
#[derive(Debug)]
pub(crate) enum ParsedHello {
    /// More bytes are needed.
    Incomplete,
    /// A hello, and how many bytes it took.
    Complete(Hello, usize),
}

impl Hello {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(FIXED_LEN + 4 + self.local_name.len() + self.peer_name.len());
        out.extend_from_slice(&HELLO_MAGIC);
        out.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
        let mut flags = 0;
        if self.refusal.is_some() {
            flags |= HELLO_FLAG_REFUSED;
        }
        if self.shm_pool.is_some() {
            flags |= HELLO_FLAG_SHM_POOL;
        }
        if self.any_peer {
            flags |= HELLO_FLAG_ANY_PEER;
        }
        let fingerprints = self.local_fingerprint != 0 || self.peer_fingerprint != 0;
        if fingerprints {
            flags |= HELLO_FLAG_FINGERPRINTS;
        }
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&self.local_magic.to_le_bytes());
        out.extend_from_slice(&self.peer_magic.to_le_bytes());
        out.extend_from_slice(&self.max_message_bytes.to_le_bytes());
        for name in [&self.local_name, &self.peer_name] {
            // Names are endpoint names from generated code; a name longer than
            // a u16 is cut (it would not be a name anyone wrote).
            let bytes = &name.as_bytes()[..name.len().min(usize::from(u16::MAX))];
            out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
            out.extend_from_slice(bytes);
        }
        if let Some(refusal) = self.refusal {
            let (reason, clients, max_clients) = refusal.to_wire();
            out.extend_from_slice(&reason.to_le_bytes());
            out.extend_from_slice(&clients.to_le_bytes());
            out.extend_from_slice(&max_clients.to_le_bytes());
        }
        if let Some(offer) = self.shm_pool {
            out.extend_from_slice(&offer.max_segments.to_le_bytes());
            out.extend_from_slice(&offer.max_bytes.to_le_bytes());
        }
        if fingerprints {
            out.extend_from_slice(&self.local_fingerprint.to_le_bytes());
            out.extend_from_slice(&self.peer_fingerprint.to_le_bytes());
        }
        out
    }

    /// Reads a hello from the front of `bytes`, failing as early as the bytes
    /// allow (garbage fails on its first byte).
    pub(crate) fn parse(bytes: &[u8]) -> Result<ParsedHello, HandshakeError> {
        let prefix = &bytes[..bytes.len().min(4)];
        if prefix != &HELLO_MAGIC[..prefix.len()] {
            return Err(HandshakeError::new(HandshakeErrorKind::NotCourier {
                received: prefix.to_vec(),
            }));
        }
        if bytes.len() < 6 {
            return Ok(ParsedHello::Incomplete);
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if version != PROTOCOL_VERSION {
            return Err(HandshakeError::new(HandshakeErrorKind::Version {
                ours: PROTOCOL_VERSION,
                theirs: version,
            }));
        }
        if bytes.len() < FIXED_LEN {
            return Ok(ParsedHello::Incomplete);
        }
        let flags = u16::from_le_bytes([bytes[6], bytes[7]]);
        if flags & !KNOWN_HELLO_FLAGS != 0 {
            return Err(HandshakeError::new(HandshakeErrorKind::Flags(flags)));
        }
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let (local_magic, peer_magic, max_message_bytes) = (u32_at(8), u32_at(12), u32_at(16));
        let mut at = FIXED_LEN;
        let mut names = Vec::with_capacity(2);
        for _ in 0..2 {
            let Some(len_bytes) = bytes.get(at..at + 2) else {
                return Ok(ParsedHello::Incomplete);
            };
            let len = usize::from(u16::from_le_bytes([len_bytes[0], len_bytes[1]]));
            let Some(name) = bytes.get(at + 2..at + 2 + len) else {
                return Ok(ParsedHello::Incomplete);
            };
            let name = std::str::from_utf8(name)
                .map_err(|_| HandshakeError::new(HandshakeErrorKind::InvalidName))?;
            names.push(name.to_owned());
            at += 2 + len;
        }
        let peer_name = names.pop().unwrap_or_default();
        let local_name = names.pop().unwrap_or_default();
        let mut refused = None;
        if flags & HELLO_FLAG_REFUSED != 0 {
            let Some(refusal) = bytes.get(at..at + REFUSAL_LEN) else {
                return Ok(ParsedHello::Incomplete);
            };
            let reason = u16::from_le_bytes([refusal[0], refusal[1]]);
            let detail = |at: usize| {
                u32::from_le_bytes([
                    refusal[at],
                    refusal[at + 1],
                    refusal[at + 2],
                    refusal[at + 3],
                ])
            };
            refused = Some(match reason {
                REFUSAL_SERVICE_FULL => Refusal::ServiceFull {
                    clients: detail(2),
                    max_clients: detail(6),
                }
                .to_error(),
                reason => HandshakeError::new(HandshakeErrorKind::Refused { reason }),
            });
            at += REFUSAL_LEN;
        }
        let mut shm_pool = None;
        if flags & HELLO_FLAG_SHM_POOL != 0 {
            let Some(limits) = bytes.get(at..at + POOL_LIMITS_LEN) else {
                return Ok(ParsedHello::Incomplete);
            };
            let mut segments = [0u8; 4];
            segments.copy_from_slice(&limits[..4]);
            let mut max_bytes = [0u8; 8];
            max_bytes.copy_from_slice(&limits[4..]);
            shm_pool = Some(PoolOffer {
                max_segments: u32::from_le_bytes(segments),
                max_bytes: u64::from_le_bytes(max_bytes),
            });
            at += POOL_LIMITS_LEN;
        }
        let (mut local_fingerprint, mut peer_fingerprint) = (0, 0);
        if flags & HELLO_FLAG_FINGERPRINTS != 0 {
            let Some(trailer) = bytes.get(at..at + FINGERPRINTS_LEN) else {
                return Ok(ParsedHello::Incomplete);
            };
            let u64_at = |at: usize| {
                let mut le = [0u8; 8];
                le.copy_from_slice(&trailer[at..at + 8]);
                u64::from_le_bytes(le)
            };
            (local_fingerprint, peer_fingerprint) = (u64_at(0), u64_at(8));
            at += FINGERPRINTS_LEN;
        }
        Ok(ParsedHello::Complete(
            Hello {
                local_magic,
                peer_magic,
                max_message_bytes,
                local_name,
                peer_name,
                refusal: None,
                refused,
                shm_pool,
                any_peer: flags & HELLO_FLAG_ANY_PEER != 0,
                local_fingerprint,
                peer_fingerprint,
            },
            at,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Hello {
        Hello {
            local_magic: 1,
            peer_magic: 2,
            max_message_bytes: 3,
            local_name: "WindowClient".into(),
            peer_name: "WindowServer".into(),
            refusal: None,
            refused: None,
            shm_pool: None,
            any_peer: false,
            local_fingerprint: 0,
            peer_fingerprint: 0,
        }
    }

    /// Every proper prefix of `bytes` is incomplete, and the whole is
    /// `expected`, all of it consumed.
    fn reads_back_from_every_split(bytes: &[u8], expected: &Hello) {
        for cut in 0..bytes.len() {
            let parsed = Hello::parse(&bytes[..cut]);
            assert!(matches!(parsed, Ok(ParsedHello::Incomplete)), "cut {cut}");
        }
        match Hello::parse(bytes) {
            Ok(ParsedHello::Complete(hello, len)) => {
                assert_eq!(len, bytes.len());
                assert_eq!(&hello, expected);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fingerprints_are_bit_3_and_16_bytes_after_the_pool() {
        let plain = Hello {
            shm_pool: Some(PoolOffer {
                max_segments: 4,
                max_bytes: 1 << 27,
            }),
            ..sample()
        };
        let printed = Hello {
            local_fingerprint: 0x0102_0304_0506_0708,
            peer_fingerprint: 0,
            ..plain.clone()
        };
        let bytes = printed.to_bytes();
        let before = plain.to_bytes();
        assert_eq!(bytes.len(), before.len() + 16);
        assert_eq!(
            u16::from_le_bytes([bytes[6], bytes[7]]),
            HELLO_FLAG_SHM_POOL | 8
        );
        assert_eq!(&bytes[..6], &before[..6]);
        assert_eq!(&bytes[8..before.len()], &before[8..]);
        assert_eq!(
            &bytes[before.len()..],
            &[8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        reads_back_from_every_split(&bytes, &printed);
        // Only the peer's known: still sent.
        let expecting = Hello {
            peer_fingerprint: 9,
            ..sample()
        };
        match Hello::parse(&expecting.to_bytes()) {
            Ok(ParsedHello::Complete(hello, _)) => assert_eq!(hello, expecting),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_hello_without_fingerprints_is_the_same_bytes_as_before() {
        let bytes = sample().to_bytes();
        assert_eq!(u16::from_le_bytes([bytes[6], bytes[7]]), 0);
        assert_eq!(bytes.len(), FIXED_LEN + 2 + 12 + 2 + 12);
    }

    #[test]
    fn the_any_peer_flag_is_bit_2_and_adds_no_bytes() {
        let plain = sample().to_bytes();
        let any = Hello {
            any_peer: true,
            ..sample()
        };
        let bytes = any.to_bytes();
        assert_eq!(bytes.len(), plain.len());
        assert_eq!(u16::from_le_bytes([bytes[6], bytes[7]]), 4);
        match Hello::parse(&bytes) {
            Ok(ParsedHello::Complete(hello, len)) => {
                assert_eq!(len, bytes.len());
                assert_eq!(hello, any);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn undefined_flags_still_fail() {
        let mut bytes = sample().to_bytes();
        bytes[6] = 16;
        let err = Hello::parse(&bytes).unwrap_err();
        assert_eq!(err.kind(), &HandshakeErrorKind::Flags(16));
    }

    #[test]
    fn a_pool_offer_reads_back_from_every_split() {
        let offered = Hello {
            shm_pool: Some(PoolOffer {
                max_segments: 4,
                max_bytes: 1 << 40,
            }),
            ..sample()
        };
        let bytes = offered.to_bytes();
        assert_eq!(bytes[6], HELLO_FLAG_SHM_POOL as u8);
        reads_back_from_every_split(&bytes, &offered);
    }

    #[test]
    fn a_hello_reads_back_from_every_split() {
        let bytes = sample().to_bytes();
        for cut in 0..bytes.len() {
            assert!(
                matches!(Hello::parse(&bytes[..cut]), Ok(ParsedHello::Incomplete)),
                "cut {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"next frame");
        match Hello::parse(&longer) {
            Ok(ParsedHello::Complete(hello, len)) => {
                assert_eq!(hello, sample());
                assert_eq!(len, bytes.len());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_refusal_reads_back_from_every_split() {
        let refusal = Refusal::ServiceFull {
            clients: 3,
            max_clients: 3,
        };
        let bytes = Hello {
            refusal: Some(refusal),
            ..sample()
        }
        .to_bytes();
        for cut in 0..bytes.len() {
            let parsed = Hello::parse(&bytes[..cut]);
            assert!(matches!(parsed, Ok(ParsedHello::Incomplete)), "cut {cut}");
        }
        match Hello::parse(&bytes) {
            Ok(ParsedHello::Complete(hello, len)) => {
                assert_eq!(len, bytes.len());
                assert_eq!(hello.refused, Some(refusal.to_error()));
                assert_eq!(
                    Hello {
                        refused: None,
                        ..hello
                    },
                    sample()
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_fails_on_the_first_byte() {
        let err = Hello::parse(b"G").unwrap_err();
        assert_eq!(
            err.kind(),
            &HandshakeErrorKind::NotCourier {
                received: b"G".to_vec()
            }
        );
    }

    #[test]
    fn another_version_fails_before_the_rest_arrives() {
        let err = Hello::parse(b"CRIR\x02\x00").unwrap_err();
        assert_eq!(
            err.kind(),
            &HandshakeErrorKind::Version { ours: 1, theirs: 2 }
        );
    }
}
