//! The shared-memory pool across processes: the echo server runs in a child
//! process (this test binary started again, see `common/runtime/mod.rs`),
//! driven by the blocking driver; the client in the test uses the blocking
//! driver or the tokio one. Every test counts this process's fds.

#[path = "common/runtime/mod.rs"]
mod runtime_common;
#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use courier::Limits;
use courier::blocking::BlockingConnection;
use runtime_common::echo::{EchoClient, EchoServer, EchoServerClient};
use runtime_common::{CHILD_ENV, ServerChild, fd_check, pattern};

/// Idle timeout of the `pool-idle` child and its test's client.
const SHORT_IDLE: Duration = Duration::from_millis(100);

fn idle_limits() -> Limits {
    Limits {
        shm_idle_timeout: SHORT_IDLE,
        ..Limits::default()
    }
}

/// The `pool-big` child's limits and its tests' clients': the defaults,
/// but segments never unmapped for idleness while a test runs. The tests
/// that count segments look at them after large transfers, which a loaded
/// machine may take seconds over (a debug build copies 64 MiB slowly), and
/// the default idle timeout (5 s) could then unmap a segment under the
/// test's eyes; idleness is `tokio_idle_segments_are_unmapped_on_both_sides`'s
/// subject.
fn big_limits() -> Limits {
    Limits {
        shm_idle_timeout: Duration::from_secs(3600),
        ..Limits::default()
    }
}

/// The child: the echo server with the limits its mode names.
#[test]
fn child_server() {
    let Some(spec) = std::env::var_os(CHILD_ENV) else {
        runtime_common::child_server_main();
        return;
    };
    let spec = spec.into_string().expect("UTF-8 child spec");
    let (mode, path) = spec.split_once(':').expect("mode:path");
    let limits = match mode {
        // The default limits hold a 64 MiB `Vector<u8>` and its length.
        "pool-big" => big_limits(),
        "pool-idle" => idle_limits(),
        other => panic!("unknown child mode {other}"),
    };
    courier::init_tracing_from_env();
    let listener = std::os::unix::net::UnixListener::bind(path).expect("bind");
    println!("COURIER-READY");
    let (stream, _) = listener.accept().expect("accept");
    match runtime_common::serve_echo(stream, limits) {
        Ok(()) => println!("COURIER-RESULT: ok"),
        Err(error) => println!("COURIER-RESULT: err: {error}"),
    }
}

fn checksum(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        hash = (hash ^ u64::from_le_bytes(word)).wrapping_mul(0x100_0000_01b3);
    }
    hash
}

fn blocking_client(server: &ServerChild, limits: Limits) -> EchoServerClient<EchoClient> {
    let connection = BlockingConnection::<EchoClient, EchoServer>::builder()
        .limits(limits)
        .connect(server.path())
        .expect("connect");
    EchoServerClient::from_connection(connection)
}

#[test]
fn blocking_a_64_mib_vec_goes_there_and_back_through_the_pool() {
    let fds = fd_check();
    let server = ServerChild::spawn("pool-big");
    let client = blocking_client(&server, big_limits());
    let data = pattern(64 << 20, 1);
    let sum = checksum(&data);
    let echoed = client.echo_bytes(data).expect("echo 64 MiB");
    assert_eq!(echoed.len(), 64 << 20);
    assert_eq!(checksum(&echoed), sum);
    let stats = client.connection().pool_stats();
    assert!(stats.active);
    assert_eq!(
        (stats.sent_through_pool, stats.received_through_pool),
        (1, 1)
    );
    assert_eq!(stats.pool_fallbacks, 0);
    // The server released the request's segment before it answered.
    assert_eq!((stats.segments, stats.segments_in_use), (1, 0));
    assert_eq!(stats.peer_segments, 1);
    drop(client);
    assert_eq!(server.result(), "ok");
    fds.finish();
}

