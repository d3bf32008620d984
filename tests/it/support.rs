//! Loopback servers shared by the integration tests.
