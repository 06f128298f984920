//! Listening as a named service.

use std::fmt;
use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use rustix::fs::FlockOperation;
use tracing::{debug, warn};

use super::error::{DiscoveryError, DiscoveryErrorKind};
use super::name::lock_path;
use super::policy::PeerPolicy;
use super::portal::Portal;
use super::takeover::take_listener_in;
use crate::error::Error;
use crate::peer::PeerCredentials;
use crate::sys::takeover::describe_metadata;

/// The mode of a service's socket file.
const SOCKET_MODE: u32 = 0o600;
/// The mode of a service's lock file.
const LOCK_MODE: u32 = 0o600;
/// How often to retry taking the lock when its file is replaced under us
/// (an instance removing it as it stops).
const LOCK_ATTEMPTS: usize = 8;

/// A service listening on its well-known socket, made by
/// [`bind`](super::bind) or [`bind_or_take`](super::bind_or_take).
///
/// It holds the service's lock (`<name>.lock`, beside the socket) for its
/// whole life, so a second instance is refused, and when dropped it removes
/// the socket file (only if the file is still the one it created) and the
/// lock file. A listener taken over from a parent process removes nothing:
/// the parent owns the file.
///
/// [`accept`](Self::accept) admits only peers its [`PeerPolicy`] allows
/// (by default, this user). To serve with a courier server, hand the socket
/// over: [`as_listener`](Self::as_listener) to accept in a loop of your own,
/// [`into_parts`](Self::into_parts) to keep the clean-up in a
/// [`ServiceGuard`] beside a listener used elsewhere.
///
/// # Example
///
/// A thread per client, with the blocking driver (a real service passes
/// its generated `...Service` handler; here, a service with no messages):
///
/// ```no_run
/// use courier::{NoMessages, Reply};
///
/// let listener = courier::discovery::bind("clipboard")?;
/// loop {
///     match listener.accept() {
///         Ok((stream, peer)) => {
///             println!("client pid {} connected", peer.pid);
///             std::thread::spawn(move || {
///                 courier::blocking::serve::<NoMessages, NoMessages, _>(stream, |_| Reply::none())
///             });
///         }
///         // A refused peer or a failed accept: log it and keep accepting.
///         Err(error) => eprintln!("{error}"),
///     }
/// }
/// # Ok::<(), courier::Error>(())
/// ```
pub struct ServiceListener {
    listener: UnixListener,
    guard: ServiceGuard,
    policy: PeerPolicy,
}

/// What a bound service owns on the file system: its lock, and its socket
/// file when it created it. Dropping it removes the socket file (if it is
/// still the one created: same device and inode) and the lock file, then
/// releases the lock.
///
/// Returned by [`ServiceListener::into_parts`] for servers that take the
/// listener itself; keep it alive as long as the listener serves.
pub struct ServiceGuard {
    name: String,
    path: PathBuf,
    /// `None` for a socket taken over from a parent process.
    owned: Option<OwnedSocketFile>,
}

/// The socket file a service created, and the lock that protects it.
struct OwnedSocketFile {
    dev: u64,
    ino: u64,
    lock: LockFile,
}

impl ServiceListener {
    /// The service name.
    pub fn name(&self) -> &str {
        &self.guard.name
    }

    /// The socket path (for a taken-over socket: its bound address, or the
    /// service path when it has none).
    pub fn path(&self) -> &Path {
        &self.guard.path
    }

    /// Whether the socket was taken over from a parent process rather than
    /// bound here.
    pub fn is_taken_over(&self) -> bool {
        self.guard.owned.is_none()
    }

    /// Sets the peers [`accept`](Self::accept) admits (default:
    /// [`PeerPolicy::SameUser`]).
    pub fn with_peer_policy(mut self, policy: PeerPolicy) -> ServiceListener {
        self.policy = policy;
        self
    }

    /// The peers [`accept`](Self::accept) admits.
    pub fn peer_policy(&self) -> &PeerPolicy {
        &self.policy
    }

    /// The listening socket, to accept from directly (then check peers with
    /// [`PeerPolicy::check`] yourself).
    pub fn as_listener(&self) -> &UnixListener {
        &self.listener
    }

    /// Waits for a client and returns its stream and credentials, if the
    /// [`PeerPolicy`] admits it.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `accept(2)` fails; [`Error::Handshake`] with
    /// [`HandshakeErrorKind::PeerRefused`](crate::HandshakeErrorKind::PeerRefused)
    /// when the policy refuses the client (its connection is closed, and the
    /// refusal logged). Either way the listener stays usable: keep
    /// accepting.
    pub fn accept(&self) -> Result<(UnixStream, PeerCredentials), Error> {
        let (stream, _) = self.listener.accept().map_err(Error::Io)?;
        let peer = PeerCredentials::of(&stream).map_err(Error::Io)?;
        if let Err(error) = self.policy.check(&peer) {
            warn!("`{}`: {error}", self.guard.name);
            return Err(error);
        }
        Ok((stream, peer))
    }

