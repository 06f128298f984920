//! Rows of results: statistics over samples, the table and the JSON file.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

/// How the two processes of a row were placed on the CPUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pinning {
    /// Both processes on CPU 0.
    OneCore,
    /// The client on CPU 0, the server on CPU 1.
    TwoCores,
    /// Left to the scheduler.
    Unpinned,
}

impl Pinning {
    /// The name in the table and the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Pinning::OneCore => "one-core",
            Pinning::TwoCores => "two-cores",
            Pinning::Unpinned => "unpinned",
        }
    }

    /// The CPUs of the client and the server, `None` when unpinned.
    pub fn cpus(self) -> (Option<usize>, Option<usize>) {
        match self {
            Pinning::OneCore => (Some(0), Some(0)),
            Pinning::TwoCores => (Some(0), Some(1)),
            Pinning::Unpinned => (None, None),
        }
    }
}

/// One line of the results.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// What was measured (`rt-small`, `one-way`, `bulk-64MiB`...).
    pub scenario: String,
    /// Who did it (`raw-stream`, `courier-blocking`...).
    pub system: String,
    /// Where the processes ran.
    pub pinning: Pinning,
    /// What one sample is: `call`, `message`, `transfer`...
    pub unit: String,
    /// Median time of one unit, in microseconds.
    pub median_us: f64,
    /// 99th percentile time of one unit, in microseconds.
    pub p99_us: f64,
    /// Samples behind the median and the p99.
    pub runs: usize,
    /// Units per second at the median (calls/s, messages/s), or `None`.
    pub per_second: Option<f64>,
    /// Bytes per second at the median (bulk and codec rows), or `None`.
    pub bytes_per_second: Option<f64>,
    /// Median over the reference row's median (same scenario and pinning,
    /// same run): above 1 is slower than the reference. `None` for the
    /// reference itself when nothing is measured against, or when the
    /// scenario has no reference.
    pub ratio: Option<f64>,
    /// The row the ratio refers to.
    pub reference: Option<String>,
    /// Anything that qualifies the numbers.
    pub note: String,
    /// Many-clients rows: growth of the server's resident memory per idle
    /// connection, in bytes.
    pub rss_per_connection_bytes: Option<f64>,
}

/// Samples of one row, in seconds per unit.
#[derive(Debug, Default)]
pub struct Samples {
    values: Vec<f64>,
}

impl Samples {
    /// Room for `n` samples.
    pub fn with_capacity(n: usize) -> Samples {
        Samples {
            values: Vec::with_capacity(n),
        }
    }

    /// Adds one sample.
    pub fn push(&mut self, elapsed: Duration) {
        self.values.push(elapsed.as_secs_f64());
    }

    /// Adds one sample that is `elapsed` over `units` units.
    pub fn push_per_unit(&mut self, elapsed: Duration, units: u64) {
        self.values
            .push(elapsed.as_secs_f64() / units.max(1) as f64);
    }

    /// The median and 99th percentile in microseconds, and the count.
    pub fn summary(mut self) -> (f64, f64, usize) {
        if self.values.is_empty() {
            return (f64::NAN, f64::NAN, 0);
        }
        self.values.sort_by(f64::total_cmp);
        let n = self.values.len();
        let at = |q: f64| {
            let index = ((n as f64 - 1.0) * q).round() as usize;
            self.values[index.min(n - 1)] * 1e6
        };
        (at(0.5), at(0.99), n)
    }
}

/// Builds a row from samples; the ratio is filled in by [`fill_ratios`].
pub fn row(
    scenario: &str,
    system: &str,
    pinning: Pinning,
    unit: &str,
    samples: Samples,
    bytes_per_unit: Option<u64>,
    note: &str,
) -> Row {
    let (median_us, p99_us, runs) = samples.summary();
    let per_second = (median_us > 0.0).then(|| 1e6 / median_us);
    Row {
        scenario: scenario.to_string(),
        system: system.to_string(),
        pinning,
        unit: unit.to_string(),
        median_us,
        p99_us,
        runs,
        per_second,
        bytes_per_second: bytes_per_unit.and_then(|b| per_second.map(|p| p * b as f64)),
        ratio: None,
        reference: None,
        note: note.to_string(),
        rss_per_connection_bytes: None,
    }
}

/// The reference system of each scenario: the raw-socket row.
fn reference_of(scenario: &str) -> Option<&'static str> {
    if scenario.starts_with("rt-small") || scenario.starts_with("bulk-") {
        Some(crate::RAW_STREAM)
    } else if scenario.starts_with("one-way") {
        Some("raw-stream-write-per-message")
    } else if scenario.starts_with("codec") {
        Some("memcpy")
    } else {
        None
    }
}

/// Sets each row's ratio to its scenario's reference row of the same
/// pinning.
pub fn fill_ratios(rows: &mut [Row]) {
    let snapshot: Vec<(String, String, Pinning, f64)> = rows
        .iter()
        .map(|r| (r.scenario.clone(), r.system.clone(), r.pinning, r.median_us))
        .collect();
    for row in rows.iter_mut() {
        let Some(reference) = reference_of(&row.scenario) else {
            continue;
        };
        let found = snapshot.iter().find(|(scenario, system, pinning, _)| {
            *scenario == row.scenario && system == reference && *pinning == row.pinning
        });
        if let Some((_, _, _, median)) = found {
            if *median > 0.0 && row.median_us.is_finite() {
                row.ratio = Some(row.median_us / median);
                row.reference = Some(reference.to_string());
            }
        }
    }
}

/// Formats microseconds with a sensible precision.
fn us(value: f64) -> String {
    if !value.is_finite() {
        "-".to_string()
    } else if value >= 1000.0 {
        format!("{:.0}", value)
    } else if value >= 10.0 {
        format!("{:.1}", value)
    } else {
        format!("{:.3}", value)
    }
}

/// Formats a rate with an SI prefix.
fn rate(value: Option<f64>, unit: &str) -> String {
    match value {
        None => String::new(),
        Some(v) if v >= 1e9 => format!("{:.2} G{unit}", v / 1e9),
        Some(v) if v >= 1e6 => format!("{:.2} M{unit}", v / 1e6),
        Some(v) if v >= 1e3 => format!("{:.1} k{unit}", v / 1e3),
        Some(v) => format!("{v:.1} {unit}"),
    }
}

/// The table: a Markdown table, so that it pastes into the docs as is.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "| scenario | system | pinning | median us | p99 us | runs | rate | ratio | note |\n",
    );
    out.push_str("|---|---|---|---:|---:|---:|---:|---:|---|\n");
    for r in rows {
        let rate = match r.bytes_per_second {
            Some(b) => rate(Some(b), "B/s"),
            None => rate(r.per_second, &format!("{}/s", r.unit)),
        };
        let ratio = r.ratio.map(|x| format!("{x:.2}x")).unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.scenario,
            r.system,
            r.pinning.name(),
            us(r.median_us),
            us(r.p99_us),
            r.runs,
            rate,
            ratio,
            r.note
        );
    }
    out
}

impl Samples {
    /// Drops the first `n` samples (the warm-up).
    pub fn drop_first(mut self, n: usize) -> Samples {
        let n = n.min(self.values.len().saturating_sub(1));
        self.values.drain(..n);
        self
    }
}
