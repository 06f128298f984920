//! Runs the benchmark once in smoke mode (a few iterations per row) so that
//! it cannot rot. No timing is asserted: only that every row it claims ran.

use std::process::Command;

use serde_json::Value;

/// The rows the issue asks for that this version measures, as
/// `(scenario, system)`: a shrinking plan fails here.
const REQUIRED: &[(&str, &str)] = &[
    ("rt-small", "raw-stream"),
    ("rt-small", "raw-seqpacket"),
    ("rt-small", "courier-blocking"),
    ("rt-small", "courier-async"),
    ("rt-small", "tokio-raw"),
    ("rt-small", "ipc-channel"),
    ("rt-small", "tarpc"),
    ("rt-small", "tonic"),
    ("one-way", "raw-stream-write-per-message"),
    ("one-way", "raw-stream-batched-64KiB"),
    ("one-way", "courier-blocking"),
    ("one-way", "courier-blocking-buffered"),
    ("one-way", "courier-async"),
    ("one-way", "ipc-channel"),
    ("bulk-4KiB", "courier-bytes"),
    ("bulk-1MiB", "courier-shared-buffer"),
    ("bulk-64MiB", "raw-stream"),
    ("bulk-64MiB", "courier-bytes"),
    ("bulk-64MiB", "courier-shared-buffer"),
    ("bulk-64MiB", "courier-bitmap"),
    ("bulk-64MiB", "ipc-channel-bytes"),
    ("bulk-64MiB", "ipc-channel-shmem"),
    ("bulk-64MiB", "fill-and-read"),
    ("many-clients-1", "courier-async"),
    ("many-clients-1000", "courier-async"),
    ("codec-message", "courier"),
    ("codec-message", "bincode"),
    ("codec-message", "postcard"),
];

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {value}"))
}

#[test]
fn smoke_mode_runs_every_row_it_claims() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let json_path = dir.path().join("bench.json");
    let output = Command::new(env!("CARGO_BIN_EXE_courier-bench"))
        .arg("--smoke")
        .arg("--json")
        .arg(&json_path)
        .output()
        .expect("courier-bench starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "courier-bench --smoke failed with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );

    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(&json_path).expect("the JSON file was written"),
    )
    .expect("the JSON file parses");
    assert_eq!(json["mode"], "smoke");
    assert_eq!(json["errors"].as_array().map(Vec::len), Some(0), "{json}");

    let rows = json["rows"].as_array().expect("rows is an array");
    let planned = json["planned"].as_array().expect("planned is an array");
    assert_eq!(rows.len(), planned.len(), "every planned row has a result");
    for plan in planned {
        let found = rows.iter().find(|row| {
            text(row, "scenario") == text(plan, "scenario")
                && text(row, "system") == text(plan, "system")
                && row["pinning"] == plan["pinning"]
        });
        let row = found.unwrap_or_else(|| panic!("no row for the planned {plan}"));
        assert!(row["runs"].as_u64().unwrap_or(0) > 0, "no samples in {row}");
        assert!(row["median_us"].is_number(), "no median in {row}");
        assert!(row["p99_us"].is_number(), "no p99 in {row}");
    }
    for (scenario, system) in REQUIRED {
        assert!(
            rows.iter()
                .any(|row| text(row, "scenario") == *scenario && text(row, "system") == *system),
            "no {scenario} / {system} row"
        );
    }
    // Every latency row runs on one core and, where the machine has two, on two.
    let one_core = rows
        .iter()
        .filter(|row| text(row, "scenario") == "rt-small" && row["pinning"] == "one-core")
        .count();
    assert_eq!(one_core, 8, "eight round-trip systems pinned to one core");
    // The raw reference of a scenario has ratio 1.
    let raw = rows
        .iter()
        .find(|row| text(row, "scenario") == "rt-small" && text(row, "system") == "raw-stream")
        .expect("a raw-stream round-trip row");
    assert_eq!(raw["ratio"].as_f64(), Some(1.0));
    // Every row of the issue is measured: nothing is listed as missing.
    assert_eq!(
        json["missing"].as_array().map(Vec::len),
        Some(0),
        "{}",
        json["missing"]
    );
    // The table is printed too.
    assert!(
        stdout.contains("| rt-small | courier-blocking |"),
        "{stdout}"
    );
}

#[test]
fn filters_run_only_the_rows_they_name() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let json_path = dir.path().join("bench.json");
    let output = Command::new(env!("CARGO_BIN_EXE_courier-bench"))
        .args([
            "--smoke",
            "--only",
            "rt-small",
            "--system",
            "courier-blocking",
        ])
        .args(["--pinning", "one-core", "--json"])
        .arg(&json_path)
        .output()
        .expect("courier-bench starts");
    assert!(
        output.status.success(),
        "courier-bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(&json_path).expect("the JSON file was written"),
    )
    .expect("the JSON file parses");
    let rows = json["rows"].as_array().expect("rows is an array");
    assert_eq!(rows.len(), 1, "{json}");
    assert_eq!(text(&rows[0], "scenario"), "rt-small");
    assert_eq!(text(&rows[0], "system"), "courier-blocking");
    assert_eq!(rows[0]["pinning"], "one-core");
}
