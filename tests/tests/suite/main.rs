//! The integration suite: one binary, the real server and mock Xiaomi on loopback.

mod api;
mod browser;
mod abuse;
mod accounts;
mod faults;
