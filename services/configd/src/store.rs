//! The settings on disk: one INI file per domain, cached in memory, written
//! durably and atomically.
//!
//! Domain `Terminal` lives in `<config dir>/Terminal.ini`, as SerenityOS's
//! `Core::ConfigFile::open_for_app("Terminal")` places it under the user's
//! config directory (`~/.config`, or `$XDG_CONFIG_HOME`). A domain is read
//! the first time a client touches it; one that has no file reads as empty,
//! and its file is created by the first change.
//!
//! # Durability and atomicity
//!
//! A change is written before it is acknowledged: the whole new file goes to
//! a temporary file in the same directory (`.<domain>.ini.tmp-<pid>-<n>`,
//! mode 0600), which is flushed to disk (`fsync`), renamed over the domain's
//! file (atomic within a filesystem), and the directory is flushed too, so
//! the rename itself survives a crash. Whenever configd dies, each file is
//! either its old or its new version, never a mix. Temporary files left by
//! a crash are removed when the store opens.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ini::{Change, IniDocument};

/// Why the store could not read or write a domain's file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The config directory could not be created or is not a directory.
    #[error("could not use `{}` as the config directory: {source}; pass another with --config-dir or fix its permissions", path.display())]
    Directory {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A domain's file exists but could not be read.
    #[error("could not read `{}`: {source}; check the file's permissions", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A domain's new contents could not be written; the old file is intact.
    #[error("could not write `{}`: {source}; the previous settings are intact, check the disk space and the directory's permissions", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// The domains of one config directory.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    domains: HashMap<String, IniDocument>,
}

/// Tells temporary files of one process apart.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// Opens the config directory `dir`, creating it (mode 0700) if needed,
    /// and removes temporary files a crash left there.
    ///
    /// # Errors
    ///
    /// [`StoreError::Directory`] when it cannot be created or is not a
    /// directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Store, StoreError> {
        let dir = dir.into();
        let directory_error = |source| StoreError::Directory {
            path: dir.clone(),
            source,
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(directory_error)?;
        let entries = fs::read_dir(&dir).map_err(directory_error)?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.contains(".ini.tmp-") {
                match fs::remove_file(entry.path()) {
                    Ok(()) => tracing::debug!("removed `{name}`, left by a crash"),
                    Err(error) => tracing::warn!("could not remove `{name}`: {error}"),
                }
            }
        }
        Ok(Store {
            dir,
            domains: HashMap::new(),
        })
    }

    /// The config directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `domain` (a name checked by
    /// [`validate_domain`](crate::names::validate_domain)).
    pub fn path_of(&self, domain: &str) -> PathBuf {
        self.dir.join(format!("{domain}.ini"))
    }

    /// Whether `domain` is in memory (read before, or changed).
    pub fn is_loaded(&self, domain: &str) -> bool {
        self.domains.contains_key(domain)
    }

    /// The settings of `domain`, read from its file the first time.
    ///
    /// # Errors
    ///
    /// [`StoreError::Read`] when its file exists but cannot be read.
    pub fn domain(&mut self, domain: &str) -> Result<&IniDocument, StoreError> {
        if !self.domains.contains_key(domain) {
            let doc = self.read_file(domain)?;
            self.domains.insert(domain.to_owned(), doc);
        }
        Ok(&self.domains[domain])
    }

    /// Applies `edit` to `domain`; when it reports a change, writes the new
    /// file (durably, atomically) and only then keeps the change in memory.
    /// Returns whether anything changed.
    ///
    /// # Errors
    ///
    /// [`StoreError::Read`] as [`domain`](Self::domain);
    /// [`StoreError::Write`] when the file cannot be written (nothing
    /// changed, in memory or on disk).
    pub fn modify(
        &mut self,
        domain: &str,
        edit: impl FnOnce(&mut IniDocument) -> bool,
    ) -> Result<bool, StoreError> {
        let mut doc = self.domain(domain)?.clone();
        if !edit(&mut doc) {
            return Ok(false);
        }
        let path = self.path_of(domain);
        write_atomically(&self.dir, &path, &doc.to_bytes())
            .map_err(|source| StoreError::Write { path, source })?;
        self.domains.insert(domain.to_owned(), doc);
        Ok(true)
    }

    /// Reads `domain`'s file again (someone edited it) and returns what
    /// changed from the version in memory; nothing when the domain was
    /// never loaded.
    ///
    /// # Errors
    ///
    /// [`StoreError::Read`] when the file exists but cannot be read (the
    /// version in memory stays).
    pub fn reload(&mut self, domain: &str) -> Result<Vec<Change>, StoreError> {
        if !self.is_loaded(domain) {
            return Ok(Vec::new());
        }
        let new = self.read_file(domain)?;
        let old = self.domains.insert(domain.to_owned(), new);
        let changes = match old {
            Some(old) => old.diff(&self.domains[domain]),
            None => Vec::new(),
        };
        Ok(changes)
    }

    /// The domains in memory.
    pub fn loaded_domains(&self) -> Vec<String> {
        self.domains.keys().cloned().collect()
    }

    fn read_file(&self, domain: &str) -> Result<IniDocument, StoreError> {
        let path = self.path_of(domain);
        match fs::read(&path) {
            Ok(bytes) => Ok(IniDocument::parse(&bytes)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(IniDocument::new()),
            Err(source) => Err(StoreError::Read { path, source }),
        }
    }
}

