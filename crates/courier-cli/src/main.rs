//! The `courier` command: check `.ipc` files, compile them to Rust, print
//! endpoint magics.
//!
//! ```text
//! courier check ipc/*.ipc                 # diagnostics on stderr
//! courier compile ipc/WindowServer.ipc    # Rust on stdout
//! courier compile ipc/*.ipc -o src/gen    # src/gen/<stem>.rs for each file
//! courier magic LookupServer              # 3613307456
//! courier magic ClipboardClient ClipboardServer
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
//!   could not be generated from them.
//! - 2: usage error, or a file could not be read or written.
//!
//! A closed standard output (`courier compile x.ipc | head`) ends the command
//! quietly with 0.
#![deny(unsafe_code)]
#![warn(missing_docs)]

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  success (warnings may have been printed)
  1  the .ipc files have errors, or code could not be generated from them
  2  usage error, or a file could not be read or written";

/// Check and compile courier `.ipc` interface files.
#[derive(Debug, Parser)]
#[command(name = "courier", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check .ipc files and print their diagnostics on standard error.
    ///
    /// The files are checked together, so two endpoints with the same magic
    /// in different files are found.
    #[command(after_help = EXIT_CODES)]
    Check {
        /// The .ipc files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Generate Rust from .ipc files (nothing is generated if any has errors).
    #[command(after_help = EXIT_CODES)]
    Compile {
        /// The .ipc files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Write DIR/<file stem>.rs for each file instead of printing to
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
    #[command(after_help = EXIT_CODES)]
    Magic {
        /// Endpoint names, as written after `endpoint`.
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
}

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

/// How a command ended, short of an I/O failure.
enum Outcome {
    Success,
    /// The `.ipc` files have errors; they were already printed.
    InvalidInput,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::InvalidInput) => ExitCode::from(1),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            // If even standard error is gone there is nobody left to tell.
            let _ = writeln!(io::stderr(), "error: {error:#}");
            ExitCode::from(2)
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

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Check { files } => check(&files),
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
            compile(&files, out_dir.as_deref(), &options)
        }
        Command::Magic { names } => magic(&names),
    }
}

/// Reads and checks `files` together, printing every diagnostic to stderr.
/// `None` when there are errors.
fn read_and_check(files: &[PathBuf]) -> anyhow::Result<Option<courier_idl::Checked>> {
    let mut sources = Vec::new();
    for path in files {
        // Bytes, not a string: invalid UTF-8 is a diagnostic with a place.
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        sources.push(courier_idl::SourceFile::from_bytes(
            path.display().to_string(),
            &bytes,
        ));
    }
    let checked = courier_idl::check(&sources);
    let rendered = checked.render_diagnostics();
    if !rendered.is_empty() {
        let mut stderr = io::stderr().lock();
        stderr
            .write_all(rendered.as_bytes())
            .context("cannot write to standard error")?;
    }
    if checked.has_errors() {
        Ok(None)
    } else {
        Ok(Some(checked))
    }
}

fn check(files: &[PathBuf]) -> anyhow::Result<Outcome> {
    Ok(match read_and_check(files)? {
        Some(_) => Outcome::Success,
        None => Outcome::InvalidInput,
    })
}

fn compile(
    files: &[PathBuf],
    out_dir: Option<&Path>,
    options: &courier_codegen::Options,
) -> anyhow::Result<Outcome> {
    let Some(checked) = read_and_check(files)? else {
        return Ok(Outcome::InvalidInput);
    };
    // Generate everything before writing anything: an error in the last file
    // leaves no half-written output behind.
    let mut outputs = Vec::new();
    for (path, file) in files.iter().zip(&checked.files) {
        match courier_codegen::generate(&file.ast, options) {
            Ok(code) => {
                let name = path.display().to_string();
                outputs.push((
                    path,
                    format!("{}{code}", courier_codegen::file_header(&name)),
                ));
            }
            Err(error) => {
                io::stderr()
                    .write_all(error.render(&file.name, &file.text).as_bytes())
                    .context("cannot write to standard error")?;
                return Ok(Outcome::InvalidInput);
            }
        }
    }
    match out_dir {
        None => {
            let mut stdout = io::stdout().lock();
            for (index, (_, code)) in outputs.iter().enumerate() {
                if index > 0 {
                    stdout
                        .write_all(b"\n")
                        .context("cannot write to standard output")?;
                }
                stdout
                    .write_all(code.as_bytes())
                    .context("cannot write to standard output")?;
            }
            stdout.flush().context("cannot write to standard output")?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            let mut targets: Vec<PathBuf> = Vec::new();
            for (path, _) in &outputs {
                let stem = path
                    .file_stem()
                    .with_context(|| format!("`{}` has no file name", path.display()))?;
                let target = dir.join(format!("{}.rs", stem.to_string_lossy()));
                if targets.contains(&target) {
                    anyhow::bail!(
                        "two input files would both be written to `{}`; rename one",
                        target.display()
                    );
                }
                targets.push(target);
            }
            for ((_, code), target) in outputs.iter().zip(&targets) {
                std::fs::write(target, code)
                    .with_context(|| format!("cannot write `{}`", target.display()))?;
            }
        }
    }
    Ok(Outcome::Success)
}

fn magic(names: &[String]) -> anyhow::Result<Outcome> {
    let mut stdout = io::stdout().lock();
    if let [name] = names {
        writeln!(stdout, "{}", courier_idl::magic::endpoint_magic(name))
    } else {
        names.iter().try_for_each(|name| {
            writeln!(
                stdout,
                "{name} {}",
                courier_idl::magic::endpoint_magic(name)
            )
        })
    }
    .and_then(|()| stdout.flush())
    .context("cannot write to standard output")?;
    Ok(Outcome::Success)
}
