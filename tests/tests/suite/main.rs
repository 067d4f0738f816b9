//! The integration suite: one binary, the real server and mock Xiaomi on loopback.

mod api;
mod abuse;
mod faults;
