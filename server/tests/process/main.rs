//! The process-level tests, one test binary (one link step instead of one per file): the
//! `milogin` binary run as an operator and an attacker meet it, plus the parsers' property tests,
//! the redaction of every secret-holding `Debug` and the paths the docs name.
//! `support` starts processes, writes configurations (through
//! `milogin_server::config::fixture`) and scripts a popup login.

mod support;

mod cli;
mod crash;
mod docs;
mod fuzz;
mod logs;
mod operator;
mod redaction;
mod replicas;
mod security3;
