//! The budget of subscription requests: one token bucket per client (an IPv6 client by its /64,
//! which one machine usually holds whole) and one per email address (kept only as a keyed
//! hash), so a flood can neither mail-bomb an address nor fill the subscribers table.
//!
//! Bounded like the login throttle: each map keeps at most [`CAPACITY`] buckets and makes room
//! by dropping the eighth that hold nobody back (the fullest). Kept in memory: a restart
//! forgives, which is acceptable for a budget. It never stores an address.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept at most in each map.
pub const CAPACITY: usize = 10_000;

/// A bucket's size and how fast it refills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Requests allowed at once.
    pub burst: u32,
    /// One more request is allowed after each of these.
    pub every: Duration,
}

/// Per client: ten at once, then one a minute.
pub const PER_CLIENT: Budget = Budget {
    burst: 10,
    every: Duration::from_secs(60),
};
/// Per email address: three at once, then one every twenty minutes.
pub const PER_ADDRESS: Budget = Budget {
    burst: 3,
    every: Duration::from_secs(20 * 60),
};

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Requests left as of `at`.
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn level(&self, budget: Budget, now: Instant) -> f64 {
        let refilled = now.saturating_duration_since(self.at).as_secs_f64()
            / budget.every.as_secs_f64().max(f64::MIN_POSITIVE);
        (self.tokens + refilled).min(f64::from(budget.burst))
    }
}

/// Buckets by key, at most `capacity` of them.
struct Buckets<K> {
    budget: Budget,
    map: HashMap<K, Bucket>,
    capacity: usize,
}

impl<K: Copy + Eq + Hash> Buckets<K> {
    fn new(budget: Budget, capacity: usize) -> Buckets<K> {
        Buckets {
            budget,
            map: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// How long `key` must wait, if it must.
    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let level = self.map.get(key)?.level(self.budget, now);
        (level < 1.0).then(|| self.budget.every.mul_f64(1.0 - level))
    }

    /// Spends one request of `key`.
    fn take(&mut self, key: K, now: Instant) {
        if !self.map.contains_key(&key) && self.map.len() >= self.capacity {
            let budget = self.budget;
            let mut ranked: Vec<(f64, K)> = self
                .map
                .iter()
                .map(|(k, b)| (-b.level(budget, now), *k))
                .collect();
            let drop = (self.capacity / 8).clamp(1, ranked.len());
            ranked.select_nth_unstable_by(drop - 1, |a, b| a.0.total_cmp(&b.0));
            for (_, k) in &ranked[..drop] {
                self.map.remove(k);
            }
        }
        let full = Bucket {
            tokens: f64::from(self.budget.burst),
            at: now,
        };
        let bucket = self.map.entry(key).or_insert(full);
        *bucket = Bucket {
            tokens: bucket.level(self.budget, now) - 1.0,
            at: now,
        };
    }
}

/// Every bucket, behind one lock held only to look at or spend two of them.
struct Maps {
    clients: Buckets<Option<IpAddr>>,
    addresses: Buckets<u64>,
}

/// The subscription budget; see the module documentation.
pub struct Limit {
    /// The secret keys of the address hash, so nobody can aim collisions at an address.
    keys: RandomState,
    maps: Mutex<Maps>,
}

impl Default for Limit {
    fn default() -> Limit {
        Limit::new(PER_CLIENT, PER_ADDRESS, CAPACITY)
    }
}

impl Limit {
    pub fn new(client: Budget, address: Budget, capacity: usize) -> Limit {
        Limit {
            keys: RandomState::new(),
            maps: Mutex::new(Maps {
                clients: Buckets::new(client, capacity),
                addresses: Buckets::new(address, capacity),
            }),
        }
    }

    /// Spends one request of `client`; `Err` with the wait when its budget is spent.
    pub fn client(&self, client: Option<IpAddr>) -> Result<(), Duration> {
        self.client_at(client, Instant::now())
    }

    /// Spends one request for `address` (any case); `Err` with the wait when its budget is spent.
    pub fn address(&self, address: &str) -> Result<(), Duration> {
        self.address_at(address, Instant::now())
    }

    fn client_at(&self, client: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let key = client.map(network);
        let mut maps = self.maps.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(wait) = maps.clients.wait(&key, now) {
            return Err(wait);
        }
        maps.clients.take(key, now);
        Ok(())
    }

    fn address_at(&self, address: &str, now: Instant) -> Result<(), Duration> {
        let key = self.keys.hash_one(address.to_lowercase());
        let mut maps = self.maps.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(wait) = maps.addresses.wait(&key, now) {
            return Err(wait);
        }
        maps.addresses.take(key, now);
        Ok(())
    }
}

/// The client as budgeted: an IPv4 address, or an IPv6 address's /64.
fn network(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIGHT: Budget = Budget {
        burst: 2,
        every: Duration::from_secs(10),
    };

    /// The wait of a refused request, in whole seconds.
    fn waits(r: Result<(), Duration>) -> Option<u64> {
        r.err().map(|d| d.as_secs_f64().round() as u64)
    }

    #[test]
    fn a_bucket_allows_its_burst_then_one_per_interval() {
        let limit = Limit::new(TIGHT, TIGHT, 100);
        let t0 = Instant::now();
        let ip = Some(IpAddr::from([192, 0, 2, 1]));
        assert_eq!(limit.client_at(ip, t0), Ok(()));
        assert_eq!(limit.client_at(ip, t0), Ok(()));
        assert_eq!(waits(limit.client_at(ip, t0)), Some(10));
        assert_eq!(
            waits(limit.client_at(ip, t0 + Duration::from_secs(4))),
            Some(6)
        );
        assert_eq!(limit.client_at(ip, t0 + Duration::from_secs(10)), Ok(()));
        assert!(limit.client_at(ip, t0 + Duration::from_secs(10)).is_err());
        assert_eq!(
            limit.client_at(Some(IpAddr::from([192, 0, 2, 2])), t0),
            Ok(()),
            "each client has its own"
        );
        assert_eq!(limit.address_at("Ann@Example.org", t0), Ok(()));
        assert_eq!(limit.address_at("ann@example.org", t0), Ok(()));
        assert!(limit.address_at("ANN@example.org", t0).is_err(), "any case");
    }

    #[test]
    fn an_ipv6_client_is_its_64_and_memory_stays_bounded() {
        let limit = Limit::new(TIGHT, TIGHT, 64);
        let t0 = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(limit.client_at(Some(a), t0), Ok(()));
        assert_eq!(limit.client_at(Some(b), t0), Ok(()));
        assert!(limit.client_at(Some(a), t0).is_err(), "one /64, one bucket");
        for i in 0..10_000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            let _ = limit.client_at(Some(ip), t0);
            let _ = limit.address_at(&format!("{i}@example.org"), t0);
        }
        let maps = limit.maps.lock().unwrap();
        assert!(maps.clients.map.len() <= 64);
        assert!(maps.addresses.map.len() <= 64);
    }
}
