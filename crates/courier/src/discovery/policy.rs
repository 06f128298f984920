//! Which peers a service serves.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, HandshakeError, HandshakeErrorKind};
use crate::peer::PeerCredentials;
use crate::sys::socket::effective_uid;

/// Which peers a service serves, judged by the credentials the kernel
/// recorded for the connection (`SO_PEERCRED`: they cannot be forged).
///
/// The default, [`PeerPolicy::SameUser`], serves only processes running as
/// this process's effective uid. The portal directory (mode 0700) and the
/// socket (mode 0600) already keep other users out; the policy is the last
/// check, and the one that still holds for a socket whose mode was widened
/// or that was passed by a service manager.
///
/// # Example
///
/// ```
/// use courier::PeerCredentials;
/// use courier::discovery::PeerPolicy;
///
/// let me = PeerCredentials { pid: 1, uid: rustix::process::geteuid().as_raw(), gid: 0 };
/// let nobody = PeerCredentials { pid: 2, uid: 65534, gid: 65534 };
/// assert!(PeerPolicy::default().check(&me).is_ok());
/// assert!(PeerPolicy::default().check(&nobody).is_err());
/// assert!(PeerPolicy::Uids(vec![65534]).check(&nobody).is_ok());
/// let only_pid_1 = PeerPolicy::custom(|peer| peer.pid == 1);
/// assert!(only_pid_1.check(&me).is_ok() && only_pid_1.check(&nobody).is_err());
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum PeerPolicy {
    /// Peers running as this process's effective uid (the default).
    #[default]
    SameUser,
    /// Peers running as one of these uids, and only those: include this
    /// process's own uid to keep serving it.
    Uids(Vec<u32>),
    /// Every peer that can reach the socket.
    Any,
    /// Peers for which the function returns `true`.
    Custom(Arc<dyn Fn(&PeerCredentials) -> bool + Send + Sync>),
}

impl PeerPolicy {
    /// A [`PeerPolicy::Custom`] from a closure.
    pub fn custom(allows: impl Fn(&PeerCredentials) -> bool + Send + Sync + 'static) -> PeerPolicy {
        PeerPolicy::Custom(Arc::new(allows))
    }

    /// Whether the policy serves `peer`.
    pub fn allows(&self, peer: &PeerCredentials) -> bool {
        match self {
            PeerPolicy::SameUser => peer.uid == effective_uid(),
            PeerPolicy::Uids(uids) => uids.contains(&peer.uid),
            PeerPolicy::Any => true,
            PeerPolicy::Custom(allows) => allows(peer),
        }
    }

    /// `Ok` when the policy serves `peer`.
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] with
    /// [`HandshakeErrorKind::PeerRefused`], naming the peer's pid, uid and
    /// gid and this policy.
    pub fn check(&self, peer: &PeerCredentials) -> Result<(), Error> {
        if self.allows(peer) {
            return Ok(());
        }
        Err(HandshakeError::new(HandshakeErrorKind::PeerRefused {
            peer: *peer,
            policy: self.to_string(),
        })
        .into())
    }
}

/// The policy in words, as error messages name it: `same user (uid 1000)`,
/// `uids [0, 1000]`, `any user`, `a custom check`.
impl fmt::Display for PeerPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerPolicy::SameUser => write!(f, "same user (uid {})", effective_uid()),
            PeerPolicy::Uids(uids) => write!(f, "uids {uids:?}"),
            PeerPolicy::Any => f.write_str("any user"),
            PeerPolicy::Custom(_) => f.write_str("a custom check"),
        }
    }
}

impl fmt::Debug for PeerPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerPolicy::SameUser => f.write_str("SameUser"),
            PeerPolicy::Uids(uids) => f.debug_tuple("Uids").field(uids).finish(),
            PeerPolicy::Any => f.write_str("Any"),
            PeerPolicy::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(pid: u32, uid: u32) -> PeerCredentials {
        PeerCredentials { pid, uid, gid: uid }
    }

    #[test]
    fn each_policy_admits_what_it_says() {
        let ours = effective_uid();
        let other = ours.wrapping_add(1);
        assert!(PeerPolicy::SameUser.allows(&peer(1, ours)));
        assert!(!PeerPolicy::SameUser.allows(&peer(1, other)));
        assert!(PeerPolicy::Uids(vec![other]).allows(&peer(1, other)));
        assert!(!PeerPolicy::Uids(vec![other]).allows(&peer(1, ours)));
        assert!(!PeerPolicy::Uids(vec![]).allows(&peer(1, ours)));
        assert!(PeerPolicy::Any.allows(&peer(1, other)));
        let odd_pids = PeerPolicy::custom(|p| p.pid % 2 == 1);
        assert!(odd_pids.allows(&peer(3, other)));
        assert!(!odd_pids.allows(&peer(4, ours)));
    }

    #[test]
    fn a_refusal_names_the_peer_and_the_policy() {
        let error = PeerPolicy::Uids(vec![0, 1000])
            .check(&PeerCredentials {
                pid: 4321,
                uid: 65534,
                gid: 65533,
            })
            .unwrap_err();
        let Error::Handshake(handshake) = &error else {
            panic!("unexpected {error:?}");
        };
        assert!(matches!(
            handshake.kind(),
            HandshakeErrorKind::PeerRefused { peer, policy }
                if peer.pid == 4321 && policy == "uids [0, 1000]"
        ));
        assert_eq!(
            error.to_string(),
            "refused a peer (pid 4321, uid 65534, gid 65533): the service's peer policy is uids [0, 1000]; if it should be served, give the service a `PeerPolicy` that admits it (`PeerPolicy::Uids`, `PeerPolicy::Any`)"
        );
        assert_eq!(format!("{:?}", PeerPolicy::custom(|_| true)), "Custom(..)");
        assert_eq!(
            PeerPolicy::SameUser.to_string(),
            format!("same user (uid {})", effective_uid())
        );
    }
}
