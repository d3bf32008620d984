//! How the daemon's log lines look on stderr: plain text or one JSON object per line, filtered by
//! `RUST_LOG`, with a timestamp unless stderr is the journal (which stamps lines itself).
//!
//! It only sets up the subscriber once at start; it never decides what is logged or at what level.

use std::io::IsTerminal;

/// The two shapes of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `LEVEL target: message key=value…`, coloured on a terminal.
    Plain,
    /// `{"timestamp":…,"level":…,"target":…,"message":…,"key":value…}`.
    Json,
}

/// Logs to stderr in `format`, filtered by `RUST_LOG` (default `info`), without the platform
/// verifier's ERROR line for every rejected certificate: the probe's message says it, and the
/// probe logs it once per host.
pub fn init(format: LogFormat) {
    use tracing_subscriber::filter::{EnvFilter, filter_fn};
    use tracing_subscriber::fmt;
    use tracing_subscriber::prelude::*;
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let verifier_noise = filter_fn(|meta| {
        !(*meta.level() == tracing::Level::ERROR
            && meta.target().starts_with("rustls_platform_verifier"))
    });
    // journald stamps every line itself; anywhere else (a terminal, a file, a pipe) the time is ours.
    let journal = format == LogFormat::Plain && stderr_is_journal();
    let timed = (format == LogFormat::Plain && !journal).then(|| {
        fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
    });
    let untimed = journal.then(|| {
        fmt::layer()
            .without_time()
            .with_ansi(false)
            .with_writer(std::io::stderr)
    });
    let json = (format == LogFormat::Json).then(|| {
        fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(std::io::stderr)
    });
    tracing_subscriber::registry()
        .with(env)
        .with(verifier_noise)
        .with(timed)
        .with(untimed)
        .with(json)
        .init();
}

/// Whether stderr is the journal: systemd sets `JOURNAL_STREAM` to its `device:inode`, which a
/// child that inherits the variable but writes elsewhere does not match.
fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let Ok(meta) = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata())
    else {
        return false;
    };
    dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
}
