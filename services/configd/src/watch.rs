//! Noticing changes made by hand: inotify on the config directory.
//!
//! The watch covers files written and closed (`IN_CLOSE_WRITE`), moved in or
//! out (`IN_MOVED_TO`, `IN_MOVED_FROM`: editors that save through a
//! temporary file, and configd itself) and deleted (`IN_DELETE`). Each event
//! on a `<domain>.ini` file reports the domain; configd then reads the file
//! again and compares it with what it holds, so its own writes (already in
//! memory) report no change and notify no one.

use std::collections::BTreeSet;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use std::thread::{self, JoinHandle};

use rustix::event::{self, PollFd, PollFlags};
use rustix::fs::inotify;
use rustix::pipe;

use crate::names;

/// What a [`Watcher`] saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen<'a> {
    /// The file of this domain changed (written, replaced or deleted).
    Domain(&'a str),
    /// The kernel dropped events (its queue overflowed): any domain may have
    /// changed.
    Anything,
}

/// A watch on a config directory.
#[derive(Debug)]
pub struct Watcher {
    fd: OwnedFd,
    dir: PathBuf,
}

impl Watcher {
    /// Starts watching `dir`.
    ///
    /// # Errors
    ///
    /// When inotify is unavailable (out of watches, not Linux) or `dir`
    /// cannot be watched.
    pub fn new(dir: &Path) -> io::Result<Watcher> {
        let fd = inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC)?;
        let flags = inotify::WatchFlags::CLOSE_WRITE
            | inotify::WatchFlags::MOVED_TO
            | inotify::WatchFlags::MOVED_FROM
            | inotify::WatchFlags::DELETE
            | inotify::WatchFlags::ONLYDIR;
        inotify::add_watch(&fd, dir, flags).map_err(|errno| {
            io::Error::new(
                io::Error::from(errno).kind(),
                format!("could not watch `{}`: {errno}", dir.display()),
            )
        })?;
        Ok(Watcher {
            fd,
            dir: dir.to_owned(),
        })
    }

    /// Calls `on_change` for each change seen, on a thread of its own,
    /// until the returned guard is dropped or an error ends the watch (it is
    /// logged). Each batch of events reports a domain once.
    ///
    /// # Errors
    ///
    /// When the thread or its stop signal cannot be created.
    pub fn spawn(self, on_change: impl Fn(Seen<'_>) + Send + 'static) -> io::Result<WatchGuard> {
        let (stop_read, stop_write) = pipe::pipe_with(pipe::PipeFlags::CLOEXEC)?;
        let thread = thread::Builder::new()
            .name("configd-watch".to_owned())
            .spawn(move || self.run(&stop_read, on_change))?;
        Ok(WatchGuard {
            stop: Some(stop_write),
            thread: Some(thread),
        })
    }

    fn run(self, stop: &OwnedFd, on_change: impl Fn(Seen<'_>)) {
        let mut buffer = vec![MaybeUninit::<u8>::uninit(); 16 * 1024];
        loop {
            let mut fds = [
                PollFd::new(&self.fd, PollFlags::IN),
                PollFd::new(stop, PollFlags::IN),
            ];
            match event::poll(&mut fds, None) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(error) => {
                    tracing::warn!("stopped watching `{}`: {error}", self.dir.display());
                    return;
                }
            }
            // Readable, or closed: either way, the guard is gone.
            if !fds[1].revents().is_empty() {
                return;
            }
            match read_batch(&self.fd, &mut buffer) {
                Ok(batch) => {
                    if batch.overflowed {
                        on_change(Seen::Anything);
                    }
                    for domain in &batch.domains {
                        on_change(Seen::Domain(domain));
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => {
                    tracing::warn!("stopped watching `{}`: {error}", self.dir.display());
                    return;
                }
            }
        }
    }
}

/// Stops a [`Watcher`]'s thread when dropped (and waits for it).
#[derive(Debug)]
pub struct WatchGuard {
    stop: Option<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        // Closing the pipe's write end wakes the thread's poll.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[derive(Debug, Default)]
struct Batch {
    domains: BTreeSet<String>,
    overflowed: bool,
}

/// Reads the events the kernel has (one `read`), or `WouldBlock`.
fn read_batch(fd: &OwnedFd, buffer: &mut [MaybeUninit<u8>]) -> io::Result<Batch> {
    let mut reader = inotify::Reader::new(fd, buffer);
    let mut batch = Batch::default();
    loop {
        let event = reader.next().map_err(io::Error::from)?;
        if event.events().contains(inotify::ReadFlags::QUEUE_OVERFLOW) {
            batch.overflowed = true;
        }
        if let Some(domain) = event.file_name().and_then(|n| domain_of(n.to_bytes())) {
            batch.domains.insert(domain.to_owned());
        }
        if reader.is_buffer_empty() {
            return Ok(batch);
        }
    }
}

/// The domain whose file is `file_name` (`Terminal.ini` is `Terminal`);
/// `None` for other files (configd's temporary files start with `.`).
pub fn domain_of(file_name: &[u8]) -> Option<&str> {
    let stem = file_name.strip_suffix(b".ini")?;
    names::validate_domain(stem).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_files() {
        assert_eq!(domain_of(b"Terminal.ini"), Some("Terminal"));
        assert_eq!(domain_of(b".Terminal.ini.tmp-1-2"), None);
        assert_eq!(domain_of(b".Terminal.ini"), None);
        assert_eq!(domain_of(b"Terminal.ini~"), None);
        assert_eq!(domain_of(b".ini"), None);
    }

    #[test]
    fn sees_a_file_written_by_hand() {
        let dir = tempfile::tempdir().unwrap();
        let watcher = Watcher::new(dir.path()).unwrap();
        std::fs::write(dir.path().join(".scratch"), "ignored").unwrap();
        std::fs::write(dir.path().join("Terminal.ini"), "[Window]\nWidth=80\n").unwrap();
        let (seen, receive) = std::sync::mpsc::channel();
        let guard = watcher
            .spawn(move |event| {
                let _ = seen.send(format!("{event:?}"));
            })
            .unwrap();
        let first = receive
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("no event within 10 s");
        assert_eq!(first, "Domain(\"Terminal\")");
        // Dropping the guard stops the thread (and the callback with it).
        drop(guard);
        assert!(receive.recv().is_err());
    }
}
