//! The `watchpost` command: parses flags, sets up logging, loads the config and hands over to the
//! library. It alone decides exit codes: 0 ok, 1 runtime error, invalid config, a down probe,
//! a test notification not delivered, or no subscriber to delete.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand, ValueHint};
use tokio_util::sync::CancellationToken;
use watchpost::logging::LogFormat;
use watchpost::{config, export, probe};

#[derive(Parser)]
#[command(
    version,
    about = "An active uptime monitor: probes, incidents, uptime, a status page and metrics"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines are written to stderr: plain text (without a timestamp under journald, which
    /// adds its own), or one JSON object per line.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Plain)]
    log_format: LogFormat,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: probe the checks, record them and serve the status page.
    Run {
        /// Config file [default: ./watchpost.toml, then /etc/watchpost/watchpost.toml]
        #[arg(long, short, value_hint = ValueHint::FilePath)]
        config: Option<PathBuf>,
    },
    /// Validate the config and print every error as file:line:column.
    Check {
        /// Config file to validate [default: ./watchpost.toml, then /etc/watchpost/watchpost.toml]
        #[arg(long, short, value_hint = ValueHint::FilePath)]
        config: Option<PathBuf>,
    },
    /// Probe one target now and print the result with phase timings.
    Probe {
        /// https://…, http://…, tcp://host:port, tls://host:port or dns://[server/]name?type=MX
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
    #[command(flatten)]
    Ops(OpsCommand),
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
        /// Config file naming the database [default: ./watchpost.toml, then /etc/watchpost/watchpost.toml]
        #[arg(long, short, value_hint = ValueHint::FilePath)]
        config: Option<PathBuf>,
    },
    /// Delete the subscriber with this address (any case), confirmed or not.
    Delete {
        /// The subscriber's email address.
        address: String,
        /// Config file naming the database [default: ./watchpost.toml, then /etc/watchpost/watchpost.toml]
        #[arg(long, short, value_hint = ValueHint::FilePath)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum NotifyCommand {
    /// Send a test message to one destination now and say what happened.
    Test {
        /// The destination's `name`.
        name: String,
        /// Config file [default: ./watchpost.toml, then /etc/watchpost/watchpost.toml]
        #[arg(long, short, value_hint = ValueHint::FilePath)]
        config: Option<PathBuf>,
    },
}

/// Commands for running watchpost for years: backups, reports, shell completions, man pages.
#[derive(Subcommand)]
enum OpsCommand {
    /// Copy the database to a new file, consistently, while the daemon runs.
    Backup {
        /// The new file to write (it must not exist yet).
        #[arg(value_hint = ValueHint::FilePath)]
        path: PathBuf,
        /// Config file naming the database [default: ./watchpost.toml, then /etc/watchpost/watchpost.toml]
        #[arg(long, short, value_hint = ValueHint::FilePath)]
        config: Option<PathBuf>,
    },
    /// Export one check's results, days or incidents over a period as CSV or JSON, for SLA reports.
    Export {
        /// The check's id, as in the config.
        #[arg(long)]
        check: String,
        /// First day (2026-11-01, UTC) or instant (RFC 3339) of the period.
        #[arg(long)]
        from: export::Date,
        /// Last day, included (2026-11-30), or instant (RFC 3339), excluded [default: now]
        #[arg(long)]
        to: Option<export::Date>,
        /// What to export.
        #[arg(long, value_enum, default_value_t = export::What::Daily)]
        what: export::What,
        /// How to write it.
        #[arg(long, value_enum, default_value_t = export::Format::Csv)]
        format: export::Format,
        /// Write to this file instead of standard output.
        #[arg(long, short, value_hint = ValueHint::FilePath)]
        output: Option<PathBuf>,
        /// Config file naming the database [default: ./watchpost.toml, then /etc/watchpost/watchpost.toml]
        #[arg(long, short, value_hint = ValueHint::FilePath)]
        config: Option<PathBuf>,
    },
    /// Print a shell completion script for bash, zsh, fish, elvish or PowerShell.
    ///
    /// For example: watchpost completions bash > /etc/bash_completion.d/watchpost
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page, or write one page per command into a directory.
    Man {
        /// Write watchpost.1 and watchpost-COMMAND.1 into this directory instead of printing watchpost.1.
        #[arg(long, value_hint = ValueHint::DirPath)]
        out_dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    watchpost::logging::init(cli.log_format);
    let runtime = match runtime() {
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
        Command::Ops(command) => ops(command, &runtime),
        Command::Subscribers { command } => runtime.block_on(subscribers(command)),
    }
}

/// The async runtime: one worker thread unless `TOKIO_WORKER_THREADS` says otherwise. Probing is
/// many small wake-ups (a connect, a read, a close), and with a worker per core each of them also
/// woke an idle worker on another core to look for work: at 10,000 checks a quarter of the
/// daemon's CPU went to those wake-ups (BENCHMARKS.md, "Session 8"). What takes CPU in
/// bulk (reading the database, building pages, hashing passwords) runs on the blocking pool.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(1);
    }
    builder.enable_all().build()
}

