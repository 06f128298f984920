//! A small blocking driver for an any-peer connection: courier's sans-IO
//! core ([`courier::proto::Connection`]) over a Unix socket, `poll(2)` and
//! courier's `SCM_RIGHTS` calls.
//!
//! The runtime's own drivers are typed by endpoint; the `courier` command
//! knows no endpoint at compile time, so it drives the core by hand, as the
//! runtime's drivers do: write what the core queued (fds with the first
//! byte of their frame), read what arrives, feed it in, fire timers, and
//! hand out the core's events.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use courier::proto::{CloseReason, Config, Connection, Event, Introspection, RequestId, Transmit};
use courier::transport::{fail, feed_received, recv_with_fds, send_with_fds};
use courier::{Limits, PeerCredentials};
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;

/// Bytes asked of the socket per read.
const READ_BUFFER: usize = 256 << 10;

/// Why a connection attempt or an exchange failed.
#[derive(Debug)]
pub enum DriverError {
    /// `connect(2)` failed.
    Connect(io::Error),
    /// The deadline passed.
    Timeout,
    /// The connection closed (during the handshake: the handshake error).
    Closed(CloseReason),
    /// A socket call failed.
    Io(io::Error),
}

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriverError::Connect(error) => write!(f, "cannot connect: {error}"),
            DriverError::Timeout => {
                f.write_str("no answer in time (raise --timeout if the service is busy)")
            }
            DriverError::Closed(reason) => reason.fmt(f),
            DriverError::Io(error) => write!(f, "the socket failed: {error}"),
        }
    }
}

impl std::error::Error for DriverError {}

/// A transmit being written, possibly over several writes.
struct Writing {
    transmit: Transmit,
    written: usize,
}

/// An any-peer client connection to a courier service.
pub struct DynConnection {
    stream: UnixStream,
    core: Connection,
    writing: Option<Writing>,
    buffer: Vec<u8>,
    credentials: Option<PeerCredentials>,
}

impl DynConnection {
    /// Connects to the socket at `path` and completes the any-peer
    /// handshake by `deadline`.
    ///
    /// # Errors
    ///
    /// [`DriverError::Connect`] when nothing accepts the connection,
    /// [`DriverError::Closed`] with the handshake error, or
    /// [`DriverError::Timeout`].
    pub fn connect(path: &Path, deadline: Instant) -> Result<DynConnection, DriverError> {
        let stream = UnixStream::connect(path).map_err(DriverError::Connect)?;
        let mut connection = DynConnection::over(stream);
        connection.handshake(deadline)?;
        Ok(connection)
    }

    /// An any-peer client core over a connected `stream`, before its
    /// handshake.
    pub fn over(stream: UnixStream) -> DynConnection {
        let credentials = PeerCredentials::of(&stream).ok();
        DynConnection {
            stream,
            core: Connection::new(Config::any_peer(Limits::default()), Instant::now()),
            writing: None,
            buffer: vec![0; READ_BUFFER],
            credentials,
        }
    }

    /// Runs the handshake to its end.
    ///
    /// # Errors
    ///
    /// As [`DynConnection::connect`].
    pub fn handshake(&mut self, deadline: Instant) -> Result<(), DriverError> {
        match self.next_event(deadline)? {
            Some(Event::HandshakeComplete) => Ok(()),
            Some(Event::Closed { reason }) => Err(DriverError::Closed(reason)),
            Some(_) => Err(DriverError::Io(io::Error::other(
                "an event arrived before the handshake completed",
            ))),
            None => Err(DriverError::Timeout),
        }
    }

    /// The listening process, as the kernel recorded it.
    pub fn credentials(&self) -> Option<PeerCredentials> {
        self.credentials
    }

    /// The core (for its endpoints and commands).
    pub fn core(&mut self) -> &mut Connection {
        &mut self.core
    }

    /// Asks for the service's interface and waits for it.
    ///
    /// # Errors
    ///
    /// As [`DynConnection::wait_response`]; an answer that does not decode
    /// is [`DriverError::Io`].
    pub fn introspect(&mut self, deadline: Instant) -> Result<Introspection, DriverError> {
        let request = self
            .core
            .send_introspect(Some(deadline))
            .map_err(|error| DriverError::Io(io::Error::other(error.to_string())))?;
        match self.wait_response(request, deadline, |_| {})? {
            Ok((body, _fds)) => Introspection::decode(&body).map_err(|error| {
                DriverError::Io(io::Error::other(format!(
                    "the introspection answer does not decode: {error}"
                )))
            }),
            Err(error) => Err(DriverError::Io(io::Error::other(format!(
                "the service refused to describe itself: {error}"
            )))),
        }
    }

