//! The service: [`Daemon`] serves `ConfigServer` to many clients on tokio,
//! one [`Session`] per client, over one shared [`Store`].
//!
//! What it does, message by message, follows SerenityOS's ConfigServer:
//!
//! - reads of a missing key give `None`; typed reads parse the stored text
//!   (`read_i32_value` of `abc` is `None`); booleans are `true`/`false`
//!   (also `1`/`0`, `yes`/`no`, `on`/`off`, any case, when read);
//! - a write that changes nothing, a removal of what is not there, an
//!   `add_group_entry` of a group that exists, do nothing and notify no one;
//! - every other change is on disk before its response, then each *other*
//!   client that called `monitor_domain` for the domain gets the
//!   `ConfigClient` notification, typed as the value was written;
//! - a change made by hand in a domain's file is picked up (inotify on the
//!   config directory): the domain is read again and every monitoring client
//!   is notified of the differences (values as strings);
//! - `pledge_domains` restricts the client to its domains; touching another
//!   one disconnects it, and so does pledging twice. After
//!   `enable_permissive_mode` (before any pledge, else a violation too),
//!   touching another domain is refused quietly instead: reads give nothing,
//!   writes are dropped.
//!
//! Beyond SerenityOS, names are checked ([`crate::names`]): a bad domain,
//! group, key or value is an error for that call (`courier::Error::Remote`
//! at the caller) and the client stays connected; a bad domain in the
//! one-way `monitor_domain` is logged and ignored.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use courier::tokio::{ClientHandle, ClientId, MultiServer, ShutdownHandle};
use courier::{ByteString, HandlerError};
use tracing::{debug, info, warn};

use crate::config_client::{ConfigClient, ConfigClientSender};
use crate::config_server::{ConfigServer, ConfigServerHandler, ConfigServerService};
use crate::ini::{Change, IniDocument};
use crate::names;
use crate::store::{Store, StoreError};
use crate::watch;

/// The name configd listens under in the portal directory.
pub const SERVICE_NAME: &str = "config";

/// Where a [`Daemon`] listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    /// As [`SERVICE_NAME`] in this session's portal directory
    /// (`$COURIER_PORTAL_DIR`, `$XDG_RUNTIME_DIR/portal`...), or on the
    /// socket a service manager passed for that name.
    Session,
    /// As [`SERVICE_NAME`] in the given portal directory.
    PortalDir(PathBuf),
    /// On a socket file at this path.
    Socket(PathBuf),
}

/// Why configd could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The config directory is unusable.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The socket could not be bound (another configd runs, the portal
    /// directory is unsafe...), or the server failed.
    #[error(transparent)]
    Ipc(#[from] courier::Error),
    /// The async runtime could not start.
    #[error("could not start the async runtime: {0}")]
    Runtime(io::Error),
}

/// The state every client's session shares.
#[derive(Debug)]
struct State {
    store: Store,
    clients: BTreeMap<ClientId, Monitor>,
}

