//! One integration-test binary (one link, one moto server), with a module per concern.

mod helpers;
mod scenarios;
