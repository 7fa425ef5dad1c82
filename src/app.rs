//! Wiring: settings + AWS configuration → the real adapters → the router, served either by the
//! Lambda runtime or by a plain HTTP server on loopback.
//!
//! Tests build the app through [`build`] with their own settings and an SDK configuration that
//! points at moto, so they exercise exactly what production runs.

use std::sync::Arc;

use aws_config::SdkConfig;
use tokio::net::TcpListener;

use crate::aws::{self, EcsDeployer, SecretsManager};
use crate::config::{Secrets, Settings};
use crate::http::{self, App, Limits};
use crate::reconcile::Reconciler;
use crate::tooken::TookenClient;

/// The app with the real adapters.
pub type RealApp = App<TookenClient, SecretsManager, EcsDeployer>;

/// The reconciler with the real adapters.
pub type RealReconciler = Reconciler<TookenClient, SecretsManager, EcsDeployer>;

/// Reads the secrets named by ARN and creates every client once. Shared by the function and the
/// command-line tool, so both reach Tooken and AWS the same way.
pub async fn reconciler(settings: &Settings, sdk: &SdkConfig) -> anyhow::Result<(RealReconciler, Secrets)> {
    let sdk = aws::with_timeouts(sdk, settings.call_timeout, settings.reconcile_budget);
    let store = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&sdk));
    let secrets = settings.resolve(&store).await?;
    let tooken = TookenClient::new(settings.api_url.clone(), settings.call_timeout)?;
    let deployer = EcsDeployer::new(aws_sdk_ecs::Client::new(&sdk));
    let reconciler = Reconciler::new(
        tooken,
        store,
        deployer,
        secrets.management_token.clone(),
        settings.restart_concurrency,
    );
    Ok((reconciler, secrets))
}

/// Builds the function's app.
pub async fn build(settings: &Settings, sdk: &SdkConfig) -> anyhow::Result<RealApp> {
    let (reconciler, secrets) = reconciler(settings, sdk).await?;
    let webhook = secrets
        .webhook
        .ok_or_else(|| anyhow::anyhow!("the function needs a webhook secret (TOOKEN_WEBHOOK_SECRET_ARN)"))?;
    tracing::info!(
        webhook_secrets = webhook.len(),
        tokens = settings.targets.len(),
        api = %settings.api_url,
        self_healing = settings.management_token.is_some(),
        "configuration loaded"
    );
    Ok(App::new(
        reconciler,
        webhook,
        settings.targets.clone(),
        Limits {
            max_body_bytes: settings.max_body_bytes,
            reconcile_budget: settings.reconcile_budget,
        },
    ))
}

/// Runs the function: under the Lambda runtime when `AWS_LAMBDA_RUNTIME_API` is set, otherwise
/// as an HTTP server on `127.0.0.1:$PORT` until Ctrl-C or SIGTERM.
pub async fn run() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let router = http::router(Arc::new(build(&settings, &sdk).await?));

    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return lambda_http::run(router).await.map_err(|e| anyhow::anyhow!(e));
    }
    let listener = TcpListener::bind(("127.0.0.1", settings.port)).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down");
}
