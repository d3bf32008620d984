//! One check's rollup for one hour or day: the time in each state, probe counts, latency sums
//! and buckets, and the percentiles and phase means read back from them. Pure; no I/O, no clock.

use crate::model::Phase;
use crate::monitor::Bucket;
use crate::probe::Status;

/// Upper bounds (ms) of the coarse latency buckets of rows written before schema 4; the last
/// bucket is unbounded. Read, no longer written.
pub const LATENCY_BOUNDS_MS: [i64; 9] = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

/// Upper bounds (µs) of the latency buckets: 0.1 ms to 52 s in steps of √2, so a percentile read
/// from them is within a few percent of the truth; the last bucket (40 in all) is unbounded.
pub const FINE_BOUNDS_US: [i64; 39] = [
    100, 141, 200, 283, 400, 566, 800, 1131, 1600, 2263, 3200, 4525, 6400, 9051, 12800, 18102,
    25600, 36204, 51200, 72408, 102400, 144815, 204800, 289631, 409600, 579262, 819200, 1158524,
    1638400, 2317048, 3276800, 4634095, 6553600, 9268190, 13107200, 18536380, 26214400, 37072760,
    52428800,
];

/// One check's figures for one hour or one day; also used as a delta to add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rollup {
    pub up_ms: i64,
    pub degraded_ms: i64,
    pub down_ms: i64,
    pub maintenance_ms: i64,
    pub probes_up: i64,
    pub probes_degraded: i64,
    pub probes_down: i64,
    pub latency_sum_us: i64,
    pub latency_max_us: i64,
    /// Probe counts per bucket of [`LATENCY_BOUNDS_MS`], plus one for the rest: rows from
    /// before schema 4 only.
    pub histogram: [i64; 10],
    /// Probe counts per bucket of [`FINE_BOUNDS_US`], plus one for the rest.
    pub latency: [i64; 40],
    /// Sums of the phases in [`PHASES`] order, over the `phased` probes that timed any.
    pub phases_us: [i64; Phase::COUNT],
    pub phased: i64,
}

/// The phases a probe is timed in, in the order of [`Rollup::phases_us`].
pub const PHASES: [Phase; Phase::COUNT] = Phase::ALL;

// By hand: `Default` is derived for arrays of at most 32 elements.
impl Default for Rollup {
    fn default() -> Rollup {
        Rollup {
            up_ms: 0,
            degraded_ms: 0,
            down_ms: 0,
            maintenance_ms: 0,
            probes_up: 0,
            probes_degraded: 0,
            probes_down: 0,
            latency_sum_us: 0,
            latency_max_us: 0,
            histogram: [0; 10],
            latency: [0; 40],
            phases_us: [0; Phase::COUNT],
            phased: 0,
        }
    }
}

impl Rollup {
    /// Time with a verdict, maintenance excluded: the denominator of uptime.
    pub fn observed_ms(&self) -> i64 {
        self.up_ms.max(0) + self.degraded_ms.max(0) + self.down_ms.max(0)
    }

    pub fn probes(&self) -> i64 {
        self.probes_up + self.probes_degraded + self.probes_down
    }

    /// Adds `other` to `self`, column by column (max for the latency maximum).
    pub fn add(&mut self, other: &Rollup) {
        self.up_ms += other.up_ms;
        self.degraded_ms += other.degraded_ms;
        self.down_ms += other.down_ms;
        self.maintenance_ms += other.maintenance_ms;
        self.probes_up += other.probes_up;
        self.probes_degraded += other.probes_degraded;
        self.probes_down += other.probes_down;
        self.latency_sum_us += other.latency_sum_us;
        self.latency_max_us = self.latency_max_us.max(other.latency_max_us);
        for (a, b) in self.histogram.iter_mut().zip(other.histogram) {
            *a += b;
        }
        for (a, b) in self.latency.iter_mut().zip(other.latency) {
            *a += b;
        }
        for (a, b) in self.phases_us.iter_mut().zip(other.phases_us) {
            *a += b;
        }
        self.phased += other.phased;
    }

