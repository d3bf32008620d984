//! The `watchpost` command: parses flags, sets up logging, loads the config and hands over to the
//! library. It alone decides exit codes: 0 ok, 1 runtime error, invalid config, a down probe,
//! a test notification not delivered, or no subscriber to delete.

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
    /// Operator alerts ([[notify]] destinations).
    Notify {
        #[command(subcommand)]
        command: NotifyCommand,
    },
    /// Public email subscribers: export them, or delete one.
    Subscribers {
        #[command(subcommand)]
        command: SubscribersCommand,
    },
}

#[derive(Subcommand)]
enum SubscribersCommand {
    /// Print every subscriber as CSV: address, scope, subscribed_at, confirmed_at.
    Export {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Delete the subscriber with this address (any case), confirmed or not.
    Delete {
        address: String,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum NotifyCommand {
    /// Send a test message to one destination now and say what happened.
    Test {
        /// The destination's `name`.
        name: String,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
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
        Command::Notify {
            command: NotifyCommand::Test { name, config },
        } => runtime.block_on(notify_test(config, &name)),
        Command::Subscribers { command } => runtime.block_on(subscribers(command)),
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
    let kinds =
        ["http", "tcp", "dns"].map(|k| config.checks.iter().filter(|c| c.kind() == k).count());
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
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Cancels `token` on SIGTERM or SIGINT. SIGHUP is caught (so it cannot kill the daemon) and logged.
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
            _ = hup.recv() => tracing::warn!("SIGHUP received: reloading the config is not supported yet; restart to apply changes"),
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

async fn notify_test(flag: Option<PathBuf>, name: &str) -> ExitCode {
    let Some(config) = load(flag) else {
        return ExitCode::FAILURE;
    };
    let kind = config
        .notify
        .destinations
        .iter()
        .find(|d| d.name == name)
        .map_or("", |d| d.target.kind());
    match watchpost::notify::send_test(&config, name).await {
        Ok(said) => {
            println!("{name} ({kind}): test message delivered: {said}");
            ExitCode::SUCCESS
        }
        Err(e) if kind.is_empty() => {
            eprintln!("watchpost notify test: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("watchpost notify test: {name} ({kind}): not delivered: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn subscribers(command: SubscribersCommand) -> ExitCode {
    use watchpost::notify::subscribers::export;
    let (SubscribersCommand::Export { config } | SubscribersCommand::Delete { config, .. }) =
        &command;
    let Some(config) = load(config.clone()) else {
        return ExitCode::FAILURE;
    };
    match command {
        SubscribersCommand::Export { .. } => {
            match export::export(&config, &mut std::io::stdout()).await {
                Ok(n) => {
                    eprintln!("{n} subscribers");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("watchpost subscribers export: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        SubscribersCommand::Delete { address, .. } => {
            match export::delete(&config, &address).await {
                Ok(true) => {
                    println!("deleted {address}");
                    ExitCode::SUCCESS
                }
                Ok(false) => {
                    eprintln!(
                        "watchpost subscribers delete: no subscriber has the address {address:?}"
                    );
                    ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("watchpost subscribers delete: {e}");
                    ExitCode::FAILURE
                }
            }
        }
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