    /// The listening socket and the guard that cleans up after it. Keep the
    /// guard as long as the listener serves: dropping it removes the socket
    /// file and releases the lock.
    pub fn into_parts(self) -> (UnixListener, ServiceGuard) {
        (self.listener, self.guard)
    }

    /// The listening socket alone. The lock is released and the socket file
    /// stays where it is: while the socket listens, a second instance is
    /// still refused; once it is closed, the next [`bind`](super::bind)
    /// replaces the stale file. Prefer [`into_parts`](Self::into_parts).
    pub fn into_std(self) -> UnixListener {
        let (listener, mut guard) = self.into_parts();
        if let Some(owned) = guard.owned.take() {
            owned.lock.release();
        }
        listener
    }
}

impl AsFd for ServiceListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }
}

impl fmt::Debug for ServiceListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceListener")
            .field("name", &self.guard.name)
            .field("path", &self.guard.path)
            .field("taken_over", &self.is_taken_over())
            .field("policy", &self.policy)
            .finish()
    }
}

impl ServiceGuard {
    /// The service name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for ServiceGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceGuard")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("owns_socket_file", &self.owned.is_some())
            .finish()
    }
}

impl Drop for ServiceGuard {
    fn drop(&mut self) {
        let Some(owned) = self.owned.take() else {
            return;
        };
        match std::fs::symlink_metadata(&self.path) {
            Ok(metadata) if metadata.dev() == owned.dev && metadata.ino() == owned.ino => {
                match std::fs::remove_file(&self.path) {
                    Ok(()) => debug!("removed the socket `{}`", self.path.display()),
                    Err(error) => warn!(
                        "could not remove the socket `{}`: {error}",
                        self.path.display()
                    ),
                }
            }
            Ok(_) => debug!(
                "left `{}` in place: it is no longer the socket this service created",
                self.path.display()
            ),
            Err(_) => {}
        }
        owned.lock.release();
    }
}

/// An exclusive `flock` on `<name>.lock`, held while the file is open.
struct LockFile {
    path: PathBuf,
    file: File,
}

impl LockFile {
    /// Takes the lock without waiting. `Ok(None)` when another process holds
    /// it.
    fn try_acquire(path: &Path) -> Result<Option<LockFile>, DiscoveryError> {
        let io_error = |error| {
            DiscoveryError::io(
                format!("taking the service lock `{}`", path.display()),
                error,
            )
        };
        for _ in 0..LOCK_ATTEMPTS {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(LOCK_MODE)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                .open(path)
                .map_err(|error| {
                    if error.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                        io_error(io::Error::other(
                            "it is a symbolic link, not a regular file; remove it",
                        ))
                    } else {
                        io_error(error)
                    }
                })?;
            let metadata = file.metadata().map_err(io_error)?;
            if !metadata.is_file() {
                return Err(io_error(io::Error::other(format!(
                    "it is a {}, not a regular file; remove it",
                    describe_metadata(&metadata)
                ))));
            }
            match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => return Ok(None),
                Err(errno) => return Err(io_error(errno.into())),
            }
            // An instance that was stopping may have removed the file between
            // our open and our lock: then we hold a lock on a file nobody
            // else will open. Only a lock on the file at `path` counts.
            match std::fs::symlink_metadata(path) {
                Ok(now) if now.dev() == metadata.dev() && now.ino() == metadata.ino() => {
                    return Ok(Some(LockFile {
                        path: path.to_owned(),
                        file,
                    }));
                }
                Ok(_) => continue,
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => return Err(io_error(error)),
            }
        }
        Err(io_error(io::Error::other(
            "its file kept being replaced while courier locked it",
        )))
    }

    /// Removes the lock file, then releases the lock (by closing the file).
    /// Removing first means nobody can lock the old file after we let go.
    fn release(self) {
        if let Err(error) = std::fs::remove_file(&self.path) {
            if error.kind() != io::ErrorKind::NotFound {
                warn!(
                    "could not remove the lock file `{}`: {error}",
                    self.path.display()
                );
            }
        }
        drop(self.file);
    }
}

