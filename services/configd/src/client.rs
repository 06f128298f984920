//! [`Config`]: the typed client library, what an application uses to read
//! and write its settings through configd (SerenityOS's `Config::` in
//! LibConfig).
//!
//! It is blocking: every call waits for configd's answer on the calling
//! thread, and needs no async runtime. Settings are read at start-up and
//! written on user actions, where a blocking call is what an application
//! wants (SerenityOS's `Config::read_string` is synchronous too); an async
//! application can call it from `spawn_blocking`. Change callbacks
//! ([`Config::monitor`]) run on one background thread per connection,
//! started by the first `monitor`, which hands the connection's incoming
//! `ConfigClient` notifications to the generated `ConfigClientHandler`.
//!
//! ```no_run
//! use courier_configd::client::Config;
//!
//! let config = Config::connect()?; // "config" in the portal directory
//! let width = config.read_i32_or("Terminal", "Window", "Width", 80)?;
//! config.write_i32("Terminal", "Window", "Width", width + 1)?;
//! config.monitor("Terminal", |event| println!("changed elsewhere: {event:?}"))?;
//! # Ok::<(), courier_configd::client::ConfigError>(())
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};

use courier::ByteString;
use courier::blocking::BlockingConnection;

use crate::config_client::{ConfigClient, ConfigClientHandler, ConfigClientService};
use crate::config_server::ConfigServerClient;
use crate::names::{self, NameError};
use crate::server::SERVICE_NAME;

/// Why a [`Config`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A domain, group, key or value configd cannot store; nothing was sent.
    #[error(transparent)]
    InvalidName(#[from] NameError),
    /// The call failed: configd is gone ([`courier::Error::Disconnected`],
    /// also after a pledge violation), refused it
    /// ([`courier::Error::Remote`], with its reason), or could not be
    /// reached.
    #[error(transparent)]
    Ipc(#[from] courier::Error),
    /// A stored value is not UTF-8 (edited by hand, or written as bytes).
    #[error(
        "the value of `{key}` in group `{group}` of domain `{domain}` is not UTF-8; rewrite it with write_string"
    )]
    NotUtf8 {
        /// The domain.
        domain: String,
        /// The group.
        group: String,
        /// The key.
        key: String,
    },
}

/// A value in a change notification, typed as it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Written as a string, or changed by hand in the file.
    String(String),
    /// Written with `write_i32`.
    I32(i32),
    /// Written with `write_u32`.
    U32(u32),
    /// Written with `write_bool`.
    Bool(bool),
}

/// A change to a monitored domain, made by another client or by hand.
/// Names and values that are not UTF-8 arrive with `U+FFFD` in place of
/// the bad bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigEvent {
    /// A key got a new value (or appeared).
    Changed {
        /// The domain.
        domain: String,
        /// The group.
        group: String,
        /// The key.
        key: String,
        /// The new value.
        value: Value,
    },
    /// A key was removed.
    RemovedKey {
        /// The domain.
        domain: String,
        /// The group.
        group: String,
        /// The key.
        key: String,
    },
    /// A group was removed, with its keys.
    RemovedGroup {
        /// The domain.
        domain: String,
        /// The group.
        group: String,
    },
    /// A group was added.
    AddedGroup {
        /// The domain.
        domain: String,
        /// The group.
        group: String,
    },
}

impl ConfigEvent {
    /// The domain that changed.
    pub fn domain(&self) -> &str {
        match self {
            ConfigEvent::Changed { domain, .. }
            | ConfigEvent::RemovedKey { domain, .. }
            | ConfigEvent::RemovedGroup { domain, .. }
            | ConfigEvent::AddedGroup { domain, .. } => domain,
        }
    }
}

type Callback = Box<dyn FnMut(&ConfigEvent) + Send>;

