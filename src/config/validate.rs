//! Turns the raw TOML into a [`Config`](super::Config), collecting every problem with its location.

use std::path::Path;

use super::{Config, Error};

pub(super) fn validate(path: &Path, src: &str) -> Result<Config, Error> {
    let _ = (path, src);
    Err(Error::Invalid(Vec::new()))
}
