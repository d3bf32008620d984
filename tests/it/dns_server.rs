//! An in-process DNS responder on loopback (UDP and TCP) for DNS probe tests.
