//! Conditions on a response body: substrings, a regex, and a JSON value at a path. Pure: the
//! HTTP probe reads the body, this module judges it and says what was seen when it fails.

use std::fmt;

use super::{Failure, Reason, excerpt};

/// Everything a check may require of a body; empty means the body is not read for conditions.
#[derive(Clone, Debug, Default)]
pub struct BodyConditions {
    pub contains: Option<String>,
    pub not_contains: Option<String>,
    pub regex: Option<regex::Regex>,
    pub json: Option<JsonCondition>,
}

/// A JSON value that must exist at `path`, and equal `equals` when given.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonCondition {
    pub path: JsonPath,
    pub equals: Option<serde_json::Value>,
}

/// A dotted path into a JSON document: `status`, `data.items[0].state`, or `$.data.items[0]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

impl JsonPath {
    /// Parses `a.b[0].c`, with an optional leading `$` or `$.`.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let rest = text.strip_prefix('$').unwrap_or(text);
        let rest = rest.strip_prefix('.').unwrap_or(rest);
        let mut steps = Vec::new();
        for part in rest.split('.') {
            let (key, mut indexes) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if key.is_empty() && (indexes.is_empty() || !steps.is_empty() || !rest.starts_with('['))
            {
                return Err(format!(
                    "invalid JSON path {text:?}: empty key; write a.b[0].c"
                ));
            }
            if !key.is_empty() {
                steps.push(Step::Key(key.to_string()));
            }
            while !indexes.is_empty() {
                let close = indexes
                    .find(']')
                    .ok_or_else(|| format!("invalid JSON path {text:?}: missing ']'"))?;
                let n = indexes[1..close].parse().map_err(|_| {
                    format!("invalid JSON path {text:?}: an index must be a number")
                })?;
                steps.push(Step::Index(n));
                indexes = &indexes[close + 1..];
                if !indexes.is_empty() && !indexes.starts_with('[') {
                    return Err(format!("invalid JSON path {text:?}: write a.b[0].c"));
                }
            }
        }
        Ok(JsonPath {
            text: text.to_string(),
            steps,
        })
    }

    fn find<'v>(&self, mut v: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
        for step in &self.steps {
            v = match step {
                Step::Key(k) => v.get(k)?,
                Step::Index(i) => v.get(i)?,
            };
        }
        Some(v)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl BodyConditions {
    /// Whether any condition needs the body kept in memory.
    pub fn is_empty(&self) -> bool {
        self.contains.is_none()
            && self.not_contains.is_none()
            && self.regex.is_none()
            && self.json.is_none()
    }

    /// Checks every condition against `body`, failing on the first that does not hold.
    pub fn judge(&self, body: &[u8]) -> Result<(), Failure> {
        let fail = |reason, message: String| Err(Failure::new(reason, message));
        if let Some(needle) = &self.contains
            && find(body, needle.as_bytes()).is_none()
        {
            return fail(
                Reason::Body,
                format!(
                    "body does not contain {needle:?}; it starts with {:?}",
                    excerpt(body, 80)
                ),
            );
        }
        if let Some(needle) = &self.not_contains
            && let Some(at) = find(body, needle.as_bytes())
        {
            let from = at.saturating_sub(30);
            return fail(
                Reason::Body,
                format!(
                    "body contains {needle:?}, which it must not: …{:?}",
                    excerpt(&body[from..], 80)
                ),
            );
        }
        if let Some(re) = &self.regex
            && !re.is_match(&String::from_utf8_lossy(body))
        {
            return fail(
                Reason::Body,
                format!(
                    "body does not match /{}/; it starts with {:?}",
                    re.as_str(),
                    excerpt(body, 80)
                ),
            );
        }
        if let Some(cond) = &self.json {
            let doc: serde_json::Value = match serde_json::from_slice(body) {
                Ok(doc) => doc,
                Err(e) => {
                    return fail(
                        Reason::Json,
                        format!(
                            "body is not JSON ({e}); it starts with {:?}",
                            excerpt(body, 80)
                        ),
                    );
                }
            };
            let Some(found) = cond.path.find(&doc) else {
                return fail(
                    Reason::Json,
                    format!("json_path {} is not in the body", cond.path),
                );
            };
            if let Some(expected) = &cond.equals
                && !json_equal(found, expected)
            {
                let seen = excerpt(found.to_string().as_bytes(), 80);
                return fail(
                    Reason::Json,
                    format!("json_path {} is {seen}, expected {expected}", cond.path),
                );
            }
        }
        Ok(())
    }
}

/// Equality where numbers compare by value (`1` equals `1.0`).
fn json_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn json_check(path: &str, equals: Option<serde_json::Value>, body: &str) -> Result<(), String> {
        let c = BodyConditions {
            json: Some(JsonCondition {
                path: JsonPath::parse(path).unwrap(),
                equals,
            }),
            ..BodyConditions::default()
        };
        c.judge(body.as_bytes())
            .map_err(|f| format!("{}: {}", f.reason, f.message))
    }

    #[test]
    fn json_paths_reach_keys_and_indexes() {
        let body = r#"{"status":"ok","data":{"items":[{"n":1},{"n":2.0}]}}"#;
        assert_eq!(json_check("status", Some(json!("ok")), body), Ok(()));
        assert_eq!(
            json_check("$.data.items[1].n", Some(json!(2)), body),
            Ok(())
        );
        assert_eq!(json_check("data.items[0]", None, body), Ok(()));
        assert_eq!(
            json_check("status", Some(json!("degraded")), body),
            Err(r#"json: json_path status is "ok", expected "degraded""#.to_string())
        );
        assert_eq!(
            json_check("data.missing", None, body),
            Err("json: json_path data.missing is not in the body".to_string())
        );
        assert!(
            json_check("status", None, "<html>")
                .unwrap_err()
                .starts_with("json: body is not JSON")
        );
        assert_eq!(json_check("[0]", Some(json!(true)), "[true]"), Ok(()));
    }

    #[test]
    fn bad_json_paths_are_refused() {
        for bad in ["a..b", "a[x]", "a[0", "a[0]b", ""] {
            assert!(JsonPath::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn substring_and_regex_conditions_name_what_they_saw() {
        let c = BodyConditions {
            contains: Some("Tasking".into()),
            not_contains: Some("maintenance".into()),
            regex: Some(regex::Regex::new(r"v\d+\.\d+").unwrap()),
            json: None,
        };
        assert!(c.judge(b"Tasking Manager v4.2").is_ok());
        let f = c
            .judge(b"Tasking Manager v4.2 under maintenance")
            .unwrap_err();
        assert!(
            f.message.contains("\"maintenance\", which it must not"),
            "{}",
            f.message
        );
        let f = c.judge(b"Tasking Manager").unwrap_err();
        assert_eq!(f.reason, Reason::Body);
        assert!(f.message.contains(r"/v\d+\.\d+/"), "{}", f.message);
        let f = c.judge(b"<h1>Bad gateway</h1>").unwrap_err();
        assert!(f.message.contains("does not contain \"Tasking\""));
    }
}
