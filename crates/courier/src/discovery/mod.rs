//! Finding services by name, and the perimeter around them.
//!
//! A service listens on a well-known socket named after it, in its
//! session's *portal directory*; a client connects by the same name. This
//! module finds that directory, keeps other users out of it, binds and
//! connects by name, and takes over sockets passed by a service manager.
//!
//! ```no_run
//! // The service:
//! let listener = courier::discovery::bind("clipboard")?;
//! let (stream, peer) = listener.accept()?; // only this user's processes
//! // A client, in another process:
//! let stream = courier::discovery::connect("clipboard")?;
//! # Ok::<(), courier::Error>(())
//! ```
//!
//! Both sides' connections are then made as usual:
//! [`BlockingConnection::accept`](crate::blocking::BlockingConnection::accept)
//! / [`from_stream`](crate::blocking::BlockingConnection::from_stream), or
//! a [`MultiServer`](crate::tokio::MultiServer) over
//! [`ServiceListener::into_parts`].
//!
//! # Where services listen
//!
//! The service `name` listens at `<portal>/<name>`, where `<portal>` is the
//! first of:
//!
//! 1. `$COURIER_PORTAL_DIR` ([`PORTAL_DIR_ENV`]), when set and not empty:
//!    the portal directory itself, an absolute path. Use it to run a
//!    private set of services (tests, a nested session) or to reach
//!    another session's.
//! 2. `$XDG_RUNTIME_DIR/portal`, when `XDG_RUNTIME_DIR` is set to an
//!    absolute path (`/run/user/1000/portal` on most Linux desktops).
//! 3. `/tmp/session/<sid>/portal`, where `<sid>` is the session id
//!    (`getsid(0)`), as on SerenityOS. The id is 0 when the session leader
//!    is outside this pid namespace (containers, some CI runners).
//!
//! [`Portal::from_env`] applies these rules; [`Portal::at`] names a
//! directory explicitly. The free functions here ([`portal_dir`],
//! [`service_path`], [`bind`], [`connect`], [`bind_or_take`]) are
//! `Portal::from_env()` followed by the method of the same name.
//!
//! A service name is 1 to 100 bytes of `A-Z a-z 0-9 . _ -`, not `.` or
//! `..`, not ending in `.lock` ([`validate_name`]); the whole socket path
//! must fit a Unix socket address (107 bytes, [`MAX_SOCKET_PATH_LEN`]).
//!
//! # The perimeter
//!
//! - **The directory.** [`bind`] creates the portal directory if it is
//!   missing, mode 0700 whatever the umask (a `chmod` follows the `mkdir`).
//!   Under `/tmp/session`, it creates `/tmp/session` (mode 1777, sticky,
//!   shared by all users like `/tmp`) and `/tmp/session/<sid>` (0700) too.
//!   An existing directory is refused, with the reason and the fix, when it
//!   is a symbolic link or not a directory, when another user owns it, or
//!   when users other than its owner can write to it.
//!   [`connect`] checks the directory the same way before trusting a socket
//!   in it, except that a directory owned by root is accepted (a system
//!   service).
//! - **The socket.** It is bound inside the 0700 directory, then made 0600:
//!   no other user can reach it at any moment.
//! - **The peers.** A [`ServiceListener`] accepts only peers its
//!   [`PeerPolicy`] admits, judged by `SO_PEERCRED`: by default
//!   ([`PeerPolicy::SameUser`]) processes of this effective uid; or a list
//!   of uids, anyone, or a custom check. The peer's pid, uid and gid reach
//!   the handlers ([`PeerCredentials`](crate::PeerCredentials)).
//!
//! # One instance per name
//!
//! [`bind`] holds an exclusive lock (`flock`) on `<portal>/<name>.lock` for
//! the listener's life, so two instances starting together cannot both win.
//! Holding it, it looks at the socket path:
//!
//! - nothing there: it binds;
//! - a socket nobody listens on (`ECONNREFUSED`: a crashed instance left
//!   it): it is replaced;
//! - a socket something listens on: [`DiscoveryErrorKind::AlreadyRunning`],
//!   naming the path and, when it answers, the pid of the process that
//!   made it listen (`SO_PEERCRED`; the connection used to ask is closed at
//!   once, so the running instance sees a client that leaves);
//! - anything else (a file, a directory): [`DiscoveryErrorKind::NotASocket`],
//!   and it is left untouched.
//!
//! Dropping the listener removes the socket file (only if it is still the
//! one it created: same device and inode) and the lock file.
//!
//! # Socket takeover
//!
//! A service manager can create the listening socket itself and pass it to
//! the service, which then starts on demand and never misses a client.
//! [`take_listener`] takes such a socket, in either form:
//!
//! - **systemd** (`sd_listen_fds`): `LISTEN_PID` is this process's pid,
//!   `LISTEN_FDS=n` passes fds 3 to 3 + n - 1, and `LISTEN_FDNAMES`, if set,
//!   names them (`clipboard:echo`); the one named like the service is
//!   taken, or the only one when there is one and it is unnamed.
//! - **SerenityOS** (SystemServer): `SOCKET_TAKEOVER="clipboard:3 echo:4"`,
//!   `name:fd` pairs separated by spaces; a key is the service name or its
//!   socket path.
//!
//! Before taking ownership, courier checks that the fd is open and is a
//! listening Unix stream socket (`SO_ACCEPTCONN`, `SO_TYPE`); it makes it
//! close-on-exec and blocking. Each fd is taken at most once per process.
//! Once every socket of a form is taken, its variables are removed from the
//! environment, if the process is single-threaded at that moment (removing
//! an environment variable while other threads run is a data race). In a
//! process that already runs several threads they stay: `LISTEN_PID` keeps
//! children from using the systemd ones, and a process that starts children
//! should remove `SOCKET_TAKEOVER` from their environment
//! ([`TAKEOVER_ENV_VARS`]). [`bind_or_take`] takes over when a socket is
//! passed for the name, and binds otherwise. A tokio service that wants the
//! variables gone binds before it starts its runtime (`#[tokio::main]` has
//! started worker threads by the time `main`'s body runs): call
//! [`bind_or_take`] first, build the runtime, then serve the listener with
//! `MultiServer::from_service`.
//!
//! # Errors
//!
//! Everything here fails with a [`DiscoveryError`], which says what
//! happened, where, and what to do (`no service `clipboard` at
//! /run/user/1000/portal/clipboard: is it running? (set COURIER_PORTAL_DIR
//! to look elsewhere)`); [`DiscoveryError::kind`] tells a service that is
//! not running from a stale socket, a permission problem, an unsafe
//! directory... It converts into [`crate::Error`].

