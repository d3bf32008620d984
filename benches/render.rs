//! Front-page rendering with 1,000 checks (or `CHECKS`) in 20 groups, one check in fifty down,
//! and 90 days of history each. Criterion measures one render from the rendered bars (the page
//! folds the groups without a check down), a folded group's list as its fragment route renders
//! it, the bars' own rebuild and the compression; then 1,000 timed renders give the p50 and p99
//! the budget is stated in (wall time, and the thread's time on a CPU, which a loaded machine's
//! waits for a core do not inflate), and the page's sizes. Run: `cargo bench --bench render`.

use std::time::{Duration, Instant};

use watchpost::clock::{DAY_MS, Timestamp};
use watchpost::i18n::Lang;
use watchpost::maintenance::Schedule;
use watchpost::monitor::State;
use watchpost::probe::Status;
use watchpost::snapshot::{
    BarIncident, CheckHistory, CheckNow, DayBar, History, LastProbe, Snapshot,
};
use watchpost::uptime::{DayCell, Rollup};
use watchpost::web::front::{Bars, Front, gzip, render_group, render_index};

fn main() {
    // CHECKS=50 cargo bench --bench render, for the size of a smaller page.
    let checks: usize = std::env::var("CHECKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut toml = String::from("[server]\ntitle = \"Bench status\"\n");
    for i in 0..checks {
        toml.push_str(&format!(
            "[[check]]\nid = \"c{i}\"\nname = \"Service number {i}\"\ngroup = \"Group {}\"\ntype = \"tcp\"\nhost = \"h{i}.example.org\"\nport = 443\n",
            i % 20
        ));
    }
    let config = watchpost::config::parse(std::path::Path::new("bench.toml"), &toml)
        .expect("a valid config");
    let now = Timestamp::now();
    let config = std::sync::Arc::new(config);
    let mut snapshot = Snapshot::empty(config.clone());
    let mut history = History {
        computed_at: now,
        ..History::default()
    };
    for (i, check) in config.checks.iter().enumerate() {
        let state = if i % 50 == 0 { State::Down } else { State::Up };
        let now_state = CheckNow {
            state: Some(state),
            last: Some(LastProbe {
                at: Timestamp(now.0 - 5_000),
                status: if state == State::Down {
                    Status::Down
                } else {
                    Status::Up
                },
                latency: Duration::from_millis(42),
                code: None,
                failure: None,
                tls: None,
            }),
            incident: None,
        };
        snapshot.checks.set(i, now_state);
        let days = (0..90)
            .map(|d| {
                let day = Timestamp(now.day_start().0 - (89 - d) * DAY_MS);
                let down = if (d + i as i64) % 37 == 0 { 600_000 } else { 0 };
                let r = Rollup {
                    up_ms: DAY_MS - down,
                    down_ms: down,
                    ..Rollup::default()
                };
                DayCell::new(day, Some(&r))
            })
            .collect();
        history.checks.insert(
            check.id.clone(),
            CheckHistory {
                uptime: [Some(0.9995); 4],
                bar: std::sync::Arc::new(DayBar {
                    days,
                    incidents: vec![BarIncident {
                        id: i as i64,
                        title: format!("Service number {i} is down"),
                        started_at: Timestamp(now.0 - (i as i64 % 80) * DAY_MS),
                        resolved_at: Some(Timestamp(now.0 - (i as i64 % 80) * DAY_MS + 600_000)),
                    }],
                }),
            },
        );
    }
    let history = std::sync::Arc::new(history);
    let t = Instant::now();
    let bars = Bars::build(history.clone(), None);
    let build = t.elapsed();
    let schedule = Schedule::default();
    let front = Front {
        snapshot: &snapshot,
        bars: &bars,
        schedule: &schedule,
        open: &[],
        recent: &[],
        now,
        lang: Lang::En,
    };

    let page = render_index(&front);
    let mut c = criterion::Criterion::default().configure_from_args();
    c.bench_function(&format!("render / with {checks} checks"), |b| {
        b.iter(|| render_index(&front))
    });
    c.bench_function(&format!("a folded group's list, {checks} checks"), |b| {
        b.iter(|| render_group(&snapshot, &bars, "group-1", now, Lang::En))
    });
    c.bench_function(&format!("bars, rebuilt, {checks} checks"), |b| {
        b.iter(|| Bars::build(history.clone(), None))
    });
    c.bench_function(&format!("gzip of the page, {checks} checks"), |b| {
        b.iter(|| gzip(page.as_bytes()))
    });
    c.final_summary();

    let t = Instant::now();
    let compressed = gzip(page.as_bytes()).expect("gzip").len();
    let compress = t.elapsed();
    let mut times = Vec::with_capacity(1000);
    let mut on_cpu = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let (cpu, t) = (cpu_ns(), Instant::now());
        let page = render_index(&front);
        times.push(t.elapsed());
        on_cpu.push(Duration::from_nanos(cpu_ns().saturating_sub(cpu)));
        std::hint::black_box(page);
    }
    times.sort();
    on_cpu.sort();
    let pct = |times: &[Duration], p: f64| {
        times[((times.len() as f64 * p) as usize).min(times.len() - 1)]
    };
    println!(
        "front page, {checks} checks × 90 days: render p50 {:?}, p99 {:?}, max {:?}",
        pct(&times, 0.50),
        pct(&times, 0.99),
        times[times.len() - 1]
    );
    println!(
        "  on CPU (the thread's run time, without the waits for a core on a loaded machine): p50 {:?}, p99 {:?}, max {:?}",
        pct(&on_cpu, 0.50),
        pct(&on_cpu, 0.99),
        on_cpu[on_cpu.len() - 1]
    );
    println!("bars, once per history refresh (every 10 s), first build: {build:?}");
    let (kept, kept_bytes) = bars.kept(Lang::En);
    println!("bars kept rendered after the runs: {kept}, {kept_bytes} bytes");
    let group = render_group(&snapshot, &bars, "group-1", now, Lang::En)
        .map_or(0, |(_, _, list)| list.len());
    println!("a folded group's list (/fragments/group/group-1): {group} bytes");
    println!(
        "open groups on the page: {}, checks with a row: {}",
        page.matches("<details class=\"group\" open>").count(),
        page.matches("<li class=\"check\">").count()
    );
    println!("gzip, once per render: {compress:?}");
    println!(
        "size {} bytes raw, {compressed} bytes gzipped (daemon), {} bytes gzip -6",
        page.len(),
        gzipped(&page)
    );
}
/// This thread's CPU time so far, in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`).
fn cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given and nothing else.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The gzip size of `text`, through the system's gzip (the daemon compresses with the same level).
fn gzipped(text: &str) -> String {
    use std::io::Write;
    let child = std::process::Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        return "?".into();
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(text.as_bytes());
    }
    child
        .wait_with_output()
        .map_or("?".into(), |o| o.stdout.len().to_string())
}
