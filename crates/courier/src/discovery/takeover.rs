//! Taking over a listening socket passed by the parent process.

use std::os::fd::RawFd;
use std::os::unix::net::UnixListener;
use std::path::Path;

use tracing::debug;

use super::error::DiscoveryError;
use super::name::validate_name;
use super::portal::Portal;
use crate::sys::takeover::{
    TakeError, is_taken, remove_env_if_single_threaded, take_listening_socket,
};

/// The environment variables of socket takeover, both forms: systemd's
/// `LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`, and SerenityOS's
/// `SOCKET_TAKEOVER`. A process that takes over sockets and starts others
/// while it has several threads should remove them from the children's
/// environment (`Command::env_remove`): see
/// [`take_listener`](super::take_listener).
pub const TAKEOVER_ENV_VARS: [&str; 4] = [
    "LISTEN_PID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
    "SOCKET_TAKEOVER",
];

/// systemd passes sockets from this fd on (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: RawFd = 3;
/// More sockets than this in `LISTEN_FDS` is a malformed value, not a
/// configuration.
const MAX_LISTEN_FDS: usize = 4096;

/// One socket the parent offers: the name or path it is offered under
/// (`None`: unnamed), and its fd.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Offer {
    key: Option<String>,
    fd: RawFd,
}

/// The sockets offered in one form of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Offers {
    variable: &'static str,
    /// The variables to remove once every offer is taken.
    vars: &'static [&'static str],
    offers: Vec<Offer>,
}

/// [`take_listener`](super::take_listener), matching `SOCKET_TAKEOVER` keys
/// against the service path in `portal` too.
pub(crate) fn take_listener_in(
    portal: Option<&Portal>,
    name: &str,
) -> Result<Option<UnixListener>, DiscoveryError> {
    validate_name(name)?;
    let var = |name: &str| std::env::var(name).ok();
    let our_pid = std::process::id();
    let path = portal.and_then(|portal| portal.service_path(name).ok());
    let forms = [
        systemd_offers(
            var("LISTEN_PID").as_deref(),
            var("LISTEN_FDS").as_deref(),
            var("LISTEN_FDNAMES").as_deref(),
            our_pid,
        )?,
        serenity_offers(var("SOCKET_TAKEOVER").as_deref())?,
    ];
    for offers in forms.into_iter().flatten() {
        let Some(fd) = offers.pick(name, path.as_deref())? else {
            continue;
        };
        let listener = take_listening_socket(fd).map_err(|problem| {
            let problem = match problem {
                TakeError::AlreadyTaken => format!(
                    "fd {fd} for `{name}` was already taken over by this process; take each socket once"
                ),
                other => format!("fd {fd} for `{name}`: {other}"),
            };
            DiscoveryError::takeover(offers.variable, problem)
        })?;
        debug!("took over fd {fd} for `{name}` from {}", offers.variable);
        if offers.offers.iter().all(|offer| is_taken(offer.fd)) {
            if remove_env_if_single_threaded(offers.vars) {
                debug!("removed {} from the environment", offers.vars.join(", "));
            } else {
                debug!(
                    "left {} in the environment: other threads are running",
                    offers.vars.join(", ")
                );
            }
        }
        return Ok(Some(listener));
    }
    Ok(None)
}

impl Offers {
    /// The fd offered for the service `name` (at `path`), if any.
    fn pick(&self, name: &str, path: Option<&Path>) -> Result<Option<RawFd>, DiscoveryError> {
        let matches = |key: &str| key == name || path.is_some_and(|path| Path::new(key) == path);
        if let Some(offer) = self
            .offers
            .iter()
            .find(|offer| offer.key.as_deref().is_some_and(matches))
        {
            return Ok(Some(offer.fd));
        }
        let unnamed: Vec<&Offer> = self.offers.iter().filter(|o| o.key.is_none()).collect();
        match unnamed.as_slice() {
            [] => Ok(None),
            [only] if self.offers.len() == 1 => Ok(Some(only.fd)),
            _ => Err(DiscoveryError::takeover(
                self.variable,
                format!(
                    "{} sockets are passed without names, so none can be picked for `{name}`; name them (LISTEN_FDNAMES, `FileDescriptorName=` in a systemd socket unit)",
                    self.offers.len()
                ),
            )),
        }
    }
}

/// The sockets systemd offers, if `LISTEN_PID` names this process.
fn systemd_offers(
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    listen_fdnames: Option<&str>,
    our_pid: u32,
) -> Result<Option<Offers>, DiscoveryError> {
    let Some(listen_pid) = listen_pid else {
        return Ok(None);
    };
    let pid: u32 = listen_pid.trim().parse().map_err(|_| {
        DiscoveryError::takeover("LISTEN_PID", format!("`{listen_pid}` is not a process id"))
    })?;
    if pid != our_pid {
        // Meant for another process (this one's parent, most likely).
        debug!("ignoring LISTEN_FDS: LISTEN_PID is {pid}, this process is {our_pid}");
        return Ok(None);
    }
    let Some(listen_fds) = listen_fds else {
        return Err(DiscoveryError::takeover(
            "LISTEN_FDS",
            "LISTEN_PID names this process but LISTEN_FDS is not set",
        ));
    };
    let count: usize = listen_fds
        .trim()
        .parse()
        .ok()
        .filter(|&count| count <= MAX_LISTEN_FDS)
        .ok_or_else(|| {
            DiscoveryError::takeover(
                "LISTEN_FDS",
                format!("`{listen_fds}` is not a number of sockets (0 to {MAX_LISTEN_FDS})"),
            )
        })?;
    let names: Vec<Option<String>> = match listen_fdnames {
        Some(names) => {
            let names: Vec<Option<String>> =
                names.split(':').map(|name| Some(name.to_owned())).collect();
            if names.len() != count {
                return Err(DiscoveryError::takeover(
                    "LISTEN_FDNAMES",
                    format!(
                        "it names {} sockets but LISTEN_FDS passes {count}",
                        names.len()
                    ),
                ));
            }
            names
        }
        None => vec![None; count],
    };
    let offers = names
        .into_iter()
        .enumerate()
        .map(|(index, key)| Offer {
            key,
            // `count <= MAX_LISTEN_FDS`, so this cannot overflow.
            fd: LISTEN_FDS_START + index as RawFd,
        })
        .collect();
    Ok(Some(Offers {
        variable: "LISTEN_FDS",
        vars: &["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"],
        offers,
    }))
}

