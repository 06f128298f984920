//! `courier monitor` between the echo service and a typed client, neither
//! of which knows it is there: the client connects to the service's usual
//! path, the service sees an ordinary client. Both run in other processes
//! or threads than the monitor (a subprocess of `courier`).

mod support;

use std::io::{BufReader, Read};
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileTypeExt;
use std::process::{Child, ChildStderr, Command, Stdio};

use courier::gfx::Color;
use serde_json::{Value as Json, json};
use support::{EchoService, SERVICE};

const CHILD: &str = "echo_service_child";

/// In the child started by [`EchoService::start`]: serves.
#[test]
fn echo_service_child() {
    support::serve_if_child();
}

/// `courier monitor echo --json`, started and ready.
struct Monitor {
    child: Child,
    stderr: BufReader<ChildStderr>,
    /// Reads its stdout as it comes (a full pipe would stall the monitor,
    /// and with it the traffic it forwards).
    stdout: Option<std::thread::JoinHandle<String>>,
}

impl Monitor {
    fn start(service: &EchoService) -> Monitor {
        let mut child = Command::new(env!("CARGO_BIN_EXE_courier"))
            .args(["monitor", SERVICE, "--json"])
            .env("COURIER_PORTAL_DIR", &service.portal)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn courier monitor");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let ready = support::read_marker(&mut stderr, "monitoring echo at ");
        assert!(
            ready.starts_with(&service.socket.display().to_string()),
            "{ready}"
        );
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        });
        Monitor {
            child,
            stderr,
            stdout: Some(stdout),
        }
    }

    fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, signal).expect("signal the monitor");
    }

    /// SIGINT, then its exit code and every JSON line it printed.
    fn interrupt(mut self) -> (i32, Vec<Json>, String) {
        self.signal(rustix::process::Signal::INT);
        let status = self.child.wait().expect("wait for the monitor");
        let stdout = self
            .stdout
            .take()
            .unwrap()
            .join()
            .expect("the stdout reader");
        let mut stderr = String::new();
        self.stderr.read_to_string(&mut stderr).unwrap();
        let lines = stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect();
        (status.code().unwrap_or(-1), lines, stderr)
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn messages<'a>(lines: &'a [Json], name: &str) -> Vec<&'a Json> {
    lines
        .iter()
        .filter(|l| l["event"] == "message" && l["message"] == name)
        .collect()
}

fn one<'a>(lines: &'a [Json], name: &str) -> &'a Json {
    match messages(lines, name).as_slice() {
        [line] => line,
        other => panic!(
            "{} lines for `{name}`: {other:#?}\nall: {lines:#?}",
            other.len()
        ),
    }
}

