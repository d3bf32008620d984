//! `watchpost export`: one check's raw results, days or incidents over a period, as CSV or JSON
//! for SLA reports. It turns rows the store reads into text; it never writes to the database and
//! holds no SQL.

use std::io::Write;
use std::str::FromStr;

use serde_json::{Value, json};

use crate::clock::{DAY_MS, Timestamp};
use crate::store::{Evidence, IncidentRow, Reader};
use crate::uptime::Rollup;

/// What to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    /// Every raw result still kept (see `keep_raw`): time, status, latency, code, error.
    Results,
    /// One row per UTC day: uptime, time up/degraded/down/in maintenance, probes, latency.
    Daily,
    /// The incidents that touched the check in the period, false alarms marked.
    Incidents,
}

/// How to write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header line (RFC 4180).
    Csv,
    /// One JSON array of objects with the CSV's columns as keys.
    Json,
}

/// A date (`2026-11-01`, the whole UTC day) or an instant in RFC 3339 (`2026-11-01T12:00:00Z`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    at: Timestamp,
    whole_day: bool,
}

impl Date {
    /// Where a period that begins on this date begins.
    pub fn start(self) -> Timestamp {
        self.at
    }

    /// Where a period that ends on this date ends: after the whole day for a date.
    pub fn end(self) -> Timestamp {
        if self.whole_day {
            Timestamp(self.at.0 + DAY_MS)
        } else {
            self.at
        }
    }

    /// The instant itself, as an end given as an instant.
    pub fn instant(at: Timestamp) -> Date {
        Date {
            at,
            whole_day: false,
        }
    }
}

impl FromStr for Date {
    type Err = String;

    fn from_str(s: &str) -> Result<Date, String> {
        if let Some(at) = Timestamp::parse_rfc3339(&format!("{s}T00:00:00Z")) {
            return Ok(Date {
                at,
                whole_day: true,
            });
        }
        Timestamp::parse_rfc3339(s)
            .map(Date::instant)
            .ok_or_else(|| {
                format!("{s:?} is neither a date (2026-11-01) nor RFC 3339 (2026-11-01T12:00:00Z)")
            })
    }
}

/// One export: a check (by id) over `[from, to)`.
#[derive(Clone, Debug)]
pub struct Request {
    pub check: String,
    pub from: Timestamp,
    pub to: Timestamp,
    pub what: What,
    pub format: Format,
}

/// What an export wrote, for the summary on stderr.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub rows: usize,
    /// Uptime over the exported days (`daily` only; `None` when nothing was observed).
    pub uptime: Option<f64>,
    pub down_ms: i64,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("writing the export: {0}")]
    Write(#[from] std::io::Error),
    #[error("no check {0:?} in the database; it has: {1}")]
    UnknownCheck(String, String),
    #[error("the period is empty: --from must be before --to")]
    EmptyPeriod,
}

/// Reads what `request` asks for and writes it to `out`.
pub async fn export(
    reader: &Reader,
    request: &Request,
    out: &mut impl Write,
) -> Result<Summary, Error> {
    if request.from >= request.to {
        return Err(Error::EmptyPeriod);
    }
    let checks = reader.checks().await?;
    if !checks.iter().any(|c| c.slug == request.check) {
        let known: Vec<&str> = checks.iter().map(|c| c.slug.as_str()).collect();
        return Err(Error::UnknownCheck(
            request.check.clone(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            },
        ));
    }
    let slug = request.check.clone();
    let (from, to) = (request.from, request.to);
    let mut summary = Summary::default();
    let table = match request.what {
        What::Results => results_table(reader.results_between(slug, from, to).await?),
        What::Incidents => incidents_table(reader.incidents_between_of(slug, from, to).await?),
        What::Daily => {
            let days = reader
                .days_between(slug, from.day_start(), to.day_ceil())
                .await?;
            let total = Rollup::total(days.iter().map(|(_, r)| r));
            summary.uptime = total.uptime();
            summary.down_ms = total.down_ms;
            daily_table(&days, Timestamp::now())
        }
    };
    summary.rows = table.rows.len();
    match request.format {
        Format::Csv => table.write_csv(out)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &table.json()).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(summary)
}

