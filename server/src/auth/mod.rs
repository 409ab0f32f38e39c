//! Identity: password hashing, access tokens (JWT), refresh-token material and login rate limits.
//! Mechanisms only; the login/refresh rules that use them are in `domain::sessions`.

pub mod jwt;
pub mod password;
pub mod photo_links;
pub mod rate_limit;
pub mod refresh;