#[test]
fn blocking_many_large_messages_keep_the_pool_and_the_fds_bounded() {
    let fds = fd_check();
    let server = ServerChild::spawn("pool-big");
    let client = blocking_client(&server, big_limits());
    let template = pattern(300 << 10, 2);
    let mut fds_open = None;
    for round in 0..200u32 {
        let mut data = template.clone();
        data[..4].copy_from_slice(&round.to_le_bytes());
        let echoed = client.echo_bytes(data).expect("echo");
        assert_eq!(echoed[..4], round.to_le_bytes());
        assert!(echoed[4..] == template[4..], "round {round}");
        // After the first round (which maps the segments), no fd is added.
        match fds_open {
            None => fds_open = Some(runtime_common::open_fds()),
            Some(open) => assert_eq!(runtime_common::open_fds(), open, "round {round}"),
        }
    }
    let stats = client.connection().pool_stats();
    assert_eq!(stats.sent_through_pool, 200);
    assert_eq!(stats.received_through_pool, 200);
    assert_eq!((stats.segments, stats.bytes_mapped), (1, 1 << 20));
    assert_eq!((stats.peer_segments, stats.peer_bytes_mapped), (1, 1 << 20));
    drop(client);
    assert_eq!(server.result(), "ok");
    fds.finish();
}

#[cfg(feature = "tokio")]
mod tokio_driver {
    use std::time::Instant;

    use courier::tokio::AsyncConnection;
    use runtime_common::echo::EchoServerAsyncClient;

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    }

    async fn async_client(
        server: &ServerChild,
        limits: Limits,
    ) -> EchoServerAsyncClient<EchoClient> {
        let connection = AsyncConnection::<EchoClient, EchoServer>::builder()
            .limits(limits)
            .connect(server.path())
            .await
            .expect("connect");
        EchoServerAsyncClient::from_connection(connection)
    }

    #[test]
    fn tokio_a_64_mib_vec_goes_there_and_back_through_the_pool() {
        let fds = fd_check();
        let server = ServerChild::spawn("pool-big");
        runtime().block_on(async {
            let client = async_client(&server, big_limits()).await;
            let data = pattern(64 << 20, 3);
            let sum = checksum(&data);
            let echoed = client.echo_bytes(data).await.expect("echo 64 MiB");
            assert_eq!(checksum(&echoed), sum);
            let connection = client.connection();
            let stats = connection.pool_stats();
            assert_eq!(
                (stats.sent_through_pool, stats.received_through_pool),
                (1, 1)
            );
            connection.close();
            connection.closed().await;
        });
        assert_eq!(server.result(), "ok");
        fds.finish();
    }

    #[test]
    fn tokio_idle_segments_are_unmapped_on_both_sides() {
        let fds = fd_check();
        let server = ServerChild::spawn("pool-idle");
        runtime().block_on(async {
            let client = async_client(&server, idle_limits()).await;
            let connection = client.connection();
            let data = pattern(300 << 10, 4);
            let echoed = client.echo_bytes(data.clone()).await.expect("echo");
            assert_eq!(echoed, data);
            let stats = connection.pool_stats();
            assert_eq!(
                (stats.sent_through_pool, stats.received_through_pool),
                (1, 1)
            );
            // The client's driver drops its own segment when the timer fires;
            // the server (blocking driver, waiting for input) drops its own
            // and says so. Wait for both, bounded (generously: a loaded
            // machine may not schedule either side for a while).
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let stats = connection.pool_stats();
                if stats.segments == 0 && stats.peer_segments == 0 {
                    assert_eq!(stats.segments_dropped_idle, 1);
                    assert_eq!(stats.bytes_mapped + stats.peer_bytes_mapped, 0);
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "idle segments still mapped after 30 s: {stats:?}"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // The pool still works afterwards, with fresh segments.
            let echoed = client
                .echo_bytes(data.clone())
                .await
                .expect("echo after idle");
            assert_eq!(echoed, data);
            connection.close();
            connection.closed().await;
        });
        assert_eq!(server.result(), "ok");
        fds.finish();
    }
}
