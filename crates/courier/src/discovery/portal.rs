//! The portal directory: where it is, and the perimeter around it.

use std::ffi::OsString;
use std::fs::{DirBuilder, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing::debug;

use super::error::{DirectoryProblem, DiscoveryError, DiscoveryErrorKind};
use super::listener::ServiceListener;
use super::{PORTAL_DIR_ENV, SESSION_ROOT, name};
use crate::sys::socket::effective_uid;
use crate::sys::takeover::describe_metadata;

/// The mode of the portal directory, and of the session directory above the
/// default one.
const PRIVATE_DIR_MODE: u32 = 0o700;
/// The mode of [`SESSION_ROOT`] when courier creates it: shared by every
/// user, like `/tmp` (sticky: only an entry's owner can remove or rename it).
const SHARED_DIR_MODE: u32 = 0o1777;

/// A portal directory: where services listen, one socket per service name.
///
/// [`Portal::from_env`] finds the directory of this session from the
/// environment (see the [module documentation](super) for the rules);
/// [`Portal::at`] names one explicitly, which tests and launchers use to
/// keep services apart without touching environment variables. The free
/// functions of [`discovery`](super) are [`Portal::from_env`] followed by
/// the method of the same name.
///
/// # Example
///
/// ```
/// use std::io::{Read, Write};
/// use courier::discovery::Portal;
///
/// let dir = tempfile::tempdir()?;
/// let portal = Portal::at(dir.path().join("portal"));
/// let listener = portal.bind("clipboard")?;
/// let mut client = portal.connect("clipboard")?;
/// let (mut server, peer) = listener.accept()?;
/// assert_eq!(peer.pid, std::process::id());
/// client.write_all(b"hi")?;
/// let mut buf = [0; 2];
/// server.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"hi");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Portal {
    dir: PathBuf,
    origin: PortalOrigin,
}

/// Where a [`Portal`]'s directory came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortalOrigin {
    /// Given to [`Portal::at`].
    Explicit,
    /// `$COURIER_PORTAL_DIR`.
    Override,
    /// `$XDG_RUNTIME_DIR/portal`.
    RuntimeDir,
    /// `/tmp/session/<sid>/portal`, for the session `sid`.
    Session {
        /// The session id (`getsid(0)`).
        sid: u32,
    },
}

impl Portal {
    /// The portal directory `dir`, used as given (it is created on
    /// [`bind`](Self::bind) if missing, its parent must exist).
    pub fn at(dir: impl Into<PathBuf>) -> Portal {
        Portal {
            dir: dir.into(),
            origin: PortalOrigin::Explicit,
        }
    }

