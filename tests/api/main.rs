//! passkeyd's integration tests: the real server on an ephemeral port, a real SQLite file,
//! real WebAuthn ceremonies. One test binary (see STYLE.md); add modules, not binaries.

mod support;

mod admin;
mod ceremonies;
mod negatives;
mod users;
mod wire;
