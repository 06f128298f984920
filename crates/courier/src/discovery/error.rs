//! Why finding, binding or taking over a service failed.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::PORTAL_DIR_ENV;

/// Why finding, binding or taking over a service by name failed.
///
/// The message says what happened, where, and what to do; [`kind`](Self::kind)
/// gives the detail to branch on. Converts into [`crate::Error`] (as
/// [`crate::Error::Discovery`]), so `?` works in functions returning either.
///
/// # Example
///
/// ```
/// use courier::discovery::{DiscoveryErrorKind, Portal};
///
/// let dir = tempfile::tempdir()?;
/// let portal = Portal::at(dir.path().join("portal"));
/// let error = portal.connect("clipboard").unwrap_err();
/// assert!(matches!(error.kind(), DiscoveryErrorKind::NotRunning { .. }));
/// assert!(error.to_string().starts_with("no service `clipboard` at "));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DiscoveryError {
    kind: Box<DiscoveryErrorKind>,
}

/// What went wrong finding, binding or taking over a service.
#[derive(Debug)]
#[non_exhaustive]
pub enum DiscoveryErrorKind {
    /// The service name cannot name a socket in the portal directory.
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        problem: NameProblem,
    },
    /// The socket path does not fit a Unix socket address (`sun_path`).
    PathTooLong {
        /// The path.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
        /// The longest path a Unix socket address holds, in bytes.
        max: usize,
    },
    /// `COURIER_PORTAL_DIR` is set to a relative path.
    RelativePortalDir {
        /// Its value.
        value: PathBuf,
    },
    /// A directory on the way to the sockets is not safe to use: another user
    /// could replace or spy on the sockets in it.
    UnsafeDirectory {
        /// The directory.
        path: PathBuf,
        /// What makes it unsafe.
        problem: DirectoryProblem,
    },
    /// A directory to create (the portal directory, or the session directory
    /// above it) has no parent to be created in.
    MissingParent {
        /// The directory courier wanted to create.
        path: PathBuf,
    },
    /// Nothing listens at the service's path (no socket file, or no portal
    /// directory).
    NotRunning {
        /// The service name.
        service: String,
        /// The socket path.
        path: PathBuf,
    },
    /// A socket file is at the service's path but nothing listens on it: the
    /// service exited without removing it (it crashed or was killed).
    StaleSocket {
        /// The service name.
        service: String,
        /// The socket path.
        path: PathBuf,
    },
    /// The socket or the portal directory belongs to another user.
    PermissionDenied {
        /// The service name.
        service: String,
        /// The socket path.
        path: PathBuf,
    },
    /// Another instance of the service is running.
    AlreadyRunning {
        /// The service name.
        service: String,
        /// The socket path.
        path: PathBuf,
        /// The pid `SO_PEERCRED` reports for the live socket, when it
        /// answered: the process that made it listen (the instance itself,
        /// or the service manager that passed it the socket).
        pid: Option<u32>,
    },
    /// Something other than a socket is at the service's path; it was left
    /// untouched.
    NotASocket {
        /// The path.
        path: PathBuf,
        /// What is there (`regular file`, `directory`...).
        found: &'static str,
    },
    /// A socket passed by the parent process (socket activation) could not
    /// be taken over.
    Takeover {
        /// The environment variable that names it (`LISTEN_FDS`,
        /// `SOCKET_TAKEOVER`...).
        variable: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A system call failed.
    Io {
        /// What courier was doing (`creating the portal directory /run/user/1000/portal`).
        action: String,
        /// The operating system's error.
        source: io::Error,
    },
}

