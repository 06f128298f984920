//! The command line: every subcommand, its options and its `--help`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Exit codes of the file commands (`check`, `compile`, `magic`).
pub const FILE_EXIT_CODES: &str = "\
Exit codes:
  0  success (warnings may have been printed)
  1  the .ipc files have errors, or code could not be generated from them
  2  usage error, or a file could not be read or written";

const TOP_HELP: &str = "\
Services are found in the portal directory: $COURIER_PORTAL_DIR if set, else
$XDG_RUNTIME_DIR/portal, else /tmp/session/<sid>/portal. A SERVICE is a name
in that directory or a path to a socket (anything containing `/`).

Examples:
  courier check ipc/*.ipc
  courier list
  courier introspect clipboard
  courier call clipboard get_clipboard_data
  courier monitor clipboard --json

Exit codes:
  0  success (warnings may have been printed)
  1  the .ipc files have errors, or code could not be generated from them;
     a service could not be reached, broke the protocol, timed out or
     answered with an error
  2  usage error (an argument of the wrong type for `call` included), or a
     file could not be read or written";

/// Check and compile courier `.ipc` files; list, introspect, call and
/// monitor live courier services.
#[derive(Debug, Parser)]
#[command(name = "courier", version, after_help = TOP_HELP)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// One subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check .ipc files and print their diagnostics on standard error.
    ///
    /// The files are checked together, so two endpoints with the same magic
    /// in different files are found.
    #[command(after_help = FILE_EXIT_CODES)]
    Check {
        /// The .ipc files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Generate Rust from .ipc files (nothing is generated if any has errors).
    #[command(after_help = FILE_EXIT_CODES)]
    Compile {
        /// The .ipc files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Write DIR/STEM.rs (STEM: the file name without .ipc) for each file instead of printing to
        /// standard output.
        #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// Map a user type of the .ipc files to a Rust path, as
        /// `Web::Cookie::Cookie=crate::cookie::Cookie` (repeatable).
        #[arg(long = "map-type", value_name = "IDL=RUST", value_parser = parse_mapping)]
        map_type: Vec<(String, String)>,
        /// The path through which generated code names the runtime.
        #[arg(
            long = "courier-path",
            value_name = "PATH",
            default_value = "::courier"
        )]
        courier_path: String,
    },
    /// Print the magic number of each endpoint NAME (the SerenityOS hash).
    ///
    /// One name prints just the number; several print `NAME MAGIC` lines.
    #[command(after_help = FILE_EXIT_CODES)]
    Magic {
        /// Endpoint names, as written after `endpoint`.
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
    /// List the services of the portal directory and whether they answer.
    ///
    /// Every socket in the directory is tried: `live` (it answers as a
    /// courier service; its endpoints are shown), `stale` (nothing listens:
    /// left by a service that died), `silent` (it accepts but sends no
    /// hello within a second), `refused` (it closed the connection or
    /// refused this client), `not courier` (it answers something else).
    /// PID and UID are the listening process's (SO_PEERCRED); for a socket
    /// nobody answers on, UID is the socket file's owner. A service behind
    /// `courier monitor` is marked `(monitored)`, with the monitor's PID.
    /// Other files are ignored.
    #[command(after_help = LIST_HELP)]
    List {
        /// The directory to look in, instead of this session's portal
        /// directory.
        #[arg(long, value_name = "DIR")]
        portal_dir: Option<PathBuf>,
        /// Print a JSON array of objects instead of a table.
        #[arg(long)]
        json: bool,
        /// Give each socket SECS seconds to say hello before it is shown
        /// as `silent` (all sockets are tried at once).
        #[arg(long, value_name = "SECS", default_value_t = crate::list::DEFAULT_TIMEOUT_SECS)]
        timeout: f64,
    },
    /// Print the interface of a running service as .ipc text.
    ///
    /// Asks the service with courier's reserved introspection request,
    /// which every courier service answers.
    #[command(after_help = INTROSPECT_HELP)]
    Introspect {
        /// A service name in the portal directory, or a socket path.
        service: String,
        /// Print {"endpoints": [{"name", "magic"}], "definition"} as JSON.
        #[arg(long)]
        json: bool,
        /// Give up after SECS seconds.
        #[arg(long, value_name = "SECS", default_value_t = 10.0)]
        timeout: f64,
    },
    /// Call a method of a running service with arguments from the command
    /// line, and print the response.
    ///
    /// The method and its parameter types come from the service's own
    /// interface (introspection), or from --ipc FILE. Arguments are given
    /// in order, or as NAME=VALUE: numbers (decimal or 0x hex), true/false,
    /// `null` for an absent optional, 0,0,640,480 for a rectangle, #rrggbb
    /// for a colour, @PATH for a file (opened read-only), and JSON for
    /// vectors, maps, optionals and nested types. A String, ByteString or
    /// ByteBuffer parameter takes the word exactly as it is: `null` is the
    /// text "null" and '"x"' is the text "x" with its quotes (only inside
    /// JSON, as in '["a","b"]', are strings quoted). A wrong argument is
    /// reported, naming the parameter and its type, before anything is
    /// sent. So is a method whose results hold a user type (any type that
    /// is not built in): its layout is in the service's Rust code only, so
    /// its response could not be decoded; --raw-response sends it anyway.
    /// A one-way message is sent and the command ends once it is written.
    /// Events the service sends meanwhile are printed on standard error.
    #[command(after_help = CALL_HELP)]
    Call {
        /// A service name in the portal directory, or a socket path.
        service: String,
        /// The method, as spelled in the .ipc file or in snake_case.
        method: String,
        /// The arguments, in order or as NAME=VALUE (after `--` when one
        /// starts with `-` and is not a number).
        #[arg(value_name = "ARGS", allow_negative_numbers = true)]
        args: Vec<String>,
        /// Print the response as one JSON object.
        #[arg(long)]
        json: bool,
        /// Give up after SECS seconds (connecting, introspecting and the
        /// call together).
        #[arg(long, value_name = "SECS", default_value_t = 30.0)]
        timeout: f64,
        /// Take the interface from this .ipc file instead of asking the
        /// service: arguments are then checked before connecting.
        #[arg(long, value_name = "FILE")]
        ipc: Option<PathBuf>,
        /// Do not decode the response: print its body as a hex dump (with
        /// --json, as {"message", "bytes", "fds", "hex", ...}). This also
        /// sends a method whose results hold a user type, which is refused
        /// otherwise. Nothing changes for a one-way message.
        #[arg(long)]
        raw_response: bool,
    },
    /// Watch the traffic of a running service, live.
    ///
    /// Moves the service's socket aside (to `.NAME.monitored` beside it),
    /// listens on its path, and forwards every client that connects to the
    /// real socket, bytes and fds alike, printing each message: time,
    /// direction, client, endpoint, message, decoded arguments, fds and
    /// size. While monitored, the shared-memory pool is turned off (the
    /// hello flag is cleared both ways) so that every body can be seen:
    /// large messages then travel inline. Clients that connected before
    /// keep their direct connection, unseen. On Ctrl-C (or SIGTERM) the
    /// monitor stops accepting, disconnects the clients that came through
    /// it, and puts the service's socket back. After a crash, put it back
    /// with `courier monitor --restore SERVICE`.
    #[command(after_help = MONITOR_HELP)]
    Monitor {
        /// A service name in the portal directory, or a socket path.
        service: String,
        /// Print one JSON object per line.
        #[arg(long)]
        json: bool,
        /// Put the service's socket back after a monitor that did not stop
        /// cleanly, instead of monitoring.
        #[arg(long)]
        restore: bool,
    },
    /// Print a completion script for SHELL to standard output.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

const LIST_HELP: &str = "\
Examples:
  courier list
  courier list --portal-dir /run/user/1000/portal --json

A portal directory that does not exist yet (no service has run in this
session) is an empty list, with a note on standard error.

Exit codes:
  0  success (whatever the services' statuses)
  2  the portal directory cannot be read, or --timeout is not a number";

const INTROSPECT_HELP: &str = "\
Examples:
  courier introspect clipboard
  courier introspect /tmp/demo/window-server --json

Exit codes:
  0  success
  1  the service could not be reached, or did not answer
  2  usage error: an unknown service name";

const CALL_HELP: &str = "\
Examples:
  courier call window-server create_window 0,0,640,480 Hello
  courier call window-server CreateWindow rect='{\"x\":0,\"y\":0,\"width\":8,\"height\":8}' title=Hi
  courier call image-decoder decode_image @picture.ppm --json
  courier call config set_values '{\"a\": [1, 2]}' null
  courier call kv put k1 null        # a String parameter: stores the text \"null\"
  courier call kv put k1 '\"x\"'       # stores \"x\" with its quotes
  courier call kv stats --raw-response   # results of a user type: hex dump

Exit codes:
  0  success
  1  the service could not be reached, broke the protocol, timed out or
     answered with an error
  2  usage error: unknown service, method or parameter, an argument of the
     wrong type, a method whose results hold a user type (without
     --raw-response), or a local file that cannot be read";

const MONITOR_HELP: &str = "\
Examples:
  courier monitor window-server
  courier monitor window-server --json | jq .message
  courier monitor --restore window-server

Once it listens, the monitor prints `monitoring SERVICE at PATH` on standard
error. Exit codes: 0 after Ctrl-C (everything put back), 1 when the service
cannot be reached, 2 for usage errors.";

const COMPLETIONS_HELP: &str = "\
Examples:
  courier completions bash > ~/.local/share/bash-completion/completions/courier
  courier completions zsh > ~/.zfunc/_courier
  courier completions fish > ~/.config/fish/completions/courier.fish";

fn parse_mapping(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((idl, rust)) if !idl.trim().is_empty() && !rust.trim().is_empty() => {
            Ok((idl.trim().to_string(), rust.trim().to_string()))
        }
        _ => Err(format!(
            "`{text}` is not IDL=RUST, as in `URL::URL=url::Url`"
        )),
    }
}
