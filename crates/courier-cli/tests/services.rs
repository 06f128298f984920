//! `courier list`, `introspect` and `call` against a real service: the echo
//! service of tests/ipc/Echo.ipc, in a child process (this test binary
//! started again), driven by running the `courier` binary as a subprocess.

mod support;

use std::io::Write;
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use support::{EchoService, SERVICE, courier};

const CHILD: &str = "echo_service_child";

/// In the child started by [`EchoService::start`]: serves. In a normal run:
/// nothing.
#[test]
fn echo_service_child() {
    support::serve_if_child();
}

fn start() -> EchoService {
    EchoService::start(CHILD)
}

fn magic(name: &str) -> u32 {
    courier_idl::magic::endpoint_magic(name)
}

/// `courier call echo ARGS... --json`, as JSON.
fn call_json(service: &EchoService, args: &[&str]) -> Json {
    let mut all = vec!["call", SERVICE];
    all.extend_from_slice(args);
    all.push("--json");
    service.courier(&all).json()
}

// ----- list -----

#[test]
fn list_shows_live_stale_and_silent_sockets_and_ignores_other_files() {
    let service = start();
    // A socket nobody listens on any more: bound, then dropped.
    drop(UnixListener::bind(service.portal.join("gone")).expect("bind gone"));
    // A socket that accepts (the kernel queues the connection) but never
    // says hello.
    let mute = UnixListener::bind(service.portal.join("mute")).expect("bind mute");
    std::fs::write(service.portal.join("notes.txt"), "not a socket").unwrap();
    // A socket that answers something else, once per `courier list` below.
    let web = UnixListener::bind(service.portal.join("web")).expect("bind web");
    let _web = std::thread::spawn(move || {
        for stream in web.incoming().take(2) {
            let mut stream = stream.expect("accept");
            stream.write_all(b"HTTP/1.1 400 Bad Request\r\n").unwrap();
            // Until the prober hangs up.
            let _ = std::io::copy(&mut stream, &mut std::io::sink());
        }
    });

    // All sockets are tried at once, so `mute` costs the timeout once; the
    // live service answers well before it, however loaded the machine.
    let json = service
        .courier(&["list", "--json", "--timeout", "5"])
        .json();
    let entries = json.as_array().expect("an array");
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["echo", "gone", "mute", "web"], "{json:#}");
    let by_name = |name: &str| entries.iter().find(|e| e["name"] == name).unwrap();

    let echo = by_name("echo");
    assert_eq!(echo["status"], "live");
    assert_eq!(echo["pid"], service.pid());
    assert_eq!(echo["uid"], rustix::process::geteuid().as_raw());
    assert_eq!(echo["path"], service.socket.display().to_string());
    assert_eq!(
        echo["endpoints"],
        json!([
            {"name": "EchoServer", "magic": magic("EchoServer")},
            {"name": "EchoClient", "magic": magic("EchoClient")},
        ])
    );
    let gone = by_name("gone");
    assert_eq!(gone["status"], "stale");
    assert_eq!(gone["pid"], Json::Null);
    assert_eq!(gone["uid"], rustix::process::geteuid().as_raw());
    assert_eq!(by_name("mute")["status"], "silent");
    let web = by_name("web");
    assert_eq!(web["status"], "not courier");
    assert_eq!(web["pid"], std::process::id());
    assert!(
        web["detail"]
            .as_str()
            .unwrap()
            .contains("[48 54 54 50], not `CRIR`"),
        "{web}"
    );

    // `mute` closed: refused at once, so a generous timeout costs nothing.
    drop(mute);
    let table = service.courier(&["list", "--timeout", "30"]).ok();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    assert!(lines[0].starts_with("NAME"), "{table}");
    let status_column = lines[0].find("STATUS").unwrap();
    for (line, status) in lines[1..]
        .iter()
        .zip(["live", "stale", "stale", "not courier"])
    {
        assert_eq!(
            &line[status_column..status_column + status.len()],
            status,
            "{table}"
        );
    }
    assert!(
        lines[1].contains(&format!("EchoServer ({})", magic("EchoServer"))),
        "{table}"
    );
    assert!(lines[1].contains(&service.pid().to_string()), "{table}");
}