    /// Waits for the response to `request`, giving every message that
    /// arrives meanwhile (events from the service) to `on_message`.
    ///
    /// # Errors
    ///
    /// [`DriverError::Timeout`] when `deadline` passes,
    /// [`DriverError::Closed`] when the connection closes first.
    #[allow(clippy::type_complexity)]
    pub fn wait_response(
        &mut self,
        request: RequestId,
        deadline: Instant,
        mut on_message: impl FnMut(Event),
    ) -> Result<Result<(Vec<u8>, Vec<OwnedFd>), courier::RemoteError>, DriverError> {
        loop {
            match self.next_event(deadline)? {
                Some(Event::Response { request_id, result }) if request_id == request => {
                    return Ok(result);
                }
                Some(Event::CallTimedOut { request_id }) if request_id == request => {
                    return Err(DriverError::Timeout);
                }
                Some(Event::Closed { reason }) => return Err(DriverError::Closed(reason)),
                Some(event) => on_message(event),
                None => return Err(DriverError::Timeout),
            }
        }
    }

    /// Writes everything the core queued, by `deadline`.
    ///
    /// # Errors
    ///
    /// [`DriverError::Timeout`], or [`DriverError::Closed`] when the
    /// connection closed before everything was written.
    pub fn flush(&mut self, deadline: Instant) -> Result<(), DriverError> {
        loop {
            self.write_available();
            if self.writing.is_none() && !self.core.has_transmit() {
                return Ok(());
            }
            if let Some(Event::Closed { reason }) = self.core.poll_event() {
                return Err(DriverError::Closed(reason));
            }
            if self.core.is_closed() {
                return Err(DriverError::Closed(CloseReason::Local));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(DriverError::Timeout);
            }
            self.wait(PollFlags::OUT, deadline - now)?;
        }
    }

    /// The core's next event: writes what is queued and reads the socket
    /// until there is one. `None` when `deadline` passes first.
    ///
    /// # Errors
    ///
    /// [`DriverError::Io`] when `poll(2)` fails.
    pub fn next_event(&mut self, deadline: Instant) -> Result<Option<Event>, DriverError> {
        loop {
            let blocked_writing = !self.write_available();
            if let Some(event) = self.core.poll_event() {
                return Ok(Some(event));
            }
            let now = Instant::now();
            if let Some(timer) = self.core.poll_timeout() {
                if timer <= now {
                    self.core.handle_timeout(now);
                    continue;
                }
            }
            if now >= deadline {
                return Ok(None);
            }
            let until = match self.core.poll_timeout() {
                Some(timer) => timer.min(deadline),
                None => deadline,
            };
            let mut interest = PollFlags::IN;
            if blocked_writing {
                interest |= PollFlags::OUT;
            }
            let ready = self.wait(interest, until - now)?;
            if ready.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
                self.read_available();
            }
        }
    }

    /// Waits up to `wait` for `interest`; returns what is ready.
    fn wait(&self, interest: PollFlags, wait: Duration) -> Result<PollFlags, DriverError> {
        let timeout = Timespec::try_from(wait.min(Duration::from_secs(3600))).unwrap_or(Timespec {
            tv_sec: 3600,
            tv_nsec: 0,
        });
        let mut fds = [PollFd::from_borrowed_fd(self.stream.as_fd(), interest)];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(_) => Ok(fds[0].revents()),
            Err(Errno::INTR) => Ok(PollFlags::empty()),
            Err(errno) => Err(DriverError::Io(errno.into())),
        }
    }

    /// Reads what the socket holds into the core, without waiting.
    fn read_available(&mut self) {
        for _ in 0..64 {
            if self.core.is_closed() {
                return;
            }
            let mut fds = Vec::new();
            let result = recv_with_fds(&self.stream, &mut self.buffer, &mut fds);
            if !feed_received(&mut self.core, Instant::now(), result, &self.buffer, fds) {
                return;
            }
        }
    }

    /// Writes what the core queued until the socket is full. Returns
    /// `false` when something is left to write (the socket is full).
    fn write_available(&mut self) -> bool {
        loop {
            if self.core.is_closed() {
                self.writing = None;
                return true;
            }
            if self.writing.is_none() {
                self.writing = self.core.poll_transmit().map(|transmit| Writing {
                    transmit,
                    written: 0,
                });
            }
            let Some(writing) = self.writing.as_mut() else {
                return true;
            };
            let result = {
                let fds: Vec<BorrowedFd<'_>> = if writing.written == 0 {
                    writing.transmit.fds.iter().map(AsFd::as_fd).collect()
                } else {
                    Vec::new()
                };
                send_with_fds(
                    &self.stream,
                    &writing.transmit.bytes[writing.written..],
                    &fds,
                )
            };
            match result {
                Ok(n) => {
                    // The fds went with these bytes: our copies can go.
                    writing.transmit.fds.clear();
                    writing.written += n;
                    if writing.written >= writing.transmit.bytes.len() {
                        self.writing = None;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return false,
                Err(error) => {
                    self.writing = None;
                    fail(&mut self.core, error);
                    return true;
                }
            }
        }
    }
}
