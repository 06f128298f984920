//! The 20-byte frame header.

/// Length of a frame header in bytes.
pub const HEADER_LEN: usize = 20;

/// Header flag: this frame is a response (its request id names the request).
pub const FLAG_RESPONSE: u16 = 1 << 0;
/// Header flag: this response is an error; the payload is an encoded `String`
/// with the remote handler's message. Only valid with [`FLAG_RESPONSE`].
pub const FLAG_ERROR: u16 = 1 << 1;
/// Every flag this protocol version defines for every connection; the
/// pool's flags ([`FLAG_SHM`](super::FLAG_SHM),
/// [`FLAG_SHM_NEW_SEGMENT`](super::FLAG_SHM_NEW_SEGMENT)) are valid only
/// when both hellos offered the pool.
pub const KNOWN_FLAGS: u16 = FLAG_RESPONSE | FLAG_ERROR;

/// A frame header, as on the wire (all fields little-endian):
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | payload length in bytes |
/// | 4 | 4 | endpoint magic |
/// | 8 | 4 | message id |
/// | 12 | 4 | request id (0 for a one-way message) |
/// | 16 | 2 | number of fds that travel with the frame |
/// | 18 | 2 | flags ([`FLAG_RESPONSE`], [`FLAG_ERROR`]; between peers that both offered the shared-memory pool also [`FLAG_SHM`](super::FLAG_SHM), [`FLAG_SHM_NEW_SEGMENT`](super::FLAG_SHM_NEW_SEGMENT)) |
///
/// # Example
///
/// ```
/// use courier::proto::FrameHeader;
///
/// let header = FrameHeader { payload_len: 7, magic: 1, message_id: 2, request_id: 3, fd_count: 0, flags: 0 };
/// assert_eq!(FrameHeader::parse(&header.to_bytes()), header);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// Bytes of payload after the header.
    pub payload_len: u32,
    /// Magic of the endpoint the message belongs to.
    pub magic: u32,
    /// Message id within the endpoint.
    pub message_id: u32,
    /// Request id; 0 for a one-way message.
    pub request_id: u32,
    /// Fds that travel with the frame.
    pub fd_count: u16,
    /// Flags.
    pub flags: u16,
}

impl FrameHeader {
    /// The header's 20 bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&self.payload_len.to_le_bytes());
        out[4..8].copy_from_slice(&self.magic.to_le_bytes());
        out[8..12].copy_from_slice(&self.message_id.to_le_bytes());
        out[12..16].copy_from_slice(&self.request_id.to_le_bytes());
        out[16..18].copy_from_slice(&self.fd_count.to_le_bytes());
        out[18..20].copy_from_slice(&self.flags.to_le_bytes());
        out
    }

    /// Reads a header from its 20 bytes. Every bit pattern is a header; the
    /// connection validates flags and sizes.
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> FrameHeader {
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        FrameHeader {
            payload_len: u32_at(0),
            magic: u32_at(4),
            message_id: u32_at(8),
            request_id: u32_at(12),
            fd_count: u16_at(16),
            flags: u16_at(18),
        }
    }

    /// Whether [`FLAG_RESPONSE`] is set.
    pub fn is_response(&self) -> bool {
        self.flags & FLAG_RESPONSE != 0
    }

    /// Whether [`FLAG_ERROR`] is set.
    pub fn is_error(&self) -> bool {
        self.flags & FLAG_ERROR != 0
    }
}
