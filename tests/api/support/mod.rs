pub mod authenticator;
pub mod mds;
pub mod server;
pub mod smtp;