/// No service has run in this session: the portal directory does not
/// exist. That is an empty list, not an error.
#[test]
fn list_of_a_missing_directory_is_empty_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    // Found through the environment, as `courier list` finds it by default.
    let run = courier(&missing, &["list"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        run.stdout,
        format!("no services in {}\n", missing.display()),
        "{run:#?}"
    );
    assert!(
        run.stderr.starts_with(&format!(
            "note: the portal directory `{}` does not exist: no courier service has run here",
            missing.display()
        )),
        "{run:#?}"
    );
    let run = courier(
        dir.path(),
        &["list", "--json", "--portal-dir", missing.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stdout.trim(), "[]", "{run:#?}");
    assert!(run.stderr.contains("does not exist"), "{run:#?}");
}

#[test]
fn list_of_a_file_that_is_no_directory_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("portal");
    std::fs::write(&file, "not a directory").unwrap();
    let run = courier(&file, &["list"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains(&format!(
            "cannot read the portal directory `{}`",
            file.display()
        )),
        "{run:#?}"
    );
    assert_eq!(run.stdout, "", "{run:#?}");
}

#[test]
fn list_timeout_is_checked_like_calls() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["-1", "nan", "soon"] {
        let run = courier(dir.path(), &["list", &format!("--timeout={bad}")]);
        assert_eq!(run.code, 2, "--timeout {bad}: {run:#?}");
        assert!(run.stderr.contains("--timeout"), "{run:#?}");
    }
    let run = courier(dir.path(), &["list", "--timeout", "0.5"]);
    assert_eq!(run.code, 0, "{run:#?}");
}

// ----- introspect -----

#[test]
fn introspect_prints_ipc_text_that_parses_with_the_right_magics() {
    let service = start();
    let text = service.courier(&["introspect", SERVICE]).ok();
    let (ast, diagnostics) = courier_idl::parse(&text);
    assert!(diagnostics.is_empty(), "{diagnostics:?}\n{text}");
    let endpoints: Vec<(String, u32)> = ast
        .endpoints
        .iter()
        .map(|e| (e.name.name.clone(), e.magic()))
        .collect();
    assert_eq!(
        endpoints,
        [
            ("EchoServer".to_owned(), magic("EchoServer")),
            ("EchoClient".to_owned(), magic("EchoClient")),
        ]
    );
    assert!(
        text.contains("\n    read_file([File] file) => (String contents)\n"),
        "{text}"
    );
    assert!(
        text.ends_with("endpoint EchoClient\n{\n    announced(String text) =|\n}\n"),
        "{text}"
    );

    // By path, as JSON.
    let json = service
        .courier(&["introspect", service.socket.to_str().unwrap(), "--json"])
        .json();
    assert_eq!(json["definition"], Json::String(text));
    assert_eq!(
        json["endpoints"],
        json!([
            {"name": "EchoServer", "magic": magic("EchoServer")},
            {"name": "EchoClient", "magic": magic("EchoClient")},
        ])
    );
}