/// Rows with named columns, written as CSV or JSON.
struct Table {
    columns: &'static [&'static str],
    rows: Vec<Vec<Value>>,
}

impl Table {
    fn write_csv(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "{}", self.columns.join(","))?;
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(csv_cell).collect();
            writeln!(out, "{}", cells.join(","))?;
        }
        Ok(())
    }

    fn json(&self) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|row| {
                    Value::Object(
                        self.columns
                            .iter()
                            .zip(row)
                            .map(|(k, v)| (k.to_string(), v.clone()))
                            .collect(),
                    )
                })
                .collect(),
        )
    }
}

/// A CSV field: quoted when it must be, and text a spreadsheet would run as a formula defused.
fn csv_cell(v: &Value) -> String {
    let text = match v {
        Value::Null => return String::new(),
        Value::String(s) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{s}"),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn results_table(results: Vec<Evidence>) -> Table {
    Table {
        columns: &["at", "status", "latency_ms", "code", "reason", "message"],
        rows: results
            .into_iter()
            .map(|e| {
                vec![
                    json!(e.at.rfc3339_millis()),
                    json!(e.status.as_str()),
                    json!(e.latency_us as f64 / 1000.0),
                    json!(e.code),
                    json!(e.reason.map(|r| r.as_str())),
                    json!(e.message),
                ]
            })
            .collect(),
    }
}

/// One row a day; `no_data_ms` is the part of the day (up to `now`) with no verdict and no
/// maintenance: the daemon was stopped, or results were local faults.
fn daily_table(days: &[(Timestamp, Rollup)], now: Timestamp) -> Table {
    let ms = |d: Option<std::time::Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
    Table {
        columns: &[
            "date",
            "uptime_percent",
            "up_ms",
            "degraded_ms",
            "down_ms",
            "maintenance_ms",
            "no_data_ms",
            "probes",
            "probes_down",
            "latency_p50_ms",
            "latency_p95_ms",
            "latency_max_ms",
        ],
        rows: days
            .iter()
            .map(|(start, r)| {
                let span = (start.0 + DAY_MS).min(now.0.max(start.0)) - start.0;
                let no_data = (span - r.observed_ms() - r.maintenance_ms.max(0)).max(0);
                vec![
                    json!(start.date()),
                    json!(r.uptime().map(|u| (u * 1_000_000.0).round() / 10_000.0)),
                    json!(r.up_ms),
                    json!(r.degraded_ms),
                    json!(r.down_ms),
                    json!(r.maintenance_ms),
                    json!(no_data),
                    json!(r.probes()),
                    json!(r.probes_down),
                    json!(ms(r.percentile(0.5))),
                    json!(ms(r.percentile(0.95))),
                    json!((r.probes() > 0).then(|| r.latency_max_us as f64 / 1000.0)),
                ]
            })
            .collect(),
    }
}

fn incidents_table(incidents: Vec<IncidentRow>) -> Table {
    Table {
        columns: &[
            "id",
            "title",
            "impact",
            "started_at",
            "resolved_at",
            "duration_s",
            "status",
            "automatic",
            "false_alarm",
            "cause",
        ],
        rows: incidents
            .into_iter()
            .map(|i| {
                vec![
                    json!(i.id),
                    json!(i.title),
                    json!(i.severity.as_str()),
                    json!(i.started_at.rfc3339()),
                    json!(i.resolved_at.map(|t| t.rfc3339())),
                    json!(i.resolved_at.map(|t| t.since(i.started_at).as_secs())),
                    json!(i.status.as_str()),
                    json!(i.auto),
                    json!(i.false_alarm),
                    json!(i.cause),
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
#[path = "export_tests.rs"]
mod tests;
