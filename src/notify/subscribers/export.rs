//! `watchpost subscribers export` and `delete`: every subscriber as CSV (address, what they
//! chose, when they subscribed and confirmed), and one deleted by address, so a request to see
//! or erase one's data is one command.
//!
//! It opens the database like the daemon does (WAL lets both run at once) and never creates
//! one. Cells a spreadsheet would run as a formula are quoted with a leading `'` (OWASP).

use std::io::Write;

use crate::clock::Timestamp;
use crate::config::Config;
use crate::notify::public::Scope;
use crate::store::{Store, SubscriberRow};

/// Why a subscriber command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("there is no database at {0}: watchpost has not run with this config yet")]
    NoDatabase(String),
    #[error("{0}")]
    Store(#[from] crate::store::Error),
    #[error("writing the CSV: {0}")]
    Write(#[from] std::io::Error),
}

/// Writes every subscriber as CSV to `out`; answers how many.
pub async fn export(config: &Config, out: &mut impl Write) -> Result<usize, Error> {
    let store = open(config).await?;
    let rows = store.reader.subscribers().await;
    close(store).await;
    let rows = rows?;
    out.write_all(csv(&rows).as_bytes())?;
    Ok(rows.len())
}

/// Deletes the subscriber with `address` (any case); answers whether there was one.
pub async fn delete(config: &Config, address: &str) -> Result<bool, Error> {
    let store = open(config).await?;
    let deleted = store
        .writer
        .delete_subscriber(address.trim().to_string())
        .await;
    close(store).await;
    Ok(deleted?)
}

async fn open(config: &Config) -> Result<Store, Error> {
    let path = config.storage.path.clone();
    if !path.exists() {
        return Err(Error::NoDatabase(path.display().to_string()));
    }
    let opened = tokio::task::spawn_blocking(move || Store::open(&path)).await;
    Ok(opened.map_err(crate::store::Error::from)??)
}

async fn close(store: Store) {
    let _ = tokio::task::spawn_blocking(move || store.close()).await;
}

/// The CSV: a header line, then one line per subscriber.
pub fn csv(rows: &[SubscriberRow]) -> String {
    let mut out = String::from("address,scope,subscribed_at,confirmed_at\r\n");
    for r in rows {
        let cells = [
            cell(&r.address),
            cell(&scope_text(&r.scope)),
            r.created_at.rfc3339(),
            r.confirmed_at.map(Timestamp::rfc3339).unwrap_or_default(),
        ];
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// `all`, or `checks: a b; groups: G H`.
fn scope_text(stored: &str) -> String {
    match Scope::from_stored(stored) {
        Some(Scope::All) => "all".into(),
        Some(Scope::Some { checks, groups }) => {
            let checks: Vec<&str> = checks.iter().map(|c| c.as_str()).collect();
            format!("checks: {}; groups: {}", checks.join(" "), groups.join(" "))
        }
        None => stored.to_string(),
    }
}

/// One CSV cell (RFC 4180), never read as a formula.
fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_quotes_what_needs_it_and_defuses_formulas() {
        let rows = [
            SubscriberRow {
                address: "ann@example.org".into(),
                scope: "all".into(),
                created_at: Timestamp(0),
                confirmed_at: Some(Timestamp(1_000)),
            },
            SubscriberRow {
                address: "\"a,b\"@example.org".into(),
                scope: r#"{"checks":["web","db"],"groups":["Core"]}"#.into(),
                created_at: Timestamp(0),
                confirmed_at: None,
            },
            SubscriberRow {
                address: "=1+2@example.org".into(),
                scope: "all".into(),
                created_at: Timestamp(0),
                confirmed_at: None,
            },
        ];
        assert_eq!(
            csv(&rows),
            "address,scope,subscribed_at,confirmed_at\r\n\
             ann@example.org,all,1970-01-01T00:00:00Z,1970-01-01T00:00:01Z\r\n\
             \"\"\"a,b\"\"@example.org\",checks: web db; groups: Core,1970-01-01T00:00:00Z,\r\n\
             '=1+2@example.org,all,1970-01-01T00:00:00Z,\r\n"
        );
    }
}
