//! The CLI definition's own checks (every command and argument explained, clap's debug asserts)
//! and the runtime it runs on.

use super::*;

/// Every command and every argument is explained in `--help`, the man pages and completions.
#[test]
fn every_command_and_argument_has_help() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        if cmd.get_about().is_none() {
            missing.push(path.to_string());
        }
        for arg in cmd.get_arguments() {
            if arg.get_help().is_none() && !["help", "version"].contains(&arg.get_id().as_str()) {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let cmd = Cli::command();
    cmd.clone().debug_assert();
    let mut missing = Vec::new();
    walk(&cmd, "watchpost", &mut missing);
    assert!(missing.is_empty(), "no help for: {missing:?}");
}

/// The daemon's runtime has one async worker unless the environment asks for more.
#[test]
fn the_runtime_runs_one_worker_unless_told_otherwise() {
    let workers = runtime().expect("a runtime").metrics().num_workers();
    match std::env::var("TOKIO_WORKER_THREADS") {
        Ok(n) => assert_eq!(Some(workers), n.trim().parse().ok()),
        Err(_) => assert_eq!(workers, 1),
    }
}