/// The callbacks of a connection, by domain.
#[derive(Default)]
struct Callbacks {
    by_domain: HashMap<String, Vec<Callback>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A connection to configd, with typed reads and writes.
///
/// Cheap calls on a shared connection: `Config` is `Send + Sync`; several
/// threads may use one (their calls take turns).
pub struct Config {
    client: ConfigServerClient<ConfigClient>,
    callbacks: Arc<Mutex<Callbacks>>,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Connects to configd by its service name, `ConfigServer`, in this
    /// session's portal directory (`$COURIER_PORTAL_DIR`,
    /// `$XDG_RUNTIME_DIR/portal`, `/tmp/session/<sid>/portal`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Ipc`]: configd is not running there, or the portal
    /// directory is unsafe (the error says which, and what to do).
    pub fn connect() -> Result<Config, ConfigError> {
        let connection = BlockingConnection::connect_service(SERVICE_NAME)?;
        Ok(Config::from_client(ConfigServerClient::from_connection(
            connection,
        )))
    }

    /// Connects to configd listening at `path`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Ipc`]: nothing listens there, or it is not configd.
    pub fn connect_to(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        Ok(Config::from_client(ConfigServerClient::connect(path)?))
    }

    /// Connects to configd as `ConfigServer` in the portal directory `dir`
    /// (what `configd --portal-dir DIR` listens in).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Ipc`]: configd is not running there, or the directory
    /// is unsafe.
    pub fn connect_in(dir: impl Into<PathBuf>) -> Result<Config, ConfigError> {
        let stream = courier::discovery::Portal::at(dir)
            .connect(SERVICE_NAME)
            .map_err(courier::Error::from)?;
        let connection = BlockingConnection::from_stream(stream)?;
        Ok(Config::from_client(ConfigServerClient::from_connection(
            connection,
        )))
    }

    /// A `Config` over a connected generated client.
    pub fn from_client(client: ConfigServerClient<ConfigClient>) -> Config {
        Config {
            client,
            callbacks: Arc::default(),
            dispatcher: Mutex::new(None),
        }
    }

    /// The generated client underneath, for the raw `ConfigServer` messages.
    pub fn raw(&self) -> &ConfigServerClient<ConfigClient> {
        &self.client
    }

    /// The value of `key` in `group` of `domain`, if set.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`], [`ConfigError::Ipc`],
    /// [`ConfigError::NotUtf8`].
    pub fn read_string(
        &self,
        domain: &str,
        group: &str,
        key: &str,
    ) -> Result<Option<String>, ConfigError> {
        let (d, g, k) = entry(domain, group, key)?;
        let Some(value) = self.client.read_string_value(d, g, k)? else {
            return Ok(None);
        };
        String::from_utf8(value.into_bytes())
            .map(Some)
            .map_err(|_| ConfigError::NotUtf8 {
                domain: domain.to_owned(),
                group: group.to_owned(),
                key: key.to_owned(),
            })
    }

    /// The value of `key`, or `default` when it is not set.
    ///
    /// # Errors
    ///
    /// As [`read_string`](Self::read_string).
    pub fn read_string_or(
        &self,
        domain: &str,
        group: &str,
        key: &str,
        default: &str,
    ) -> Result<String, ConfigError> {
        Ok(self
            .read_string(domain, group, key)?
            .unwrap_or_else(|| default.to_owned()))
    }

    /// The value of `key` as an `i32`; `None` when it is not set or is not
    /// a number in range.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`], [`ConfigError::Ipc`].
    pub fn read_i32(
        &self,
        domain: &str,
        group: &str,
        key: &str,
    ) -> Result<Option<i32>, ConfigError> {
        let (d, g, k) = entry(domain, group, key)?;
        Ok(self.client.read_i32_value(d, g, k)?)
    }

    /// The value of `key` as an `i32`, or `default`.
    ///
    /// # Errors
    ///
    /// As [`read_i32`](Self::read_i32).
    pub fn read_i32_or(
        &self,
        domain: &str,
        group: &str,
        key: &str,
        default: i32,
    ) -> Result<i32, ConfigError> {
        Ok(self.read_i32(domain, group, key)?.unwrap_or(default))
    }

