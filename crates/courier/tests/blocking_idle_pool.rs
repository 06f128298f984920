//! A blocking connection that stops calling returns its shared-memory pool
//! on both sides: the process's reaper thread runs the idle timer the
//! application no longer drives. Across processes: the service is this test
//! binary started again (`pool_sink_child`), serving blocking connections
//! with a low pool threshold and a 50 ms idle timeout.
//!
//! The client stays idle after its large message: the test only polls
//! (bounded) `pool_stats`, which runs no timer, and the service's
//! `/proc/<pid>/maps`, where every mapped pool segment shows as
//! `/memfd:courier-pool-segment`.

#[path = "support/mod.rs"]
#[macro_use]
mod support;

use std::os::unix::net::UnixListener;
use std::process::Stdio;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use courier::blocking::BlockingConnection;
use courier::{Limits, NoMessages, Reply};
use support::{ChildProcess, fd_check, say, self_command};

use sink::*;

/// The environment variable that makes `pool_sink_child` a service:
/// `<connections to serve>:<socket path>`.
const CHILD_ENV: &str = "COURIER_IDLE_POOL_CHILD";

/// How long the test waits for the pools to empty before failing (the
/// idle timeout is 50 ms).
const PATIENCE: Duration = Duration::from_secs(30);

/// How long a segment may stay unused before it is unmapped, both sides.
const IDLE: Duration = Duration::from_millis(50);

/// Both sides: bodies of 4 KiB or more through the pool, segments unmapped
/// after [`IDLE`] unused.
fn limits() -> Limits {
    Limits {
        shm_threshold: Some(4096),
        shm_idle_timeout: IDLE,
        ..Limits::default()
    }
}

/// Whether no segment can have been unmapped yet: the reaper runs on its
/// own, so a segment may already be gone when the test looks, if the test
/// was not scheduled for [`IDLE`]. A segment's idle clock starts when it
/// is released, which is after `started` (taken before the send), on both
/// sides (`Instant` is `CLOCK_MONOTONIC`, the same in every process); so
/// none can have expired before `started + IDLE`. Call it after the look.
fn none_expired_since(started: Instant) -> bool {
    let elapsed = started.elapsed();
    if elapsed >= IDLE {
        eprintln!(
            "looked {elapsed:?} after the send, past the {IDLE:?} idle timeout (a loaded \
             machine): the segments may already be unmapped, only their count is checked"
        );
    }
    elapsed < IDLE
}

/// By hand, what `courier-build` would generate for:
///
/// ```text
/// endpoint PoolSink
/// {
///     store(Vector<u8> data) =|
///     echo(Vector<u8> data) => (Vector<u8> data)
///     // Answers once another connection sent `release`.
///     hold() => ()
///     release() => ()
/// }
/// ```
mod sink {
    /// The `PoolSink` endpoint.
    pub struct PoolSink;

    message!(PoolSink, 1, "store", Store { data: Vec<u8> });
    message!(PoolSink, 2, "echo", Echo { data: Vec<u8> });
    message!(PoolSink, 3, "EchoResponse", EchoResponse { data: Vec<u8> });
    message!(PoolSink, 4, "hold", Hold {});
    message!(PoolSink, 5, "HoldResponse", HoldResponse {});
    message!(PoolSink, 6, "release", Release {});
    message!(PoolSink, 7, "ReleaseResponse", ReleaseResponse {});

    impl courier::Request for Echo {
        type Response = EchoResponse;
    }
    impl courier::Request for Hold {
        type Response = HoldResponse;
    }
    impl courier::Request for Release {
        type Response = ReleaseResponse;
    }

    /// Any message for `PoolSink`.
    #[derive(Debug)]
    pub enum SinkMessage {
        Store(Store),
        Echo(Echo),
        Hold(Hold),
        Release(Release),
    }

    impl courier::Endpoint for PoolSink {
        const NAME: &'static str = "PoolSink";
        const MAGIC: u32 = 0x504f_4f4c;
        type Message = SinkMessage;

        fn decode_message(
            id: u32,
            decoder: &mut courier::Decoder<'_>,
        ) -> Result<SinkMessage, courier::DecodeError> {
            use courier::Decode;
            match id {
                1 => Store::decode(decoder).map(SinkMessage::Store),
                2 => Echo::decode(decoder).map(SinkMessage::Echo),
                4 => Hold::decode(decoder).map(SinkMessage::Hold),
                6 => Release::decode(decoder).map(SinkMessage::Release),
                _ => Err(courier::DecodeError::new(
                    courier::codec::DecodeErrorKind::UnknownMessage {
                        endpoint: "PoolSink",
                        id,
                    },
                )),
            }
        }

