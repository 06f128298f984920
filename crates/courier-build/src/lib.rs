//! `build.rs` integration: compile `.ipc` files into `OUT_DIR`.
//!
//! courier-build does for `.ipc` files what prost-build does for `.proto`
//! files: a build script hands it interface files, it checks them, generates
//! Rust with `courier-codegen` and writes one `.rs` file per `.ipc` file into
//! `OUT_DIR`, which the crate includes with `courier::include_ipc!`.
//!
//! # The whole journey
//!
//! **1. `Cargo.toml`**: courier at run time, courier-build at build time.
//!
//! ```toml
//! [dependencies]
//! courier = "0.1"
//!
//! [build-dependencies]
//! courier-build = "0.1"
//! ```
//!
//! **2. The interface**, `ipc/WindowServer.ipc`:
//!
//! ```text
//! endpoint WindowServer
//! {
//!     // Request-response: client waits for response
//!     CreateWindow(Gfx::IntRect rect, String title) => (i32 window_id)
//!
//!     // One-way message: no response expected
//!     InvalidateRect(i32 window_id, Gfx::IntRect rect) =|
//! }
//! ```
//!
//! **3. `build.rs`**: returning the error prints every diagnostic, with
//! file, line, column and a caret, and fails the build.
//!
//! ```no_run
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     courier_build::compile(&["ipc/WindowServer.ipc"])?;
//!     Ok(())
//! }
//! ```
//!
//! **4. The crate** includes `OUT_DIR/WindowServer.rs`, which holds the module
//! `window_server`:
//!
//! ```ignore
//! courier::include_ipc!("WindowServer");
//!
//! use window_server::{CreateWindow, WindowServer};
//!
//! let request = CreateWindow { rect: courier::gfx::IntRect::default(), title: "Hello".into() };
//! assert_eq!(<CreateWindow as courier::Message>::ID, 1);
//! assert_eq!(<WindowServer as courier::Endpoint>::NAME, "WindowServer");
//! ```
//!
//! For the names and types in the generated module, see `courier-codegen`.
//! To reuse a Rust type of your own for a user type of the `.ipc` file, or to
//! name the runtime by another path, use [`Config`]:
//!
//! ```no_run
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     courier_build::Config::new()
//!         .map_type("Web::Cookie::Cookie", "crate::cookie::Cookie")
//!         .compile(&["ipc/WebContentServer.ipc", "ipc/WebContentClient.ipc"])?;
//!     Ok(())
//! }
//! ```
//!
//! # What it tells cargo
//!
//! `cargo:rerun-if-changed=` for every `.ipc` file it reads and for
//! `build.rs`, so the build script reruns when an interface changes (this
//! replaces cargo's default of rerunning on any change in the package; list
//! anything else your build script reads yourself). Warnings of the checks go
//! out as `cargo:warning=` lines, one per line of the rendered diagnostic.
#![deny(unsafe_code)]
#![warn(missing_docs)]

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use courier_codegen::{CodegenError, Options};

/// Compiles `files` with the default [`Config`] into `OUT_DIR`.
///
/// # Errors
///
/// See [`Config::compile`].
///
/// # Example
///
/// ```no_run
/// // build.rs
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     courier_build::compile(&["ipc/WindowServer.ipc", "ipc/WindowClient.ipc"])?;
///     Ok(())
/// }
/// ```
pub fn compile(files: &[impl AsRef<Path>]) -> Result<(), Error> {
    Config::new().compile(files)
}

/// How to compile `.ipc` files: type mappings, output directory, runtime
/// path.
///
/// ```no_run
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     courier_build::Config::new()
///         .map_type("URL::URL", "url::Url")
///         .out_dir("src/generated")
///         .compile(&["ipc/RequestServer.ipc"])?;
///     Ok(())
/// }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Config {
    options: Options,
    out_dir: Option<PathBuf>,
}

impl Config {
    /// The defaults: no mapped types, output to `OUT_DIR`, the runtime at
    /// `::courier`.
    pub fn new() -> Config {
        Config::default()
    }

