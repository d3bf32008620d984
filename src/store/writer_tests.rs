//! Unit tests of how the writer gathers a batch: probe writes linger for more, a write someone
//! waits for or the senders' going ends the gathering with everything queued taken.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::{Write, gather};
use crate::clock::Timestamp;
use crate::probe::{Outcome, Phases, Status};

fn result(check: i64) -> Write {
    Write::Result {
        check,
        outcome: Arc::new(Outcome {
            at: Timestamp(1_800_000_000_000 + check),
            status: Status::Up,
            failure: None,
            latency: Duration::from_millis(3),
            code: None,
            phases: Phases::default(),
            tls: None,
            answers: None,
            facts: Default::default(),
        }),
    }
}

fn checks(batch: &[Write]) -> Vec<i64> {
    batch
        .iter()
        .filter_map(|w| match w {
            Write::Result { check, .. } => Some(*check),
            _ => None,
        })
        .collect()
}

#[test]
fn results_queued_then_the_senders_gone_are_taken_in_one_batch() {
    let (tx, mut rx) = mpsc::channel(16);
    for check in 1..=3 {
        tx.try_send(result(check)).unwrap();
    }
    drop(tx);
    let mut batch = vec![];
    gather(&mut rx, &mut batch, Write::may_linger);
    assert_eq!(checks(&batch), [1, 2, 3]);
}

#[test]
fn a_write_someone_waits_for_ends_the_gathering_with_the_results_before_it() {
    let (tx, mut rx) = mpsc::channel(16);
    tx.try_send(result(1)).unwrap();
    tx.try_send(result(2)).unwrap();
    let (reply, _answer) = oneshot::channel();
    tx.try_send(Write::Flush { reply }).unwrap();
    let mut batch = vec![];
    gather(&mut rx, &mut batch, Write::may_linger);
    assert_eq!(checks(&batch), [1, 2]);
    assert!(matches!(batch.last(), Some(Write::Flush { .. })));
    // The sender is still there: the gathering did not wait for it to go.
    drop(tx);
}

#[test]
fn results_alone_gather_until_the_linger_is_over_and_then_commit() {
    let (tx, mut rx) = mpsc::channel(16);
    tx.try_send(result(1)).unwrap();
    let later = tx.clone();
    let sender = std::thread::spawn(move || later.blocking_send(result(2)).unwrap());
    let mut batch = vec![rx.try_recv().unwrap()];
    gather(&mut rx, &mut batch, Write::may_linger);
    sender.join().unwrap();
    // However the threads ran, nothing is lost: what the gathering missed is still queued.
    let mut taken = checks(&batch);
    while let Ok(w) = rx.try_recv() {
        taken.extend(checks(&[w]));
    }
    assert_eq!(taken, [1, 2]);
    drop(tx);
}