mod error;
mod listener;
mod name;
mod policy;
mod portal;
mod takeover;

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

pub use self::error::{DirectoryProblem, DiscoveryError, DiscoveryErrorKind, NameProblem};
pub use self::listener::{ServiceGuard, ServiceListener};
pub use self::name::{MAX_NAME_LEN, MAX_SOCKET_PATH_LEN, validate_name};
pub use self::policy::PeerPolicy;
pub use self::portal::{Portal, PortalOrigin};
pub use self::takeover::TAKEOVER_ENV_VARS;

/// The environment variable that names the portal directory, overriding the
/// default (`$XDG_RUNTIME_DIR/portal`, else `/tmp/session/<sid>/portal`).
pub const PORTAL_DIR_ENV: &str = "COURIER_PORTAL_DIR";

/// The directory under which session portals live when `XDG_RUNTIME_DIR` is
/// not set: `/tmp/session/<sid>/portal`.
pub const SESSION_ROOT: &str = "/tmp/session";

/// This session's portal directory (see the [module documentation](self)
/// for the rules). Nothing is created or checked.
///
/// # Errors
///
/// As [`Portal::from_env`].
///
/// # Example
///
/// ```
/// let dir = courier::discovery::portal_dir()?;
/// println!("services listen in {}", dir.display());
/// # Ok::<(), courier::discovery::DiscoveryError>(())
/// ```
pub fn portal_dir() -> Result<PathBuf, DiscoveryError> {
    Ok(Portal::from_env()?.dir().to_owned())
}

/// The socket path of the service `name` in this session's portal
/// directory.
///
/// # Errors
///
/// As [`Portal::from_env`] and [`Portal::service_path`]: an invalid name, a
/// path too long for a socket address.
///
/// # Example
///
/// ```
/// let path = courier::discovery::service_path("clipboard")?;
/// assert!(path.ends_with("portal/clipboard"));
/// assert!(courier::discovery::service_path("../clipboard").is_err());
/// # Ok::<(), courier::discovery::DiscoveryError>(())
/// ```
pub fn service_path(name: &str) -> Result<PathBuf, DiscoveryError> {
    Portal::from_env()?.service_path(name)
}

/// Listens as the service `name` in this session's portal directory:
/// prepares the directory (created 0700, or checked), takes the service's
/// lock, replaces a stale socket, binds, and makes the socket 0600.
///
/// # Errors
///
/// [`DiscoveryErrorKind::AlreadyRunning`] when an instance serves the name
/// (with its pid when it answers); [`DiscoveryErrorKind::NotASocket`] when
/// something else is at the path; [`DiscoveryErrorKind::UnsafeDirectory`]
/// when the portal directory is not private; an invalid name; I/O errors.
pub fn bind(name: &str) -> Result<ServiceListener, DiscoveryError> {
    Portal::from_env()?.bind(name)
}

