//! `BlockingConnection::dispatch_wait`, the wait of a client's event loop,
//! and `close` from inside `serve`. Over socketpairs, the peer on a thread of
//! this process, with the generated `Echo.ipc` stubs of `courier-examples`
//! (`push(i32 value) =|` to the server, `event(i32 seq) =|` back).
//!
//! Whether a thread is asleep in the wait (not spinning, not returned) is
//! read from `/proc/self/task/<tid>/stat`, polled with a deadline: no sleep
//! is used as synchronisation.

#[path = "support/mod.rs"]
mod support;

use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use courier::blocking::BlockingConnection;
use courier::{Error, Reply};
use courier_examples::echo_client::{EchoClient, EchoClientMessage, Event};
use courier_examples::echo_server::{
    EchoServer, EchoServerClient, EchoServerMessage, NotifyThenReply, NotifyThenReplyResponse, Push,
};
use support::fd_check;

/// How long a test waits for what must happen at once before failing.
const PATIENCE: Duration = Duration::from_secs(20);

type Client = BlockingConnection<EchoClient, EchoServer>;
type Server = BlockingConnection<EchoServer, EchoClient>;

/// A connected client and the server's end, both past the handshake.
fn pair() -> (Client, Server) {
    let (client_end, server_end) = UnixStream::pair().unwrap();
    let server = std::thread::spawn(move || Server::accept(server_end).unwrap());
    let client = Client::from_stream(client_end).unwrap();
    (client, server.join().unwrap())
}

/// A server that answers every `push(value)` with `event(value)`, and
/// `notify_then_reply(count)` with events `0..count` then the response,
/// serving until the client goes.
fn spawn_event_server(server: Server) -> JoinHandle<Result<(), Error>> {
    std::thread::spawn(move || {
        let events = server.clone();
        server.serve(&mut |message: EchoServerMessage| match message {
            EchoServerMessage::Push(Push { value }) => {
                events.send(&Event { seq: value }).unwrap();
                Reply::none()
            }
            EchoServerMessage::NotifyThenReply(NotifyThenReply { count }) => {
                for seq in 0..count {
                    events.send(&Event { seq }).unwrap();
                }
                Reply::response(NotifyThenReplyResponse { count })
            }
            other => panic!("unexpected {other:?}"),
        })
    })
}

/// The calling thread's id, from `/proc/thread-self` (`<pid>/task/<tid>`).
fn current_tid() -> u32 {
    let link = std::fs::read_link("/proc/thread-self").expect("read /proc/thread-self");
    let tid = link.file_name().expect("a tid").to_string_lossy();
    tid.parse().expect("a numeric tid")
}

/// The fields of `/proc/self/task/<tid>/stat` after the command name: state
/// first; `None` once the thread has exited.
fn thread_stat(tid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 1..];
    Some(after.split_whitespace().map(str::to_owned).collect())
}

/// Clock ticks of CPU time (user + system) the thread `tid` has used.
fn cpu_ticks(tid: u32) -> u64 {
    let fields = thread_stat(tid).expect("the thread is alive");
    // After the name: state (0), ..., utime (11), stime (12).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Waits (polling, bounded) until the thread `tid` sleeps, while `running`
/// says it has not returned. Fails if it returns or never sleeps.
fn wait_until_asleep(tid: u32, running: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(running(), "the waiting thread returned instead of waiting");
        let state = thread_stat(tid).expect("the waiting thread is alive")[0].clone();
        if state == "S" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the waiting thread never went to sleep (state {state})"
        );
        std::thread::yield_now();
    }
}

/// A handler that records the `seq` of each event.
fn recorder(seqs: &mut Vec<i32>) -> impl FnMut(EchoClientMessage) -> Reply + '_ {
    move |message| {
        let EchoClientMessage::Event(Event { seq }) = message;
        seqs.push(seq);
        Reply::none()
    }
}

#[test]
fn dispatch_wait_sleeps_until_an_event_arrives_then_handles_it() {
    let fds = fd_check();
    let (client, server) = pair();
    let server = spawn_event_server(server);
    let (tid_tx, tid_rx) = mpsc::channel();
    let waiting = client.clone();
    let waiter = std::thread::spawn(move || {
        tid_tx.send(current_tid()).unwrap();
        let mut seqs = Vec::new();
        let handled = waiting.dispatch_wait(&mut recorder(&mut seqs), None);
        (handled, seqs)
    });
    let tid = tid_rx.recv().unwrap();
    // Nothing was sent yet: the waiter must be asleep in the wait, not back.
    wait_until_asleep(tid, || !waiter.is_finished());
    // Another thread sends through the same connection while it waits.
    client.send(&Push { value: 7 }).unwrap();
    let (handled, seqs) = waiter.join().unwrap();
    assert_eq!(handled.unwrap(), 1);
    assert_eq!(seqs, vec![7]);
    drop(client);
    server.join().unwrap().unwrap();
    fds.finish();
}

