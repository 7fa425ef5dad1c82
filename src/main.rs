//! The function: a Lambda handler for Function URL requests, or a local HTTP server.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // Local runs read .env when present; on Lambda there is none and this does nothing.
    let _ = dotenvy::dotenv();
    tooken_webhook::telemetry::init();
    match tooken_webhook::app::run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // {:#} prints the whole cause chain, which names the variable or call at fault.
            tracing::error!("start-up failed: {e:#}");
            eprintln!("tooken-webhook: {e:#}");
            ExitCode::FAILURE
        }
    }
}
