//! Reads for the admin area's sign-in and audit page: sessions by token hash and the audit log.
//! Never writes; the writer keeps both.

use rusqlite::OptionalExtension;

use super::{Reader, all};
use crate::clock::Timestamp;
use crate::store::{AuditRow, Error, SessionRow};

impl Reader {
    /// The admin session whose token hashes to `token_hash`.
    pub async fn session(&self, token_hash: String) -> Result<Option<SessionRow>, Error> {
        self.with(move |c| {
            Ok(c.prepare_cached(
                "SELECT user, csrf, created_at, last_seen_at FROM admin_sessions WHERE token_hash = ?1",
            )?
            .query_row([token_hash], |r| {
                Ok(SessionRow {
                    user: r.get(0)?,
                    csrf: r.get(1)?,
                    created_at: Timestamp(r.get(2)?),
                    last_seen_at: Timestamp(r.get(3)?),
                })
            })
            .optional()?)
        })
        .await
    }

    /// The newest lines of the audit log first.
    pub async fn audit(&self, limit: usize) -> Result<Vec<AuditRow>, Error> {
        self.with(move |c| {
            all(
                c,
                "SELECT at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?1",
                [limit as i64],
                |r| {
                    Ok(AuditRow {
                        at: Timestamp(r.get(0)?),
                        actor: r.get(1)?,
                        action: r.get(2)?,
                        target: r.get(3)?,
                        detail: r.get(4)?,
                    })
                },
            )
        })
        .await
    }
}
