//! Certificate expiry notices, on the writer thread: which thresholds were announced for which
//! certificate of which check, so each is announced once, whatever restarts, reloads or probes
//! come after. The notice and its outbox rows commit in one transaction.
//!
//! Owns the `cert_notices` table's SQL. It never decides which threshold a certificate crossed
//! (`actions` does) and never sends anything.

use rusqlite::{Transaction, params};

use super::Error;
use crate::clock::{DAY_MS, Timestamp};
use crate::event::{CertInfo, Event};
use crate::model::CheckId;

/// Notices of certificates that expired this long ago are forgotten.
const FORGET_AFTER_MS: i64 = 90 * DAY_MS;

/// A certificate of `check` within `days` of its expiry, as a probe at `at` saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct CertNotice {
    pub check: CheckId,
    pub days: u32,
    pub cert: CertInfo,
    pub at: Timestamp,
}

impl CertNotice {
    pub(super) fn into_event(self) -> Event {
        Event::CertExpiring {
            check: self.check,
            days: self.days,
            cert: self.cert,
            at: self.at,
        }
    }
}

/// Records `n` unless this certificate of this check was already announced at `n.days` or
/// fewer; answers whether it is new (and so to be announced).
pub(super) fn record(tx: &Transaction, n: &CertNotice) -> Result<bool, Error> {
    let check = n.check.as_str();
    let least: Option<i64> = tx
        .prepare_cached(
            "SELECT min(days) FROM cert_notices WHERE check_slug = ?1 AND fingerprint = ?2",
        )?
        .query_row(params![check, n.cert.fingerprint], |r| r.get(0))?;
    if least.is_some_and(|d| d <= i64::from(n.days)) {
        return Ok(false);
    }
    tx.prepare_cached("DELETE FROM cert_notices WHERE check_slug = ?1 AND expires_at < ?2")?
        .execute(params![check, n.at.0 - FORGET_AFTER_MS])?;
    tx.prepare_cached(
        "INSERT OR IGNORE INTO cert_notices (check_slug, fingerprint, days, expires_at, noticed_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        check,
        n.cert.fingerprint,
        n.days,
        n.cert.expires.0,
        n.at.0
    ])?;
    Ok(true)
}