        fn message_name(id: u32) -> Option<&'static str> {
            const NAMES: [&str; 7] = [
                "store",
                "echo",
                "EchoResponse",
                "hold",
                "HoldResponse",
                "release",
                "ReleaseResponse",
            ];
            NAMES.get((id as usize).wrapping_sub(1)).copied()
        }
    }
}

type Client = BlockingConnection<NoMessages, PoolSink>;

// ----- the service, in the child -----

/// Whether a `release` came (the service's `hold` waits for it).
static RELEASED: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());

/// The child: serves `<n>` connections, each on its own thread, then says
/// how they ended. Does nothing in a normal test run.
#[test]
fn pool_sink_child() {
    let Some(spec) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let spec = spec.into_string().expect("UTF-8 child spec");
    let (count, path) = spec.split_once(':').expect("<n>:<path>");
    let count: usize = count.parse().expect("a connection count");
    courier::init_tracing_from_env();
    let listener = UnixListener::bind(path).expect("bind");
    say("COURIER-READY");
    let mut served = Vec::new();
    for _ in 0..count {
        let (stream, _) = listener.accept().expect("accept");
        served.push(std::thread::spawn(move || {
            let connection = BlockingConnection::<PoolSink, NoMessages>::builder()
                .limits(limits())
                .accept(stream)?;
            connection.serve(&mut |message: SinkMessage| match message {
                SinkMessage::Store(Store { data }) => {
                    assert!(!data.is_empty());
                    Reply::none()
                }
                SinkMessage::Echo(Echo { data }) => Reply::response(EchoResponse { data }),
                SinkMessage::Hold(Hold {}) => {
                    let (released, changed) = &RELEASED;
                    let mut released = released.lock().unwrap();
                    while !*released {
                        released = changed.wait(released).unwrap();
                    }
                    Reply::response(HoldResponse {})
                }
                SinkMessage::Release(Release {}) => {
                    let (released, changed) = &RELEASED;
                    *released.lock().unwrap() = true;
                    changed.notify_all();
                    Reply::response(ReleaseResponse {})
                }
            })
        }));
    }
    let outcomes: Vec<String> = served
        .into_iter()
        .map(|thread| match thread.join().expect("a serving thread") {
            Ok(()) => "ok".to_owned(),
            Err(error) => format!("err: {error}"),
        })
        .collect();
    say(&format!("COURIER-RESULT: {}", outcomes.join(",")));
}

// ----- the tests -----

/// The service, started for `connections` connections; its socket lives in
/// a temporary directory of the test.
struct Service {
    child: ChildProcess,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Service {
    fn spawn(connections: usize) -> Service {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sink.sock");
        let mut command = self_command("pool_sink_child");
        command
            .env(CHILD_ENV, format!("{connections}:{}", path.display()))
            .stdout(Stdio::piped());
        let mut child = ChildProcess::spawn(&mut command, "service");
        child.read_until("COURIER-READY");
        Service {
            child,
            path,
            _dir: dir,
        }
    }

    fn connect(&self) -> Client {
        Client::builder()
            .limits(limits())
            .connect(&self.path)
            .expect("connect")
    }

    /// Pool segments (its own and its clients') the service has mapped.
    fn mapped_segments(&self) -> usize {
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", self.child.pid()))
            .expect("read the service's maps");
        maps.lines()
            .filter(|line| line.contains("courier-pool-segment"))
            .count()
    }

    /// How the service's connections ended, once they all did.
    fn result(mut self) -> String {
        self.child.read_until("COURIER-RESULT: ")
    }
}

/// Waits (polling, bounded) until no pool memory is left: no segment in
/// the pools of `clients`, none mapped in the service. Fails with what is
/// left after [`PATIENCE`].
fn wait_for_empty_pools(service: &Service, clients: &[&Client]) {
    wait_for_pools(Some(service), clients);
}

/// [`wait_for_empty_pools`], without looking at the service when `None`.
fn wait_for_pools(service: Option<&Service>, clients: &[&Client]) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let stats: Vec<_> = clients.iter().map(|client| client.pool_stats()).collect();
        let mapped = service.map_or(0, Service::mapped_segments);
        let empty = stats
            .iter()
            .all(|s| s.segments == 0 && s.peer_segments == 0 && s.bytes_mapped == 0);
        if empty && mapped == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pool memory still held after {PATIENCE:?} of idleness: clients {stats:?}, \
             {mapped} segments mapped in the service"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Threads of this process named `courier-reaper`.
fn reaper_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("read /proc/self/task")
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.trim_end() == "courier-reaper")
        })
        .count()
}