/// What is at a service's socket path.
enum Occupant {
    Nothing,
    /// A socket nobody listens on.
    Stale,
    /// A listening socket: another instance (its pid when readable).
    Live(Option<u32>),
    /// Something that is not a socket.
    Other(&'static str),
}

/// Looks at what is at `path`. A socket is probed by connecting to it; the
/// instance behind a live one sees a client that leaves at once.
fn probe(path: &Path) -> Result<Occupant, DiscoveryError> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Occupant::Nothing),
        Err(error) => {
            return Err(DiscoveryError::io(
                format!("inspecting `{}`", path.display()),
                error,
            ));
        }
    };
    if describe_metadata(&metadata) != "socket" {
        return Ok(Occupant::Other(describe_metadata(&metadata)));
    }
    let probe_error = |error: io::Error| {
        DiscoveryError::io(format!("probing the socket `{}`", path.display()), error)
    };
    // Non-blocking, so that a live instance with a full backlog cannot keep
    // this waiting: it counts as live.
    let socket = rustix::net::socket_with(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::STREAM,
        rustix::net::SocketFlags::NONBLOCK | rustix::net::SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|errno| probe_error(errno.into()))?;
    let address =
        rustix::net::SocketAddrUnix::new(path).map_err(|errno| probe_error(errno.into()))?;
    match rustix::net::connect(&socket, &address) {
        Ok(()) => Ok(Occupant::Live(
            PeerCredentials::of(&socket).ok().map(|peer| peer.pid),
        )),
        Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INPROGRESS) => Ok(Occupant::Live(None)),
        Err(rustix::io::Errno::CONNREFUSED) => Ok(Occupant::Stale),
        Err(rustix::io::Errno::NOENT) => Ok(Occupant::Nothing),
        Err(errno) => Err(probe_error(errno.into())),
    }
}

/// The pid of the instance listening at `path`, if one answers.
fn live_pid(path: &Path) -> Option<u32> {
    match probe(path) {
        Ok(Occupant::Live(pid)) => pid,
        _ => None,
    }
}

/// [`Portal::bind`].
pub(crate) fn bind_in(portal: &Portal, name: &str) -> Result<ServiceListener, DiscoveryError> {
    let path = portal.service_path(name)?;
    portal.prepare()?;
    let already_running = |pid| {
        DiscoveryError::new(DiscoveryErrorKind::AlreadyRunning {
            service: name.to_owned(),
            path: path.clone(),
            pid,
        })
    };
    let Some(lock) = LockFile::try_acquire(&lock_path(&path))? else {
        return Err(already_running(live_pid(&path)));
    };
    match probe(&path)? {
        Occupant::Nothing => {}
        Occupant::Live(pid) => return Err(already_running(pid)),
        Occupant::Other(found) => {
            return Err(DiscoveryError::new(DiscoveryErrorKind::NotASocket {
                path,
                found,
            }));
        }
        Occupant::Stale => {
            debug!(
                "replacing the stale socket `{}` of a `{name}` that is gone",
                path.display()
            );
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(DiscoveryError::io(
                        format!("removing the stale socket `{}`", path.display()),
                        error,
                    ));
                }
            }
        }
    }
    // The directory is 0700: nobody else can reach the socket in the moment
    // before its own mode is narrowed.
    let listener = UnixListener::bind(&path)
        .map_err(|error| DiscoveryError::io(format!("listening at `{}`", path.display()), error))?;
    let metadata = std::fs::set_permissions(&path, Permissions::from_mode(SOCKET_MODE))
        .and_then(|()| std::fs::symlink_metadata(&path));
    let metadata = match metadata {
        Ok(metadata) => metadata,
        Err(error) => {
            let _ = std::fs::remove_file(&path);
            return Err(DiscoveryError::io(
                format!(
                    "making the socket `{}` private (mode {SOCKET_MODE:04o})",
                    path.display()
                ),
                error,
            ));
        }
    };
    debug!("`{name}` listening at `{}`", path.display());
    Ok(ServiceListener {
        listener,
        guard: ServiceGuard {
            name: name.to_owned(),
            path,
            owned: Some(OwnedSocketFile {
                dev: metadata.dev(),
                ino: metadata.ino(),
                lock,
            }),
        },
        policy: PeerPolicy::default(),
    })
}

/// [`Portal::bind_or_take`].
pub(crate) fn bind_or_take_in(
    portal: &Portal,
    name: &str,
) -> Result<ServiceListener, DiscoveryError> {
    let Some(listener) = take_listener_in(Some(portal), name)? else {
        return bind_in(portal, name);
    };
    let bound_path = listener
        .local_addr()
        .ok()
        .and_then(|address| address.as_pathname().map(Path::to_owned));
    let path = match bound_path {
        Some(path) => path,
        None => portal.service_path(name)?,
    };
    debug!(
        "`{name}` serving the socket `{}` passed by the parent process",
        path.display()
    );
    Ok(ServiceListener {
        listener,
        guard: ServiceGuard {
            name: name.to_owned(),
            path,
            owned: None,
        },
        policy: PeerPolicy::default(),
    })
}
