//! configd across processes: the `configd` binary serves a temporary config
//! directory in a temporary portal directory; the test is its client.
//!
//! Readiness is configd's `ready <socket>` line on stdout; events are waited
//! for with deadlines, never with sleeps.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use courier_configd::client::{Config, ConfigError, ConfigEvent, Value};
use courier_configd::ini::IniDocument;
use courier_configd::names::NameErrorKind;

/// How long an expected event may take (it comes at once; the bound is for
/// a loaded machine, and reached only by a bug).
const DEADLINE: Duration = Duration::from_secs(30);

/// A running `configd`; killed (SIGKILL) when dropped.
struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Daemon {
    fn start(args: &[&std::ffi::OsStr]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_configd"))
            .args(args)
            .env_remove("COURIER_PORTAL_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("could not start configd");
        let stdout = child.stdout.take().expect("configd's stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("could not read configd's stdout");
        let Some(socket) = line.trim_end().strip_prefix("ready ") else {
            let status = child.wait().ok();
            panic!("configd did not get ready (printed {line:?}, exited {status:?})");
        };
        Daemon {
            socket: PathBuf::from(socket),
            child,
        }
    }

    /// configd serving `config` as `ConfigServer` in `portal`.
    fn in_portal(config: &Path, portal: &Path) -> Daemon {
        Daemon::start(&[
            "--config-dir".as_ref(),
            config.as_os_str(),
            "--portal-dir".as_ref(),
            portal.as_os_str(),
        ])
    }

    fn kill(mut self) {
        self.child.kill().expect("could not kill configd");
        self.child.wait().expect("could not wait for configd");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary config directory and portal directory.
struct Dirs {
    _root: tempfile::TempDir,
    config: PathBuf,
    portal: PathBuf,
}

fn dirs() -> Dirs {
    let root = tempfile::tempdir().unwrap();
    Dirs {
        config: root.path().join("config"),
        portal: root.path().join("portal"),
        _root: root,
    }
}

/// A monitor whose events arrive on a channel.
fn monitor(config: &Config, domain: &str) -> Receiver<ConfigEvent> {
    let (send, receive) = mpsc::channel();
    config
        .monitor(domain, move |event| {
            let _ = send.send(event.clone());
        })
        .unwrap();
    receive
}

fn next(events: &Receiver<ConfigEvent>) -> ConfigEvent {
    events
        .recv_timeout(DEADLINE)
        .expect("no event within the deadline")
}

fn changed(domain: &str, group: &str, key: &str, value: Value) -> ConfigEvent {
    ConfigEvent::Changed {
        domain: domain.into(),
        group: group.into(),
        key: key.into(),
        value,
    }
}

#[test]
fn help_names_the_options() {
    let output = Command::new(env!("CARGO_BIN_EXE_configd"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--config-dir",
        "--portal-dir",
        "--socket",
        "XDG_CONFIG_HOME",
    ] {
        assert!(help.contains(option), "--help lacks {option}:\n{help}");
    }
}

#[test]
fn settings_persist_across_restarts() {
    let dirs = dirs();
    let daemon = Daemon::in_portal(&dirs.config, &dirs.portal);
    assert_eq!(daemon.socket, dirs.portal.join("config"));
    {
        let config = Config::connect_in(&dirs.portal).unwrap();
        assert_eq!(
            config.read_string("Terminal", "Window", "Title").unwrap(),
            None
        );
        assert_eq!(
            config
                .read_string_or("Terminal", "Window", "Title", "untitled")
                .unwrap(),
            "untitled"
        );
        config
            .write_string("Terminal", "Window", "Title", "Shell")
            .unwrap();
        config.write_i32("Terminal", "Window", "X", -40).unwrap();
        config
            .write_u32("Terminal", "Window", "Width", 640)
            .unwrap();
        config.write_bool("Terminal", "Font", "Bold", true).unwrap();
        config.add_group("Terminal", "Empty").unwrap();
        config.write_string("Terminal", "Gone", "k", "v").unwrap();
        config.remove_group("Terminal", "Gone").unwrap();
        config
            .write_string("Terminal", "Window", "Temp", "x")
            .unwrap();
        config.remove_key("Terminal", "Window", "Temp").unwrap();
        config.write_string("Other", "G", "k", "v").unwrap();
    }
    // The hardest stop: no chance to flush anything.
    daemon.kill();

    let _daemon = Daemon::in_portal(&dirs.config, &dirs.portal);
    let config = Config::connect_in(&dirs.portal).unwrap();
    assert_eq!(
        config
            .read_string("Terminal", "Window", "Title")
            .unwrap()
            .as_deref(),
        Some("Shell")
    );
    assert_eq!(
        config.read_i32("Terminal", "Window", "X").unwrap(),
        Some(-40)
    );
    assert_eq!(
        config
            .read_u32_or("Terminal", "Window", "Width", 1)
            .unwrap(),
        640
    );
    assert!(
        config
            .read_bool_or("Terminal", "Font", "Bold", false)
            .unwrap()
    );
    // Typed reads of what does not parse as the type are None.
    assert_eq!(config.read_u32("Terminal", "Window", "X").unwrap(), None);
    assert_eq!(
        config.read_bool("Terminal", "Window", "Title").unwrap(),
        None
    );
    assert_eq!(
        config
            .read_i32_or("Terminal", "Window", "Title", 7)
            .unwrap(),
        7
    );
    assert_eq!(
        config.list_groups("Terminal").unwrap(),
        ["Window", "Font", "Empty"]
    );
    assert_eq!(
        config.list_keys("Terminal", "Window").unwrap(),
        ["Title", "X", "Width"]
    );
    assert!(config.list_keys("Terminal", "Nope").unwrap().is_empty());
    assert!(config.list_groups("Never").unwrap().is_empty());
    assert_eq!(
        config.read_string("Other", "G", "k").unwrap().as_deref(),
        Some("v")
    );
    // One file per domain, named after it, in SerenityOS's format.
    let on_disk = std::fs::read_to_string(dirs.config.join("Terminal.ini")).unwrap();
    assert_eq!(
        on_disk,
        "[Window]\nTitle=Shell\nX=-40\nWidth=640\n\n[Font]\nBold=true\n\n[Empty]\n"
    );
    assert!(!dirs.config.join("Never.ini").exists());
}

#[test]
fn the_socket_option_binds_a_path() {
    let dirs = dirs();
    std::fs::create_dir(&dirs.portal).unwrap();
    let socket = dirs.portal.join("configd.sock");
    let daemon = Daemon::start(&[
        "--config-dir".as_ref(),
        dirs.config.as_os_str(),
        "--socket".as_ref(),
        socket.as_os_str(),
    ]);
    assert_eq!(daemon.socket, socket);
    let config = Config::connect_to(&socket).unwrap();
    config.write_bool("App", "G", "on", false).unwrap();
    assert_eq!(config.read_bool("App", "G", "on").unwrap(), Some(false));
}

#[test]
fn sigterm_stops_cleanly() {
    let dirs = dirs();
    let mut daemon = Daemon::in_portal(&dirs.config, &dirs.portal);
    let config = Config::connect_in(&dirs.portal).unwrap();
    config.write_u32("App", "G", "n", 1).unwrap();
    let pid = rustix::process::Pid::from_child(&daemon.child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = daemon.child.wait().unwrap();
    assert!(status.success(), "{status}");
    // Its clients see it go, and its socket is gone.
    assert!(matches!(
        config.read_u32("App", "G", "n"),
        Err(ConfigError::Ipc(courier::Error::Disconnected))
    ));
    assert!(!daemon.socket.exists());
}

/// Every line of a domain's file is a group header or a `key=value` of a
/// key the storm wrote, with a value it wrote: no torn file.
fn check_storm_file(path: &Path, written: &HashMap<String, HashSet<String>>) -> IniDocument {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8(bytes.clone()).expect("a torn file: not UTF-8");
    assert!(
        text.ends_with('\n'),
        "a torn file (no final newline): {text:?}"
    );
    for line in text.lines() {
        if line.is_empty() || line == "[Storm]" {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("a torn line {line:?} in {}", path.display()));
        let values = written
            .get(key)
            .unwrap_or_else(|| panic!("a key never written: {line:?}"));
        assert!(values.contains(value), "a value never written: {line:?}");
    }
    IniDocument::parse(&bytes)
}

/// Writers of the storm, each on its own connection with its own keys, so
/// that configd is always in the middle of some write when it is killed.
const STORM_WRITERS: usize = 4;

/// The keys writer `writer` changes.
fn storm_keys(writer: usize) -> [String; 3] {
    ["alpha", "beta", "gamma"].map(|k| format!("{k}{writer}"))
}

/// Acknowledged writes per round before configd is killed.
const STORM_ACKS: usize = 60;

#[test]
fn a_kill_during_a_write_storm_leaves_whole_files() {
    let dirs = dirs();
    let domains = ["StormA", "StormB"];
    // Values sent (acknowledged or not) per key.
    let written: Arc<Mutex<HashMap<String, HashSet<String>>>> = Arc::default();
    // Big files make each write take a while, so the kill lands mid-write:
    // 2 MiB of padding per domain, written first.
    let padding = format!("0-{}", "x".repeat(128 * 1024));
    let daemon = Daemon::in_portal(&dirs.config, &dirs.portal);
    let config = Config::connect_in(&dirs.portal).unwrap();
    for domain in domains {
        for n in 0..16 {
            let key = format!("pad{n}");
            config
                .write_string(domain, "Storm", &key, &padding)
                .unwrap();
            written
                .lock()
                .unwrap()
                .entry(key)
                .or_default()
                .insert(padding.clone());
        }
    }
    drop(config);
    // Each round kills configd at another moment of its writes.
    let mut daemon = Some(daemon);
    for round in 0..3 {
        let daemon = daemon
            .take()
            .unwrap_or_else(|| Daemon::in_portal(&dirs.config, &dirs.portal));
        storm_round(&dirs, daemon, round, &written);
    }

    // A new configd serves the same files and has cleaned up.
    let _daemon = Daemon::in_portal(&dirs.config, &dirs.portal);
    let config = Config::connect_in(&dirs.portal).unwrap();
    assert!(config.list_keys("StormA", "Storm").unwrap().len() > 16);
    let leftovers: Vec<_> = std::fs::read_dir(&dirs.config)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Writers storm `daemon` until [`STORM_ACKS`] writes are acknowledged,
/// then it is killed (SIGKILL); every file must then parse, hold only
/// values that were written, and hold every acknowledged write.
fn storm_round(
    dirs: &Dirs,
    daemon: Daemon,
    round: usize,
    written: &Arc<Mutex<HashMap<String, HashSet<String>>>>,
) {
    let domains = ["StormA", "StormB"];
    // The last acknowledged write per domain and key.
    let acknowledged: Arc<Mutex<HashMap<(String, String), String>>> = Arc::default();
    let acks = Arc::new(AtomicUsize::new(0));
    let (enough_sender, enough) = mpsc::channel();
    let writers: Vec<_> = (0..STORM_WRITERS)
        .map(|writer| {
            let config = Config::connect_in(&dirs.portal).unwrap();
            let written = Arc::clone(written);
            let acknowledged = Arc::clone(&acknowledged);
            let acks = Arc::clone(&acks);
            let enough = enough_sender.clone();
            std::thread::spawn(move || {
                let keys = storm_keys(writer);
                for n in 1.. {
                    let domain = domains[n % 2];
                    let key = &keys[n % 3];
                    let value = format!("{n}-storm-{writer}-{round}");
                    written
                        .lock()
                        .unwrap()
                        .entry(key.clone())
                        .or_default()
                        .insert(value.clone());
                    if config.write_string(domain, "Storm", key, &value).is_err() {
                        return n - 1;
                    }
                    acknowledged
                        .lock()
                        .unwrap()
                        .insert((domain.to_owned(), key.clone()), value);
                    if acks.fetch_add(1, Ordering::SeqCst) + 1 == STORM_ACKS {
                        let _ = enough.send(());
                    }
                }
                0
            })
        })
        .collect();
    enough
        .recv_timeout(Duration::from_secs(60))
        .expect("the storm's writes did not complete within 60 s");
    daemon.kill();
    let acknowledged_writes: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(acknowledged_writes >= STORM_ACKS, "{acknowledged_writes}");

    let written = written.lock().unwrap();
    let acknowledged = acknowledged.lock().unwrap();
    for domain in domains {
        let doc = check_storm_file(&dirs.config.join(format!("{domain}.ini")), &written);
        // Durable: every acknowledged write is on disk (or a later one).
        for key in (0..STORM_WRITERS).flat_map(storm_keys) {
            let Some(acked) = acknowledged.get(&(domain.to_owned(), key.clone())) else {
                continue;
            };
            let on_disk = doc
                .get(b"Storm", key.as_bytes())
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_else(|| panic!("{domain}: {key} acknowledged but not on disk"));
            let serial = |v: &str| v.split('-').next().unwrap().parse::<usize>().unwrap();
            assert!(
                on_disk.ends_with(&format!("-{round}")) && serial(&on_disk) >= serial(acked),
                "round {round}: {domain}: {key} is {on_disk} on disk, but {acked} was acknowledged"
            );
        }
    }
}

#[test]
fn monitoring_clients_hear_of_changes_by_others() {
    let dirs = dirs();
    let _daemon = Daemon::in_portal(&dirs.config, &dirs.portal);
    let watcher = Config::connect_in(&dirs.portal).unwrap();
    let writer = Config::connect_in(&dirs.portal).unwrap();
    let events = monitor(&watcher, "Shared");
    let other_domain = monitor(&watcher, "Elsewhere");

    // The watcher's own write is not reported back to it...
    watcher.write_string("Shared", "G", "mine", "1").unwrap();
    // ...but the writer's are, typed as written, in order.
    writer.write_string("Shared", "G", "name", "Ada").unwrap();
    writer.write_i32("Shared", "G", "x", -3).unwrap();
    writer.write_u32("Shared", "G", "w", 7).unwrap();
    writer.write_bool("Shared", "G", "b", true).unwrap();
    // Writing the same value again changes nothing and says nothing.
    writer.write_bool("Shared", "G", "b", true).unwrap();
    writer.remove_key("Shared", "G", "x").unwrap();
    writer.remove_key("Shared", "G", "x").unwrap();
    writer.add_group("Shared", "New").unwrap();
    writer.remove_group("Shared", "New").unwrap();
    writer.write_string("Unwatched", "G", "k", "v").unwrap();
    writer.write_string("Shared", "G", "last", "end").unwrap();

    let expected = [
        changed("Shared", "G", "name", Value::String("Ada".into())),
        changed("Shared", "G", "x", Value::I32(-3)),
        changed("Shared", "G", "w", Value::U32(7)),
        changed("Shared", "G", "b", Value::Bool(true)),
        ConfigEvent::RemovedKey {
            domain: "Shared".into(),
            group: "G".into(),
            key: "x".into(),
        },
        ConfigEvent::AddedGroup {
            domain: "Shared".into(),
            group: "New".into(),
        },
        ConfigEvent::RemovedGroup {
            domain: "Shared".into(),
            group: "New".into(),
        },
        changed("Shared", "G", "last", Value::String("end".into())),
    ];
    for want in expected {
        assert_eq!(next(&events), want);
    }
    // Nothing for the other monitored domain, nor for the unwatched one:
    // a write there and its event show that nothing came before.
    writer.write_string("Elsewhere", "G", "k", "v").unwrap();
    assert_eq!(
        next(&other_domain),
        changed("Elsewhere", "G", "k", Value::String("v".into()))
    );
    assert!(events.try_recv().is_err());

    // A callback may call configd itself.
    let (send, receive) = mpsc::channel();
    let reader = Arc::new(Config::connect_in(&dirs.portal).unwrap());
    let inner = Arc::clone(&reader);
    reader
        .monitor("Shared", move |_| {
            let _ = send.send(inner.read_string("Shared", "G", "name"));
        })
        .unwrap();
    writer.write_string("Shared", "G", "name", "Grace").unwrap();
    let read = receive.recv_timeout(DEADLINE).expect("no callback in time");
    assert_eq!(read.unwrap().as_deref(), Some("Grace"));
}

/// `config` broke its pledge: configd refuses what it sent next (a message
/// may be read before the connection closes), then it is disconnected.
fn assert_expelled(config: &Config) {
    match config.list_groups("Mine") {
        Err(ConfigError::Ipc(courier::Error::Disconnected)) => {}
        Err(ConfigError::Ipc(courier::Error::Remote(remote))) => {
            assert!(remote.to_string().contains("pledge"), "{remote}");
            let second = config.list_groups("Mine");
            assert!(
                matches!(second, Err(ConfigError::Ipc(courier::Error::Disconnected))),
                "{second:?}"
            );
        }
        other => panic!("a client that broke its pledge was served: {other:?}"),
    }
}

#[test]
fn pledges_restrict_and_violations_disconnect() {
    let dirs = dirs();
    let _daemon = Daemon::in_portal(&dirs.config, &dirs.portal);
    let admin = Config::connect_in(&dirs.portal).unwrap();
    admin.write_string("Secret", "G", "k", "hidden").unwrap();

    // Within the pledge, everything works.
    let app = Config::connect_in(&dirs.portal).unwrap();
    app.pledge(&["Mine"]).unwrap();
    app.write_string("Mine", "G", "k", "v").unwrap();
    assert_eq!(
        app.read_string("Mine", "G", "k").unwrap().as_deref(),
        Some("v")
    );
    // Outside it, the client is disconnected.
    assert!(app.write_string("Secret", "G", "k", "stolen").is_err());
    assert_expelled(&app);
    assert_eq!(
        admin.read_string("Secret", "G", "k").unwrap().as_deref(),
        Some("hidden")
    );

    // Reads outside the pledge too.
    let reader = Config::connect_in(&dirs.portal).unwrap();
    reader.pledge(&["Mine"]).unwrap();
    assert!(reader.read_string("Secret", "G", "k").is_err());
    assert!(reader.list_groups("Mine").is_err());

    // Pledging twice disconnects.
    let twice = Config::connect_in(&dirs.portal).unwrap();
    twice.pledge(&["Mine"]).unwrap();
    twice.pledge(&["Mine", "Secret"]).unwrap();
    assert_expelled(&twice);

    // Permissive mode: refused quietly, still connected.
    let quiet = Config::connect_in(&dirs.portal).unwrap();
    quiet.enable_permissive_mode().unwrap();
    quiet.pledge(&["Mine"]).unwrap();
    assert_eq!(quiet.read_string("Secret", "G", "k").unwrap(), None);
    assert!(quiet.list_groups("Secret").unwrap().is_empty());
    quiet.write_string("Secret", "G", "k", "stolen").unwrap();
    assert_eq!(
        quiet.read_string("Mine", "G", "k").unwrap().as_deref(),
        Some("v")
    );
    assert_eq!(
        admin.read_string("Secret", "G", "k").unwrap().as_deref(),
        Some("hidden")
    );

    // Permissive mode after a pledge is a violation.
    let late = Config::connect_in(&dirs.portal).unwrap();
    late.pledge(&["Mine"]).unwrap();
    late.enable_permissive_mode().unwrap();
    assert_expelled(&late);

    // The others were untouched.
    assert_eq!(admin.list_groups("Secret").unwrap(), ["G"]);
}

#[test]
fn a_file_edited_by_hand_is_picked_up() {
    let dirs = dirs();
    // The first version is there before configd starts, so no event of
    // configd's own writes is still on its way when the file is edited.
    std::fs::create_dir(&dirs.config).unwrap();
    std::fs::write(
        dirs.config.join("Hand.ini"),
        "[Window]\nWidth=80\nOld=1\n[Gone]\nk=v\n",
    )
    .unwrap();
    let _daemon = Daemon::in_portal(&dirs.config, &dirs.portal);
    let config = Config::connect_in(&dirs.portal).unwrap();
    let events = monitor(&config, "Hand");

    // Written in place, as `echo > file` or many editors do.
    std::fs::write(
        dirs.config.join("Hand.ini"),
        "; edited by hand\n[Window]\nWidth = 100\n\n[Fresh]\nk=new\n",
    )
    .unwrap();
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(next(&events));
    }
    let want = [
        ConfigEvent::RemovedGroup {
            domain: "Hand".into(),
            group: "Gone".into(),
        },
        ConfigEvent::RemovedKey {
            domain: "Hand".into(),
            group: "Window".into(),
            key: "Old".into(),
        },
        changed("Hand", "Window", "Width", Value::String("100".into())),
        ConfigEvent::AddedGroup {
            domain: "Hand".into(),
            group: "Fresh".into(),
        },
        changed("Hand", "Fresh", "k", Value::String("new".into())),
    ];
    assert_eq!(got, want);
    assert_eq!(
        config.read_i32("Hand", "Window", "Width").unwrap(),
        Some(100)
    );
    assert_eq!(config.read_string("Hand", "Window", "Old").unwrap(), None);

    // Saved through a temporary file and a rename, as careful editors do.
    let temp = dirs.config.join("Hand.ini.swp");
    std::fs::write(&temp, "[Window]\nWidth=120\n[Fresh]\nk=new\n").unwrap();
    std::fs::rename(&temp, dirs.config.join("Hand.ini")).unwrap();
    assert_eq!(
        next(&events),
        changed("Hand", "Window", "Width", Value::String("120".into()))
    );
    assert_eq!(
        config.read_u32("Hand", "Window", "Width").unwrap(),
        Some(120)
    );

    // A domain never loaded is read fresh from its file.
    std::fs::write(dirs.config.join("Cold.ini"), "[G]\nk=cold\n").unwrap();
    assert_eq!(
        config.read_string("Cold", "G", "k").unwrap().as_deref(),
        Some("cold")
    );
}

#[test]
fn bad_names_are_errors_for_the_caller() {
    let dirs = dirs();
    let _daemon = Daemon::in_portal(&dirs.config, &dirs.portal);
    let config = Config::connect_in(&dirs.portal).unwrap();

    // The client library refuses them before sending.
    for (domain, kind) in [
        ("", NameErrorKind::Empty),
        ("..", NameErrorKind::LeadingDot),
        ("../escape", NameErrorKind::Slash),
        ("a/b", NameErrorKind::Slash),
        ("/etc/passwd", NameErrorKind::Slash),
    ] {
        match config.write_string(domain, "G", "k", "v") {
            Err(ConfigError::InvalidName(error)) => assert_eq!(error.kind(), kind, "{domain:?}"),
            other => panic!("{domain:?}: {other:?}"),
        }
    }
    assert!(matches!(
        config.write_string("Ok", "G", "k", "two\nlines"),
        Err(ConfigError::InvalidName(_))
    ));

    // configd refuses them too, for a client that sends them anyway, with
    // a reason; the client stays connected.
    let raw = config.raw();
    for domain in [&b""[..], b"..", b"../escape", b"a/b", b".hidden", b"a\0b"] {
        let error = raw
            .write_string_value(domain.into(), "G".into(), "k".into(), "v".into())
            .unwrap_err();
        let courier::Error::Remote(remote) = &error else {
            panic!("{:?}: {error:?}", String::from_utf8_lossy(domain));
        };
        assert!(remote.to_string().contains("domain"), "{remote}");
        assert!(
            raw.read_string_value(domain.into(), "G".into(), "k".into())
                .is_err()
        );
    }
    let error = raw
        .write_string_value("Ok".into(), "G]".into(), "k".into(), "v".into())
        .unwrap_err();
    assert!(matches!(error, courier::Error::Remote(_)), "{error:?}");
    let error = raw
        .write_string_value("Ok".into(), "G".into(), "k=".into(), "v".into())
        .unwrap_err();
    assert!(matches!(error, courier::Error::Remote(_)), "{error:?}");
    // A bad domain in the one-way monitor_domain is ignored.
    raw.monitor_domain("../x".into()).unwrap();

    config.write_string("Ok", "G", "k", "v").unwrap();
    assert_eq!(
        config.read_string("Ok", "G", "k").unwrap().as_deref(),
        Some("v")
    );
    // Nothing was written anywhere but the config directory's own files.
    let mut names: Vec<_> = std::fs::read_dir(&dirs.config)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["Ok.ini"]);
    assert!(!dirs.config.parent().unwrap().join("escape.ini").exists());
}
