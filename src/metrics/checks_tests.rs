//! Unit tests of the per-check rows: index lists, the IP hash, escaping.

use super::*;

#[test]
fn reasons_and_statuses_index_their_all_lists() {
    assert!(
        Reason::ALL
            .iter()
            .enumerate()
            .all(|(i, r)| *r as usize == i)
    );
    assert!(
        Status::ALL
            .iter()
            .enumerate()
            .all(|(i, s)| *s as usize == i)
    );
}

#[test]
fn the_ip_hash_is_fnv1a_of_the_address_bytes() {
    // FNV-1a 32 of the bytes 127, 0, 0, 1.
    let ip: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let mut h: u32 = 0x811c_9dc5;
    for b in [127u8, 0, 0, 1] {
        h ^= u32::from(b);
        h = h.wrapping_mul(16_777_619);
    }
    assert_eq!(ip_hash(ip), h);
}

#[test]
fn label_values_are_escaped() {
    let mut s = String::new();
    escape(&mut s, "a\"b\\c\nd");
    assert_eq!(s, r#"a\"b\\c\nd"#);
}
