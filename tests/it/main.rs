//! One integration-test binary (one link, one moto server), with a module per concern.

mod cli;
mod helpers;
mod http_answers;
mod lambda_events;
mod scenarios;
mod startup;
