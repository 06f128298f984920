use std::borrow::Cow;
use std::fmt;

/// Why a body could not be decoded.
///
/// The kind says what went wrong; [`DecodeError::path`] says where, as the
/// chain of fields from the message down (`CreateWindow.title`).
#[derive(Debug)]
pub struct DecodeError {
    kind: DecodeErrorKind,
    /// Innermost field last.
    path: Vec<Cow<'static, str>>,
}

/// What went wrong while decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The body ended before the value did.
    Truncated {
        /// Bytes the value needed at this point.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A count or length larger than what is left of the body could hold.
    CountTooLarge {
        /// The count read from the wire.
        count: u64,
        /// Bytes left in the body when it was read.
        available: usize,
    },
    /// A string that must be UTF-8 is not.
    InvalidUtf8 {
        /// Offset of the first bad byte within the string.
        valid_up_to: usize,
    },
    /// A `bool` byte other than 0 or 1.
    InvalidBool(u8),
    /// A variant index or enum value with no alternative.
    InvalidTag {
        /// The value read.
        tag: u64,
        /// The type being decoded.
        type_name: &'static str,
    },
    /// A fixed-size array whose count is not its size.
    WrongArrayLength {
        /// The size of the array type.
        expected: usize,
        /// The count read from the wire.
        found: u64,
    },
    /// The value needed an fd and none was left.
    MissingFd,
    /// Bytes were left after the last field.
    TrailingBytes(usize),
    /// Fds were left after the last field (they are closed).
    UnclaimedFds(usize),
    /// A value that is well-formed on the wire but invalid for its type
    /// (a bitmap whose pixels do not fit its buffer, an fd that is not a
    /// memory file...).
    Invalid(String),
    /// A shared buffer (`Core::AnonymousBuffer`) whose memory file holds
    /// fewer bytes than the size sent with it: it was sent too small, or its
    /// sender shrank it while the receiver was copying it. Refused before
    /// any byte past the end is touched, so a lying peer cannot raise
    /// `SIGBUS` in the receiver.
    SharedBufferTooSmall {
        /// The size sent on the wire.
        claimed: u64,
        /// The size of the memory file (`fstat`), or where reading it
        /// stopped when it shrank during a copy.
        actual: u64,
    },
    /// An operating-system call needed to take the value failed (`fstat` or
    /// `mmap` of a received buffer).
    Io(String),
    /// A bitmap (`Gfx::ShareableBitmap`, or a frame of a
    /// `Gfx::BitmapSequence`) with a scale factor other than 1. courier
    /// keeps bitmaps at scale 1 only, so it refuses a HiDPI bitmap rather
    /// than map the wrong number of bytes.
    UnsupportedBitmapScale {
        /// The scale factor read from the wire.
        scale: i64,
    },
    /// A message id the endpoint does not define (generated
    /// `Endpoint::decode_message` returns it).
    UnknownMessage {
        /// The endpoint's name as written in the `.ipc` file.
        endpoint: &'static str,
        /// The id read from the wire.
        id: u32,
    },
    /// The id of a response where a request or one-way message was expected
    /// (generated `Endpoint::decode_message` returns it: responses are decoded
    /// by the caller waiting for them).
    UnexpectedResponse {
        /// The endpoint's name as written in the `.ipc` file.
        endpoint: &'static str,
        /// The id read from the wire.
        id: u32,
        /// The response's name (`CreateWindowResponse`).
        name: &'static str,
    },
}

