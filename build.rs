//! Link options of the `watchpost` binary; it compiles nothing and must never read or write the
//! source tree.
//!
//! On glibc Linux the position-independent binary carries about 40,000 relative relocations: as
//! classic `.rela.dyn` records (24 bytes each) they are 1 MB of the file that the loader reads at
//! every start and that then stays resident. Packed (`DT_RELR`, which glibc 2.36 and later load:
//! Debian 12 has 2.36) they take a few kilobytes; the binary stays position independent and is
//! relocated as before.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo::rerun-if-changed=build.rs");
}
