//! The login throttle: failed sign-ins counted per user name, per client address and per device
//! cookie, each further attempt waiting exponentially after [`FREE_FAILURES`]; and the sign-ins
//! that succeeded, so that strangers failing with an admin's name cannot lock that admin out
//! (OWASP's "device cookies"): a browser that signed in as a user before, or an address that did
//! within [`KNOWN_ADDRESS`], is not held back by the failures of others.
//!
//! Every map has a fixed capacity, user names are kept only as keyed hashes and device tokens
//! only as their SHA-256, so a flood of long names from many addresses costs bounded memory.
//! Kept in memory: a restart forgives, which is acceptable for a throttle. It never stores a name
//! or a token and never decides whether a password is right.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins per user, address or device before each further attempt waits.
pub const FREE_FAILURES: u32 = 5;
/// Entries kept at most in each map: user names, addresses, devices, known addresses.
pub const CAPACITY: usize = 10_000;
/// The longest wait between two attempts.
const MAX_WAIT: Duration = Duration::from_secs(900);
/// How long an address that signed in as a user stays trusted for that user.
pub const KNOWN_ADDRESS: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a device cookie is valid (its `Max-Age`).
pub const DEVICE_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// One sign-in attempt as the throttle knows it: a keyed hash of the user name, the address,
/// and the SHA-256 of the device cookie presented, if any.
#[derive(Clone, Copy, Debug)]
pub struct Attempt {
    user: u64,
    ip: Option<IpAddr>,
    device: Option<[u8; 32]>,
}

/// A run of failures and when the last one happened.
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    fn new(now: Instant) -> Failures {
        Failures {
            count: 0,
            last: now,
        }
    }

    fn wait(&self, now: Instant) -> Option<Duration> {
        let excess = self.count.checked_sub(FREE_FAILURES)?;
        let delay = Duration::from_secs(1u64 << excess.min(10)).min(MAX_WAIT);
        delay
            .checked_sub(now.saturating_duration_since(self.last))
            .filter(|d| !d.is_zero())
    }

    fn bump(&mut self, now: Instant) {
        self.count = self.count.saturating_add(1);
        self.last = now;
    }

    /// Eviction order, lowest first: entries that hold nobody back, fewer failures, older ones.
    fn rank(&self, now: Instant) -> (bool, u32, Instant) {
        (self.wait(now).is_some(), self.count, self.last)
    }
}

/// A browser that signed in as `user`, with its own failures.
#[derive(Clone, Copy, Debug)]
struct Device {
    user: u64,
    issued: Instant,
    failures: Failures,
}

/// A map that never holds more than `capacity` entries: to make room it drops the
/// lowest-ranked eighth, so a flood pays for an eviction once per `capacity / 8` insertions.
struct Bounded<K, V> {
    map: HashMap<K, V>,
    capacity: usize,
}

impl<K: Copy + Eq + Hash, V> Bounded<K, V> {
    fn new(capacity: usize) -> Bounded<K, V> {
        Bounded {
            map: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// The entry for `key`, made with `make` (after making room) when there is none.
    fn entry<R: Ord>(
        &mut self,
        key: K,
        make: impl FnOnce() -> V,
        rank: impl Fn(&V) -> R,
    ) -> &mut V {
        if !self.map.contains_key(&key) && self.map.len() >= self.capacity {
            let mut ranked: Vec<(R, K)> = self.map.iter().map(|(k, v)| (rank(v), *k)).collect();
            let drop = (self.capacity / 8).clamp(1, ranked.len());
            ranked.select_nth_unstable_by(drop - 1, |a, b| a.0.cmp(&b.0));
            for (_, k) in &ranked[..drop] {
                self.map.remove(k);
            }
        }
        self.map.entry(key).or_insert_with(make)
    }
}

/// Everything the throttle remembers; each map is bounded.
struct Maps {
    users: Bounded<u64, Failures>,
    ips: Bounded<Option<IpAddr>, Failures>,
    devices: Bounded<[u8; 32], Device>,
    /// The last successful sign-in of a user from an address.
    known: Bounded<(u64, IpAddr), Instant>,
}

impl Maps {
    /// The device of `a` when it signed in as `a`'s user and is still valid.
    fn device(&mut self, a: &Attempt, now: Instant) -> Option<&mut Device> {
        let device = self.devices.map.get_mut(&a.device?)?;
        (device.user == a.user && now.saturating_duration_since(device.issued) < DEVICE_LIFETIME)
            .then_some(device)
    }
}

/// Failed and successful sign-ins, in bounded memory; see the module documentation.
pub struct Throttle {
    /// The secret keys of the user-name hash, so nobody can aim collisions at a name.
    keys: RandomState,
    /// Held only to read or update a few entries, never across an await.
    maps: Mutex<Maps>,
}

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle::with_capacity(CAPACITY)
    }
}

