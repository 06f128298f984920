//! `courier check`, `compile` and `magic`: the commands on `.ipc` files.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// How a file command ended, short of an I/O failure.
pub enum Outcome {
    /// It did its job.
    Success,
    /// The `.ipc` files have errors; they were already printed.
    InvalidInput,
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

pub fn check(files: &[PathBuf]) -> anyhow::Result<Outcome> {
    Ok(match read_and_check(files)? {
        Some(_) => Outcome::Success,
        None => Outcome::InvalidInput,
    })
}

/// `courier compile`, with the `--map-type` mappings in `options`; a warning
/// on stderr for each that matches no user type of the files (a typo, most
/// likely; not an error, as a script may pass the same mappings to several
/// compilations).
pub fn compile(
    files: &[PathBuf],
    out_dir: Option<&Path>,
    options: &courier_codegen::Options,
) -> anyhow::Result<Outcome> {
    let Some(checked) = read_and_check(files)? else {
        return Ok(Outcome::InvalidInput);
    };
    for (idl, rust, why) in options.unmatched_mappings(checked.files.iter().map(|file| &file.ast)) {
        writeln!(io::stderr(), "warning: --map-type {idl}={rust} {why}")
            .context("cannot write to standard error")?;
    }
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

pub fn magic(names: &[String]) -> anyhow::Result<Outcome> {
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
