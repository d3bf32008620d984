//! Wiring: opens the store, builds the handles, spawns the tasks, serves the web, and orders the
//! shutdown (stop probing → drain the recorder → finish the delivery in flight → drain the web →
//! commit and join the writer).
//! Nothing else spawns long-lived tasks or owns the cancellation token.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::actions;
use crate::clock::Timestamp;
use crate::config::Config;
use crate::history::Refresher;
use crate::maintenance::Schedule;
use crate::metrics::Metrics;
use crate::notify::{self, Routing};
use crate::recorder::{Handles, Recorder};
use crate::reload::{self, Reloader};
use crate::scheduler::Probes;
use crate::service;
use crate::snapshot::{History, Snapshot};
use crate::store::{Routed, Store, Writer};
use crate::web::admin::{AdminHandles, Throttle};
use crate::web::{self, WebState};

/// Outcomes queued between the probes and the recorder; a full queue makes probes wait.
const OUTCOME_QUEUE: usize = 1024;
/// How often raw results older than `keep_raw` and hourly rollups older than `keep_hourly` are
/// deleted.
const HOUSEKEEPING: Duration = Duration::from_secs(3600);
/// The whole shutdown must finish within this, below systemd's default TimeoutStopSec.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(30);

/// A daemon that has opened its database and bound its port, ready to run.
pub struct App {
    config: Arc<Config>,
    store: Store,
    listener: tokio::net::TcpListener,
}

impl App {
    /// Opens the database and binds the listen address, so errors surface before anything runs.
    pub async fn bind(config: Config) -> anyhow::Result<App> {
        web::serve::raise_fd_limit();
        let path = config.storage.path.clone();
        let opening = || format!("opening database {}", config.storage.path.display());
        // Opening runs SQLite and the migrations: blocking work, kept off the async runtime.
        let store = tokio::task::spawn_blocking(move || Store::open(&path))
            .await
            .with_context(opening)?
            .with_context(opening)?;
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("listening on {}", config.server.listen))?;
        Ok(App {
            config: Arc::new(config),
            store,
            listener,
        })
    }

    /// The address the web server listens on (useful when the config asked for port 0).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Runs until `shutdown` is cancelled, then stops in order and returns.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let App {
            config,
            store,
            listener,
        } = self;
        // Before anything commits an event: every event from here on is routed to the outbox.
        store
            .writer
            .set_routing(Arc::new(Routing::new(&config)), Routed::Start)
            .await
            .context("setting up notifications")?;
        let now = Timestamp::now();
        let ids = reload::register(&store.writer, &config)
            .await
            .context("registering checks")?;
        let open = store
            .reader
            .open_incidents()
            .await
            .context("reading open incidents")?;
        for incident in &open {
            let configured = config
                .checks
                .iter()
                .any(|c| incident.check.as_deref() == Some(c.id.as_str()));
            if incident.auto && !configured {
                actions::retire(&store.writer, incident.id, now, true).await?;
            }
        }

        let one_off = store
            .reader
            .maintenance(now)
            .await
            .context("reading maintenance windows")?;
        let (schedule_tx, schedule_rx) = watch::channel(Arc::new(Schedule {
            recurring: config.maintenance.clone(),
            one_off,
        }));
        let metrics = Arc::new(Metrics::new().context("registering metrics")?);
        let (snapshot_tx, snapshot_rx) = watch::channel(Arc::new(Snapshot::empty(config.clone())));
        let (history_tx, history_rx) = watch::channel(Arc::new(History::default()));
        let events = store.writer.subscribe();

        let recorder = Recorder::new(
            config.clone(),
            &ids,
            &open,
            Handles {
                writer: store.writer.clone(),
                metrics: metrics.clone(),
                snapshot: snapshot_tx,
                schedule: schedule_rx.clone(),
            },
        );
        // The store's ids are the recorder's now; the map is not kept for the daemon's life.
        drop(ids);
        let (outcomes_tx, outcomes_rx) = mpsc::channel(OUTCOME_QUEUE);
        watch_store(&metrics, &outcomes_tx, &store, &config);
        let (reconfig_tx, reconfig_rx) = mpsc::channel(4);
        let recorder = tokio::spawn(recorder.run_with(outcomes_rx, reconfig_rx));
        let probes = Probes::spawn(
            &config,
            outcomes_tx,
            shutdown.child_token(),
            metrics.schedule_lag(),
        );
        let (reload_tx, reload_rx) = mpsc::channel(4);
        let (in_force_tx, in_force_rx) = watch::channel(config.clone());

        let refresher = Refresher {
            reader: store.reader.clone(),
            snapshot: snapshot_rx.clone(),
            history: history_tx,
            metrics: metrics.clone(),
            events,
            kept: Default::default(),
        };
        let refresher = tokio::spawn(refresher.run(shutdown.clone()));
        let handles = actions::Handles {
            writer: store.writer.clone(),
            reader: store.reader.clone(),
            schedule: schedule_tx.clone(),
            snapshot: snapshot_rx.clone(),
        };
        let windows = tokio::spawn(actions::watch_windows(handles.clone(), shutdown.clone()));
        // The reloader owns the probe tasks: it stops them, and so ends the outcome queue, when
        // the token is cancelled.
        let reloader = tokio::spawn(
            Reloader {
                config: config.clone(),
                probes,
                writer: store.writer.clone(),
                recorder: reconfig_tx,
                schedule: schedule_tx,
                metrics: metrics.clone(),
                requests: reload_rx,
                in_force: in_force_tx,
            }
            .run(shutdown.clone()),
        );
        let notifier = tokio::spawn(
            notify::Worker {
                config: in_force_rx.clone(),
                writer: store.writer.clone(),
                reader: store.reader.clone(),
                metrics: metrics.clone(),
                events: store.writer.subscribe(),
                bound: listener.local_addr()?,
            }
            .run(shutdown.clone()),
        );
        let subscriptions = notify::subscribers::start(
            in_force_rx,
            notify::subscribers::Handles {
                writer: store.writer.clone(),
                reader: store.reader.clone(),
                metrics: metrics.clone(),
            },
            shutdown.clone(),
        )
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "subscriber mail cannot be sent: /subscribe is off, mail waits in the outbox");
            None
        });
        let housekeeping = tokio::spawn(housekeeping(
            store.writer.clone(),
            config.storage.keep_raw,
            config.storage.keep_hourly,
            shutdown.clone(),
        ));

        let secure_cookies = config
            .server
            .public_url
            .as_ref()
            .is_some_and(|u| u.scheme() == "https");
        let supervised = snapshot_rx.clone();
        let app = web::router(WebState {
            snapshot: snapshot_rx,
            bars: web::front::spawn_bars(history_rx.clone()),
            history: history_rx,
            reader: store.reader.clone(),
            metrics,
            schedule: schedule_rx,
            front: Default::default(),
            admin: config.admin.clone().map(|admin| {
                Arc::new(AdminHandles {
                    config: admin,
                    actions: handles,
                    throttle: Throttle::default(),
                    secure_cookies,
                    reload: reload_tx,
                })
            }),
            local_addr: listener.local_addr()?,
            store_health: store.writer.health().clone(),
            subscriptions: subscriptions.as_ref().map(|s| {
                Arc::new(web::subscribe::Desk {
                    writer: store.writer.clone(),
                    keys: s.keys.clone(),
                    notices: s.notices.clone(),
                    limit: Default::default(),
                })
            }),
        });
        tracing::info!(
            listen = %listener.local_addr()?,
            checks = config.checks.len(),
            database = %crate::logline::escaped(config.storage.path.display()),
            "watchpost is running"
        );
        let limits = web::serve::Limits::for_checks(config.checks.len());
        let web = tokio::spawn(web::serve::serve(listener, app, limits, shutdown.clone()));
        let service = tokio::spawn(service::supervise(
            supervised,
            store.writer.clone(),
            shutdown.clone(),
        ));

        shutdown.cancelled().await;
        tracing::info!("stopping: finishing in-flight work");
        let stop = async {
            if reloader.await.is_err() {
                tracing::error!("the reloader panicked");
            }
            if recorder.await.is_err() {
                tracing::error!("the recorder panicked");
            }
            let _ = refresher.await;
            let _ = windows.await;
            let _ = housekeeping.await;
            // A delivery in flight finishes and is recorded before the writer stops.
            let _ = notifier.await;
            for task in subscriptions.map(|s| s.tasks).unwrap_or_default() {
                let _ = task.await;
            }
            let _ = service.await;
            // The web server holds a writer handle for the admin area: it drains first, then
            // the writer commits what is queued and its thread is joined.
            let served = match web.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(anyhow::Error::from(e).context("serving the web")),
                Err(e) => Err(anyhow::Error::from(e).context("the web server panicked")),
            };
            tokio::task::spawn_blocking(move || store.close()).await?;
            served
        };
        tokio::time::timeout(SHUTDOWN_LIMIT, stop)
            .await
            .context("shutdown took too long")??;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Deletes raw results older than `keep_raw` and hourly rollups older than `keep_hourly`, hourly,
