//! The password check: argon2 against the configured hash, at most [`CONCURRENT_CHECKS`] at a
//! time, in working memory kept from one check to the next, and as slow for an unknown user as
//! for a known one.
//!
//! Each check needs 19 MiB. Allocated afresh for every check on whichever blocking thread ran it,
//! a flood of failed logins left the allocator holding gigabytes (each thread's arena kept the
//! freed blocks); bounded and reused, the checks cost a fixed 2 × 19 MiB. It never runs on an
//! async task and never logs a password.

use std::sync::Mutex;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::ct_eq;
use crate::web::WebError;

/// Password checks running at once, at most.
const CONCURRENT_CHECKS: usize = 2;

/// A real hash of a random password, so unknown users take as long as known ones.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$/DaRof1/D/LA/rzTU1R4xw$4Em/TUHDSaUkgX7wT+TUFf51Vow7bbuG2vxBjD7NVlQ";

/// Working memory of finished checks, for the next ones; never more than [`CONCURRENT_CHECKS`].
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Verifies `password` against the user's hash (`None`: an unknown user) off the async runtime,
/// waiting for one of [`CONCURRENT_CHECKS`] turns.
pub async fn check_password(hash: Option<String>, password: String) -> Result<bool, WebError> {
    static TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_CHECKS);
    let turn = TURNS
        .acquire()
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    // The turn moves into the check: it ends when the hashing does, even if the client left.
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        verify_password(hash.as_deref(), &password)
    })
    .await
    .map_err(|e| WebError::Internal(e.to_string()))
}

/// Verifies `password` against the user's argon2 hash; an unknown user costs the same time.
fn verify_password(hash: Option<&str>, password: &str) -> bool {
    let known = hash.is_some();
    let Ok(parsed) = hash.unwrap_or(DECOY).parse::<PasswordHash>() else {
        return false;
    };
    matches(&parsed, password.as_bytes()) && known
}

/// Recomputes `hash` for `password` (its algorithm, version, parameters and salt) in reused
/// memory and compares the outputs in constant time.
fn matches(hash: &PasswordHash, password: &[u8]) -> bool {
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(hash.algorithm.as_str()),
        hash.version
            .map_or(Ok(Version::default()), Version::try_from),
        Params::try_from(hash),
    ) else {
        return false;
    };
    let mut buffer = [0u8; 64];
    let Some(out) = buffer.get_mut(..expected.len()) else {
        return false;
    };
    let mut memory = MEMORY
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop()
        .unwrap_or_default();
    memory.resize(params.block_count(), Block::default());
    let hashed = Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut *out, &mut memory[..])
        .is_ok();
    let mut kept = MEMORY.lock().unwrap_or_else(|p| p.into_inner());
    if kept.len() < CONCURRENT_CHECKS {
        kept.push(memory);
    }
    hashed && ct_eq(out, expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHasher;

    use super::*;

    #[test]
    fn the_right_password_matches_and_others_do_not() {
        let hash = Argon2::default()
            .hash_password(b"correct horse")
            .unwrap()
            .to_string();
        for _ in 0..2 {
            assert!(verify_password(Some(&hash), "correct horse"));
            assert!(!verify_password(Some(&hash), "correct horsf"));
        }
        assert!(!verify_password(None, "anything"), "an unknown user");
        assert!(!verify_password(Some("not a hash"), "anything"));
        assert!(MEMORY.lock().unwrap().len() <= CONCURRENT_CHECKS);
    }

    #[test]
    fn hashes_with_other_parameters_and_algorithms_are_checked_with_them() {
        let params = Params::new(8 * 1024, 1, 2, Some(24)).unwrap();
        for algorithm in [Algorithm::Argon2i, Algorithm::Argon2id] {
            let hash = Argon2::new(algorithm, Version::V0x10, params.clone())
                .hash_password(b"s3cret")
                .unwrap()
                .to_string();
            assert!(verify_password(Some(&hash), "s3cret"), "{hash}");
            assert!(!verify_password(Some(&hash), "s3cre"), "{hash}");
        }
    }
}
