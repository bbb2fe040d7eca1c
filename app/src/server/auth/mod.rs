//! Passwords, login rate limits, client addresses, known devices and the
//! session guards.

pub mod guard;
pub mod password;
pub mod ratelimit;
pub mod client;
pub mod device;