/// Where a config is looked for when `--config` is not given, in order.
const CONFIG_PATHS: [&str; 2] = ["./watchpost.toml", "/etc/watchpost/watchpost.toml"];

/// The config path: the flag, else the first of [`CONFIG_PATHS`] that exists; when none does,
/// a message naming every path tried.
fn config_path(flag: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(path) = flag {
        return Ok(path);
    }
    CONFIG_PATHS
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            format!(
                "no config file: tried {}; pass --config PATH",
                CONFIG_PATHS.join(" and ")
            )
        })
}

fn load(flag: Option<PathBuf>) -> Option<config::Config> {
    let path = match config_path(flag) {
        Ok(path) => path,
        Err(e) => {
            eprintln!("watchpost: {e}");
            return None;
        }
    };
    match config::load(&path) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("{e}");
            if let config::Error::Invalid(problems) = &e {
                let n = problems.len();
                let s = if n == 1 { "" } else { "s" };
                eprintln!("{}: {n} error{s}", path.display());
            }
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
    // A file-size limit (RLIMIT_FSIZE) reached must fail the write (EFBIG), which the store
    // waits out, instead of killing the daemon: a handler replaces SIGXFSZ's default action.
    if let Err(e) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(
        rustix::process::Signal::XFSZ.as_raw(),
    )) {
        tracing::warn!(error = %e, "cannot catch SIGXFSZ: a file-size limit would stop watchpost");
    }
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

/// glibc's allocator gives each thread that allocates its own arena (up to 8 per core), and each
/// keeps what was freed in it: with the runtime's workers and blocking threads, tens of megabytes
/// at 10,000 checks. Two arenas, and big buffers (page renders, scrapes) handed back to the
/// system when freed. A `MALLOC_ARENA_MAX` or `MALLOC_MMAP_THRESHOLD_` in the environment wins.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let set = |env: &str, param: libc::c_int, value: libc::c_int| {
            if std::env::var_os(env).is_none() {
                // SAFETY: mallopt only changes the allocator's parameters, and runs before any
                // other thread exists.
                unsafe { libc::mallopt(param, value) };
            }
        };
        set("MALLOC_ARENA_MAX", libc::M_ARENA_MAX, 2);
        set("MALLOC_MMAP_THRESHOLD_", libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn ops(command: OpsCommand, runtime: &tokio::runtime::Runtime) -> ExitCode {
    match command {
        OpsCommand::Backup { path, config } => backup(&path, config, runtime),
        OpsCommand::Export {
            check,
            from,
            to,
            what,
            format,
            output,
            config,
        } => {
            let request = export::Request {
                check,
                from: from.start(),
                to: to.map_or_else(watchpost::clock::Timestamp::now, export::Date::end),
                what,
                format,
            };
            export_to(&request, output.as_deref(), config, runtime)
        }
        OpsCommand::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "watchpost",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        OpsCommand::Man { out_dir } => man(out_dir.as_deref()),
    }
}

fn backup(to: &Path, flag: Option<PathBuf>, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let Some(config) = load(flag) else {
        return ExitCode::FAILURE;
    };
    let made = watchpost::store::Reader::open_existing(&config.storage.path)
        .and_then(|reader| runtime.block_on(reader.backup(to.to_path_buf())));
    match made {
        Ok(b) => {
            println!(
                "{} -> {}: {} bytes, schema {}, integrity ok",
                config.storage.path.display(),
                to.display(),
                b.bytes,
                b.schema
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("watchpost backup: {e}");
            ExitCode::FAILURE
        }
    }
}

fn export_to(
    request: &export::Request,
    output: Option<&Path>,
    flag: Option<PathBuf>,
    runtime: &tokio::runtime::Runtime,
) -> ExitCode {
    let Some(config) = load(flag) else {
        return ExitCode::FAILURE;
    };
    let written = watchpost::store::Reader::open_existing(&config.storage.path)
        .map_err(export::Error::from)
        .and_then(|reader| {
            let mut out: Box<dyn std::io::Write> = match output {
                Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            runtime.block_on(export::export(&reader, request, &mut out))
        });
    match written {
        Ok(summary) => {
            let uptime = summary
                .uptime
                .map(|u| {
                    format!(
                        ", uptime {:.4} %, down {} s",
                        u * 100.0,
                        summary.down_ms / 1000
                    )
                })
                .unwrap_or_default();
            eprintln!("watchpost export: {} rows{uptime}", summary.rows);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("watchpost export: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints watchpost.1, or writes it and one page per subcommand into `out_dir`.
fn man(out_dir: Option<&Path>) -> ExitCode {
    let written = match out_dir {
        None => clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()),
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(Cli::command(), dir)),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("watchpost man: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
#[path = "main_tests.rs"]
mod tests;
