//! [`Report`]: how the tour talks to its reader, step by step, each action
//! with its time, and the summary at the end.

use std::fmt::Display;
use std::io::Write;
use std::time::{Duration, Instant};

/// Column where the times of actions end, so they line up.
const WIDTH: usize = 92;

/// The tour's voice on stdout. Writes that fail (a closed pipe) are
/// ignored: the tour goes on and still cleans up.
#[derive(Debug)]
pub struct Report {
    quiet: bool,
    started: Instant,
    total: usize,
    steps: Vec<(String, Duration)>,
    step_started: Option<Instant>,
}

impl Report {
    /// A report of `total` steps; `quiet` keeps only the summary.
    pub fn new(total: usize, quiet: bool) -> Report {
        Report {
            quiet,
            started: Instant::now(),
            total,
            steps: Vec::new(),
            step_started: None,
        }
    }

    fn print(&self, text: impl Display) {
        if !self.quiet {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        }
    }

    /// A paragraph of text, as it is.
    pub fn say(&self, text: impl Display) {
        self.print(text);
    }

    /// Starts the next step: `[n/total] title`.
    pub fn step(&mut self, title: &str) {
        self.end_step();
        self.steps.push((title.to_owned(), Duration::ZERO));
        self.step_started = Some(Instant::now());
        self.print(format_args!(
            "\n[{}/{}] {title}",
            self.steps.len(),
            self.total
        ));
    }

    /// Closes the current step, recording its time.
    fn end_step(&mut self) {
        if let (Some(started), Some(last)) = (self.step_started.take(), self.steps.last_mut()) {
            last.1 = started.elapsed();
        }
    }

    /// An action and how long it took: `  ✓ text ....... 1.2 ms`.
    pub fn done(&self, text: impl Display, took: Duration) {
        let text = format!("  ✓ {text}");
        let time = human(took);
        let pad = WIDTH.saturating_sub(text.chars().count() + time.len() + 1);
        self.print(format_args!("{text} {}{time}", " ".repeat(pad)));
    }

    /// A detail under an action.
    pub fn detail(&self, text: impl Display) {
        let line = format!("      {text}");
        self.print(line.trim_end());
    }

    /// Ends the last step and prints the summary: each step's time, the
    /// total, and `last` (where the picture is). Printed even when quiet.
    pub fn summary(&mut self, last: impl Display) {
        self.end_step();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "\nSummary");
        for (index, (title, took)) in self.steps.iter().enumerate() {
            let text = format!("  {}. {title}", index + 1);
            let time = human(*took);
            let pad = WIDTH.saturating_sub(text.chars().count() + time.len() + 1);
            let _ = writeln!(out, "{text} {}{time}", " ".repeat(pad));
        }
        let _ = writeln!(
            out,
            "  all {} steps passed in {}; {last}",
            self.steps.len(),
            human(self.started.elapsed())
        );
        let _ = out.flush();
    }
}

/// Runs `action` and returns its value with the time it took.
pub fn timed<T>(action: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = action();
    (value, started.elapsed())
}

/// A duration for people: `420 µs`, `12.3 ms`, `1.24 s`.
pub fn human(duration: Duration) -> String {
    let micros = duration.as_micros();
    if micros < 1_000 {
        format!("{micros} µs")
    } else if micros < 1_000_000 {
        format!("{:.1} ms", duration.as_secs_f64() * 1e3)
    } else {
        format!("{:.2} s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_micros(420)), "420 µs");
        assert_eq!(human(Duration::from_micros(12_345)), "12.3 ms");
        assert_eq!(human(Duration::from_millis(1_240)), "1.24 s");
    }
}