/// A client, as far as notifications go.
#[derive(Debug)]
struct Monitor {
    handle: ClientHandle<ConfigClient>,
    domains: HashSet<String>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic in a section (each
        // change is committed in one step), so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// configd: the `ConfigServer` service over a config directory.
///
/// # Example
///
/// ```no_run
/// use courier_configd::server::{Daemon, Listen};
///
/// # async fn run() -> Result<(), courier_configd::server::DaemonError> {
/// let daemon = Daemon::bind("/home/me/.config".as_ref(), &Listen::Session)?;
/// println!("listening at {}", daemon.socket_path().display());
/// daemon.run().await // until its shutdown handle is used
/// # }
/// ```
#[derive(Debug)]
pub struct Daemon {
    server: MultiServer<ConfigServer, ConfigClient>,
    shared: Arc<Shared>,
    socket_path: PathBuf,
    config_dir: PathBuf,
    /// Watching from `bind` on, so no change made by hand after `bind` is
    /// missed; its thread starts with `run`.
    watcher: Option<watch::Watcher>,
}

impl Daemon {
    /// Opens the config directory (creating it if needed) and listens as
    /// `listen` says. Clients can connect when this returns (they wait for
    /// their handshake until [`run`](Self::run)).
    ///
    /// # Errors
    ///
    /// [`DaemonError::Store`] when the config directory is unusable;
    /// [`DaemonError::Ipc`] when the socket cannot be bound.
    pub fn bind(config_dir: &Path, listen: &Listen) -> Result<Daemon, DaemonError> {
        let store = Store::open(config_dir)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                store,
                clients: BTreeMap::new(),
            }),
        });
        let builder =
            MultiServer::<ConfigServer, ConfigClient>::builder().on_client_disconnected({
                let shared = Arc::clone(&shared);
                move |id, reason| {
                    shared.lock().clients.remove(&id);
                    debug!("client {id} left: {reason}");
                }
            });
        let (server, socket_path) = match listen {
            Listen::Session => {
                let portal =
                    courier::discovery::Portal::from_env().map_err(courier::Error::from)?;
                let path = portal
                    .service_path(SERVICE_NAME)
                    .map_err(courier::Error::from)?;
                let listener = portal
                    .bind_or_take(SERVICE_NAME)
                    .map_err(courier::Error::from)?;
                (builder.from_service(listener), path)
            }
            Listen::PortalDir(dir) => {
                let portal = courier::discovery::Portal::at(dir);
                let path = portal
                    .service_path(SERVICE_NAME)
                    .map_err(courier::Error::from)?;
                let listener = portal.bind(SERVICE_NAME).map_err(courier::Error::from)?;
                (builder.from_service(listener), path)
            }
            Listen::Socket(path) => (builder.bind(path)?, path.clone()),
        };
        let watcher = match watch::Watcher::new(config_dir) {
            Ok(watcher) => Some(watcher),
            Err(error) => {
                warn!(
                    "cannot watch `{}` for changes made by hand ({error}); serving without",
                    config_dir.display()
                );
                None
            }
        };
        Ok(Daemon {
            server,
            shared,
            socket_path,
            config_dir: config_dir.to_owned(),
            watcher,
        })
    }

    /// The socket clients connect to.
    pub fn socket_path(&self) -> &Path {
        &self.socket_path
    }

    /// The config directory.
    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    /// A handle that stops [`run`](Self::run), from any task or thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.server.shutdown_handle()
    }

    /// Serves clients and watches the config directory until shut down;
    /// then closes every client and removes the socket. Needs a tokio
    /// runtime with I/O and timers enabled (a multi-threaded one lets disk
    /// writes block without holding up other clients).
    ///
    /// # Errors
    ///
    /// [`DaemonError::Ipc`] when the server cannot run.
    pub async fn run(mut self) -> Result<(), DaemonError> {
        let shared = Arc::clone(&self.shared);
        let on_change = move |seen: watch::Seen<'_>| match seen {
            watch::Seen::Domain(domain) => reload(&shared, domain),
            watch::Seen::Anything => reload_all(&shared),
        };
        // Stops watching when dropped, as this returns.
        let _watching = match self.watcher.take().map(|w| w.spawn(on_change)) {
            Some(Ok(guard)) => Some(guard),
            Some(Err(error)) => {
                warn!(
                    "cannot watch `{}` for changes made by hand ({error}); serving without",
                    self.config_dir.display()
                );
                None
            }
            None => None,
        };
        let shared = Arc::clone(&self.shared);
        info!(
            "serving `{}` from `{}`",
            self.socket_path.display(),
            self.config_dir.display()
        );
        self.server
            .run(move |client| ConfigServerService(Session::new(client, Arc::clone(&shared))))
            .await?;
        Ok(())
    }
}

/// Files changed on disk, and the kernel could not say which: read every
/// domain in memory again.
fn reload_all(shared: &Shared) {
    let domains = shared.lock().store.loaded_domains();
    for domain in domains {
        reload(shared, &domain);
    }
}

/// A domain's file changed on disk: read it again and tell every client that
/// monitors it what changed.
fn reload(shared: &Shared, domain: &str) {
    let mut state = shared.lock();
    let changes = match blocking(|| state.store.reload(domain)) {
        Ok(changes) => changes,
        Err(error) => {
            warn!("{error}");
            return;
        }
    };
    if changes.is_empty() {
        return;
    }
    info!("`{domain}` was changed by hand: {} changes", changes.len());
    for monitor in state.clients.values() {
        if monitor.domains.contains(domain) {
            for change in &changes {
                send_change(&monitor.handle, domain, change);
            }
        }
    }
}

