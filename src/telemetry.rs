//! Logging set-up for the function binary.
//!
//! It honours Lambda's advanced logging controls (`AWS_LAMBDA_LOG_LEVEL`, and
//! `AWS_LAMBDA_LOG_FORMAT=JSON` for one JSON object per line), falls back to `RUST_LOG`, then
//! `info`. Colour is used only on a terminal, so files and CloudWatch get plain text; on Lambda
//! the timestamp is left to CloudWatch, which stamps every line.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init() {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let directives = var("AWS_LAMBDA_LOG_LEVEL")
        .map(|level| level.to_lowercase())
        .or_else(|| var("RUST_LOG"))
        .unwrap_or_else(|| "info".to_owned());
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let on_lambda = var("AWS_LAMBDA_RUNTIME_API").is_some();

    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal());
    match (json, on_lambda) {
        (true, _) => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        (false, true) => builder.without_time().init(),
        (false, false) => builder.init(),
    }
}
