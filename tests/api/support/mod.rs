pub mod attestation;
pub mod authenticator;
pub mod binary;
pub mod cluster;
pub mod mds;
pub mod postgres;
pub mod server;
pub mod smtp;
