pub mod authenticator;
pub mod server;