impl DecodeError {
    /// An error of `kind` at the current (outermost) position.
    pub fn new(kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            kind,
            path: Vec::new(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.kind
    }

    /// The fields from the outermost to the one that failed.
    pub fn path(&self) -> impl Iterator<Item = &str> {
        self.path.iter().rev().map(|s| s.as_ref())
    }

    /// Adds `field` as the next outer level of the path. Derived and
    /// generated decoders call this for each field they decode.
    #[must_use]
    pub fn in_field(mut self, field: impl Into<Cow<'static, str>>) -> DecodeError {
        self.path.push(field.into());
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            f.write_str("in `")?;
            for (position, segment) in self.path().enumerate() {
                // `items[3].name`, not `items.[3].name`.
                if position > 0 && !segment.starts_with('[') {
                    f.write_str(".")?;
                }
                f.write_str(segment)?;
            }
            f.write_str("`: ")?;
        }
        match &self.kind {
            DecodeErrorKind::Truncated { needed, available } => write!(
                f,
                "message ends early: {needed} more bytes needed, {available} left"
            ),
            DecodeErrorKind::CountTooLarge { count, available } => write!(
                f,
                "count {count} cannot fit in the {available} bytes left of the message"
            ),
            DecodeErrorKind::InvalidUtf8 { valid_up_to } => {
                write!(
                    f,
                    "string is not valid UTF-8 (bad byte at offset {valid_up_to})"
                )
            }
            DecodeErrorKind::InvalidBool(b) => write!(f, "bool byte is {b}, expected 0 or 1"),
            DecodeErrorKind::InvalidTag { tag, type_name } => {
                write!(f, "{tag} is not a valid tag or value for `{type_name}`")
            }
            DecodeErrorKind::WrongArrayLength { expected, found } => {
                write!(
                    f,
                    "array of {expected} elements arrived with a count of {found}"
                )
            }
            DecodeErrorKind::MissingFd => {
                write!(
                    f,
                    "a file descriptor was expected but none was sent with the message"
                )
            }
            DecodeErrorKind::TrailingBytes(n) => {
                write!(f, "{n} unexpected bytes after the last field")
            }
            DecodeErrorKind::UnclaimedFds(n) => {
                write!(
                    f,
                    "{n} file descriptors were sent but the message has no place for them"
                )
            }
            DecodeErrorKind::Invalid(why) => f.write_str(why),
            DecodeErrorKind::SharedBufferTooSmall { claimed, actual } => write!(
                f,
                "shared buffer claims {claimed} bytes but its memory file holds only {actual}; \
                 the sender is broken or hostile: it must size the memory file to at least the \
                 size it sends and never shrink it (courier's SharedBuffer::new does both)"
            ),
            DecodeErrorKind::Io(why) => write!(f, "could not take a received resource: {why}"),
            DecodeErrorKind::UnsupportedBitmapScale { scale } => write!(
                f,
                "bitmap scale factor {scale} is not supported: courier takes bitmaps at scale 1 \
                 only; the sender must send its pixels at scale 1"
            ),
            DecodeErrorKind::UnknownMessage { endpoint, id } => write!(
                f,
                "endpoint `{endpoint}` has no message with id {id}; \
                 the peer may have been built from another version of the interface"
            ),
            DecodeErrorKind::UnexpectedResponse { endpoint, id, name } => write!(
                f,
                "id {id} of endpoint `{endpoint}` is the response `{name}`, \
                 which cannot arrive as a request or one-way message"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

impl From<DecodeErrorKind> for DecodeError {
    fn from(kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(kind)
    }
}

/// Why a value could not be encoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A length or count does not fit the wire's `u32`.
    #[error("length {0} does not fit in the wire's u32 length field (4 GiB - 1 at most)")]
    TooLong(usize),
    /// An fd could not be duplicated for sending.
    #[error(
        "could not duplicate a file descriptor for sending: {0}; the process may be out of descriptors"
    )]
    DupFailed(#[source] std::io::Error),
    /// A value that cannot be sent as it is (a custom check of a hand-written
    /// `Encode` impl).
    #[error("{0}")]
    Invalid(String),
    /// A `Gfx::ShareableBitmap` whose rows are further apart than its pixels
    /// need. The wire carries no pitch: the receiver reads the rows packed,
    /// `width * 4` bytes apart, as SerenityOS does.
    #[error(
        "a bitmap {width} pixels wide with rows {pitch} bytes apart cannot be sent: \
         Gfx::ShareableBitmap carries no pitch, so the receiver reads rows {packed} bytes apart; \
         send ShareableBitmap::to_packed() (a copy with packed rows) instead"
    )]
    BitmapNotPacked {
        /// The bitmap's width in pixels.
        width: u32,
        /// Its bytes from one row to the next.
        pitch: u32,
        /// The pitch the wire implies, `width * 4`.
        packed: u32,
    },
}

impl EncodeError {
    pub(crate) fn too_long(len: usize) -> EncodeError {
        EncodeError::TooLong(len)
    }

    pub(crate) fn dup_failed(err: std::io::Error) -> EncodeError {
        EncodeError::DupFailed(err)
    }
}
