//! The Tooken rotation webhook: an AWS Lambda (or a local HTTP server) that turns a signed
//! `token.rotated` delivery into a Secrets Manager secret that works and ECS services that use it.
//!
//! The flow is authenticate → parse → resolve targets → reconcile the secret → restart what is
//! stale → answer. Domain modules (`signature`, `event`, `targets`, `reconcile`) know nothing of
//! HTTP or AWS types; the adapters (`tooken`, `aws`) are thin and are tested against real peers.
#![forbid(unsafe_code)]

pub mod app;
pub mod aws;
pub mod config;
pub mod devkit;
pub mod event;
pub mod http;
pub mod reconcile;
pub mod signature;
pub mod targets;
pub mod telemetry;
pub mod tooken;

/// An error with all its causes, `: `-separated, for logs and for the command-line tool. Only
/// for errors whose messages hold no secret material (every error type of this crate).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