    /// This session's portal directory: `$COURIER_PORTAL_DIR` if set, else
    /// `$XDG_RUNTIME_DIR/portal` if that is set (to an absolute path), else
    /// `/tmp/session/<sid>/portal`. Nothing is created or checked yet.
    ///
    /// # Errors
    ///
    /// [`DiscoveryErrorKind::RelativePortalDir`] when `COURIER_PORTAL_DIR` is
    /// relative; [`DiscoveryErrorKind::Io`] when the session id cannot be
    /// read.
    ///
    /// # Example
    ///
    /// ```
    /// let portal = courier::discovery::Portal::from_env()?;
    /// assert!(portal.dir().is_absolute());
    /// # Ok::<(), courier::discovery::DiscoveryError>(())
    /// ```
    pub fn from_env() -> Result<Portal, DiscoveryError> {
        resolve(|var| std::env::var_os(var), crate::sys::ids::session_id)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the directory came from.
    pub fn origin(&self) -> PortalOrigin {
        self.origin
    }

    /// The socket path of the service `name`: `<dir>/<name>`.
    ///
    /// # Errors
    ///
    /// [`DiscoveryErrorKind::InvalidName`] (see
    /// [`validate_name`](super::validate_name)),
    /// [`DiscoveryErrorKind::PathTooLong`] when the path does not fit a
    /// Unix socket address.
    pub fn service_path(&self, name: &str) -> Result<PathBuf, DiscoveryError> {
        name::socket_path(&self.dir, name)
    }

    /// Creates the portal directory if missing (mode 0700, whatever the
    /// umask; under `/tmp/session`, the session directory too), then checks
    /// that it is safe: a real directory, owned by this user, that no other
    /// user can write.
    ///
    /// # Errors
    ///
    /// [`DiscoveryErrorKind::UnsafeDirectory`] saying what is wrong and how
    /// to fix it; [`DiscoveryErrorKind::MissingParent`];
    /// [`DiscoveryErrorKind::Io`].
    pub fn prepare(&self) -> Result<(), DiscoveryError> {
        if let PortalOrigin::Session { .. } = self.origin {
            let session = self.dir.parent().unwrap_or(&self.dir);
            let root = session.parent().unwrap_or(session);
            make_dir(root, SHARED_DIR_MODE, Trust::SharedRoot)?;
            make_dir(session, PRIVATE_DIR_MODE, Trust::Private)?;
        }
        make_dir(&self.dir, PRIVATE_DIR_MODE, Trust::Private)
    }

    /// Listens as the service `name`: see [`bind`](super::bind).
    ///
    /// # Errors
    ///
    /// As [`bind`](super::bind).
    pub fn bind(&self, name: &str) -> Result<ServiceListener, DiscoveryError> {
        super::listener::bind_in(self, name)
    }

    /// Takes over the socket of the service `name` passed by the parent
    /// process, or else listens as it: see [`bind_or_take`](super::bind_or_take).
    ///
    /// # Errors
    ///
    /// As [`take_listener`](super::take_listener) and [`bind`](Self::bind).
    pub fn bind_or_take(&self, name: &str) -> Result<ServiceListener, DiscoveryError> {
        super::listener::bind_or_take_in(self, name)
    }

    /// Connects to the service `name`: see [`connect`](super::connect).
    ///
    /// # Errors
    ///
    /// As [`connect`](super::connect).
    pub fn connect(&self, name: &str) -> Result<UnixStream, DiscoveryError> {
        let path = self.client_path(name)?;
        UnixStream::connect(&path).map_err(|error| classify_connect_error(name, path, error))
    }

    /// Connects to the service `name`, retrying while it is not there yet
    /// or is being restarted, until `deadline`: see
    /// [`connect_with_retry`](super::connect_with_retry).
    ///
    /// # Errors
    ///
    /// As [`connect_with_retry`](super::connect_with_retry).
    pub fn connect_with_retry(
        &self,
        name: &str,
        deadline: Instant,
    ) -> Result<UnixStream, DiscoveryError> {
        let mut pause = RETRY_FIRST_PAUSE;
        let mut attempts = 1u32;
        loop {
            let error = match self.connect(name) {
                Ok(stream) => return Ok(stream),
                Err(error) if is_transient(&error) => error,
                Err(error) => return Err(error),
            };
            let now = Instant::now();
            if now >= deadline {
                debug!("gave up connecting to `{name}` after {attempts} attempts: {error}");
                return Err(error);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(RETRY_MAX_PAUSE);
            attempts += 1;
        }
    }

    /// The socket path a client of `name` connects to, once the portal
    /// directory is found trustworthy; [`DiscoveryErrorKind::NotRunning`]
    /// when it does not exist.
    pub(crate) fn client_path(&self, name: &str) -> Result<PathBuf, DiscoveryError> {
        let path = self.service_path(name)?;
        match check_dir(&self.dir, Trust::ForClients) {
            Ok(()) => Ok(path),
            Err(error) if is_not_found(&error) => Err(not_running(name, path)),
            Err(error) => Err(error),
        }
    }
}

/// The first pause of [`Portal::connect_with_retry`], doubled after each
/// failed attempt.
const RETRY_FIRST_PAUSE: Duration = Duration::from_millis(5);
/// The longest pause between two attempts of [`Portal::connect_with_retry`].
const RETRY_MAX_PAUSE: Duration = Duration::from_millis(100);

/// Whether a failed connect may succeed if tried again: the service is not
/// there (yet, or between two instances), its socket is left from an
/// instance that is gone, or its listen queue is full.
fn is_transient(error: &DiscoveryError) -> bool {
    match error.kind() {
        DiscoveryErrorKind::NotRunning { .. } | DiscoveryErrorKind::StaleSocket { .. } => true,
        DiscoveryErrorKind::Io { source, .. } => source.kind() == io::ErrorKind::WouldBlock,
        _ => false,
    }
}

fn not_running(service: &str, path: PathBuf) -> DiscoveryError {
    DiscoveryError::new(DiscoveryErrorKind::NotRunning {
        service: service.to_owned(),
        path,
    })
}

/// Why a client could not connect to the socket at `path`, in the terms of
/// [`DiscoveryErrorKind`].
pub(crate) fn classify_connect_error(
    service: &str,
    path: PathBuf,
    error: io::Error,
) -> DiscoveryError {
    let kind = match error.kind() {
        io::ErrorKind::NotFound => DiscoveryErrorKind::NotRunning {
            service: service.to_owned(),
            path,
        },
        io::ErrorKind::PermissionDenied => DiscoveryErrorKind::PermissionDenied {
            service: service.to_owned(),
            path,
        },
        io::ErrorKind::ConnectionRefused => match std::fs::symlink_metadata(&path) {
            Ok(metadata) if !metadata.file_type().is_socket_file() => {
                DiscoveryErrorKind::NotASocket {
                    path,
                    found: describe_metadata(&metadata),
                }
            }
            _ => DiscoveryErrorKind::StaleSocket {
                service: service.to_owned(),
                path,
            },
        },
        _ => DiscoveryErrorKind::Io {
            action: format!(
                "connecting to the service `{service}` at {}",
                path.display()
            ),
            source: error,
        },
    };
    DiscoveryError::new(kind)
}

/// Whether a file type is a socket (a small extension, for readability).
trait IsSocketFile {
    fn is_socket_file(&self) -> bool;
}

impl IsSocketFile for std::fs::FileType {
    fn is_socket_file(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_socket()
    }
}

/// The portal directory named by `lookup` (the environment), with
/// `session_id` as the last resort.
pub(crate) fn resolve(
    lookup: impl Fn(&str) -> Option<OsString>,
    session_id: impl FnOnce() -> io::Result<u32>,
) -> Result<Portal, DiscoveryError> {
    let set = |var: &str| lookup(var).filter(|value| !value.is_empty());
    if let Some(value) = set(PORTAL_DIR_ENV) {
        let dir = PathBuf::from(value);
        if dir.is_relative() {
            return Err(DiscoveryError::new(DiscoveryErrorKind::RelativePortalDir {
                value: dir,
            }));
        }
        return Ok(Portal {
            dir,
            origin: PortalOrigin::Override,
        });
    }
    if let Some(value) = set("XDG_RUNTIME_DIR") {
        let runtime_dir = PathBuf::from(value);
        if runtime_dir.is_absolute() {
            return Ok(Portal {
                dir: runtime_dir.join("portal"),
                origin: PortalOrigin::RuntimeDir,
            });
        }
        // The XDG base directory specification: a relative path is invalid
        // and is ignored.
        debug!(
            "ignoring XDG_RUNTIME_DIR=`{}`: not an absolute path",
            runtime_dir.display()
        );
    }
    let sid = session_id()
        .map_err(|error| DiscoveryError::io("reading this process's session id (getsid)", error))?;
    Ok(Portal {
        dir: Path::new(SESSION_ROOT).join(sid.to_string()).join("portal"),
        origin: PortalOrigin::Session { sid },
    })
}

/// Who may own a directory, and who may write to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trust {
    /// Owned by this user; nobody else writes to it.
    Private,
    /// The shared root of session directories: owned by this user or root;
    /// if others can write to it, it must be sticky (as `/tmp` is).
    SharedRoot,
    /// What a client accepts: owned by this user or root; nobody else writes
    /// to it.
    ForClients,
}

/// Creates `path` with `mode` (exactly: the umask is undone by a chmod) if
/// it is missing, then checks it against `trust`.
fn make_dir(path: &Path, mode: u32, trust: Trust) -> Result<(), DiscoveryError> {
    match DirBuilder::new().mode(mode).create(path) {
        Ok(()) => {
            std::fs::set_permissions(path, Permissions::from_mode(mode)).map_err(|error| {
                DiscoveryError::io(
                    format!("setting the mode of `{}` to {mode:04o}", path.display()),
                    error,
                )
            })?;
            debug!("created `{}` (mode {mode:04o})", path.display());
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(DiscoveryError::new(DiscoveryErrorKind::MissingParent {
                path: path.to_owned(),
            }));
        }
        Err(error) => {
            return Err(DiscoveryError::io(
                format!("creating the directory `{}`", path.display()),
                error,
            ));
        }
    }
    check_dir(path, trust)
}

/// Whether `error` says that a file is missing.
fn is_not_found(error: &DiscoveryError) -> bool {
    matches!(error.kind(), DiscoveryErrorKind::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
}

/// Checks that `path` is a real directory whose owner and mode `trust`
/// accepts.
fn check_dir(path: &Path, trust: Trust) -> Result<(), DiscoveryError> {
    let unsafe_dir = |problem| {
        DiscoveryError::new(DiscoveryErrorKind::UnsafeDirectory {
            path: path.to_owned(),
            problem,
        })
    };
    let metadata = std::fs::symlink_metadata(path).map_err(|error| {
        DiscoveryError::io(
            format!("inspecting the directory `{}`", path.display()),
            error,
        )
    })?;
    let file_type = metadata.file_type();
    if file_type.is_symlink() {
        return Err(unsafe_dir(DirectoryProblem::Symlink));
    }
    if !file_type.is_dir() {
        return Err(unsafe_dir(DirectoryProblem::NotADirectory {
            found: describe_metadata(&metadata),
        }));
    }
    let ours = effective_uid();
    let owner_ok = match trust {
        Trust::Private => metadata.uid() == ours,
        Trust::SharedRoot | Trust::ForClients => metadata.uid() == ours || metadata.uid() == 0,
    };
    if !owner_ok {
        return Err(unsafe_dir(DirectoryProblem::OwnedBy {
            uid: metadata.uid(),
            ours,
        }));
    }
    let mode = metadata.mode() & 0o7777;
    let others_write = mode & 0o022 != 0;
    let sticky = mode & 0o1000 != 0;
    let writable_ok = match trust {
        Trust::Private | Trust::ForClients => !others_write,
        Trust::SharedRoot => !others_write || sticky,
    };
    if !writable_ok {
        return Err(unsafe_dir(DirectoryProblem::Writable { mode }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn resolve_with(vars: &[(&str, &str)]) -> Result<Portal, DiscoveryError> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        resolve(|var| vars.get(var).cloned(), || Ok(4242))
    }

    #[test]
    fn the_override_wins_then_the_runtime_dir_then_the_session() {
        let portal = resolve_with(&[
            ("COURIER_PORTAL_DIR", "/srv/portal"),
            ("XDG_RUNTIME_DIR", "/run/user/1000"),
        ])
        .unwrap();
        assert_eq!(portal.dir(), Path::new("/srv/portal"));
        assert_eq!(portal.origin(), PortalOrigin::Override);

        let portal = resolve_with(&[("XDG_RUNTIME_DIR", "/run/user/1000")]).unwrap();
        assert_eq!(portal.dir(), Path::new("/run/user/1000/portal"));
        assert_eq!(portal.origin(), PortalOrigin::RuntimeDir);

        let portal = resolve_with(&[]).unwrap();
        assert_eq!(portal.dir(), Path::new("/tmp/session/4242/portal"));
        assert_eq!(portal.origin(), PortalOrigin::Session { sid: 4242 });
    }

    #[test]
    fn empty_and_relative_values() {
        // Empty counts as unset.
        let portal = resolve_with(&[("COURIER_PORTAL_DIR", ""), ("XDG_RUNTIME_DIR", "")]).unwrap();
        assert_eq!(portal.origin(), PortalOrigin::Session { sid: 4242 });
        // A relative XDG_RUNTIME_DIR is ignored, as the XDG specification says.
        let portal = resolve_with(&[("XDG_RUNTIME_DIR", "run/user")]).unwrap();
        assert_eq!(portal.origin(), PortalOrigin::Session { sid: 4242 });
        // A relative override is an error, not a guess.
        let error = resolve_with(&[("COURIER_PORTAL_DIR", "portal")]).unwrap_err();
        assert!(matches!(
            error.kind(),
            DiscoveryErrorKind::RelativePortalDir { .. }
        ));
        assert_eq!(
            error.to_string(),
            "COURIER_PORTAL_DIR is `portal`, a relative path; set it to an absolute path (or unset it to use the default)"
        );
    }

    #[test]
    fn a_session_portal_is_created_with_its_session_directory() {
        let root = tempfile::tempdir().unwrap();
        let session_root = root.path().join("session");
        let portal = Portal {
            dir: session_root.join("77").join("portal"),
            origin: PortalOrigin::Session { sid: 77 },
        };
        portal.prepare().unwrap();
        let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode(&session_root), 0o1777);
        assert_eq!(mode(&session_root.join("77")), 0o700);
        assert_eq!(mode(portal.dir()), 0o700);
        // Preparing again accepts what is there.
        portal.prepare().unwrap();
        // A session directory others can write is refused, even when the
        // portal inside it is fine.
        std::fs::set_permissions(session_root.join("77"), Permissions::from_mode(0o777)).unwrap();
        let error = portal.prepare().unwrap_err();
        assert!(
            matches!(
                error.kind(),
                DiscoveryErrorKind::UnsafeDirectory {
                    problem: DirectoryProblem::Writable { mode: 0o777 },
                    ..
                }
            ),
            "{error}"
        );
        // A shared root that is world-writable without the sticky bit is
        // refused too.
        std::fs::set_permissions(session_root.join("77"), Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(&session_root, Permissions::from_mode(0o777)).unwrap();
        assert!(portal.prepare().is_err());
    }
}
