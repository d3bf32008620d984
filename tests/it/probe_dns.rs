//! DNS probes against the in-process responder.