/// What is wrong with a service name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameProblem {
    /// The name is empty.
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`](super::MAX_NAME_LEN) bytes.
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The name holds a character other than `A-Z a-z 0-9 . _ -`.
    BadCharacter {
        /// The character.
        character: char,
        /// Its byte offset in the name.
        at: usize,
    },
    /// The name is `.` or `..`.
    Dots,
    /// The name ends in `.lock`, the suffix of the lock files beside the
    /// sockets.
    LockSuffix,
}

/// What makes a directory unsafe to hold sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectoryProblem {
    /// Another user owns it.
    OwnedBy {
        /// The owner's uid.
        uid: u32,
        /// This process's effective uid.
        ours: u32,
    },
    /// Users other than its owner can write to it (mode `& 0o022`), and it
    /// is not sticky.
    Writable {
        /// Its permission bits.
        mode: u32,
    },
    /// It is a symbolic link, which could be pointed elsewhere.
    Symlink,
    /// It is not a directory.
    NotADirectory {
        /// What it is (`regular file`...).
        found: &'static str,
    },
}

impl DiscoveryError {
    pub(crate) fn new(kind: DiscoveryErrorKind) -> DiscoveryError {
        DiscoveryError {
            kind: Box::new(kind),
        }
    }

    pub(crate) fn io(action: impl Into<String>, source: io::Error) -> DiscoveryError {
        DiscoveryError::new(DiscoveryErrorKind::Io {
            action: action.into(),
            source,
        })
    }

    pub(crate) fn takeover(variable: &'static str, problem: impl Into<String>) -> DiscoveryError {
        DiscoveryError::new(DiscoveryErrorKind::Takeover {
            variable,
            problem: problem.into(),
        })
    }

    /// What went wrong.
    pub fn kind(&self) -> &DiscoveryErrorKind {
        &self.kind
    }

    /// The path the error is about, when there is one.
    pub fn path(&self) -> Option<&Path> {
        match &*self.kind {
            DiscoveryErrorKind::PathTooLong { path, .. }
            | DiscoveryErrorKind::RelativePortalDir { value: path }
            | DiscoveryErrorKind::UnsafeDirectory { path, .. }
            | DiscoveryErrorKind::MissingParent { path }
            | DiscoveryErrorKind::NotRunning { path, .. }
            | DiscoveryErrorKind::StaleSocket { path, .. }
            | DiscoveryErrorKind::PermissionDenied { path, .. }
            | DiscoveryErrorKind::AlreadyRunning { path, .. }
            | DiscoveryErrorKind::NotASocket { path, .. } => Some(path),
            DiscoveryErrorKind::InvalidName { .. }
            | DiscoveryErrorKind::Takeover { .. }
            | DiscoveryErrorKind::Io { .. } => None,
        }
    }
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            DiscoveryErrorKind::InvalidName { name, problem } => {
                write!(f, "invalid service name {name:?}: ")?;
                match problem {
                    NameProblem::Empty => f.write_str("it is empty"),
                    NameProblem::TooLong { len } => write!(
                        f,
                        "it is {len} bytes long, at most {} fit a socket path",
                        super::MAX_NAME_LEN
                    ),
                    NameProblem::BadCharacter { character, at } => write!(
                        f,
                        "{character:?} at byte {at} is not allowed; use only letters, digits, `.`, `_` and `-`"
                    ),
                    NameProblem::Dots => f.write_str("`.` and `..` name directories, not services"),
                    NameProblem::LockSuffix => f.write_str(
                        "names ending in `.lock` are reserved for the lock files beside the sockets",
                    ),
                }
            }
            DiscoveryErrorKind::PathTooLong { path, len, max } => write!(
                f,
                "the socket path `{}` is {len} bytes, but a Unix socket address holds at most {max}; use a shorter service name or a shorter portal directory (set {PORTAL_DIR_ENV})",
                path.display()
            ),
            DiscoveryErrorKind::RelativePortalDir { value } => write!(
                f,
                "{PORTAL_DIR_ENV} is `{}`, a relative path; set it to an absolute path (or unset it to use the default)",
                value.display()
            ),
            DiscoveryErrorKind::UnsafeDirectory { path, problem } => {
                let path = path.display();
                write!(f, "refusing the directory `{path}`: ")?;
                match problem {
                    DirectoryProblem::OwnedBy { uid, ours } => write!(
                        f,
                        "it is owned by uid {uid}, not by this user (uid {ours}), so that user could replace or spy on the sockets in it; remove it, or set {PORTAL_DIR_ENV} to a directory of your own"
                    ),
                    DirectoryProblem::Writable { mode } => write!(
                        f,
                        "its mode is {mode:04o}, so other users can create or replace sockets in it; run `chmod 700 {path}`, or remove it and let courier create it"
                    ),
                    DirectoryProblem::Symlink => write!(
                        f,
                        "it is a symbolic link, which could be pointed elsewhere; replace it with a real directory (mode 0700), or set {PORTAL_DIR_ENV}"
                    ),
                    DirectoryProblem::NotADirectory { found } => write!(
                        f,
                        "it is a {found}, not a directory; remove it, or set {PORTAL_DIR_ENV} to a directory"
                    ),
                }
            }
            DiscoveryErrorKind::MissingParent { path } => {
                let parent = path.parent().unwrap_or(path);
                write!(
                    f,
                    "cannot create the directory `{}`: `{}` does not exist; create it, or set {PORTAL_DIR_ENV} to a directory that does",
                    path.display(),
                    parent.display()
                )
            }
            DiscoveryErrorKind::NotRunning { service, path } => {
                write!(
                    f,
                    "no service `{service}` at {}: is it running? (set {PORTAL_DIR_ENV} to look elsewhere)",
                    path.display()
                )?;
                if path.starts_with(super::SESSION_ROOT) {
                    // The fallback portal is per login session: a service
                    // started from another terminal or `setsid` is elsewhere.
                    f.write_str("; with neither it nor XDG_RUNTIME_DIR set, the portal is per login session, so a service started from another session listens in that session's directory")?;
                }
                Ok(())
            }
            DiscoveryErrorKind::StaleSocket { service, path } => write!(
                f,
                "the service `{service}` is not running: its socket {} is left over from an instance that exited without removing it (it crashed or was killed); start the service again, it replaces the stale socket",
                path.display()
            ),
            DiscoveryErrorKind::PermissionDenied { service, path } => write!(
                f,
                "permission denied connecting to the service `{service}` at {}: the socket or its directory belongs to another user; run as that user, or ask it to serve you",
                path.display()
            ),
            DiscoveryErrorKind::AlreadyRunning { service, path, pid } => {
                write!(
                    f,
                    "the service `{service}` is already running at {}",
                    path.display()
                )?;
                if let Some(pid) = pid {
                    write!(f, " (pid {pid})")?;
                }
                f.write_str("; stop that instance first, or give this one another name")
            }
            DiscoveryErrorKind::NotASocket { path, found } => write!(
                f,
                "`{}` is a {found}, not a socket; courier leaves it untouched: remove or rename it if it does not belong there",
                path.display()
            ),
            DiscoveryErrorKind::Takeover { variable, problem } => write!(
                f,
                "could not take over the socket passed in {variable}: {problem}; check how the parent process (service manager) starts this one"
            ),
            DiscoveryErrorKind::Io { action, source } => write!(f, "{action} failed: {source}"),
        }
    }
}

impl std::error::Error for DiscoveryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            DiscoveryErrorKind::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_running(path: &str) -> String {
        DiscoveryError::new(DiscoveryErrorKind::NotRunning {
            service: "kv".to_owned(),
            path: PathBuf::from(path),
        })
        .to_string()
    }

    #[test]
    fn a_missing_service_in_the_session_fallback_mentions_the_session() {
        assert_eq!(
            not_running("/srv/portal/kv"),
            "no service `kv` at /srv/portal/kv: is it running? (set COURIER_PORTAL_DIR to look elsewhere)"
        );
        let message = not_running("/tmp/session/5185/portal/kv");
        assert!(
            message.ends_with("the portal is per login session, so a service started from another session listens in that session's directory"),
            "{message}"
        );
    }
}