impl Throttle {
    /// A throttle keeping at most `capacity` entries in each of its maps.
    pub fn with_capacity(capacity: usize) -> Throttle {
        Throttle {
            keys: RandomState::new(),
            maps: Mutex::new(Maps {
                users: Bounded::new(capacity),
                ips: Bounded::new(capacity),
                devices: Bounded::new(capacity),
                known: Bounded::new(capacity),
            }),
        }
    }

    /// An attempt to sign in as `user` from `ip` with the device cookie `device`.
    pub fn attempt(&self, user: &str, ip: Option<IpAddr>, device: Option<&str>) -> Attempt {
        Attempt {
            user: self.keys.hash_one(user),
            ip,
            device: device.map(sha256),
        }
    }

    fn maps(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.maps.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long this attempt must wait, if it must. A device that signed in as this user is
    /// judged by its own failures only; an address that did, by its own and not the user's.
    pub fn wait(&self, a: &Attempt) -> Option<Duration> {
        let now = Instant::now();
        let mut m = self.maps();
        if m.device(a, now)
            .is_some_and(|d| d.failures.wait(now).is_none())
        {
            return None;
        }
        let known =
            a.ip.and_then(|ip| m.known.map.get(&(a.user, ip)))
                .is_some_and(|at| now.saturating_duration_since(*at) < KNOWN_ADDRESS);
        let by_user = m
            .users
            .map
            .get(&a.user)
            .filter(|_| !known)
            .and_then(|f| f.wait(now));
        let by_ip = m.ips.map.get(&a.ip).and_then(|f| f.wait(now));
        by_user.max(by_ip)
    }

    /// Counts a failed attempt against its user, its address and its device.
    pub fn failed(&self, a: &Attempt) {
        let now = Instant::now();
        let mut m = self.maps();
        let rank = |f: &Failures| f.rank(now);
        m.users.entry(a.user, || Failures::new(now), rank).bump(now);
        m.ips.entry(a.ip, || Failures::new(now), rank).bump(now);
        if let Some(device) = m.device(a, now) {
            device.failures.bump(now);
        }
    }

    /// Forgets the failures of this attempt's user and address, remembers the address, and
    /// trusts the browser that will present `new_device` (replacing the cookie it presented).
    pub fn succeeded(&self, a: &Attempt, new_device: &str) {
        let now = Instant::now();
        let mut m = self.maps();
        m.users.map.remove(&a.user);
        m.ips.map.remove(&a.ip);
        if let Some(old) = a.device {
            m.devices.map.remove(&old);
        }
        let device = Device {
            user: a.user,
            issued: now,
            failures: Failures::new(now),
        };
        *m.devices.entry(sha256(new_device), || device, |d| d.issued) = device;
        if let Some(ip) = a.ip {
            *m.known.entry((a.user, ip), || now, |at| *at) = now;
        }
    }

    /// Entries held: user names, addresses, devices, known addresses.
    #[cfg(test)]
    fn sizes(&self) -> [usize; 4] {
        let m = self.maps();
        [
            m.users.map.len(),
            m.ips.map.len(),
            m.devices.map.len(),
            m.known.map.len(),
        ]
    }
}

fn sha256(token: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut key = [0u8; 32];
    // SHA-256 is 32 bytes by definition.
    key.copy_from_slice(digest.as_ref());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> Option<IpAddr> {
        Some(IpAddr::from(std::net::Ipv4Addr::from(0x7f00_0000 + n)))
    }

    #[test]
    fn throttle_waits_exponentially_after_free_failures() {
        let t = Throttle::default();
        let ip = Some(IpAddr::from([127, 0, 0, 1]));
        let admin = t.attempt("admin", ip, None);
        for _ in 0..FREE_FAILURES - 1 {
            t.failed(&admin);
        }
        assert_eq!(t.wait(&admin), None);
        t.failed(&admin);
        assert!(t.wait(&admin).is_some_and(|d| d <= Duration::from_secs(1)));
        assert!(
            t.wait(&t.attempt("other", ip, None)).is_some(),
            "the address is throttled too"
        );
        t.succeeded(&admin, "device");
        assert_eq!(t.wait(&admin), None);
    }

    /// Regression: 60 KB names from many addresses were each kept whole, without bound, and a
    /// 30 s flood took the daemon from 155 MB to 1.8 GB.
    #[test]
    fn a_flood_of_long_names_from_many_addresses_stays_under_the_cap() {
        let t = Throttle::with_capacity(1_000);
        let admin = t.attempt("ops", ip(1), None);
        for _ in 0..FREE_FAILURES + 5 {
            t.failed(&admin);
        }
        let long = "A".repeat(4 * 1024);
        for i in 0..5_000u32 {
            let a = t.attempt(&format!("{i}{long}"), ip(2 + i), None);
            t.failed(&a);
            let [users, ips, devices, known] = t.sizes();
            assert!(
                users <= 1_000 && ips <= 1_000,
                "{users} names, {ips} addresses"
            );
            assert_eq!((devices, known), (0, 0));
        }
        assert!(
            t.wait(&t.attempt("ops", ip(9_999), None)).is_some(),
            "a name being held back outlives the flood"
        );
    }

    #[test]
    fn a_full_map_drops_what_holds_nobody_back_first() {
        let mut m: Bounded<u32, u32> = Bounded::new(16);
        for k in 0..100 {
            *m.entry(k, || 0, |v| *v) = k;
        }
        assert!(m.map.len() <= 16);
        assert!(m.map.contains_key(&99) && !m.map.contains_key(&0));
    }

    #[test]
    fn strangers_cannot_lock_out_a_device_or_an_address_that_signed_in_before() {
        let t = Throttle::default();
        // The admin signed in from 127.0.0.4 and got a device cookie.
        t.succeeded(&t.attempt("ops", ip(4), None), "cookie");
        for _ in 0..FREE_FAILURES {
            t.failed(&t.attempt("ops", ip(2), None));
        }
        assert!(
            t.wait(&t.attempt("ops", ip(3), None)).is_some(),
            "strangers wait"
        );
        assert_eq!(
            t.wait(&t.attempt("ops", ip(5), Some("cookie"))),
            None,
            "the device that signed in before, from a new address"
        );
        assert_eq!(
            t.wait(&t.attempt("ops", ip(4), None)),
            None,
            "the known address"
        );
        assert!(
            t.wait(&t.attempt("ops", ip(3), Some("forged"))).is_some(),
            "an unknown cookie"
        );
        t.succeeded(&t.attempt("dev", ip(6), None), "other-cookie");
        assert!(
            t.wait(&t.attempt("ops", ip(3), Some("other-cookie")))
                .is_some(),
            "a device is trusted for the user it signed in as only"
        );
        assert!(
            t.wait(&t.attempt("ops", ip(6), None)).is_some(),
            "an address is trusted for the user it signed in as only"
        );
    }

    #[test]
    fn a_device_that_fails_too_often_is_judged_as_a_stranger() {
        let t = Throttle::default();
        t.succeeded(&t.attempt("ops", ip(4), None), "cookie");
        let from_device = t.attempt("ops", ip(7), Some("cookie"));
        for _ in 0..FREE_FAILURES {
            assert_eq!(t.wait(&from_device), None);
            t.failed(&from_device);
        }
        assert!(t.wait(&from_device).is_some());
        // Signing in again replaces the cookie: the old one is worth nothing.
        t.succeeded(&t.attempt("ops", ip(4), Some("cookie")), "new-cookie");
        for _ in 0..FREE_FAILURES {
            t.failed(&t.attempt("ops", ip(2), None));
        }
        assert!(t.wait(&t.attempt("ops", ip(7), Some("cookie"))).is_some());
        assert_eq!(t.wait(&t.attempt("ops", ip(7), Some("new-cookie"))), None);
    }
}