    /// Maps the user type written `idl_name` in the `.ipc` files to the Rust
    /// type at `rust_path` (`map_type("Web::Cookie::Cookie",
    /// "crate::cookie::Cookie")`). Unmapped user types become
    /// `super::Path::As::Written`, relative to where the file is included.
    ///
    /// A template's name maps every instance: `map_type("RefPtr",
    /// "std::sync::Arc")` makes `RefPtr<Media::VideoSurface>` an
    /// `std::sync::Arc<...>` of the argument's type; a whole instance
    /// (`"RefPtr<Media::VideoSurface>"`) may be mapped too, and wins.
    ///
    /// A mapping that matches no user type of the compiled files (a typo
    /// such as `Media::VideoSurfce`, or a built-in name such as
    /// `Gfx::IntRect`, which is never mapped) changes nothing; [`compile`]
    /// then prints a `cargo:warning=` saying so, with `did you mean
    /// `Media::VideoSurface`?` when a user type of the files is a letter
    /// away. It is a warning, not an error, so that one `Config` may carry
    /// mappings for several `compile` calls that each use some of them.
    ///
    /// [`compile`]: Config::compile
    pub fn map_type(&mut self, idl_name: &str, rust_path: &str) -> &mut Config {
        self.options.map_type(idl_name, rust_path);
        self
    }

    /// Writes the generated files into `path` instead of `OUT_DIR`.
    pub fn out_dir(&mut self, path: impl Into<PathBuf>) -> &mut Config {
        self.out_dir = Some(path.into());
        self
    }

    /// The path through which generated code names the runtime (default
    /// `::courier`).
    pub fn courier_path(&mut self, path: &str) -> &mut Config {
        self.options.courier_path(path);
        self
    }

    /// Reads `files`, checks them together (so that two endpoints with the
    /// same magic in different files are caught), and writes
    /// `<out dir>/<file stem>.rs` for each.
    ///
    /// Prints `cargo:` directives on standard output, as build scripts do:
    /// `rerun-if-changed` for each file, and a `warning` for each line of
    /// the checks' warnings and for each [`Config::map_type`] that matches
    /// no user type of `files`.
    ///
    /// # Errors
    ///
    /// An [`Error`] when a file cannot be read or written, when the checks
    /// find an error in any file, invalid UTF-8 included (the error then
    /// displays the rendered diagnostics, exactly), when code generation
    /// fails, when two files
    /// have the same stem, or when no output directory is known.
    pub fn compile(&mut self, files: &[impl AsRef<Path>]) -> Result<(), Error> {
        let stdout = io::stdout();
        let mut cargo = stdout.lock();
        self.compile_with(files, &mut cargo)
    }

    /// [`Config::compile`], writing the `cargo:` directives to `cargo`.
    fn compile_with(&self, files: &[impl AsRef<Path>], cargo: &mut dyn Write) -> Result<(), Error> {
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(Error::new(ErrorKind::NoOutDir))?,
        };
        let files: Vec<&Path> = files.iter().map(AsRef::as_ref).collect();

        if let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
            if Path::new(&manifest_dir).join("build.rs").is_file() {
                directive(cargo, "rerun-if-changed=build.rs")?;
            }
        }
        for path in &files {
            directive(cargo, &format!("rerun-if-changed={}", path.display()))?;
        }

        let mut outputs: HashMap<String, &Path> = HashMap::new();
        let mut sources = Vec::new();
        for &path in &files {
            let stem = path.file_stem().and_then(|s| s.to_str()).ok_or_else(|| {
                Error::new(ErrorKind::NoStem {
                    path: path.to_path_buf(),
                })
            })?;
            if let Some(first) = outputs.insert(stem.to_string(), path) {
                return Err(Error::new(ErrorKind::SameStem {
                    first: first.to_path_buf(),
                    second: path.to_path_buf(),
                    stem: stem.to_string(),
                }));
            }
            // Bytes, not a string: invalid UTF-8 is a diagnostic with a place.
            let bytes = std::fs::read(path).map_err(|source| {
                Error::new(ErrorKind::Read {
                    path: path.to_path_buf(),
                    source,
                })
            })?;
            sources.push(courier_idl::SourceFile::from_bytes(
                path.display().to_string(),
                &bytes,
            ));
        }

        let checked = courier_idl::check(&sources);
        if checked.has_errors() {
            return Err(Error::new(ErrorKind::Diagnostics(
                checked.render_diagnostics(),
            )));
        }
        for line in checked.render_diagnostics().lines() {
            directive(cargo, &format!("warning={line}"))?;
        }
        let asts = checked.files.iter().map(|file| &file.ast);
        for (idl_name, rust_path, why) in self.options.unmatched_mappings(asts) {
            directive(
                cargo,
                &format!("warning=warning: map_type(\"{idl_name}\", \"{rust_path}\") {why}"),
            )?;
        }

        for (path, file) in files.iter().zip(&checked.files) {
            let code = courier_codegen::generate(&file.ast, &self.options).map_err(|source| {
                let rendered = source.render(&file.name, &file.text);
                Error::new(ErrorKind::Codegen { rendered, source })
            })?;
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let target = out_dir.join(format!("{stem}.rs"));
            let contents = format!(
                "{}{code}",
                courier_codegen::file_header(&path.display().to_string())
            );
            write_if_changed(&target, &contents).map_err(|source| {
                Error::new(ErrorKind::Write {
                    path: target.clone(),
                    source,
                })
            })?;
        }
        Ok(())
    }
}

