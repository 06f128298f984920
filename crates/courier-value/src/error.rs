//! [`ArgError`] and [`ValueError`]: what went wrong, where, and what was
//! expected.

use std::fmt;

use courier::{DecodeError, EncodeError};

/// Why a value (a word of the command line, JSON, or a [`crate::Value`] to
/// encode) does not fit its type.
///
/// It names the parameter when known, the place inside the value (`[2]`,
/// `key`, `.width`), what was expected and what was found:
///
/// ```
/// use courier_idl::types::IdlType;
/// use courier_value::parse_arg;
///
/// let error = parse_arg(&IdlType::U32, "-3").unwrap_err().in_param("width");
/// assert_eq!(
///     error.to_string(),
///     "parameter `width`: expected u32, got `-3` (out of range 0..=4294967295)"
/// );
/// ```
#[derive(Debug)]
pub struct ArgError {
    param: Option<String>,
    /// Outermost first.
    path: Vec<String>,
    kind: Box<ArgErrorKind>,
}

/// What kind of [`ArgError`] it is.
#[derive(Debug)]
#[non_exhaustive]
pub enum ArgErrorKind {
    /// The value does not fit the type.
    Expected {
        /// The type, as the `.ipc` language writes it (`u32`,
        /// `Vector<String>`).
        expected: String,
        /// What was found, quoted: `` `-3` `` or `` string `"a"` ``.
        got: String,
        /// Why, when it helps: `out of range 0..=4294967295`.
        detail: Option<String>,
    },
    /// A file named by `@path` could not be opened or read.
    File {
        /// The path.
        path: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// A user type, whose layout the `.ipc` text does not give.
    UserType {
        /// The type as written (`Geometry::Point3`).
        type_name: String,
    },
    /// Shared memory for a buffer or bitmap could not be made.
    Shm(courier::shm::ShmError),
    /// The wrong number of arguments for a message.
    Count {
        /// The message's signature.
        signature: String,
        /// How many it takes.
        expected: usize,
        /// How many were given.
        got: usize,
    },
}

impl ArgError {
    /// An error of `kind` at the value itself (no parameter, no path).
    pub fn new(kind: ArgErrorKind) -> ArgError {
        ArgError {
            param: None,
            path: Vec::new(),
            kind: Box::new(kind),
        }
    }

    pub(crate) fn expected(
        expected: impl fmt::Display,
        got: impl Into<String>,
        detail: Option<String>,
    ) -> ArgError {
        ArgError::new(ArgErrorKind::Expected {
            expected: expected.to_string(),
            got: got.into(),
            detail,
        })
    }

    /// Names the parameter the error is about.
    #[must_use]
    pub fn in_param(mut self, param: impl Into<String>) -> ArgError {
        self.param = Some(param.into());
        self
    }

    /// Adds `segment` (`[3]`, `key`, `width`) as the next outer level of the
    /// path inside the value.
    #[must_use]
    pub fn in_field(mut self, segment: impl Into<String>) -> ArgError {
        self.path.insert(0, segment.into());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ArgErrorKind {
        &self.kind
    }

    /// The parameter, when known.
    pub fn param(&self) -> Option<&str> {
        self.param.as_deref()
    }

    /// The place inside the value: `[2].key`, empty at the value itself.
    pub fn path(&self) -> String {
        join_path(self.path.iter().map(String::as_str))
    }
}

/// `items[3].name`, not `items.[3].name`.
pub(crate) fn join_path<'a>(segments: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for segment in segments {
        if !out.is_empty() && !segment.starts_with('[') {
            out.push('.');
        }
        out.push_str(segment);
    }
    out
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path();
        match (&self.param, path.is_empty()) {
            (Some(param), true) => write!(f, "parameter `{param}`: ")?,
            (Some(param), false) => write!(f, "parameter `{param}`, at `{path}`: ")?,
            (None, false) => write!(f, "at `{path}`: ")?,
            (None, true) => {}
        }
        match &*self.kind {
            ArgErrorKind::Expected {
                expected,
                got,
                detail,
            } => {
                write!(f, "expected {expected}, got {got}")?;
                if let Some(detail) = detail {
                    write!(f, " ({detail})")?;
                }
                Ok(())
            }
            ArgErrorKind::File { path, source } => write!(
                f,
                "cannot read `{path}`: {source}; give the path of a readable file after `@`"
            ),
            ArgErrorKind::UserType { type_name } => write!(
                f,
                "`{type_name}` is a user type whose layout the .ipc text does not give, \
                 so it cannot be built or decoded at run time"
            ),
            ArgErrorKind::Shm(error) => write!(f, "{error}"),
            ArgErrorKind::Count {
                signature,
                expected,
                got,
            } => write!(
                f,
                "`{signature}` takes {expected} argument{}, got {got}",
                if *expected == 1 { "" } else { "s" }
            ),
        }
    }
}

impl std::error::Error for ArgError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            ArgErrorKind::File { source, .. } => Some(source),
            ArgErrorKind::Shm(error) => Some(error),
            _ => None,
        }
    }
}

/// Why a message could not be encoded or decoded.
///
/// Each variant names the message (`` `create_window` of `WindowServer` ``)
/// and, inside it, the parameter path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The body is malformed: too short, bytes or fds left over, a count
    /// larger than the body, an invalid tag, string or shared memory...
    #[error("message {message}: {source}")]
    Decode {
        /// The message, described.
        message: String,
        /// courier's decode error, whose path starts at the parameter.
        #[source]
        source: DecodeError,
    },
    /// The body reaches a user type, whose layout the `.ipc` text does not
    /// give.
    #[error(
        "message {message}: `{path}` is of the user type `{type_name}`, whose layout the .ipc \
         text does not give; it cannot be decoded at run time (only by code generated for it)"
    )]
    UserType {
        /// The message, described.
        message: String,
        /// Where the user type is: the parameter and the path inside it.
        path: String,
        /// The type as written (`Geometry::Point3`).
        type_name: String,
    },
    /// An argument does not fit its parameter's type, or there are too few
    /// or too many.
    #[error("message {message}: {source}")]
    Arg {
        /// The message, described.
        message: String,
        /// What does not fit, naming the parameter.
        #[source]
        source: ArgError,
    },
    /// A frame names an endpoint magic or message id that the interface
    /// does not define.
    #[error(
        "{}; the peer may have been built from another version of the interface",
        match endpoint {
            Some(endpoint) => format!("endpoint `{endpoint}` (magic {magic}) has no message with id {id}"),
            None => format!("the interface has no endpoint with magic {magic} (message id {id})"),
        }
    )]
    UnknownMessage {
        /// The endpoint's name, when the magic is known.
        endpoint: Option<String>,
        /// The magic of the frame.
        magic: u32,
        /// The message id of the frame.
        id: u32,
    },
    /// The values fit but cannot be put on the wire (a length past the
    /// wire's `u32`, no descriptors left to duplicate).
    #[error("message {message}: {source}")]
    Encode {
        /// The message, described.
        message: String,
        /// courier's encode error.
        #[source]
        source: EncodeError,
    },
}
