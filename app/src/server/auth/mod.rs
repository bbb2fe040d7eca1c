//! Passwords, login rate limits and the session guards.

pub mod guard;
pub mod password;
pub mod ratelimit;
