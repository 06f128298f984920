//! The `courier` command: check `.ipc` files, compile them to Rust, print
//! endpoint magics; list, introspect, call and monitor running services.
//!
//! ```text
//! courier check ipc/*.ipc                 # diagnostics on stderr
//! courier compile ipc/WindowServer.ipc    # Rust on stdout
//! courier compile ipc/*.ipc -o src/gen    # src/gen/<stem>.rs for each file
//! courier magic LookupServer              # 3613307456
//! courier list                            # the services of the portal directory
//! courier introspect window-server        # its .ipc text
//! courier call window-server create_window 0,0,640,480 Hello
//! courier monitor window-server           # its traffic, live, until Ctrl-C
//! courier completions bash                # a completion script
//! ```
//!
//! `courier magic` prints just the number for one name (handy in scripts) and
//! `NAME MAGIC` lines for several, the way grep names files only when given
//! more than one.
//!
//! # Exit codes
//!
//! - 0: success; warnings may have been printed.
//! - 1: the `.ipc` files have errors (diagnostics on standard error), or code
//!   could not be generated from them; for the service commands, the service
//!   could not be reached, broke the protocol, timed out or answered with an
//!   error.
//! - 2: usage error (including an argument of the wrong type for `call`), or
//!   a file could not be read or written.
//!
//! A closed standard output (`courier compile x.ipc | head`) ends the command
//! quietly with 0.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod call;
mod cli;
mod driver;
mod error;
mod files;
mod introspect;
mod list;
mod monitor;
mod service;
mod split;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command};
use crate::error::{CliResult, Failure};
use crate::files::Outcome;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::InvalidInput) => ExitCode::from(1),
        Err(failure) if is_broken_pipe(failure.error()) => ExitCode::SUCCESS,
        Err(failure) => {
            // If even standard error is gone there is nobody left to tell.
            let _ = writeln!(io::stderr(), "error: {:#}", failure.error());
            ExitCode::from(failure.exit_code())
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> CliResult<Outcome> {
    match cli.command {
        Command::Check { files } => Ok(files::check(&files)?),
        Command::Compile {
            files,
            out_dir,
            map_type,
            courier_path,
        } => {
            let mut options = courier_codegen::Options::new();
            for (idl, rust) in &map_type {
                options.map_type(idl, rust);
            }
            options.courier_path(&courier_path);
            Ok(files::compile(&files, out_dir.as_deref(), &options)?)
        }
        Command::Magic { names } => Ok(files::magic(&names)?),
        Command::List {
            portal_dir,
            json,
            timeout,
        } => list::run(portal_dir.as_deref(), json, timeout).map(|()| Outcome::Success),
        Command::Introspect {
            service,
            json,
            timeout,
        } => introspect::run(&service, json, timeout).map(|()| Outcome::Success),
        Command::Call {
            service,
            method,
            args,
            json,
            timeout,
            ipc,
            raw_response,
        } => call::run(&call::CallArgs {
            service,
            method,
            args,
            json,
            timeout,
            ipc,
            raw_response,
        })
        .map(|()| Outcome::Success),
        Command::Monitor {
            service,
            json,
            restore,
        } => if restore {
            monitor::restore(&service)
        } else {
            monitor::run(&service, json)
        }
        .map(|()| Outcome::Success),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            let mut stdout = io::stdout().lock();
            clap_complete::generate(shell, &mut command, "courier", &mut stdout);
            stdout.flush().map_err(Failure::from)?;
            Ok(Outcome::Success)
        }
    }
}