/// Connects to the service `name` in this session's portal directory.
///
/// # Errors
///
/// [`DiscoveryErrorKind::NotRunning`] when nothing is there ("no service
/// `clipboard` at /path: is it running? (set COURIER_PORTAL_DIR to look
/// elsewhere)"), [`DiscoveryErrorKind::StaleSocket`] when its socket is left
/// from an instance that is gone, [`DiscoveryErrorKind::PermissionDenied`]
/// when it belongs to another user, [`DiscoveryErrorKind::UnsafeDirectory`]
/// when the portal directory could be tampered with.
pub fn connect(name: &str) -> Result<UnixStream, DiscoveryError> {
    Portal::from_env()?.connect(name)
}

/// Connects to the service `name` in this session's portal directory,
/// retrying until `deadline` while the service is not running yet or is
/// being restarted: for clients that start together with their service, or
/// that reconnect after it went away.
///
/// A failed attempt is retried when the socket is missing
/// ([`DiscoveryErrorKind::NotRunning`]), left from an instance that is gone
/// ([`DiscoveryErrorKind::StaleSocket`]), or its listen queue is full;
/// pauses start at 5 ms and double up to 100 ms (never past `deadline`).
/// Every other error (an invalid name, an unsafe directory, a socket of
/// another user) is returned at once. Only the connect is retried: a
/// handshake that fails afterwards (the service shutting down as the client
/// arrives) is the caller's to retry.
///
/// # Errors
///
/// The last attempt's error once `deadline` has passed, or the first error
/// that retrying cannot cure; as [`connect`].
///
/// # Example
///
/// ```
/// use std::time::{Duration, Instant};
/// use courier::discovery::{DiscoveryErrorKind, Portal};
///
/// let dir = tempfile::tempdir()?;
/// let portal = Portal::at(dir.path().join("portal"));
/// // Nobody serves `clipboard`: the retries give up at the deadline.
/// let deadline = Instant::now() + Duration::from_millis(30);
/// let error = portal.connect_with_retry("clipboard", deadline).unwrap_err();
/// assert!(matches!(error.kind(), DiscoveryErrorKind::NotRunning { .. }));
/// assert!(Instant::now() >= deadline);
///
/// // Once it listens, the same call connects.
/// let listener = portal.bind("clipboard")?;
/// let deadline = Instant::now() + Duration::from_secs(5);
/// let stream = portal.connect_with_retry("clipboard", deadline)?;
/// # drop((stream, listener));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn connect_with_retry(
    name: &str,
    deadline: std::time::Instant,
) -> Result<UnixStream, DiscoveryError> {
    Portal::from_env()?.connect_with_retry(name, deadline)
}

/// The socket path a client of the service `name` connects to in this
/// session's portal directory, once the directory is found trustworthy; for
/// drivers that connect on their own (tokio). Errors as [`connect`]'s, and
/// [`connect_error`] turns the connect's failure into one.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn client_path(name: &str) -> Result<PathBuf, DiscoveryError> {
    Portal::from_env()?.client_path(name)
}

/// Why connecting to the service `name` at `path` failed, as [`connect`]
/// reports it.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn connect_error(name: &str, path: PathBuf, error: std::io::Error) -> DiscoveryError {
    portal::classify_connect_error(name, path, error)
}

/// Takes the listening socket of the service `name` that the parent process
/// passed (systemd's `LISTEN_FDS` or SerenityOS's `SOCKET_TAKEOVER`; see
/// the [module documentation](self)). `Ok(None)` when none is passed for
/// this name.
///
/// # Errors
///
/// [`DiscoveryErrorKind::Takeover`] when the variables are malformed, or
/// the fd they name is not an open, listening Unix stream socket, or was
/// already taken.
pub fn take_listener(name: &str) -> Result<Option<UnixListener>, DiscoveryError> {
    let portal = Portal::from_env().ok();
    takeover::take_listener_in(portal.as_ref(), name)
}

/// Takes over the socket of the service `name` if the parent process
/// passed one ([`take_listener`]), and otherwise listens as it ([`bind`]).
///
/// # Errors
///
/// As [`take_listener`] and [`bind`].
pub fn bind_or_take(name: &str) -> Result<ServiceListener, DiscoveryError> {
    Portal::from_env()?.bind_or_take(name)
}