    /// The value of `key` as a `u32`; `None` when it is not set or is not a
    /// number in range.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`], [`ConfigError::Ipc`].
    pub fn read_u32(
        &self,
        domain: &str,
        group: &str,
        key: &str,
    ) -> Result<Option<u32>, ConfigError> {
        let (d, g, k) = entry(domain, group, key)?;
        Ok(self.client.read_u32_value(d, g, k)?)
    }

    /// The value of `key` as a `u32`, or `default`.
    ///
    /// # Errors
    ///
    /// As [`read_u32`](Self::read_u32).
    pub fn read_u32_or(
        &self,
        domain: &str,
        group: &str,
        key: &str,
        default: u32,
    ) -> Result<u32, ConfigError> {
        Ok(self.read_u32(domain, group, key)?.unwrap_or(default))
    }

    /// The value of `key` as a boolean (`true`/`false`, `1`/`0`,
    /// `yes`/`no`, `on`/`off`); `None` when it is not set or is none of
    /// these.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`], [`ConfigError::Ipc`].
    pub fn read_bool(
        &self,
        domain: &str,
        group: &str,
        key: &str,
    ) -> Result<Option<bool>, ConfigError> {
        let (d, g, k) = entry(domain, group, key)?;
        Ok(self.client.read_bool_value(d, g, k)?)
    }

    /// The value of `key` as a boolean, or `default`.
    ///
    /// # Errors
    ///
    /// As [`read_bool`](Self::read_bool).
    pub fn read_bool_or(
        &self,
        domain: &str,
        group: &str,
        key: &str,
        default: bool,
    ) -> Result<bool, ConfigError> {
        Ok(self.read_bool(domain, group, key)?.unwrap_or(default))
    }

    /// Sets `key` to `value`; returns once it is on disk.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`] (a value may not hold a line break nor
    /// start or end with whitespace), [`ConfigError::Ipc`].
    pub fn write_string(
        &self,
        domain: &str,
        group: &str,
        key: &str,
        value: &str,
    ) -> Result<(), ConfigError> {
        names::validate_value(value.as_bytes())?;
        let (d, g, k) = entry(domain, group, key)?;
        Ok(self.client.write_string_value(d, g, k, value.into())?)
    }

    /// Sets `key` to an `i32`; returns once it is on disk.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`], [`ConfigError::Ipc`].
    pub fn write_i32(
        &self,
        domain: &str,
        group: &str,
        key: &str,
        value: i32,
    ) -> Result<(), ConfigError> {
        let (d, g, k) = entry(domain, group, key)?;
        Ok(self.client.write_i32_value(d, g, k, value)?)
    }

    /// Sets `key` to a `u32`; returns once it is on disk.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`], [`ConfigError::Ipc`].
    pub fn write_u32(
        &self,
        domain: &str,
        group: &str,
        key: &str,
        value: u32,
    ) -> Result<(), ConfigError> {
        let (d, g, k) = entry(domain, group, key)?;
        Ok(self.client.write_u32_value(d, g, k, value)?)
    }

    /// Sets `key` to a boolean (stored as `true` or `false`); returns once
    /// it is on disk.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`], [`ConfigError::Ipc`].
    pub fn write_bool(
        &self,
        domain: &str,
        group: &str,
        key: &str,
        value: bool,
    ) -> Result<(), ConfigError> {
        let (d, g, k) = entry(domain, group, key)?;
        Ok(self.client.write_bool_value(d, g, k, value)?)
    }

    /// Removes `key` (nothing happens when it is not set).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`], [`ConfigError::Ipc`].
    pub fn remove_key(&self, domain: &str, group: &str, key: &str) -> Result<(), ConfigError> {
        let (d, g, k) = entry(domain, group, key)?;
        Ok(self.client.remove_key_entry(d, g, k)?)
    }

