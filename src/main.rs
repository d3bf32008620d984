//! The `watchpost` command: parses flags, sets up logging, loads the config and hands over to the
//! library. It alone decides exit codes: 0 ok, 1 runtime error, invalid config, or a down probe.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use watchpost::{config, probe};

#[derive(Parser)]
#[command(
    version,
    about = "An active uptime monitor: probes, incidents, uptime, a status page and metrics"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        /// Config file [default: ./watchpost.toml, then /etc/watchpost/watchpost.toml]
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Validate the config and print every error as file:line:column.
    Check {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Probe one target now and print the result with phase timings.
    Probe {
        /// https://…, http://…, tcp://host:port or dns://[server/]name?type=MX
        target: String,
        /// Give up after this long.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        timeout: Duration,
        /// Accept any TLS certificate (its expiry is still shown).
        #[arg(long)]
        insecure: bool,
    },
    /// Read a password on stdin and print an argon2id hash for [admin] users.
    HashPassword,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("watchpost: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Run { config } => runtime.block_on(run(config)),
        Command::Check { config } => check(config),
        Command::Probe {
            target,
            timeout,
            insecure,
        } => runtime.block_on(probe_once(&target, timeout, insecure)),
        Command::HashPassword => hash_password(),
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), without the platform verifier's
/// ERROR line for every rejected certificate: the probe's message says it, and the probe logs
/// it once per host.
fn init_logging() {
    use tracing_subscriber::filter::{EnvFilter, filter_fn};
    use tracing_subscriber::prelude::*;
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let verifier_noise = filter_fn(|meta| {
        !(*meta.level() == tracing::Level::ERROR
            && meta.target().starts_with("rustls_platform_verifier"))
    });
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    tracing_subscriber::registry()
        .with(env)
        .with(verifier_noise)
        .with(fmt)
        .init();
}

/// The config path: the flag, else ./watchpost.toml, else /etc/watchpost/watchpost.toml.
fn config_path(flag: Option<PathBuf>) -> PathBuf {
    flag.unwrap_or_else(|| {
        let local = Path::new("watchpost.toml");
        if local.exists() {
            local.to_path_buf()
        } else {
            PathBuf::from("/etc/watchpost/watchpost.toml")
        }
    })
}

fn load(flag: Option<PathBuf>) -> Option<config::Config> {
    let path = config_path(flag);
    match config::load(&path) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("{e}");
            None
        }
    }
}

fn check(flag: Option<PathBuf>) -> ExitCode {
    let Some(config) = load(flag) else {
        return ExitCode::FAILURE;
    };
    let kinds = watchpost::model::ProbeKind::ALL
        .map(|k| config.checks.iter().filter(|c| c.kind() == k).count());
    println!(
        "{}: ok, {} checks ({} http, {} tcp, {} dns), listening on {}",
        config.path.display(),
        config.checks.len(),
        kinds[0],
        kinds[1],
        kinds[2],
        config.server.listen
    );
    ExitCode::SUCCESS
}

async fn run(flag: Option<PathBuf>) -> ExitCode {
    let Some(config) = load(flag) else {
        return ExitCode::FAILURE;
    };
    let token = CancellationToken::new();
    tokio::spawn(watch_signals(token.clone()));
    match watchpost::app::run(config, token).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{}", watchpost::logline::escaped(format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

/// Cancels `token` on SIGTERM or SIGINT. SIGHUP is caught here too, so it never kills the daemon;
/// the running daemon reloads its config on it.
async fn watch_signals(token: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers; stop watchpost with SIGKILL");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            // The daemon reloads its config (app::run's reloader hears the same signal).
            _ = hup.recv() => {}
        }
    }
    token.cancel();
}

async fn probe_once(target: &str, timeout: Duration, insecure: bool) -> ExitCode {
    let spec = match probe::parse_target(target) {
        Ok(probe::ProbeSpec::Http(mut s)) => {
            s.tls_insecure = insecure;
            probe::ProbeSpec::Http(s)
        }
        Ok(probe::ProbeSpec::Tcp(mut s)) => {
            s.tls_insecure = insecure;
            probe::ProbeSpec::Tcp(s)
        }
        Ok(s) => s,
        Err(e) => {
            eprintln!("watchpost probe: {e}");
            return ExitCode::FAILURE;
        }
    };
    let limits = probe::Limits {
        timeout,
        ..probe::Limits::default()
    };
    let outcome = probe::run(&spec, &limits).await;
    println!("{target}");
    println!("  {:<10} {}", "result", outcome.status);
    if let Some(code) = outcome.code {
        println!("  {:<10} {code}", "code");
    }
    for (phase, d) in outcome.phases.all() {
        if let Some(d) = d {
            println!("  {:<10} {}", phase.as_str(), probe::fmt_duration(d));
        }
    }
    println!("  {:<10} {}", "total", probe::fmt_duration(outcome.latency));
    if let Some(tls) = &outcome.tls {
        println!("  {:<10} {}", "tls", tls.version);
        if let Some(expiry) = tls.earliest_expiry {
            let days = expiry
                .0
                .saturating_sub(watchpost::clock::Timestamp::now().0)
                / 86_400_000;
            println!("  {:<10} {} (in {days} days)", "expires", expiry.rfc3339());
        }
    }
    if let Some(f) = &outcome.failure {
        println!("  {:<10} {} ({})", "error", f.message, f.reason);
    }
    if outcome.status == probe::Status::Down {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn hash_password() -> ExitCode {
    use argon2::password_hash::PasswordHasher;
    if std::io::stdin().is_terminal() {
        eprintln!("Password (input is shown; pipe it in to keep it off the screen), then Enter:");
    }
    let mut line = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut line) {
        eprintln!("watchpost hash-password: reading stdin: {e}");
        return ExitCode::FAILURE;
    }
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        eprintln!("watchpost hash-password: the password is empty");
        return ExitCode::FAILURE;
    }
    match argon2::Argon2::default().hash_password(password.as_bytes()) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("watchpost hash-password: {e}");
            ExitCode::FAILURE
        }
    }
}
