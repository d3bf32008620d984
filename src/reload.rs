//! Live reload: on SIGHUP or `POST /api/v1/admin/reload`, the config file is read and validated
//! whole; a bad one is refused with its `file:line:column` problems and the running one stays.
//! A good one routes notifications to its destinations, registers its checks, hands the recorder
//! its new checks (states kept where the target is the same), starts added probes, stops removed
//! ones, restarts changed ones, republishes the recurring maintenance windows and publishes the
//! config in force. It owns the probe tasks for that reason, and stops them at shutdown.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::clock::Timestamp;
use crate::config::{self, Config};
use crate::maintenance::Schedule;
use crate::metrics::Metrics;
use crate::model::CheckId;
use crate::notify::route::Routing;
use crate::recorder::Reconfig;
use crate::scheduler::{Changes, Probes, same};
use crate::store::{CheckMeta, Routed, Writer};

/// A reload asked for through the admin API, answered when it is done.
pub type Request = oneshot::Sender<Result<Changes, String>>;

/// What a reload needs to reach.
pub struct Reloader {
    pub config: Arc<Config>,
    pub probes: Probes,
    pub writer: Writer,
    pub recorder: mpsc::Sender<Reconfig>,
    pub schedule: watch::Sender<Arc<Schedule>>,
    pub metrics: Arc<Metrics>,
    pub requests: mpsc::Receiver<Request>,
    /// Where the config in force is published after a reload (the notification worker).
    pub in_force: watch::Sender<Arc<Config>>,
}

/// Registers the checks of `config` with the store (marking absent ones inactive) and answers
/// their rows by id.
pub async fn register(
    writer: &Writer,
    config: &Config,
) -> Result<HashMap<CheckId, i64>, crate::store::Error> {
    let metas = config
        .checks
        .iter()
        .map(|c| CheckMeta {
            slug: c.id.to_string(),
            name: c.name.clone(),
            group: c.group.clone(),
            kind: c.kind().to_string(),
        })
        .collect();
    let rows = writer.sync_checks(metas, Timestamp::now()).await?;
    let rows: HashMap<&str, i64> = rows.iter().map(|r| (r.slug.as_str(), r.id)).collect();
    Ok(config
        .checks
        .iter()
        .filter_map(|c| Some((c.id.clone(), *rows.get(c.id.as_str())?)))
        .collect())
}

impl Reloader {
    /// Reloads on SIGHUP and on API requests until `token` is cancelled, then stops the probes
    /// and waits for them.
    pub async fn run(mut self, token: CancellationToken) {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = signal(SignalKind::hangup()).ok();
        if hup.is_none() {
            tracing::warn!("cannot catch SIGHUP; reload through the admin API instead");
        }
        loop {
            let hangup = async {
                match hup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = token.cancelled() => break,
                _ = hangup => {
                    tracing::info!("SIGHUP: reloading the config");
                    let _ = self.reload().await;
                }
                Some(reply) = self.requests.recv() => {
                    let _ = reply.send(self.reload().await);
                }
            }
        }
        self.probes.join().await;
    }

    /// Reads the config file again and applies it; on a problem the running config stays.
    async fn reload(&mut self) -> Result<Changes, String> {
        let result = self.try_reload().await;
        self.metrics.reloaded(result.is_ok(), Timestamp::now());
        match &result {
            Ok(c) => tracing::info!(
                added = c.added.len(),
                removed = c.removed.len(),
                changed = c.changed.len(),
                "config reloaded"
            ),
            Err(e) => tracing::error!("config not reloaded, the running one stays:\n{e}"),
        }
        result
    }

    async fn try_reload(&mut self) -> Result<Changes, String> {
        // Reading and validating 100,000 checks takes a core for half a second: not on a worker
        // the probes' timers and the web share.
        let path = self.config.path.clone();
        let new = tokio::task::spawn_blocking(move || config::load(&path))
            .await
            .map_err(|e| format!("reading the config: {e}"))?
            .map_err(|e| e.to_string())?;
        refuse_restart_only(&self.config, &new)?;
        if !same_admin(&self.config, &new) {
            tracing::warn!("[admin] changed: users and tokens take effect at the next restart");
        }
        let new = Arc::new(new);
        // Before any change the new config causes: its events go to its destinations.
        self.writer
            .set_routing(Arc::new(Routing::new(&new)), Routed::Reload)
            .await
            .map_err(|e| format!("routing notifications: {e}"))?;
        let rows = register(&self.writer, &new)
            .await
            .map_err(|e| format!("registering checks: {e}"))?;
        let before: HashMap<&CheckId, &config::Check> =
            self.config.checks.iter().map(|o| (&o.id, &**o)).collect();
        let reset = new
            .checks
            .iter()
            .filter(|c| before.get(&c.id).is_some_and(|o| !same(o, c)))
            .map(|c| c.id.clone())
            .collect();
        let (applied, in_force) = tokio::sync::oneshot::channel();
        self.recorder
            .send(Reconfig {
                config: new.clone(),
                rows,
                reset,
                applied: Some(applied),
            })
            .await
            .map_err(|_| "the recorder has stopped".to_string())?;
        in_force
            .await
            .map_err(|_| "the recorder has stopped".to_string())?;
        let changes = self.probes.apply(&new);
        self.schedule.send_modify(|s| {
            *s = Arc::new(Schedule {
                recurring: new.maintenance.clone(),
                one_off: s.one_off.clone(),
            })
        });
        self.in_force.send_replace(new.clone());
        self.config = new;
        Ok(changes)
    }
}

/// Refuses changes that only a restart can apply, naming them.
fn refuse_restart_only(old: &Config, new: &Config) -> Result<(), String> {
    let mut problems = Vec::new();
    if old.server.listen != new.server.listen {
        problems.push(format!(
            "{}: [server] listen changed from {} to {}: restart watchpost to listen elsewhere",
            new.path.display(),
            old.server.listen,
            new.server.listen
        ));
    }
    if old.storage.path != new.storage.path {
        problems.push(format!(
            "{}: [storage] path changed: restart watchpost to use another database",
            new.path.display()
        ));
    }
    if old.subscriptions.email != new.subscriptions.email {
        problems.push(format!(
            "{}: [subscriptions] email changed: restart watchpost to turn /subscribe on or off",
            new.path.display()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn same_admin(old: &Config, new: &Config) -> bool {
    match (&old.admin, &new.admin) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.api_tokens == b.api_tokens
                && a.users.len() == b.users.len()
                && a.users
                    .iter()
                    .zip(&b.users)
                    .all(|(x, y)| x.name == y.name && x.password_hash == y.password_hash)
        }
        _ => false,
    }
}
