//! Certificate expiry: when a probe's TLS certificate comes within a threshold of
//! `[notifications] cert_expiry_days` of its expiry, the notice is recorded and announced once
//! per threshold and certificate (the store remembers across restarts; a renewed certificate,
//! with another fingerprint, starts over). The recorder calls this for every probe that saw a
//! certificate; a small memo per check spares the writer a round trip on every probe.

use crate::clock::Timestamp;
use crate::config::CertDays;
use crate::event::CertInfo;
use crate::model::CheckId;
use crate::probe::TlsInfo;
use crate::store::{CertNotice, Writer};

use super::Error;

/// What one check last had announced: a certificate's fingerprint and the threshold.
#[derive(Clone, Debug, Default)]
pub struct CertMemo(Option<(String, u32)>);

/// Announces the threshold `tls`'s certificate crossed as of `at`, unless it (or a lower one)
/// was announced for it already.
pub async fn cert_seen(
    writer: &Writer,
    memo: &mut CertMemo,
    check: &CheckId,
    tls: &TlsInfo,
    at: Timestamp,
    thresholds: &CertDays,
) -> Result<(), Error> {
    let (Some(expires), Some(fingerprint)) = (tls.earliest_expiry, &tls.fingerprint) else {
        return Ok(());
    };
    let Some(days) = thresholds.crossed(expires.0 - at.0) else {
        return Ok(());
    };
    if let Some((known, d)) = &memo.0
        && known == fingerprint
        && *d <= days
    {
        return Ok(());
    }
    let unnamed = || "(unnamed)".to_string();
    let notice = CertNotice {
        check: check.clone(),
        days,
        cert: CertInfo {
            fingerprint: fingerprint.clone(),
            subject: tls.subject.clone().unwrap_or_else(unnamed),
            issuer: tls.issuer.clone().unwrap_or_else(unnamed),
            expires,
        },
        at,
    };
    writer.cert_notice(notice).await?;
    memo.0 = Some((fingerprint.clone(), days));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_threshold_crossed_counts() {
        let days = CertDays::default();
        let day = 86_400_000;
        assert_eq!(days.crossed(40 * day), None);
        assert_eq!(days.crossed(30 * day), Some(30));
        assert_eq!(days.crossed(20 * day), Some(30));
        assert_eq!(days.crossed(10 * day), Some(14));
        assert_eq!(days.crossed(7 * day - 1), Some(7));
        assert_eq!(days.crossed(day / 2), Some(1));
        assert_eq!(days.crossed(-day), Some(1));
        assert_eq!(CertDays(Vec::new()).crossed(-day), None);
    }
}