    /// The sum of `rows`, column by column as [`Rollup::add`] adds them.
    pub(crate) fn total<'a>(rows: impl IntoIterator<Item = &'a Rollup>) -> Rollup {
        let mut total = Rollup::default();
        for r in rows {
            total.add(r);
        }
        total
    }

    /// Counts one probe's phases, if it timed any.
    pub fn count_phases(&mut self, phases: &crate::probe::Phases) {
        let all = phases.all().map(|(_, d)| d);
        if all.iter().all(Option::is_none) {
            return;
        }
        for (sum, phase) in self.phases_us.iter_mut().zip(all) {
            *sum += phase.map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        }
        self.phased += 1;
    }

    /// The mean time of each phase, in [`PHASES`] order, over the probes that timed them.
    pub fn phase_means(&self) -> Option<[std::time::Duration; Phase::COUNT]> {
        (self.phased > 0).then(|| {
            self.phases_us
                .map(|sum| std::time::Duration::from_micros((sum / self.phased).max(0) as u64))
        })
    }

    pub(super) fn column(&mut self, bucket: Bucket) -> &mut i64 {
        match bucket {
            Bucket::Up => &mut self.up_ms,
            Bucket::Degraded => &mut self.degraded_ms,
            Bucket::Down => &mut self.down_ms,
            Bucket::Maintenance => &mut self.maintenance_ms,
        }
    }

    /// Counts one probe: its verdict, its latency and its histogram bucket.
    pub fn count_probe(&mut self, status: Status, latency_us: i64) {
        match status {
            Status::Up => self.probes_up += 1,
            Status::Degraded => self.probes_degraded += 1,
            Status::Down => self.probes_down += 1,
        }
        self.latency_sum_us += latency_us;
        self.latency_max_us = self.latency_max_us.max(latency_us);
        let i = FINE_BOUNDS_US.partition_point(|&b| b <= latency_us);
        self.latency[i] += 1;
    }

    /// The latency below which a share `p` of the probes fell, estimated from the buckets
    /// (linear within a bucket, capped by the largest latency seen). Rows from before schema 4
    /// have only coarse buckets, which are used when there are no fine ones.
    pub fn percentile(&self, p: f64) -> Option<std::time::Duration> {
        let coarse = LATENCY_BOUNDS_MS.map(|ms| ms * 1000);
        let (counts, bounds): (&[i64], &[i64]) = if self.latency.iter().any(|&n| n > 0) {
            (&self.latency, &FINE_BOUNDS_US)
        } else {
            (&self.histogram, &coarse)
        };
        let total: i64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = (p.clamp(0.0, 1.0) * total as f64).max(1.0);
        let mut below = 0i64;
        for (i, &n) in counts.iter().enumerate() {
            if n > 0 && (below + n) as f64 >= rank {
                let lo = if i == 0 { 0 } else { bounds[i - 1] };
                let hi = bounds
                    .get(i)
                    .copied()
                    .unwrap_or(self.latency_max_us)
                    .min(self.latency_max_us.max(lo));
                let within = (rank - below as f64) / n as f64;
                let us = lo as f64 + within * (hi - lo).max(0) as f64;
                return Some(std::time::Duration::from_micros(us as u64));
            }
            below += n;
        }
        None
    }

    /// Uptime as a ratio in [0, 1]; `None` when nothing was observed.
    pub fn uptime(&self) -> Option<f64> {
        let observed = self.observed_ms();
        (observed > 0).then(|| 1.0 - self.down_ms.max(0) as f64 / observed as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_averaged_over_the_probes_that_timed_them() {
        use crate::probe::Phases;
        use std::time::Duration;
        let ms = |n| Some(Duration::from_millis(n));
        let mut r = Rollup::default();
        assert_eq!(r.phase_means(), None);
        r.count_phases(&Phases::default());
        assert_eq!(r.phased, 0, "a probe without phases is not counted");
        r.count_phases(&Phases {
            connect: ms(4),
            processing: ms(20),
            ..Phases::default()
        });
        let mut other = Rollup::default();
        other.count_phases(&Phases {
            resolve: ms(2),
            connect: ms(6),
            processing: ms(40),
            ..Phases::default()
        });
        r.add(&other);
        let means = r.phase_means().unwrap().map(|d| d.as_millis());
        assert_eq!(means, [1, 5, 0, 30, 0]);
    }

    #[test]
    fn percentiles_come_from_the_histogram_within_the_largest_seen() {
        let mut r = Rollup::default();
        for ms in [5, 6, 7, 8, 30, 40, 45, 120, 130, 900] {
            r.count_probe(Status::Up, ms * 1000);
        }
        let p50 = r.percentile(0.5).unwrap().as_millis();
        assert!((25..=50).contains(&p50), "{p50}");
        let p95 = r.percentile(0.95).unwrap().as_millis();
        assert!((500..=900).contains(&p95), "{p95}");
        assert_eq!(Rollup::default().percentile(0.5), None);
    }

    #[test]
    fn histogram_buckets_by_latency() {
        let mut r = Rollup::default();
        r.count_probe(Status::Up, 90);
        r.count_probe(Status::Up, 100);
        r.count_probe(Status::Up, 5_000);
        r.count_probe(Status::Down, 70_000_000);
        assert_eq!(r.latency[0], 1, "under 0.1 ms");
        assert_eq!(r.latency[1], 1, "0.1 ms starts the next bucket");
        assert_eq!(r.latency[12], 1, "4.525 to 6.4 ms");
        assert_eq!(r.latency[39], 1, "beyond the last bound");
        assert_eq!(r.histogram, [0; 10], "coarse buckets are no longer written");
        assert_eq!(r.latency_max_us, 70_000_000);
    }

    #[test]
    fn percentiles_are_close_to_the_truth_and_old_rows_still_read() {
        for ms in [0.3, 7.0, 120.0, 480.0, 2_600.0] {
            let mut r = Rollup::default();
            for k in 0..100 {
                // A spread of ±2 % around `ms`.
                let us = ms * 1000.0 * (0.98 + 0.0004 * f64::from(k));
                r.count_probe(Status::Up, us as i64);
            }
            let p50 = r.percentile(0.5).unwrap().as_secs_f64() * 1000.0;
            assert!((p50 - ms).abs() / ms < 0.12, "{ms} ms read as {p50}");
        }
        let old = Rollup {
            histogram: [0, 0, 0, 0, 4, 0, 0, 0, 0, 0],
            latency_max_us: 200_000,
            ..Rollup::default()
        };
        let p50 = old.percentile(0.5).unwrap().as_millis();
        assert!((100..=200).contains(&p50), "{p50}");
    }
}
