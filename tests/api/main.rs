//! passkeyd's integration tests: the real server on an ephemeral port, a real SQLite file,
//! real WebAuthn ceremonies. One test binary (each extra one would link the crate again); add modules, not binaries.

mod support;

mod admin;
mod authenticators;
mod bad_input;
mod ceremonies;
mod console;
mod crash;
mod flex;
mod hardening;
mod isolation;
mod magic_links;
mod management;
mod negatives;
mod operations;
mod outage;
mod passage;
mod rate_limits;
mod replicas;
mod reports;
mod sessions;
mod settings;
mod transactions;
mod users;
mod wire;