#[test]
fn introspect_of_a_missing_service_fails_with_exit_1() {
    let service = start();
    let run = service.courier(&["introspect", "nobody"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("is the service running?"), "{run:#?}");
}

// ----- call -----

#[test]
fn call_round_trips_every_integer_width() {
    let service = start();
    let words = [
        "-128",
        "-32768",
        "-2147483648",
        "-9223372036854775808",
        "255",
        "65535",
        "4294967295",
        "18446744073709551615",
    ];
    let mut args = vec!["integers"];
    args.extend(words);
    let response = call_json(&service, &args);
    assert_eq!(response["message"], "integers_response", "{response:#}");
    assert_eq!(
        response["args"],
        json!({
            "a": -128, "b": -32768, "c": -2147483648_i64, "d": i64::MIN,
            "e": 255, "f": 65535, "g": 4294967295_u64, "h": u64::MAX,
        })
    );
    // The human form: `name = value` lines.
    let mut args = vec!["call", SERVICE, "integers"];
    args.extend(["1", "2", "3", "4", "0x10", "6", "7", "8"]);
    assert_eq!(
        service.courier(&args).ok(),
        "a = 1\nb = 2\nc = 3\nd = 4\ne = 16\nf = 6\ng = 7\nh = 8\n"
    );
}

#[test]
fn call_round_trips_floats_bools_strings_and_bytes() {
    let service = start();
    let response = call_json(&service, &["floats", "1.5", "-0.25", "true"]);
    assert_eq!(
        response["args"],
        json!({"x": 1.5, "y": -0.25, "flag": true})
    );

    let response = call_json(&service, &["texts", "héllo wörld", "raw bytes"]);
    assert_eq!(
        response["args"],
        json!({"text": "héllo wörld", "bytes": "raw bytes"})
    );

    // By name, in any order.
    let response = call_json(&service, &["texts", "bytes=b", "text=a=1"]);
    assert_eq!(response["args"], json!({"text": "a=1", "bytes": "b"}));
}

#[test]
fn call_round_trips_containers_and_optionals() {
    let service = start();
    let response = call_json(
        &service,
        &[
            "containers",
            "[1,-2,3]",
            r#"{"one":[1,2],"none":[]}"#,
            "present",
            "null",
        ],
    );
    let args = &response["args"];
    assert_eq!(args["list"], json!([1, -2, 3]));
    // A HashMap's order is the service's: compare as a map.
    assert_eq!(
        args["groups"]
            .as_object()
            .unwrap()
            .clone()
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>(),
        [
            ("none".to_owned(), json!([])),
            ("one".to_owned(), json!([1, 2]))
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(args["maybe"], "present");
    assert_eq!(args["absent"], Json::Null);
}

#[test]
fn call_round_trips_gfx_types_and_files() {
    let service = start();
    let response = call_json(&service, &["geometry", "1,2,640,480", "[-5,7]", "#ff8000"]);
    assert_eq!(
        response["args"],
        json!({
            "rect": {"x": 1, "y": 2, "width": 640, "height": 480},
            "point": {"x": -5, "y": 7},
            "color": "#ff8000ff",
        })
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contents.txt");
    std::fs::write(&file, "what the file says").unwrap();
    let at_file = format!("@{}", file.display());
    let out = service
        .courier(&["call", SERVICE, "read_file", &at_file])
        .ok();
    assert_eq!(out, "contents = \"what the file says\"\n");
}

/// Waits until the service holds exactly `expected` notes. A one-way
/// message is handled on the connection it came by, which `courier call`
/// closes once it is sent; another connection's call may be handled
/// before it. So the test waits, bounded, for it to land.
fn wait_for_notes(service: &EchoService, expected: &[&str]) {
    let client = support::client(&service.socket);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let notes = client.notes().expect("notes");
        if notes == expected {
            return;
        }
        assert!(
            notes.len() < expected.len() && Instant::now() < deadline,
            "the service holds the notes {notes:?}, expected {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(5)); // polling, not synchronising
    }
}

#[test]
fn call_sends_one_way_messages() {
    let service = start();
    let run = service.courier(&["call", SERVICE, "note", "first note"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{run:#?}");
    wait_for_notes(&service, &["first note"]);
    service.courier(&["call", SERVICE, "Note", "second"]).ok();
    wait_for_notes(&service, &["first note", "second"]);
    let response = call_json(&service, &["notes"]);
    assert_eq!(response["args"]["texts"], json!(["first note", "second"]));
}

#[test]
fn call_prints_events_on_stderr() {
    let service = start();
    let run = service.courier(&["call", SERVICE, "announce", "look"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stdout, "sent = 1\n");
    assert_eq!(run.stderr, "event: announced(text: \"look\")\n");
}

#[test]
fn call_reports_remote_errors_with_exit_1() {
    let service = start();
    let run = service.courier(&["call", SERVICE, "fail", "out of paper"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(
        run.stderr,
        "error: service `echo` answered `fail` with an error: out of paper\n"
    );
}

#[test]
fn call_reports_a_bad_argument_before_sending_anything() {
    let service = start();
    let (connections, calls) = service.stats();

    let run = service.courier(&[
        "call", SERVICE, "integers", "1", "2", "3", "4", "256", "6", "7", "8",
    ]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains("parameter `e`: expected u8"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("256"), "{run:#?}");
    // The service was asked for its interface on one connection (plus the
    // one `stats` makes), and handled no call.
    assert_eq!(service.stats(), (connections + 2, calls));

    // With the interface given locally, nothing connects at all.
    let ipc = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ipc/Echo.ipc");
    let run = service.courier(&["call", SERVICE, "floats", "1", "2", "maybe", "--ipc", ipc]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains("parameter `flag`: expected bool"),
        "{run:#?}"
    );
    assert_eq!(service.stats(), (connections + 3, calls));

    // ... and a good call with --ipc works.
    let response = call_json(&service, &["floats", "1", "2", "false", "--ipc", ipc]);
    assert_eq!(response["args"], json!({"x": 1.0, "y": 2.0, "flag": false}));
}

#[test]
fn call_usage_errors_exit_2() {
    let service = start();
    let run = service.courier(&["call", SERVICE, "no_such_method"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains("has no method `no_such_method`"),
        "{run:#?}"
    );

    let run = service.courier(&["call", SERVICE, "floats", "1"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("takes 3 arguments, got 1"), "{run:#?}");

    let run = service.courier(&["call", SERVICE, "read_file", "@/nonexistent/file"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("parameter `file`"), "{run:#?}");
}

#[test]
fn call_lists_only_callable_methods_for_an_unknown_one() {
    let service = start();
    let run = service.courier(&["call", SERVICE, "Get"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert_eq!(
        run.stderr,
        "error: service `echo` has no method `Get`; its methods are `integers`, `floats`, \
         `texts`, `containers`, `geometry`, `read_file`, `fail`, `note`, `notes`, `announce`, \
         `stats`, `tally`; `courier introspect echo` shows their parameters\n"
    );

    // A message of the client's endpoint: said so, and still only the
    // service's methods listed.
    let run = service.courier(&["call", SERVICE, "announced", "hi"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains(
            "(`announced` is a message of endpoint `EchoClient`, not of `EchoServer`, \
             which the service serves)"
        ),
        "{run:#?}"
    );
    assert!(!run.stderr.to_lowercase().contains("response"), "{run:#?}");

    // With --ipc, before connecting: every endpoint's, each named.
    let ipc = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ipc/Echo.ipc");
    let run = service.courier(&["call", SERVICE, "get", "--ipc", ipc]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains(
            "`stats`, `tally` (endpoint `EchoServer`); `announced` (endpoint `EchoClient`)"
        ),
        "{run:#?}"
    );
    assert!(!run.stderr.to_lowercase().contains("response"), "{run:#?}");

    // A response named as the method is refused as one, before its
    // "arguments" are looked at.
    let (connections, calls) = service.stats();
    let run = service.courier(&["call", SERVICE, "integers_response"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert_eq!(
        run.stderr,
        "error: `integers_response` is the response to `integers`, which the service sends \
         back; call `integers` instead\n"
    );
    assert_eq!(service.stats(), (connections + 2, calls));
}

#[test]
fn call_refuses_a_user_type_result_before_sending_anything() {
    let service = start();
    let (connections, calls) = service.stats();

    let run = service.courier(&["call", SERVICE, "tally"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.starts_with(
            "error: `tally` of `EchoServer` returns `tally` of the user type `Tally`, whose \
             layout no .ipc text gives"
        ),
        "{run:#?}"
    );
    assert!(run.stderr.contains("nothing was sent"), "{run:#?}");
    assert!(run.stderr.contains("--raw-response"), "{run:#?}");
    assert_eq!(run.stdout, "");
    // Introspected on one connection (plus the one `stats` makes); the
    // request never arrived.
    assert_eq!(service.stats(), (connections + 2, calls));

    // With the interface given locally, refused before connecting.
    let ipc = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ipc/Echo.ipc");
    let run = service.courier(&["call", SERVICE, "tally", "--ipc", ipc]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("user type `Tally`"), "{run:#?}");
    assert_eq!(service.stats(), (connections + 3, calls));
}

#[test]
fn call_with_raw_response_sends_anyway_and_prints_the_body_in_hex() {
    let service = start();
    let (_, calls) = service.stats();
    let (body, fds) = courier::codec::encode_to_parts(&support::Tally::answer()).unwrap();
    assert!(fds.is_empty());
    let hex: String = body.iter().map(|b| format!("{b:02x}")).collect();

    let response = call_json(&service, &["tally", "--raw-response"]);
    assert_eq!(
        response,
        json!({
            "endpoint": "EchoServer",
            "magic": magic("EchoServer"),
            "id": 23,
            "message": "tally_response",
            "bytes": body.len(),
            "fds": 0,
            "hex": hex,
        })
    );
    assert_eq!(service.stats().1, calls + 1);

    // For people: a hex dump; `tally`'s label shows in the ASCII column.
    let out = service
        .courier(&["call", SERVICE, "tally", "--raw-response"])
        .ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("tally_response: {} bytes, 0 fds (not decoded)", body.len()),
        "{out}"
    );
    assert!(
        lines[1].starts_with("00000000  ee ff c0 00 05 00 00 00  74 61 6c 6c 79 "),
        "{out}"
    );
    assert!(lines[1].ends_with("|........tally|"), "{out}");
    assert_eq!(lines.len(), 2, "{out}");

    // Any response can be asked for raw, decodable or not.
    let response = call_json(&service, &["floats", "1", "2", "true", "--raw-response"]);
    assert_eq!(
        response["hex"], "0000803f000000000000004001",
        "{response:#}"
    );
}

#[test]
fn call_takes_string_words_exactly_as_they_are() {
    let service = start();
    // `null` is absent only for an optional; quotes are part of a string.
    let response = call_json(&service, &["texts", "null", r#""x""#]);
    assert_eq!(response["args"], json!({"text": "null", "bytes": "\"x\""}));
    let response = call_json(&service, &["containers", "[]", "{}", "null", "null"]);
    assert_eq!(response["args"]["maybe"], Json::Null);
    let response = call_json(&service, &["containers", "[]", "{}", r#""x""#, "null"]);
    assert_eq!(response["args"]["maybe"], r#""x""#);
}

// ----- help and completions -----

#[test]
fn every_subcommand_has_help_with_examples_and_completions_work() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["list", "introspect", "call", "monitor", "completions"] {
        let out = courier(dir.path(), &[sub, "--help"]).ok();
        assert!(out.contains("Examples:"), "{sub}: {out}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let out = courier(dir.path(), &["completions", shell]).ok();
        assert!(out.contains("introspect"), "{shell}: {out}");
    }
}