    /// Removes `group` and its keys (nothing happens when it does not
    /// exist).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`], [`ConfigError::Ipc`].
    pub fn remove_group(&self, domain: &str, group: &str) -> Result<(), ConfigError> {
        let (d, g) = domain_group(domain, group)?;
        Ok(self.client.remove_group_entry(d, g)?)
    }

    /// Adds an empty `group` (nothing happens when it exists).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`], [`ConfigError::Ipc`].
    pub fn add_group(&self, domain: &str, group: &str) -> Result<(), ConfigError> {
        let (d, g) = domain_group(domain, group)?;
        Ok(self.client.add_group_entry(d, g)?)
    }

    /// The groups of `domain`, in file order.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`], [`ConfigError::Ipc`].
    pub fn list_groups(&self, domain: &str) -> Result<Vec<String>, ConfigError> {
        names::validate_domain(domain.as_bytes())?;
        Ok(lossy_all(self.client.list_config_groups(domain.into())?))
    }

    /// The keys of `group` in `domain`, in file order.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`], [`ConfigError::Ipc`].
    pub fn list_keys(&self, domain: &str, group: &str) -> Result<Vec<String>, ConfigError> {
        let (d, g) = domain_group(domain, group)?;
        Ok(lossy_all(self.client.list_config_keys(d, g)?))
    }

    /// Restricts this connection to `domains` for the rest of its life.
    /// Touching another domain afterwards disconnects it (unless
    /// [`enable_permissive_mode`](Self::enable_permissive_mode) was called
    /// before), and so does a second pledge.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`], [`ConfigError::Ipc`].
    pub fn pledge(&self, domains: &[&str]) -> Result<(), ConfigError> {
        for domain in domains {
            names::validate_domain(domain.as_bytes())?;
        }
        let domains = domains.iter().map(|d| ByteString::from(*d)).collect();
        Ok(self.client.pledge_domains(domains)?)
    }

    /// After a pledge, touching another domain will be refused quietly
    /// (reads give nothing, writes are dropped) instead of disconnecting.
    /// Only before [`pledge`](Self::pledge): afterwards configd disconnects.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Ipc`].
    pub fn enable_permissive_mode(&self) -> Result<(), ConfigError> {
        Ok(self.client.enable_permissive_mode()?)
    }

    /// Calls `callback` for each change to `domain` made by another client,
    /// or by hand in its file, from now on. Callbacks run one at a time, in
    /// the order of the changes, on this connection's event thread (started
    /// by the first `monitor`); they may call this `Config`'s methods but
    /// should not block for long. Returns once configd has registered the
    /// monitor, so a change made after it returns is reported.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`], [`ConfigError::Ipc`].
    pub fn monitor(
        &self,
        domain: &str,
        callback: impl FnMut(&ConfigEvent) + Send + 'static,
    ) -> Result<(), ConfigError> {
        names::validate_domain(domain.as_bytes())?;
        let first = {
            let mut callbacks = lock(&self.callbacks);
            let list = callbacks.by_domain.entry(domain.to_owned()).or_default();
            list.push(Box::new(callback));
            list.len() == 1
        };
        self.start_dispatcher();
        if first {
            self.client.monitor_domain(domain.into())?;
            // Messages are handled in order: once this answers, configd has
            // registered the monitor.
            self.client.list_config_groups(domain.into())?;
        }
        Ok(())
    }

