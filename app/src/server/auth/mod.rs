//! Passwords, login rate limits, client addresses and known devices: the parts the session
//! guards ([`super::guard`]) and the account use cases are built from.

pub mod password;
pub mod ratelimit;
pub mod client;
pub mod device;
