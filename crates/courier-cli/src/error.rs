//! How a command fails, and the exit code each failure gives.

use std::fmt;

/// A failed command: what to tell the user and the exit code.
///
/// - [`Failure::Usage`] (exit 2): the command line is wrong (an unknown
///   service name, a method the service does not have, an argument of the
///   wrong type), or a local file could not be read or written.
/// - [`Failure::Remote`] (exit 1): the service could not be reached, broke
///   the protocol, timed out, or answered with an error.
#[derive(Debug)]
pub enum Failure {
    /// A usage, type or local file error: exit 2.
    Usage(anyhow::Error),
    /// A connection or remote error: exit 1.
    Remote(anyhow::Error),
}

impl Failure {
    /// A usage failure saying `message`.
    pub fn usage(message: impl fmt::Display) -> Failure {
        Failure::Usage(anyhow::anyhow!("{message}"))
    }

    /// A remote failure saying `message`.
    pub fn remote(message: impl fmt::Display) -> Failure {
        Failure::Remote(anyhow::anyhow!("{message}"))
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Remote(_) => 1,
        }
    }

    /// The error itself.
    pub fn error(&self) -> &anyhow::Error {
        match self {
            Failure::Usage(error) | Failure::Remote(error) => error,
        }
    }
}

impl From<anyhow::Error> for Failure {
    /// Errors of the file commands (reading, writing) are usage failures,
    /// as they always were.
    fn from(error: anyhow::Error) -> Failure {
        Failure::Usage(error)
    }
}

impl From<std::io::Error> for Failure {
    /// A failed write to standard output (or error).
    fn from(error: std::io::Error) -> Failure {
        Failure::Usage(anyhow::Error::new(error).context("cannot write the output"))
    }
}

/// The result of a command.
pub type CliResult<T> = Result<T, Failure>;