/// until cancelled.
async fn housekeeping(
    writer: Writer,
    keep_raw: Duration,
    keep_hourly: Duration,
    token: CancellationToken,
) {
    loop {
        let now = Timestamp::now();
        match writer
            .prune(now.minus(keep_raw), now.minus(keep_hourly))
            .await
        {
            Ok(n) if n.results == 0 && n.hours == 0 => {}
            Ok(n) => tracing::info!(
                deleted = n.results,
                hourly_rollups = n.hours,
                "pruned raw results"
            ),
            Err(e) => {
                tracing::warn!(error = %crate::logline::escaped(&e), "pruning raw results failed")
            }
        }
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(HOUSEKEEPING) => {}
        }
    }
}

/// Loads nothing and binds everything: the daemon from a validated config until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    App::bind(config).await?.run(shutdown).await
}

/// Lets the metrics read the recorder's and the writer's queues, the writer's commits and the
/// database's size, without keeping any of them alive.
fn watch_store<T: Send + 'static>(
    metrics: &Arc<Metrics>,
    outcomes: &mpsc::Sender<T>,
    store: &Store,
    config: &Config,
) {
    let weak = outcomes.downgrade();
    metrics.watch_queues(
        Box::new(move || {
            weak.upgrade()
                .map_or(0, |tx| tx.max_capacity() - tx.capacity())
        }),
        Box::new(store.writer.depth()),
    );
    let told = Arc::downgrade(metrics);
    store.writer.on_commit(Box::new(move |writes, took| {
        if let Some(m) = told.upgrade() {
            m.store_committed(writes, took);
        }
    }));
    metrics.watch_database(config.storage.path.clone());
}
