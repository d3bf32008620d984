//! Subscriber tokens: random one-time confirmation tokens, the SHA-256 of a token (all the
//! database keeps of one), and unsubscribe tokens derived by HMAC-SHA256 from a key kept in the
//! database, so every mail can carry a working link while the subscriber's row holds only the
//! token's hash.
//!
//! Pure apart from the system's random source; it never stores or logs a token.

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::clock::Timestamp;

/// 32 random bytes as 64 hex digits; `None` when the system's random source fails.
pub fn random() -> Option<String> {
    random_bytes().map(|b| hex(&b))
}

/// 32 random bytes: a new key, or a token.
pub fn random_bytes() -> Option<[u8; 32]> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(bytes)
}

/// The SHA-256 of a token as hex: what the database stores and looks tokens up by.
pub fn hash(token: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `s` has the shape of a token: 64 lowercase hex digits. Anything else is refused
/// before it reaches the database.
pub fn well_formed(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The key unsubscribe tokens are derived from.
#[derive(Clone)]
pub struct Keys {
    unsubscribe: hmac::Key,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    pub fn new(key: &[u8]) -> Keys {
        Keys {
            unsubscribe: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    /// The unsubscribe token of the subscriber with `address` who subscribed at `created_at`:
    /// the same in every mail, different for every subscription.
    pub fn unsubscribe(&self, address: &str, created_at: Timestamp) -> String {
        let input = format!(
            "unsubscribe\n{}\n{}",
            address.to_ascii_lowercase(),
            created_at.0
        );
        hex(hmac::sign(&self.unsubscribe, input.as_bytes()).as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hashed_and_derived_per_subscription() {
        let (a, b) = (random().unwrap(), random().unwrap());
        assert!(well_formed(&a) && well_formed(&b));
        assert_ne!(a, b);
        assert!(well_formed(&hash(&a)));
        assert_ne!(hash(&a), a);
        assert!(!well_formed("ABC"));
        assert!(!well_formed(&a.to_uppercase()));
        let keys = Keys::new(b"k");
        let t = keys.unsubscribe("Ann@Example.org", Timestamp(1));
        assert!(well_formed(&t));
        assert_eq!(t, keys.unsubscribe("ann@example.org", Timestamp(1)));
        assert_ne!(t, keys.unsubscribe("ann@example.org", Timestamp(2)));
        assert_ne!(
            t,
            Keys::new(b"other").unsubscribe("ann@example.org", Timestamp(1))
        );
    }
}