#[test]
fn dispatch_wait_gives_up_at_the_timeout_with_zero_and_without_spinning() {
    let fds = fd_check();
    let (client, server) = pair();
    let server = spawn_event_server(server);
    let tid = current_tid();
    let timeout = Duration::from_millis(500);
    let ticks_before = cpu_ticks(tid);
    let started = Instant::now();
    let mut seqs = Vec::new();
    let handled = client
        .dispatch_wait(&mut recorder(&mut seqs), Some(timeout))
        .unwrap();
    let elapsed = started.elapsed();
    let ticks = cpu_ticks(tid) - ticks_before;
    assert_eq!(handled, 0);
    assert!(seqs.is_empty());
    assert!(elapsed >= timeout, "returned after {elapsed:?}");
    assert!(elapsed < PATIENCE, "returned after {elapsed:?}");
    // A busy wait burns the whole 500 ms (50 ticks at 100 Hz); a sleeping
    // one next to nothing.
    assert!(
        ticks <= 5,
        "the wait used {ticks} clock ticks of CPU in {elapsed:?}"
    );
    // A zero timeout is `dispatch`: what is queued, without waiting.
    client.send(&Push { value: 1 }).unwrap();
    let deadline = Instant::now() + PATIENCE;
    let mut handled = 0;
    while handled == 0 {
        assert!(Instant::now() < deadline, "the event never came");
        handled = client
            .dispatch_wait(&mut recorder(&mut seqs), Some(Duration::ZERO))
            .unwrap();
    }
    assert_eq!((handled, &seqs[..]), (1, &[1][..]));
    drop(client);
    server.join().unwrap().unwrap();
    fds.finish();
}

#[test]
fn dispatch_wait_reports_the_peer_going_away_at_once() {
    let fds = fd_check();
    let (client, server) = pair();
    let (tid_tx, tid_rx) = mpsc::channel();
    let waiting = client.clone();
    let waiter = std::thread::spawn(move || {
        tid_tx.send(current_tid()).unwrap();
        let started = Instant::now();
        let result = waiting.dispatch_wait(&mut |_| Reply::none(), Some(Duration::from_secs(600)));
        (result, started.elapsed())
    });
    let tid = tid_rx.recv().unwrap();
    wait_until_asleep(tid, || !waiter.is_finished());
    drop(server);
    let (result, elapsed) = waiter.join().unwrap();
    assert!(matches!(result, Err(Error::Disconnected)), "{result:?}");
    assert!(elapsed < PATIENCE, "returned after {elapsed:?}");
    drop(client);
    fds.finish();
}

#[test]
fn closing_from_another_thread_ends_dispatch_wait() {
    let fds = fd_check();
    let (client, server) = pair();
    let (tid_tx, tid_rx) = mpsc::channel();
    let waiting = client.clone();
    let waiter = std::thread::spawn(move || {
        tid_tx.send(current_tid()).unwrap();
        waiting.dispatch_wait(&mut |_| Reply::none(), None)
    });
    let tid = tid_rx.recv().unwrap();
    wait_until_asleep(tid, || !waiter.is_finished());
    client.close();
    let result = waiter.join().unwrap();
    assert!(matches!(result, Err(Error::Disconnected)), "{result:?}");
    drop((client, server));
    fds.finish();
}

#[test]
fn no_message_reaches_the_handler_after_it_closes_the_connection_inside_serve() {
    let fds = fd_check();
    let (client, server) = pair();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let serving = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        let closer = server.clone();
        let mut seen = Vec::new();
        let result = server.serve(&mut |message: EchoServerMessage| {
            if let EchoServerMessage::Push(Push { value }) = message {
                seen.push(value);
                if value == 3 {
                    closer.close();
                }
            }
            Reply::none()
        });
        (result, seen, server.queued_messages(), server.is_closed())
    });
    // All five are in the server's socket before it starts serving, so its
    // first read takes them together: 4 and 5 are already received when
    // the handler closes the connection at 3.
    for value in 1..=5 {
        client.send_buffered(&Push { value }).unwrap();
    }
    client.flush().unwrap();
    go_tx.send(()).unwrap();
    let (result, seen, queued, closed) = serving.join().unwrap();
    assert_eq!(seen, vec![1, 2, 3], "messages handled after close()");
    assert!(matches!(result, Ok(())), "{result:?}");
    assert_eq!(queued, 0, "messages kept after close()");
    assert!(closed);
    // The client sees the close.
    let mut seqs = Vec::new();
    let result = client.dispatch_wait(&mut recorder(&mut seqs), Some(PATIENCE));
    assert!(matches!(result, Err(Error::Disconnected)), "{result:?}");
    drop(client);
    fds.finish();
}

#[test]
fn dispatch_after_close_hands_over_nothing_already_received() {
    let fds = fd_check();
    let (client, server) = pair();
    let server = spawn_event_server(server);
    // The events come before the response: the call queues them.
    let calls = EchoServerClient::from_connection(client.clone());
    assert_eq!(calls.notify_then_reply(2).unwrap(), 2);
    assert_eq!(client.queued_messages(), 2);
    client.close();
    assert_eq!(client.queued_messages(), 0, "messages kept after close()");
    let mut seqs = Vec::new();
    let result = client.dispatch(&mut recorder(&mut seqs));
    assert!(matches!(result, Err(Error::Disconnected)), "{result:?}");
    assert!(seqs.is_empty(), "handled after close(): {seqs:?}");
    drop((calls, client));
    server.join().unwrap().unwrap();
    fds.finish();
}
