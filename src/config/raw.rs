//! The serde mirror of watchpost.toml: field for field, with spans, unknown keys refused.
