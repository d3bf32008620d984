//! Loading a big config: generates `CHECKS` checks (a mix of http and tcp, named and grouped like
//! a real file, about 69 bytes each), validates the text with `config::parse` as `watchpost check`
//! and `watchpost run` do, and prints the time and the process's peak RSS.
//!
//! Run: `cargo bench --bench config`. Knobs (environment): `CHECKS` (100000), `RUNS` (3), `OUT`
//! (also write the generated file there, for `/usr/bin/time -v watchpost check --config OUT`).

use std::path::Path;
use std::time::Instant;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A config with `n` checks, every tenth of them http, in 50 groups.
fn generate(n: usize) -> String {
    let mut toml = String::from("[defaults]\ninterval = \"60s\"\n\n");
    for i in 0..n {
        let group = i % 50;
        if i % 10 == 0 {
            toml.push_str(&format!(
                "[[check]]\nid = \"c{i}\"\ngroup = \"g{group}\"\ntype = \"http\"\nurl = \"http://127.0.0.1:9/{i}\"\n\n"
            ));
        } else {
            toml.push_str(&format!(
                "[[check]]\nid = \"c{i}\"\ngroup = \"g{group}\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = 9\n\n"
            ));
        }
    }
    toml
}

/// The process's peak resident set, from /proc.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "?".to_string())
}

fn main() {
    let checks = knob("CHECKS", 100_000) as usize;
    let runs = knob("RUNS", 3).max(1);
    let toml = generate(checks);
    if let Ok(out) = std::env::var("OUT") {
        std::fs::write(&out, &toml).expect("writing OUT");
    }
    let mut best = f64::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        let config = watchpost::config::parse(Path::new("bench.toml"), &toml)
            .unwrap_or_else(|e| panic!("the generated config is invalid: {e}"));
        let took = start.elapsed().as_secs_f64();
        assert_eq!(config.checks.len(), checks);
        best = best.min(took);
    }
    println!(
        "config: {checks} checks, {:.1} MB of TOML: parsed and validated in {:.3} s (best of {runs}), peak RSS {}",
        toml.len() as f64 / 1e6,
        best,
        peak_rss()
    );
}