    fn start_dispatcher(&self) {
        let mut dispatcher = lock(&self.dispatcher);
        if dispatcher.is_some() {
            return;
        }
        let connection = self.client.connection().clone();
        let callbacks = Arc::clone(&self.callbacks);
        let spawned = thread::Builder::new()
            .name("configd-events".to_owned())
            .spawn(move || {
                let mut service = ConfigClientService(Dispatcher { callbacks });
                if let Err(error) = connection.serve(&mut service) {
                    tracing::debug!("configd's events stopped: {error}");
                }
            });
        match spawned {
            Ok(handle) => *dispatcher = Some(handle),
            Err(error) => {
                tracing::warn!("could not start the thread for configd's events: {error}")
            }
        }
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        self.client.connection().close();
        if let Some(handle) = lock(&self.dispatcher).take() {
            // Dropped by a callback: the thread ends by itself.
            if handle.thread().id() != thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

/// Hands notifications to the callbacks of their domain.
struct Dispatcher {
    callbacks: Arc<Mutex<Callbacks>>,
}

impl Dispatcher {
    fn deliver(&mut self, event: ConfigEvent) {
        // Callbacks run without the lock, so they may call `monitor`.
        let taken = lock(&self.callbacks).by_domain.remove(event.domain());
        let Some(mut taken) = taken else { return };
        for callback in &mut taken {
            callback(&event);
        }
        let mut callbacks = lock(&self.callbacks);
        let list = callbacks
            .by_domain
            .entry(event.domain().to_owned())
            .or_default();
        // Callbacks added meanwhile come after the earlier ones.
        taken.append(list);
        *list = taken;
    }
}

fn lossy(bytes: ByteString) -> String {
    match String::from_utf8(bytes.into_bytes()) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    }
}

fn lossy_all(list: Vec<ByteString>) -> Vec<String> {
    list.into_iter().map(lossy).collect()
}

fn domain_group(domain: &str, group: &str) -> Result<(ByteString, ByteString), NameError> {
    names::validate_domain(domain.as_bytes())?;
    names::validate_group(group.as_bytes())?;
    Ok((domain.into(), group.into()))
}

fn entry(
    domain: &str,
    group: &str,
    key: &str,
) -> Result<(ByteString, ByteString, ByteString), NameError> {
    let (d, g) = domain_group(domain, group)?;
    names::validate_key(key.as_bytes())?;
    Ok((d, g, key.into()))
}

impl ConfigClientHandler for Dispatcher {
    fn notify_changed_string_value(
        &mut self,
        domain: ByteString,
        group: ByteString,
        key: ByteString,
        value: ByteString,
    ) {
        self.deliver(ConfigEvent::Changed {
            domain: lossy(domain),
            group: lossy(group),
            key: lossy(key),
            value: Value::String(lossy(value)),
        });
    }

    fn notify_changed_i32_value(
        &mut self,
        domain: ByteString,
        group: ByteString,
        key: ByteString,
        value: i32,
    ) {
        self.deliver(ConfigEvent::Changed {
            domain: lossy(domain),
            group: lossy(group),
            key: lossy(key),
            value: Value::I32(value),
        });
    }

    fn notify_changed_u32_value(
        &mut self,
        domain: ByteString,
        group: ByteString,
        key: ByteString,
        value: u32,
    ) {
        self.deliver(ConfigEvent::Changed {
            domain: lossy(domain),
            group: lossy(group),
            key: lossy(key),
            value: Value::U32(value),
        });
    }

    fn notify_changed_bool_value(
        &mut self,
        domain: ByteString,
        group: ByteString,
        key: ByteString,
        value: bool,
    ) {
        self.deliver(ConfigEvent::Changed {
            domain: lossy(domain),
            group: lossy(group),
            key: lossy(key),
            value: Value::Bool(value),
        });
    }

    fn notify_removed_key(&mut self, domain: ByteString, group: ByteString, key: ByteString) {
        self.deliver(ConfigEvent::RemovedKey {
            domain: lossy(domain),
            group: lossy(group),
            key: lossy(key),
        });
    }

    fn notify_removed_group(&mut self, domain: ByteString, group: ByteString) {
        self.deliver(ConfigEvent::RemovedGroup {
            domain: lossy(domain),
            group: lossy(group),
        });
    }

    fn notify_added_group(&mut self, domain: ByteString, group: ByteString) {
        self.deliver(ConfigEvent::AddedGroup {
            domain: lossy(domain),
            group: lossy(group),
        });
    }
}
