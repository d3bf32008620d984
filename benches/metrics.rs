//! The memory the metrics hold per check and the time a `/metrics` scrape takes, at 1,000 and
//! 10,000 HTTPS checks (`cargo bench --bench metrics`; `CHECKS=N` for one size only).
//!
//! A counting allocator gives the live bytes the metrics hold after every check has had a
//! probe, its state and its four uptime windows recorded: the config is built before counting.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use watchpost::clock::Timestamp;
use watchpost::metrics::Metrics;
use watchpost::model::State;
use watchpost::probe::{Facts, HttpFacts, Outcome, Phases, Status, TlsInfo};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn outcome() -> Outcome {
    let ms = Duration::from_millis;
    Outcome {
        at: Timestamp::now(),
        status: Status::Up,
        failure: None,
        latency: ms(42),
        code: Some(200),
        phases: Phases {
            resolve: Some(ms(1)),
            connect: Some(ms(2)),
            tls: Some(ms(10)),
            processing: Some(ms(20)),
            transfer: Some(ms(9)),
        },
        tls: Some(TlsInfo {
            version: "TLS 1.3",
            earliest_expiry: Some(Timestamp(1_900_000_000_000)),
            verified_expiry: Some(Timestamp(1_900_000_000_000)),
            issuer: Some("R11 (Let's Encrypt)".into()),
            subject: Some("example.org".into()),
            fingerprint: None,
        }),
        answers: None,
        facts: Facts {
            ip: Some([192, 0, 2, 1].into()),
            lookup: Some(ms(1)),
            http: Some(HttpFacts {
                version: http::Version::HTTP_11,
                redirects: 0,
                tls: true,
                content_length: Some(1234),
                body_bytes: 1234,
                last_modified: Some(Timestamp(1_700_000_000_000)),
                body_failed: false,
            }),
        },
    }
}

fn measure(n: usize) {
    let mut toml = String::from("[server]\ntitle = \"Bench\"\n");
    for i in 0..n {
        toml.push_str(&format!(
            "[[check]]\nid = \"service-{i}\"\nname = \"Service {i}\"\ngroup = \"Group {}\"\ntype = \"http\"\nurl = \"https://s{i}.example.org/health\"\n",
            i % 20
        ));
    }
    let config = watchpost::config::parse(std::path::Path::new("bench.toml"), &toml)
        .expect("a valid config");
    let o = outcome();
    let before = LIVE.load(Ordering::Relaxed);
    let metrics = Metrics::new().expect("metrics");
    for check in &config.checks {
        metrics.set_state(check, State::Up);
        metrics.observe(check, &o);
        for (window, _) in watchpost::uptime::WINDOWS {
            metrics.set_uptime(check, window, Some(0.9995));
        }
    }
    let held = LIVE.load(Ordering::Relaxed) - before;
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..11 {
        let started = Instant::now();
        let text = metrics.render().expect("render");
        times.push(started.elapsed());
        size = text.len();
    }
    times.sort();
    let series = metrics
        .render()
        .expect("render")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    println!(
        "{n} checks: {} bytes held ({} per check), {series} series, scrape {:.1} ms median ({:.1} ms max), {} KB",
        held,
        held / n as isize,
        times[5].as_secs_f64() * 1000.0,
        times[10].as_secs_f64() * 1000.0,
        size / 1024
    );
}

fn main() {
    let sizes = match std::env::var("CHECKS").ok().and_then(|v| v.parse().ok()) {
        Some(n) => vec![n],
        None => vec![1_000, 10_000],
    };
    for n in sizes {
        measure(n);
    }
}
