//! Machine formats: the JSON webhook signed by the Standard Webhooks scheme, and PagerDuty's
//! Events API v2 (one trigger or resolve per incident, deduplicated by incident).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use url::Url;

use super::{Batch, Item, Request, cut, facts, headline, link};
use crate::clock::Timestamp;
use crate::model::Impact;
use crate::notify::message::What;

const JSON: (&str, &str) = ("content-type", "application/json");

/// The POST of a generic webhook: every notification of the batch in `data.notifications`,
/// with `webhook-id` (the batch's idempotency key, for receivers to deduplicate),
/// `webhook-timestamp` and, with a secret, `webhook-signature`.
pub(super) fn webhook(url: &Url, secret: Option<&str>, b: &Batch<'_>) -> Request {
    let notifications: Vec<Value> = b.items.iter().map(|i| item(i, b)).collect();
    let kind = match b.items {
        [one] => one.message.what.as_str(),
        _ => "batch",
    };
    let body = json!({
        "type": kind,
        "timestamp": b.now.rfc3339(),
        "data": { "id": b.id, "notifications": notifications },
    });
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let timestamp = b.now.0.div_euclid(1000).to_string();
    let mut headers = vec![
        (JSON.0, JSON.1.to_string()),
        ("webhook-id", b.id.to_string()),
        ("webhook-timestamp", timestamp.clone()),
    ];
    if let Some(secret) = secret {
        headers.push(("webhook-signature", sign(secret, b.id, &timestamp, &body)));
    }
    Request {
        url: url.clone(),
        headers,
        body,
    }
}

fn item(i: &Item, b: &Batch<'_>) -> Value {
    let m = &i.message;
    let checks: Vec<Value> = m
        .checks
        .iter()
        .map(|c| json!({ "id": c.id, "name": c.name, "group": c.group }))
        .collect();
    let duration = match (m.what, m.started()) {
        (What::Resolved, Some(start)) => Some(m.at().since(start).as_secs()),
        (What::Reminder, Some(start)) => Some(b.now.since(start).as_secs()),
        _ => None,
    };
    json!({
        "key": i.key,
        "event": m.what.as_str(),
        "headline": headline(m),
        "incident": m.incident,
        "window": m.window,
        "title": m.title,
        "impact": m.impact.map(Impact::as_str),
        "state": m.state.map(|s| s.as_str()),
        "checks": checks,
        "evidence": m.evidence,
        "text": m.body,
        "author": m.author,
        "at": m.at().rfc3339_millis(),
        "started_at": m.started().map(|t| t.rfc3339_millis()),
        "ends_at": m.ends().map(|t| t.rfc3339_millis()),
        "duration_seconds": duration,
        "certificate": m.cert.as_ref().map(|c| json!({
            "threshold_days": c.days,
            "fingerprint_sha256": c.fingerprint,
            "subject": c.subject,
            "issuer": c.issuer,
            "expires_at": Timestamp(c.expires_ms).rfc3339(),
            "time_left": c.left(m.at()),
        })),
        "url": link(m, b.base),
    })
}

/// The Standard Webhooks signature: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.
/// A `whsec_` secret's key is the base64 after the prefix; any other secret is used as bytes.
pub fn sign(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = match secret.strip_prefix("whsec_") {
        Some(rest) => STANDARD
            .decode(rest)
            .unwrap_or_else(|_| rest.as_bytes().to_vec()),
        None => secret.as_bytes().to_vec(),
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let mut ctx = ring::hmac::Context::with_key(&key);
    for part in [id.as_bytes(), b".", timestamp.as_bytes(), b".", body] {
        ctx.update(part);
    }
    format!("v1,{}", STANDARD.encode(ctx.sign().as_ref()))
}

/// One Events API v2 request per incident notification: opened and updates trigger (the same
/// `dedup_key` folds them into one alert), resolved and false alarms resolve.
pub(super) fn pagerduty(url: &Url, routing_key: &str, b: &Batch<'_>) -> Vec<Request> {
    b.items
        .iter()
        .filter_map(|i| {
            let m = &i.message;
            let incident = m.incident?;
            let action = match m.what {
                What::Opened | What::Updated => "trigger",
                What::Resolved | What::FalseAlarm => "resolve",
                _ => return None,
            };
            let mut body = json!({
                "routing_key": routing_key,
                "event_action": action,
                "dedup_key": format!("watchpost-incident-{incident}"),
            });
            if action == "trigger" {
                let severity = match m.impact {
                    Some(Impact::Critical) => "critical",
                    Some(Impact::Major) => "error",
                    Some(Impact::Minor) => "warning",
                    _ => "info",
                };
                let details: serde_json::Map<String, Value> = facts(m, b.now)
                    .into_iter()
                    .map(|(k, v)| (k.to_lowercase(), Value::String(v)))
                    .chain([("text".to_string(), Value::String(m.body.clone()))])
                    .collect();
                let source: Vec<&str> = m.checks.iter().map(|c| c.id.as_str()).collect();
                body["payload"] = json!({
                    "summary": cut(&headline(m), 1024),
                    "source": if source.is_empty() { "watchpost".to_string() } else { source.join(",") },
                    "severity": severity,
                    "timestamp": m.at().rfc3339(),
                    "component": m.checks.first().map(|c| c.id.clone()),
                    "group": m.checks.first().map(|c| c.group.clone()).filter(|g| !g.is_empty()),
                    "class": m.what.as_str(),
                    "custom_details": details,
                });
                body["links"] = json!([{ "href": link(m, b.base), "text": "Incident" }]);
            }
            Some(Request {
                url: url.clone(),
                headers: vec![(JSON.0, JSON.1.to_string())],
                body: serde_json::to_vec(&body).unwrap_or_default(),
            })
        })
        .collect()
}
