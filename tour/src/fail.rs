//! [`Failure`]: why the tour stopped, with the context of the step.

use std::fmt;

/// Why the tour stopped: what it was doing and what went wrong, ready to
/// print after `tour: `.
#[derive(Debug)]
pub struct Failure(String);

impl Failure {
    /// A failure described by `message`.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure(message.into())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

/// The result of a step of the tour.
pub type Result<T> = std::result::Result<T, Failure>;

/// Puts what the tour was doing in front of an error.
pub trait Context<T> {
    /// On error, a [`Failure`] reading `<what>: <error>`.
    fn context(self, what: impl fmt::Display) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|error| Failure(format!("{what}: {error}")))
    }
}

/// Fails with `message` unless `condition` holds: the tour checks what it
/// shows.
pub fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<()> {
    if condition {
        Ok(())
    } else {
        Err(Failure(message()))
    }
}