/// Replaces `path` (in `dir`) with `contents`: temporary file, write, fsync,
/// rename, fsync of the directory.
fn write_atomically(dir: &Path, path: &Path, contents: &[u8]) -> io::Result<()> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        ".{file_name}.tmp-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path().join("config")).unwrap();
        assert!(store.domain("Terminal").unwrap().is_empty());
        assert!(!dir.path().join("config/Terminal.ini").exists());
        assert!(
            store
                .modify("Terminal", |d| d.set(b"Window", b"Width", b"80"))
                .unwrap()
        );
        assert!(
            !store
                .modify("Terminal", |d| d.set(b"Window", b"Width", b"80"))
                .unwrap()
        );
        let text = fs::read_to_string(dir.path().join("config/Terminal.ini")).unwrap();
        assert_eq!(text, "[Window]\nWidth=80\n");
        let mut again = Store::open(dir.path().join("config")).unwrap();
        assert_eq!(
            again.domain("Terminal").unwrap().get(b"Window", b"Width"),
            Some(&b"80"[..])
        );
        // Only the domain's file is left: no temporary files.
        let names: Vec<_> = fs::read_dir(dir.path().join("config"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["Terminal.ini"]);
    }

    #[test]
    fn removes_leftover_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".Terminal.ini.tmp-1-2"), "[Win").unwrap();
        fs::write(dir.path().join("Terminal.ini"), "[Window]\nWidth=80\n").unwrap();
        Store::open(dir.path()).unwrap();
        assert!(!dir.path().join(".Terminal.ini.tmp-1-2").exists());
        assert!(dir.path().join("Terminal.ini").exists());
    }

    #[test]
    fn reload_reports_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store.modify("App", |d| d.set(b"G", b"k", b"1")).unwrap();
        // Never loaded: nothing to compare with.
        assert!(store.reload("Other").unwrap().is_empty());
        fs::write(dir.path().join("App.ini"), "[G]\nk=2\n").unwrap();
        assert_eq!(
            store.reload("App").unwrap(),
            [Change::Changed {
                group: b"G".to_vec(),
                key: b"k".to_vec(),
                value: b"2".to_vec()
            }]
        );
        assert!(store.reload("App").unwrap().is_empty());
    }

    #[test]
    fn a_failed_write_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        let mut store = Store::open(&config).unwrap();
        // The directory vanished: the temporary file cannot be created.
        fs::remove_dir(&config).unwrap();
        let error = store
            .modify("Gone", |d| d.set(b"G", b"k", b"v"))
            .unwrap_err();
        assert!(matches!(error, StoreError::Write { .. }), "{error}");
        assert!(error.to_string().contains("intact"), "{error}");
        assert!(store.domain("Gone").unwrap().is_empty());
    }
}