/// The sockets SerenityOS's SystemServer offers: `SOCKET_TAKEOVER` holds
/// `key:fd` pairs separated by spaces (or `;`, as later versions write
/// them), where the key is a service name or a socket path.
fn serenity_offers(socket_takeover: Option<&str>) -> Result<Option<Offers>, DiscoveryError> {
    let Some(value) = socket_takeover else {
        return Ok(None);
    };
    let mut offers = Vec::new();
    for pair in value
        .split(|c: char| c.is_ascii_whitespace() || c == ';')
        .filter(|pair| !pair.is_empty())
    {
        let malformed = || {
            DiscoveryError::takeover(
                "SOCKET_TAKEOVER",
                format!("`{pair}` is not of the form `name:fd`"),
            )
        };
        let (key, fd) = pair.rsplit_once(':').ok_or_else(malformed)?;
        let fd: RawFd = fd.parse().map_err(|_| malformed())?;
        if key.is_empty() || fd < 0 {
            return Err(malformed());
        }
        offers.push(Offer {
            key: Some(key.to_owned()),
            fd,
        });
    }
    Ok(Some(Offers {
        variable: "SOCKET_TAKEOVER",
        vars: &["SOCKET_TAKEOVER"],
        offers,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(key: &str, fd: RawFd) -> Offer {
        Offer {
            key: Some(key.to_owned()),
            fd,
        }
    }

    #[test]
    fn systemd_offers_only_to_the_named_process() {
        assert_eq!(systemd_offers(None, Some("1"), None, 7).unwrap(), None);
        assert_eq!(systemd_offers(Some("8"), Some("1"), None, 7).unwrap(), None);
        let offers = systemd_offers(Some("7"), Some("2"), Some("clipboard:echo"), 7)
            .unwrap()
            .unwrap();
        assert_eq!(offers.offers, vec![offer("clipboard", 3), offer("echo", 4)]);
        assert_eq!(offers.pick("echo", None).unwrap(), Some(4));
        assert_eq!(offers.pick("other", None).unwrap(), None);
    }

    #[test]
    fn one_unnamed_systemd_socket_is_anyone_s_several_are_ambiguous() {
        let one = systemd_offers(Some("7"), Some("1"), None, 7)
            .unwrap()
            .unwrap();
        assert_eq!(one.pick("echo", None).unwrap(), Some(3));
        let two = systemd_offers(Some("7"), Some("2"), None, 7)
            .unwrap()
            .unwrap();
        let error = two.pick("echo", None).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("2 sockets are passed without names"),
            "{error}"
        );
    }

    #[test]
    fn malformed_systemd_variables_are_errors() {
        let message = |r: Result<Option<Offers>, DiscoveryError>| r.unwrap_err().to_string();
        assert!(
            message(systemd_offers(Some("x"), Some("1"), None, 7))
                .contains("`x` is not a process id")
        );
        assert!(
            message(systemd_offers(Some("7"), None, None, 7)).contains("LISTEN_FDS is not set")
        );
        assert!(
            message(systemd_offers(Some("7"), Some("-1"), None, 7))
                .contains("not a number of sockets")
        );
        assert!(
            message(systemd_offers(Some("7"), Some("99999"), None, 7))
                .contains("not a number of sockets")
        );
        assert_eq!(
            message(systemd_offers(Some("7"), Some("2"), Some("a"), 7)),
            "could not take over the socket passed in LISTEN_FDNAMES: it names 1 sockets but LISTEN_FDS passes 2; check how the parent process (service manager) starts this one"
        );
    }

    #[test]
    fn serenity_pairs_by_name_or_path() {
        let offers = serenity_offers(Some("/tmp/session/1/portal/clipboard:5 echo:6;  x:7"))
            .unwrap()
            .unwrap();
        assert_eq!(
            offers.offers,
            vec![
                offer("/tmp/session/1/portal/clipboard", 5),
                offer("echo", 6),
                offer("x", 7)
            ]
        );
        assert_eq!(offers.pick("echo", None).unwrap(), Some(6));
        let path = Path::new("/tmp/session/1/portal/clipboard");
        assert_eq!(offers.pick("clipboard", Some(path)).unwrap(), Some(5));
        assert_eq!(offers.pick("clipboard", None).unwrap(), None);
        // A single named offer is only for that name.
        let single = serenity_offers(Some("echo:3")).unwrap().unwrap();
        assert_eq!(single.pick("other", None).unwrap(), None);
        assert_eq!(serenity_offers(None).unwrap(), None);
        for bad in ["echo", "echo:", ":3", "echo:x", "echo:-1"] {
            let error = serenity_offers(Some(bad)).unwrap_err();
            assert!(
                error.to_string().contains("is not of the form `name:fd`"),
                "{bad}: {error}"
            );
        }
    }
}