fn send_change(client: &ClientHandle<ConfigClient>, domain: &str, change: &Change) {
    let domain = ByteString::from(domain);
    let bytes = |b: &Vec<u8>| ByteString::from(b.clone());
    // A client that left is noticed by its connection.
    let _ = match change {
        Change::AddedGroup { group } => client.notify_added_group(domain, bytes(group)),
        Change::RemovedGroup { group } => client.notify_removed_group(domain, bytes(group)),
        Change::RemovedKey { group, key } => {
            client.notify_removed_key(domain, bytes(group), bytes(key))
        }
        Change::Changed { group, key, value } => {
            client.notify_changed_string_value(domain, bytes(group), bytes(key), bytes(value))
        }
    };
}

/// Runs `work`, which may block on the disk, telling a multi-threaded tokio
/// runtime so that it moves other tasks off this thread meanwhile.
fn blocking<R>(work: impl FnOnce() -> R) -> R {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

/// Whether a client may touch a domain.
enum Access {
    /// Yes: the domain, checked.
    Granted(String),
    /// No, quietly (permissive mode).
    Refused,
}

/// One client's session: its pledges and the way to notify it.
#[derive(Debug)]
pub struct Session {
    client: ClientHandle<ConfigClient>,
    shared: Arc<Shared>,
    /// `Some` once the client pledged.
    pledged: Option<HashSet<Vec<u8>>>,
    permissive: bool,
    /// Set by a violation: the client is being disconnected, and messages
    /// of its already read are refused.
    expelled: bool,
}

impl Session {
    fn new(client: ClientHandle<ConfigClient>, shared: Arc<Shared>) -> Session {
        shared.lock().clients.insert(
            client.id(),
            Monitor {
                handle: client.clone(),
                domains: HashSet::new(),
            },
        );
        debug!(
            "client {} connected (pid {})",
            client.id(),
            client.credentials().pid
        );
        Session {
            client,
            shared,
            pledged: None,
            permissive: false,
            expelled: false,
        }
    }

    /// Disconnects the client for breaking its pledge, and says why.
    fn misbehaved(&mut self, why: String) -> HandlerError {
        self.expelled = true;
        warn!(
            "client {} (pid {}) disconnected: {why}",
            self.client.id(),
            self.client.credentials().pid
        );
        self.client.disconnect();
        HandlerError::new(why)
    }

    /// Checks `domain`'s name and this client's right to it.
    fn access(&mut self, domain: &[u8]) -> Result<Access, HandlerError> {
        if self.expelled {
            return Err(HandlerError::new(
                "this client broke its pledge and is being disconnected",
            ));
        }
        let name = names::validate_domain(domain).map_err(|e| HandlerError::new(e.to_string()))?;
        match &self.pledged {
            Some(pledged) if !pledged.contains(domain) => {
                if self.permissive {
                    debug!(
                        "client {} touched `{name}` outside its pledge; refused quietly (permissive mode)",
                        self.client.id()
                    );
                    Ok(Access::Refused)
                } else {
                    Err(self.misbehaved(format!(
                        "the client touched the domain `{name}` without pledging it (pledged: {})",
                        list(pledged)
                    )))
                }
            }
            _ => Ok(Access::Granted(name.to_owned())),
        }
    }

    /// Reads through `read` from `domain`, or `default` when refused quietly.
    fn read<R>(
        &mut self,
        domain: &[u8],
        default: R,
        read: impl FnOnce(&IniDocument) -> R,
    ) -> Result<R, HandlerError> {
        let Access::Granted(domain) = self.access(domain)? else {
            return Ok(default);
        };
        let mut state = self.shared.lock();
        let doc = blocking(|| state.store.domain(&domain)).map_err(store_error)?;
        Ok(read(doc))
    }

    fn read_value<R>(
        &mut self,
        domain: &[u8],
        group: &[u8],
        key: &[u8],
        parse: impl FnOnce(&[u8]) -> Option<R>,
    ) -> Result<Option<R>, HandlerError> {
        names::validate_group(group).map_err(name_error)?;
        names::validate_key(key).map_err(name_error)?;
        self.read(domain, None, |doc| doc.get(group, key).and_then(parse))
    }

    /// Applies `edit` to `domain`; when it changed something (now on disk),
    /// sends `notify` to every other client monitoring the domain.
    fn modify(
        &mut self,
        domain: &[u8],
        edit: impl FnOnce(&mut IniDocument) -> bool,
        notify: impl Fn(&ClientHandle<ConfigClient>, ByteString) -> Result<(), courier::Error>,
    ) -> Result<(), HandlerError> {
        let Access::Granted(domain) = self.access(domain)? else {
            return Ok(());
        };
        let mut state = self.shared.lock();
        let changed = blocking(|| state.store.modify(&domain, edit)).map_err(store_error)?;
        if changed {
            let me = self.client.id();
            for (id, monitor) in &state.clients {
                if *id != me && monitor.domains.contains(&domain) {
                    // A client that left is noticed by its connection.
                    let _ = notify(&monitor.handle, ByteString::from(domain.as_str()));
                }
            }
        }
        Ok(())
    }

    fn write(
        &mut self,
        domain: &[u8],
        group: ByteString,
        key: ByteString,
        text: Vec<u8>,
        notify: impl Fn(
            &ClientHandle<ConfigClient>,
            ByteString,
            ByteString,
            ByteString,
        ) -> Result<(), courier::Error>,
    ) -> Result<(), HandlerError> {
        names::validate_group(&group).map_err(name_error)?;
        names::validate_key(&key).map_err(name_error)?;
        names::validate_value(&text).map_err(name_error)?;
        self.modify(
            domain,
            |doc| doc.set(&group, &key, &text),
            |client, domain| notify(client, domain, group.clone(), key.clone()),
        )
    }
}

fn name_error(error: names::NameError) -> HandlerError {
    HandlerError::new(error.to_string())
}

fn store_error(error: StoreError) -> HandlerError {
    warn!("{error}");
    HandlerError::new(error.to_string())
}

fn list(domains: &HashSet<Vec<u8>>) -> String {
    if domains.is_empty() {
        return "none".to_owned();
    }
    let mut names: Vec<String> = domains
        .iter()
        .map(|d| format!("`{}`", String::from_utf8_lossy(d)))
        .collect();
    names.sort();
    names.join(", ")
}

/// Reads a stored boolean: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`,
/// in any case.
pub fn parse_bool(text: &[u8]) -> Option<bool> {
    let text = std::str::from_utf8(text).ok()?.to_ascii_lowercase();
    match text.as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_number<T: std::str::FromStr>(text: &[u8]) -> Option<T> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

impl ConfigServerHandler for Session {
    fn enable_permissive_mode(&mut self) {
        if self.expelled {
            return;
        }
        if self.pledged.is_some() {
            self.misbehaved("the client asked for permissive mode after pledging".to_owned());
            return;
        }
        self.permissive = true;
    }

    fn pledge_domains(&mut self, domains: Vec<ByteString>) {
        if self.expelled {
            return;
        }
        if let Some(pledged) = &self.pledged {
            let why = format!("the client pledged twice (first pledge: {})", list(pledged));
            self.misbehaved(why);
            return;
        }
        let pledged: HashSet<Vec<u8>> = domains.into_iter().map(ByteString::into_bytes).collect();
        debug!("client {} pledged {}", self.client.id(), list(&pledged));
        self.pledged = Some(pledged);
    }

    fn monitor_domain(&mut self, domain: ByteString) {
        let access = match self.access(&domain) {
            Ok(access) => access,
            Err(error) => {
                // A bad name (the client stays) or a pledge violation (it
                // is already disconnected): nobody waits for an answer.
                debug!("monitor_domain refused: {error}");
                return;
            }
        };
        let Access::Granted(domain) = access else {
            return;
        };
        let mut state = self.shared.lock();
        // Keep the domain in memory, so changes by hand can be compared.
        if let Err(error) = blocking(|| state.store.domain(&domain)) {
            warn!("{error}");
        }
        if let Some(monitor) = state.clients.get_mut(&self.client.id()) {
            monitor.domains.insert(domain);
        }
    }

    fn list_config_groups(&mut self, domain: ByteString) -> Result<Vec<ByteString>, HandlerError> {
        self.read(&domain, Vec::new(), |doc| {
            doc.groups().map(ByteString::from).collect()
        })
    }

    fn list_config_keys(
        &mut self,
        domain: ByteString,
        group: ByteString,
    ) -> Result<Vec<ByteString>, HandlerError> {
        names::validate_group(&group).map_err(name_error)?;
        self.read(&domain, Vec::new(), |doc| {
            doc.keys(&group).map(ByteString::from).collect()
        })
    }

    fn read_string_value(
        &mut self,
        domain: ByteString,
        group: ByteString,
        key: ByteString,
    ) -> Result<Option<ByteString>, HandlerError> {
        self.read_value(&domain, &group, &key, |v| Some(ByteString::from(v)))
    }

    fn read_i32_value(
        &mut self,
        domain: ByteString,
        group: ByteString,
        key: ByteString,
    ) -> Result<Option<i32>, HandlerError> {
        self.read_value(&domain, &group, &key, parse_number)
    }

    fn read_u32_value(
        &mut self,
        domain: ByteString,
        group: ByteString,
        key: ByteString,
    ) -> Result<Option<u32>, HandlerError> {
        self.read_value(&domain, &group, &key, parse_number)
    }

    fn read_bool_value(
        &mut self,
        domain: ByteString,
        group: ByteString,
        key: ByteString,
    ) -> Result<Option<bool>, HandlerError> {
        self.read_value(&domain, &group, &key, parse_bool)
    }

    fn write_string_value(
        &mut self,
        domain: ByteString,
        group: ByteString,
        key: ByteString,
        value: ByteString,
    ) -> Result<(), HandlerError> {
        let text = value.as_bytes().to_vec();
        self.write(&domain, group, key, text, move |client, d, g, k| {
            client.notify_changed_string_value(d, g, k, value.clone())
        })
    }

    fn write_i32_value(
        &mut self,
        domain: ByteString,
        group: ByteString,
        key: ByteString,
        value: i32,
    ) -> Result<(), HandlerError> {
        let text = value.to_string().into_bytes();
        self.write(&domain, group, key, text, move |client, d, g, k| {
            client.notify_changed_i32_value(d, g, k, value)
        })
    }

    fn write_u32_value(
        &mut self,
        domain: ByteString,
        group: ByteString,
        key: ByteString,
        value: u32,
    ) -> Result<(), HandlerError> {
        let text = value.to_string().into_bytes();
        self.write(&domain, group, key, text, move |client, d, g, k| {
            client.notify_changed_u32_value(d, g, k, value)
        })
    }

    fn write_bool_value(
        &mut self,
        domain: ByteString,
        group: ByteString,
        key: ByteString,
        value: bool,
    ) -> Result<(), HandlerError> {
        let text = if value { "true" } else { "false" };
        self.write(&domain, group, key, text.into(), move |client, d, g, k| {
            client.notify_changed_bool_value(d, g, k, value)
        })
    }

    fn remove_key_entry(
        &mut self,
        domain: ByteString,
        group: ByteString,
        key: ByteString,
    ) -> Result<(), HandlerError> {
        names::validate_group(&group).map_err(name_error)?;
        names::validate_key(&key).map_err(name_error)?;
        self.modify(
            &domain,
            |doc| doc.remove_key(&group, &key),
            |client, d| client.notify_removed_key(d, group.clone(), key.clone()),
        )
    }

    fn remove_group_entry(
        &mut self,
        domain: ByteString,
        group: ByteString,
    ) -> Result<(), HandlerError> {
        names::validate_group(&group).map_err(name_error)?;
        self.modify(
            &domain,
            |doc| doc.remove_group(&group),
            |client, d| client.notify_removed_group(d, group.clone()),
        )
    }

    fn add_group_entry(
        &mut self,
        domain: ByteString,
        group: ByteString,
    ) -> Result<(), HandlerError> {
        names::validate_group(&group).map_err(name_error)?;
        self.modify(
            &domain,
            |doc| doc.add_group(&group),
            |client, d| client.notify_added_group(d, group.clone()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for yes in ["true", "TRUE", "1", "yes", "On"] {
            assert_eq!(parse_bool(yes.as_bytes()), Some(true), "{yes}");
        }
        for no in ["false", "0", "No", "off"] {
            assert_eq!(parse_bool(no.as_bytes()), Some(false), "{no}");
        }
        assert_eq!(parse_bool(b"maybe"), None);
        assert_eq!(parse_bool(b"\xff"), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number::<i32>(b"-5"), Some(-5));
        assert_eq!(parse_number::<u32>(b"-5"), None);
        assert_eq!(parse_number::<u32>(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_number::<i32>(b"x"), None);
    }
}