fn directive(cargo: &mut dyn Write, text: &str) -> Result<(), Error> {
    writeln!(cargo, "cargo:{text}").map_err(|source| Error::new(ErrorKind::Cargo { source }))
}

/// Writes `contents` unless the file already holds exactly that, so an
/// unchanged interface does not touch the file's modification time.
fn write_if_changed(path: &Path, contents: &str) -> io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|existing| existing == contents) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, contents)
}

/// Why [`compile`] failed.
///
/// `Display` prints what went wrong; for faults in the `.ipc` files, the
/// rendered diagnostics exactly. `Debug` prints the same text, not a debug
/// dump, so that a build script's `main` returning `Result<(), Box<dyn
/// Error>>` shows it as is; for diagnostics it starts with a line break, so
/// that the `Error: ` that `main` puts first stands on a line of its own
/// instead of doubling the diagnostics' own `error: `.
pub struct Error {
    // Boxed: an error is rare, and a small `Result` keeps the happy path cheap.
    kind: Box<ErrorKind>,
}

enum ErrorKind {
    NoOutDir,
    NoStem {
        path: PathBuf,
    },
    SameStem {
        first: PathBuf,
        second: PathBuf,
        stem: String,
    },
    Read {
        path: PathBuf,
        source: io::Error,
    },
    Write {
        path: PathBuf,
        source: io::Error,
    },
    Cargo {
        source: io::Error,
    },
    Diagnostics(String),
    Codegen {
        rendered: String,
        source: CodegenError,
    },
}

impl Error {
    fn new(kind: ErrorKind) -> Error {
        Error {
            kind: Box::new(kind),
        }
    }

    /// The rendered diagnostics, when the checks found errors in the `.ipc`
    /// files or code could not be generated from them.
    pub fn diagnostics(&self) -> Option<&str> {
        match &*self.kind {
            ErrorKind::Diagnostics(text) | ErrorKind::Codegen { rendered: text, .. } => Some(text),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            ErrorKind::NoOutDir => f.write_str(
                "OUT_DIR is not set: courier-build runs from a build script, where cargo sets it; \
                 elsewhere call `Config::out_dir`",
            ),
            ErrorKind::NoStem { path } => {
                write!(
                    f,
                    "`{}` has no file name to name its generated file after",
                    path.display()
                )
            }
            ErrorKind::SameStem {
                first,
                second,
                stem,
            } => write!(
                f,
                "`{}` and `{}` would both be written to `{stem}.rs`; rename one, or compile them \
                 with two `Config`s and different `out_dir`s",
                first.display(),
                second.display()
            ),
            ErrorKind::Read { path, source } => {
                write!(f, "cannot read `{}`: {source}", path.display())
            }
            ErrorKind::Write { path, source } => {
                write!(f, "cannot write `{}`: {source}", path.display())
            }
            ErrorKind::Cargo { source } => {
                write!(
                    f,
                    "cannot write cargo directives to standard output: {source}"
                )
            }
            // Exactly the rendered diagnostics: they already say where and what.
            ErrorKind::Diagnostics(text) => f.write_str(text),
            ErrorKind::Codegen { rendered, .. } => f.write_str(rendered),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.diagnostics().is_some() {
            f.write_str("\n")?;
        }
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            ErrorKind::Read { source, .. }
            | ErrorKind::Write { source, .. }
            | ErrorKind::Cargo { source } => Some(source),
            ErrorKind::Codegen { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
