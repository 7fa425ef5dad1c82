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
