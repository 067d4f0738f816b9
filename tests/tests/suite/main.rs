//! The integration suite: one binary, the real server and mock Xiaomi on loopback.

mod abuse;
mod abuse_proxy;
mod accounts;
mod api;
mod browser;
mod delivery;
mod designer;
mod edge;
mod faults;
mod firefox;
mod keys;
mod newcomer;
mod oidc;
mod pages;
mod security3;
mod store;
