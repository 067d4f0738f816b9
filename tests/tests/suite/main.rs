//! The integration suite: one binary, the real server and mock Xiaomi on loopback.

mod abuse;
mod abuse_proxy;
mod accounts;
mod api;
mod browser;
mod delivery;
mod edge;
mod faults;
mod keys;
mod newcomer;
mod pages;
mod security3;