#[test]
fn an_idle_client_returns_the_pool_memory_of_a_call_on_both_sides() {
    let fds = fd_check();
    let service = Service::spawn(1);
    let client = service.connect();
    let data = vec![0x5a; 64 << 10];
    let started = Instant::now();
    let echoed = client
        .call(&Echo { data: data.clone() })
        .expect("echo")
        .data;
    assert_eq!(echoed, data);
    let stats = client.pool_stats();
    // Both ways through the pool: the client's segment and the service's.
    assert_eq!(
        (stats.sent_through_pool, stats.received_through_pool),
        (1, 1),
        "{stats:?}"
    );
    if none_expired_since(started) {
        // Both still mapped: the memory that idleness must return.
        assert_eq!((stats.segments, stats.peer_segments), (1, 1), "{stats:?}");
    } else {
        // Mapped, or already unmapped as idle; never anything else.
        assert_eq!(
            stats.segments as u64 + stats.segments_dropped_idle,
            1,
            "{stats:?}"
        );
        assert!(stats.peer_segments <= 1, "{stats:?}");
    }
    // Now idle: nobody calls into the client.
    wait_for_empty_pools(&service, &[&client]);
    assert_eq!(client.pool_stats().segments_dropped_idle, 1);
    // The pool still works, with new segments.
    let echoed = client
        .call(&Echo { data: data.clone() })
        .expect("echo")
        .data;
    assert_eq!(echoed, data);
    assert_eq!(client.pool_stats().sent_through_pool, 2);
    drop(client);
    assert_eq!(service.result(), "ok");
    fds.finish();
}

#[test]
fn idle_one_way_senders_return_their_pool_memory_with_one_reaper_thread() {
    let fds = fd_check();
    let service = Service::spawn(2);
    let clients = [service.connect(), service.connect()];
    for (seed, client) in clients.iter().enumerate() {
        // Returns once written: the service's release comes later, and no
        // thread of this side is there to read it but the reaper.
        let started = Instant::now();
        client
            .send(&Store {
                data: vec![seed as u8; 100 << 10],
            })
            .expect("store");
        let stats = client.pool_stats();
        assert_eq!(stats.sent_through_pool, 1, "{stats:?}");
        if none_expired_since(started) {
            assert_eq!(stats.segments, 1, "{stats:?}");
        } else {
            assert_eq!(
                stats.segments as u64 + stats.segments_dropped_idle,
                1,
                "{stats:?}"
            );
        }
    }
    wait_for_empty_pools(&service, &[&clients[0], &clients[1]]);
    for client in &clients {
        assert_eq!(client.pool_stats().segments_dropped_idle, 1);
    }
    // One thread for the process, not one per connection.
    assert_eq!(reaper_threads(), 1);
    drop(clients);
    assert_eq!(service.result(), "ok,ok");
    fds.finish();
}

#[test]
fn the_reaper_is_not_held_up_by_a_thread_blocked_in_a_call() {
    let fds = fd_check();
    let service = Service::spawn(2);
    let (held, other) = (service.connect(), service.connect());
    held.send(&Store {
        data: vec![1; 100 << 10],
    })
    .expect("store");
    // A call that blocks until `other` releases it: its thread holds
    // `held`'s lock (in `recv(2)` once its own timers are done) when the
    // reaper comes to visit `held`.
    let caller = {
        let held = held.clone();
        std::thread::spawn(move || held.call(&Hold {}))
    };
    other
        .send(&Store {
            data: vec![2; 100 << 10],
        })
        .expect("store");
    // `other`'s pool empties although the reaper met a busy connection.
    wait_for_pools(None, &[&other]);
    assert!(!caller.is_finished(), "the held call returned early");
    other.call(&Release {}).expect("release");
    caller.join().unwrap().expect("hold");
    // `held`'s memory goes too (its caller ran its timers, and the service
    // unmaps its copy now that its thread is back).
    wait_for_empty_pools(&service, &[&held, &other]);
    drop((held, other));
    assert_eq!(service.result(), "ok,ok");
    fds.finish();
}
