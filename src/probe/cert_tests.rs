//! The explanations of rejected certificates, on certificates made with rcgen.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use super::*;

fn der(names: &[&str], ca: bool) -> CertificateDer<'static> {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("valid names");
    params.not_before = rcgen::date_time_ymd(2026, 1, 2);
    params.not_after = rcgen::date_time_ymd(2026, 4, 2);
    if ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    let key = KeyPair::generate().expect("a key");
    params
        .self_signed(&key)
        .expect("a certificate")
        .der()
        .clone()
}

fn name(host: &str) -> ServerName<'static> {
    ServerName::try_from(host.to_string()).expect("a server name")
}

/// 2026-03-01, while the test certificates are valid.
fn march() -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_772_323_200))
}

#[test]
fn a_self_signed_certificate_says_so_whether_or_not_it_claims_to_be_a_ca() {
    let leaf = der(&["localhost"], false);
    let m = explain(
        &CertificateError::UnknownIssuer,
        &leaf,
        &name("localhost"),
        march(),
    );
    assert!(
        m.starts_with("self-signed certificate for localhost"),
        "{m}"
    );
    assert!(
        m.contains("not signed by a trusted authority") && m.contains("tls_insecure"),
        "{m}"
    );

    // What webpki says of `openssl req -x509`'s certificates: CaUsedAsEndEntity.
    let ca = der(&["localhost"], true);
    let other =
        CertificateError::Other(OtherError(Arc::new(Explained("CaUsedAsEndEntity".into()))));
    let m = explain(&other, &ca, &name("localhost"), march());
    assert!(
        m.starts_with("self-signed certificate for localhost"),
        "{m}"
    );
}

#[test]
fn an_unknown_issuer_is_named() {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Test Private CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = Issuer::new(ca_params, KeyPair::generate().unwrap());
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["a.example".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let m = explain(
        &CertificateError::UnknownIssuer,
        leaf.der(),
        &name("a.example"),
        march(),
    );
    assert!(
        m.starts_with("unknown issuer \"CN=Test Private CA\""),
        "{m}"
    );
    assert!(m.contains("for a.example"), "{m}");
}

#[test]
fn expiry_and_not_yet_valid_give_the_date_and_how_far() {
    let leaf = der(&["a.example"], false);
    let expired = CertificateError::ExpiredContext {
        time: UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_775_433_600)),
        not_after: UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_775_088_000)),
    };
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_775_433_600));
    let m = explain(&expired, &leaf, &name("a.example"), now);
    assert_eq!(
        m,
        "expired on 2026-04-02 (4 days ago): the certificate for a.example must be renewed"
    );
    let early = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_766_966_400));
    let m = explain(
        &CertificateError::NotValidYet,
        &leaf,
        &name("a.example"),
        early,
    );
    assert!(
        m.starts_with(
            "not yet valid: the certificate for a.example is valid from 2026-01-02 (in 4 days)"
        ),
        "{m}"
    );
}

#[test]
fn a_name_mismatch_lists_the_names_of_the_certificate() {
    let leaf = der(&["a.example", "b.example"], false);
    let m = explain(
        &CertificateError::NotValidForName,
        &leaf,
        &name("c.example"),
        march(),
    );
    assert_eq!(
        m,
        "name mismatch: certificate is for a.example, b.example, not c.example"
    );
    let many: Vec<String> = (0..40)
        .map(|i| format!("host{i}.{}", "x".repeat(200)))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let leaf = der(&many, false);
    let m = explain(
        &CertificateError::NotValidForName,
        &leaf,
        &name("c.example"),
        march(),
    );
    assert!(m.contains(" and 36 more, not c.example"), "{m}");
    assert!(m.chars().count() < 400, "{m}");
}

#[test]
fn the_other_rejections_read_plainly() {
    let leaf = der(&["a.example"], false);
    let cases = [
        (CertificateError::BadSignature, "bad signature"),
        (CertificateError::Revoked, "revoked"),
        (CertificateError::BadEncoding, "malformed certificate"),
        (CertificateError::InvalidPurpose, "not a server certificate"),
    ];
    for (error, start) in cases {
        let m = explain(&error, &leaf, &name("a.example"), march());
        assert!(m.starts_with(start), "{error:?}: {m}");
    }
}

#[test]
fn wildcards_cover_one_label() {
    assert!(covers("*.example.org", "www.example.org"));
    assert!(covers("WWW.example.org", "www.example.org"));
    assert!(!covers("*.example.org", "a.b.example.org"));
    assert!(!covers("*.example.org", "example.org"));
}