#[test]
fn monitor_shows_the_traffic_of_a_client_and_service_that_do_not_know_it_is_there() {
    let service = start_service();
    // Connected before the monitor: it keeps its direct connection.
    let direct = support::client(&service.socket);
    let hidden = service.portal.join(".echo.monitored");

    let monitor = Monitor::start(&service);
    assert!(
        std::fs::symlink_metadata(&hidden)
            .unwrap()
            .file_type()
            .is_socket()
    );

    let watched = support::client(&service.socket);
    let sum = watched.integers(-1, 2, -3, 4, 5, 6, 7, u64::MAX).unwrap();
    assert_eq!((sum.a, sum.h), (-1, u64::MAX));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("letter.txt");
    std::fs::write(&path, "dear service").unwrap();
    let file = OwnedFd::from(std::fs::File::open(&path).unwrap());
    assert_eq!(watched.read_file(file).unwrap(), "dear service");
    // Past the pool threshold (256 KiB): inline while monitored.
    let big = "x".repeat(300 << 10);
    let echoed = watched.texts(big.clone(), b"b".to_vec().into()).unwrap();
    assert_eq!(echoed.text.len(), big.len());
    watched.note("via monitor".to_owned()).unwrap();
    assert_eq!(watched.notes().unwrap(), ["via monitor"]);
    assert_eq!(watched.announce("hey".to_owned()).unwrap(), 1);
    let colour = Color::from_argb(0x11223344);
    assert_eq!(
        watched
            .geometry(Default::default(), Default::default(), colour)
            .unwrap()
            .color,
        colour
    );
    // The direct client is not seen.
    assert!(direct.floats(0.5, 0.25, true).unwrap().flag);

    let (code, lines, stderr) = monitor.interrupt();
    assert_eq!(code, 0, "{stderr}");

    // Everything is back: the service's socket at its path, nothing hidden.
    assert!(std::fs::symlink_metadata(&hidden).is_err(), "{stderr}");
    assert!(
        std::fs::symlink_metadata(&service.socket)
            .unwrap()
            .file_type()
            .is_socket()
    );
    // The monitored client was disconnected; the direct one never noticed;
    // a new client reaches the service directly.
    assert!(watched.notes().is_err());
    assert!(!direct.floats(1.0, 2.0, false).unwrap().flag);
    assert_eq!(
        support::client(&service.socket).notes().unwrap(),
        ["via monitor"]
    );

    // What the monitor printed.
    let integers = one(&lines, "integers");
    assert_eq!(integers["direction"], "client->service");
    assert_eq!(integers["kind"], "request");
    assert_eq!(integers["endpoint"], "EchoServer");
    assert_eq!(
        integers["args"],
        json!({"a": -1, "b": 2, "c": -3, "d": 4, "e": 5, "f": 6, "g": 7, "h": u64::MAX})
    );
    assert_eq!(
        (integers["fds"].as_u64(), integers["bytes"].as_u64()),
        (Some(0), Some(30))
    );
    let response = one(&lines, "integers_response");
    assert_eq!(response["direction"], "service->client");
    assert_eq!(response["kind"], "response");
    assert_eq!(response["request_id"], integers["request_id"]);
    assert_eq!(response["args"]["h"], json!(u64::MAX));

    let read = one(&lines, "read_file");
    assert_eq!(read["fds"], 1);
    assert!(read["args"]["file"]["fd"].is_number(), "{read}");
    assert_eq!(
        one(&lines, "read_file_response")["args"],
        json!({"contents": "dear service"})
    );

    let texts = one(&lines, "texts");
    assert!(
        texts["bytes"].as_u64().unwrap() > 300 << 10,
        "{}",
        texts["bytes"]
    );
    assert_eq!(
        texts["args"]["text"].as_str().map(str::len),
        Some(big.len())
    );

    let note = one(&lines, "note");
    assert_eq!(
        (note["kind"].as_str(), &note["args"]),
        (Some("one-way"), &json!({"text": "via monitor"}))
    );
    let announced = one(&lines, "announced");
    assert_eq!(announced["direction"], "service->client");
    assert_eq!(announced["endpoint"], "EchoClient");
    assert_eq!(announced["args"], json!({"text": "hey"}));
    assert_eq!(one(&lines, "geometry")["args"]["color"], "#22334411");

    assert!(
        messages(&lines, "floats").is_empty(),
        "the direct client was seen"
    );
    // One client went through, and both hellos lost their pool offer.
    assert!(lines.iter().all(|l| l["client"] == 1), "{lines:#?}");
    let hellos: Vec<&Json> = lines.iter().filter(|l| l["event"] == "hello").collect();
    assert_eq!(hellos.len(), 2, "{lines:#?}");
    assert!(
        hellos.iter().all(|h| h["pool_offer_removed"] == true),
        "{hellos:#?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l["event"] == "connected").count(),
        1
    );
}

#[test]
fn restore_puts_the_socket_back_after_a_monitor_crash() {
    let service = start_service();
    let monitor = Monitor::start(&service);
    monitor.signal(rustix::process::Signal::KILL);
    drop(monitor);
    let hidden = service.portal.join(".echo.monitored");
    assert!(std::fs::symlink_metadata(&hidden).is_ok());

    // A second monitor refuses to start over the first one's leftovers.
    let run = service.courier(&["monitor", SERVICE]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains("courier monitor --restore echo"),
        "{run:#?}"
    );

    let run = service.courier(&["monitor", "--restore", SERVICE]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(std::fs::symlink_metadata(&hidden).is_err());
    assert_eq!(
        support::client(&service.socket).notes().unwrap(),
        Vec::<String>::new()
    );

    let run = service.courier(&["monitor", "--restore", SERVICE]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("nothing to restore"), "{run:#?}");
}

#[test]
fn restore_refuses_while_a_monitor_runs() {
    let service = start_service();
    let monitor = Monitor::start(&service);
    // `list` shows the service once, marked, with the monitor's pid.
    // A generous timeout: a live service answers at once, however loaded
    // the machine.
    let list = service
        .courier(&["list", "--json", "--timeout", "30"])
        .json();
    let entries = list.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{list:#}");
    assert_eq!(entries[0]["name"], "echo");
    assert_eq!(entries[0]["status"], "live", "{list:#}");
    assert_eq!(entries[0]["monitored"], true);
    assert_eq!(entries[0]["pid"], monitor.child.id());
    assert!(
        service
            .courier(&["list", "--timeout", "30"])
            .ok()
            .contains("live (monitored)")
    );

    let run = service.courier(&["monitor", "--restore", SERVICE]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("a monitor still runs"), "{run:#?}");
    let (code, _, stderr) = monitor.interrupt();
    assert_eq!(code, 0, "{stderr}");
}

fn start_service() -> EchoService {
    EchoService::start(CHILD)
}
