//! Service names and the socket paths they become.

use std::path::{Path, PathBuf};

use super::error::{DiscoveryError, DiscoveryErrorKind, NameProblem};

/// The longest service name, in bytes: with a short portal directory the
/// socket path still fits a Unix socket address.
pub const MAX_NAME_LEN: usize = 100;

/// The longest socket path, in bytes: `sun_path` holds 108 bytes, the last
/// of which is the terminating NUL.
pub const MAX_SOCKET_PATH_LEN: usize = 107;

/// The suffix of the lock file beside each socket (`<name>.lock`).
pub(crate) const LOCK_SUFFIX: &str = ".lock";

/// Checks that `name` can name a socket in a portal directory: 1 to
/// [`MAX_NAME_LEN`] bytes of `A-Z a-z 0-9 . _ -`, not `.` or `..`, not ending
/// in `.lock`.
///
/// # Errors
///
/// [`DiscoveryErrorKind::InvalidName`], saying what is wrong.
///
/// # Example
///
/// ```
/// use courier::discovery::validate_name;
///
/// assert!(validate_name("clipboard").is_ok());
/// assert!(validate_name("WindowServer.v2").is_ok());
/// assert!(validate_name("../etc/passwd").is_err());
/// ```
pub fn validate_name(name: &str) -> Result<(), DiscoveryError> {
    let problem = if name.is_empty() {
        Some(NameProblem::Empty)
    } else if name.len() > MAX_NAME_LEN {
        Some(NameProblem::TooLong { len: name.len() })
    } else if let Some((at, character)) = name
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        Some(NameProblem::BadCharacter { character, at })
    } else if name == "." || name == ".." {
        Some(NameProblem::Dots)
    } else if name.ends_with(LOCK_SUFFIX) {
        Some(NameProblem::LockSuffix)
    } else {
        None
    };
    match problem {
        Some(problem) => Err(DiscoveryError::new(DiscoveryErrorKind::InvalidName {
            name: name.to_owned(),
            problem,
        })),
        None => Ok(()),
    }
}

/// `dir/name`, once `name` is valid and the path fits a socket address.
pub(crate) fn socket_path(dir: &Path, name: &str) -> Result<PathBuf, DiscoveryError> {
    validate_name(name)?;
    let path = dir.join(name);
    let len = path.as_os_str().len();
    if len > MAX_SOCKET_PATH_LEN {
        return Err(DiscoveryError::new(DiscoveryErrorKind::PathTooLong {
            path,
            len,
            max: MAX_SOCKET_PATH_LEN,
        }));
    }
    Ok(path)
}

/// The lock file beside the socket at `socket`.
pub(crate) fn lock_path(socket: &Path) -> PathBuf {
    let mut path = socket.as_os_str().to_owned();
    path.push(LOCK_SUFFIX);
    PathBuf::from(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(name: &str) -> NameProblem {
        match validate_name(name).unwrap_err().kind() {
            DiscoveryErrorKind::InvalidName { problem, .. } => problem.clone(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn names_are_checked_one_rule_at_a_time() {
        for good in ["clipboard", "a", "Window-Server_2.0", ".hidden", "x.locks"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        assert_eq!(problem(""), NameProblem::Empty);
        assert_eq!(problem(&"x".repeat(101)), NameProblem::TooLong { len: 101 });
        assert!(validate_name(&"x".repeat(100)).is_ok());
        assert_eq!(
            problem("a/b"),
            NameProblem::BadCharacter {
                character: '/',
                at: 1
            }
        );
        assert_eq!(
            problem("é"),
            NameProblem::BadCharacter {
                character: 'é',
                at: 0
            }
        );
        assert_eq!(
            problem("a b"),
            NameProblem::BadCharacter {
                character: ' ',
                at: 1
            }
        );
        assert_eq!(
            problem("a\0"),
            NameProblem::BadCharacter {
                character: '\0',
                at: 1
            }
        );
        assert_eq!(problem("."), NameProblem::Dots);
        assert_eq!(problem(".."), NameProblem::Dots);
        assert_eq!(problem("clipboard.lock"), NameProblem::LockSuffix);
    }

    #[test]
    fn a_path_over_sun_path_is_refused_with_its_length() {
        let dir = PathBuf::from(format!("/{}", "d".repeat(90)));
        assert!(socket_path(&dir, &"n".repeat(15)).is_ok()); // 1 + 90 + 1 + 15 = 107
        let error = socket_path(&dir, &"n".repeat(16)).unwrap_err();
        assert!(matches!(
            error.kind(),
            DiscoveryErrorKind::PathTooLong {
                len: 108,
                max: 107,
                ..
            }
        ));
        assert!(error.to_string().contains("is 108 bytes"), "{error}");
    }

    #[test]
    fn the_lock_file_sits_beside_the_socket() {
        assert_eq!(
            lock_path(Path::new("/run/portal/clipboard")),
            PathBuf::from("/run/portal/clipboard.lock")
        );
    }
}
