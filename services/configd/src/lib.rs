//! configd: SerenityOS's ConfigServer on courier, and its typed client.
//!
//! configd keeps an application's settings (domain, group, key, value) in
//! INI files, one per domain, and serves them over the `ConfigServer`
//! interface of SerenityOS, message for message: the magic and every message
//! id match SerenityOS's. Clients that monitor a domain are told of each
//! change made by another client, or by hand in the file, through the
//! `ConfigClient` interface.
//!
//! - [`client::Config`]: the client library (blocking): `read_string`,
//!   `read_i32_or`, `write_bool`, `list_groups`, `pledge`, `monitor`...
//! - [`server::Daemon`]: the service, on tokio; the `configd` binary runs it
//!   (see `README.md` beside this crate for its options).
//! - [`store`]: the files on disk, written durably and atomically;
//!   [`ini`]: the INI format; [`names`]: what a domain, group, key or value
//!   may be; [`watch`]: noticing changes made by hand.
//! - [`config_server`] and [`config_client`]: what `courier-build` generated
//!   from `ipc/ConfigServer.ipc` and `ipc/ConfigClient.ipc`.
//!
//! # Example
//!
//! One process serves, another reads and writes (here a thread of the
//! same process, to keep the example self-contained):
//!
//! ```
//! use courier_configd::client::Config;
//! use courier_configd::server::{Daemon, Listen};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let socket = dir.path().join("config.socket");
//! let daemon = Daemon::bind(&dir.path().join("config"), &Listen::Socket(socket.clone()))?;
//! let stop = daemon.shutdown_handle();
//! let runtime = tokio::runtime::Runtime::new()?;
//! let serving = runtime.spawn(daemon.run());
//!
//! let config = Config::connect_to(&socket)?;
//! assert_eq!(config.read_i32_or("Terminal", "Window", "Width", 80)?, 80);
//! config.write_i32("Terminal", "Window", "Width", 132)?;
//! assert_eq!(config.read_i32("Terminal", "Window", "Width")?, Some(132));
//! assert_eq!(config.list_groups("Terminal")?, ["Window"]);
//! let on_disk = std::fs::read_to_string(dir.path().join("config/Terminal.ini"))?;
//! assert_eq!(on_disk, "[Window]\nWidth=132\n");
//!
//! // A bad domain name is an error for the caller, not a crash.
//! assert!(config.read_string("../etc", "G", "k").is_err());
//!
//! drop(config);
//! stop.shutdown();
//! runtime.block_on(serving)??;
//! # Ok(())
//! # }
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

courier::include_ipc!("ConfigServer");
courier::include_ipc!("ConfigClient");

pub mod cli;
pub mod client;
pub mod ini;
pub mod names;
pub mod server;
pub mod store;
pub mod watch;
