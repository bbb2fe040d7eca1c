//! Passwords, login rate limits, emailed tokens, client addresses, known devices and the
//! session guards.

pub mod guard;
pub mod password;
pub mod ratelimit;
pub mod tokens;
pub mod client;
pub mod device;
