//! The one router: request → authenticate → parse → targets → reconcile → answer.
//!
//! The same [`axum::Router`] serves Function URL requests under `lambda_http` and plain HTTP
//! locally, so both answer identically. This module is the only place where outcomes become
//! status codes; bodies carry a stable `error` code and a message, never secret material.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Value, json};
use tracing::Instrument;

use crate::error_chain;
use crate::event::{self, Event, EventKind, TokenId};
use crate::reconcile::{Deployer, FailureKind, ReconcileError, Reconciler, Report, SecretStore, TookenApi};
use crate::signature::{SIGNATURE_HEADER, WebhookSecrets};
use crate::targets::Targets;

/// The paths a delivery may be posted to.
pub const DELIVERY_PATHS: [&str; 2] = ["/", "/webhooks/tooken"];

/// What the router needs: the reconciler, the verifier, the targets and the limits.
pub struct App<T, S, D> {
    reconciler: Reconciler<T, S, D>,
    webhook_secrets: WebhookSecrets,
    targets: Targets,
    /// One lock per managed token: deliveries for the same token are reconciled one after the
    /// other, so a burst of duplicates in one process finds the work already done.
    locks: HashMap<TokenId, tokio::sync::Mutex<()>>,
    limits: Limits,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub reconcile_budget: Duration,
}

impl<T, S, D> App<T, S, D> {
    pub fn new(
        reconciler: Reconciler<T, S, D>,
        webhook_secrets: WebhookSecrets,
        targets: Targets,
        limits: Limits,
    ) -> Self {
        let locks = targets
            .iter()
            .map(|(token, _)| (token.clone(), Default::default()))
            .collect();
        Self {
            reconciler,
            webhook_secrets,
            targets,
            locks,
            limits,
        }
    }
}

/// Builds the router over `app`.
pub fn router<T, S, D>(app: Arc<App<T, S, D>>) -> Router
where
    T: TookenApi + 'static,
    S: SecretStore + 'static,
    D: Deployer + 'static,
{
    let delivery = post(deliver::<T, S, D>).fallback(method_not_allowed);
    DELIVERY_PATHS
        .iter()
        .fold(Router::new(), |router, path| router.route(path, delivery.clone()))
        .fallback(not_found)
        .with_state(app)
}

async fn deliver<T, S, D>(State(app): State<Arc<App<T, S, D>>>, headers: HeaderMap, body: Body) -> Response
where
    T: TookenApi,
    S: SecretStore,
    D: Deployer,
{
    let body = match read_body(&headers, body, app.limits.max_body_bytes).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };

    // Nothing (no parse, no network call) happens before the signature holds.
    let signatures: Vec<&HeaderValue> = headers.get_all(SIGNATURE_HEADER).iter().collect();
    let signature = match signatures[..] {
        [] => None,
        [one] => Some(one.as_bytes()),
        // Several headers are ambiguous: rejected as malformed.
        _ => Some(&b""[..]),
    };
    let verified = match app.webhook_secrets.verify(signature, body) {
        Ok(verified) => verified,
        Err(reason) => {
            tracing::warn!(%reason, "rejected a delivery");
            return error(
                StatusCode::UNAUTHORIZED,
                "invalid_signature",
                format!("the {SIGNATURE_HEADER} header is missing, malformed or does not match"),
            );
        }
    };

    let event = match event::parse(&verified) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(error = %e, "rejected a signed delivery that is not a valid event");
            return error(StatusCode::BAD_REQUEST, "invalid_event", e.to_string());
        }
    };
    let span = tracing::info_span!(
        "delivery",
        event_id = event.id.as_deref().unwrap_or("-"),
        event_type = event.event_type(),
        token = tracing::field::Empty,
    );
    handle(&app, event).instrument(span).await
}

async fn handle<T, S, D>(app: &App<T, S, D>, event: Event) -> Response
where
    T: TookenApi,
    S: SecretStore,
    D: Deployer,
{
    let EventKind::TokenRotated { token } = &event.kind else {
        tracing::info!("ignored: not a token.rotated event");
        let reason = format!("event type {} is not handled", event.event_type());
        return ignored(&event, reason);
    };
    tracing::Span::current().record("token", token.as_str());
    let (Some(target), Some(lock)) = (app.targets.get(token), app.locks.get(token)) else {
        tracing::info!("ignored: the token is not managed by this deployment");
        return ignored(&event, format!("token {token} is not managed by this deployment"));
    };

    let budget = app.limits.reconcile_budget;
    let work = async {
        let _turn = lock.lock().await;
        app.reconciler.reconcile(token, target).await
    };
    match tokio::time::timeout(budget, work).await {
        Ok(Ok(report)) => reconciled(&event, report),
        Ok(Err(e)) => reconcile_failed(&e),
        Err(_) => {
            tracing::error!(
                budget_ms = budget.as_millis() as u64,
                "the reconcile ran out of time"
            );
            let message = format!(
                "the reconcile did not finish within {} ms; a redelivery resumes where it stopped",
                budget.as_millis()
            );
            error(StatusCode::SERVICE_UNAVAILABLE, "budget_exceeded", message)
        }
    }
}

/// Reads the whole body, refusing more than `limit` bytes without buffering them.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Response> {
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(too_large()),
        Err(e) => {
            tracing::warn!(error = %e, "reading the request body failed");
            Err(error(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                "the request body could not be read",
            ))
        }
    }
}

fn reconciled(event: &Event, report: Report) -> Response {
    let failed: Vec<String> = report.failed_services().map(|s| s.service.to_string()).collect();
    let mut body = json!({
        "received": true,
        "status": "reconciled",
        "event": event.id,
    });
    merge(&mut body, &report);
    if failed.is_empty() {
        tracing::info!(services = report.services.len(), "delivery reconciled");
        return (StatusCode::OK, axum::Json(body)).into_response();
    }
    tracing::error!(failed = ?failed, "some services could not be restarted");
    body["status"] = json!("failed");
    body["error"] = json!("restart_failed");
    body["message"] = json!(format!(
        "{} of {} services could not be restarted: {}; a redelivery retries only those",
        failed.len(),
        report.services.len(),
        failed.join(", ")
    ));
    (StatusCode::BAD_GATEWAY, axum::Json(body)).into_response()
}

/// Maps a failed secret step to its answer. Logged with the whole cause chain; the body gets
/// the code and the top-level message only.
fn reconcile_failed(e: &ReconcileError) -> Response {
    tracing::error!(error = %error_chain(e), "the reconcile failed");
    let (status, code) = match e {
        ReconcileError::Stale { .. } => (StatusCode::SERVICE_UNAVAILABLE, "secret_stale"),
        ReconcileError::Check(_) | ReconcileError::Rotate { .. } => {
            (StatusCode::BAD_GATEWAY, "tooken_failed")
        }
        ReconcileError::ReadSecret { .. } | ReconcileError::Store { .. } | ReconcileError::Promote { .. } => {
            (StatusCode::BAD_GATEWAY, "secrets_manager_failed")
        }
        ReconcileError::Unverified { .. } => (StatusCode::BAD_GATEWAY, "rotation_unverified"),
        // The function never calls `rotate` directly; listed so the mapping stays total.
        ReconcileError::NoManagementToken => (StatusCode::SERVICE_UNAVAILABLE, "secret_stale"),
    };
    let external = e.external();
    let message = match external {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    };
    let Some(FailureKind::Throttled { retry_after }) = external.map(|x| x.kind) else {
        return error(status, code, message);
    };
    let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "throttled", message);
    if let Some(after) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(after.as_secs()));
    }
    response
}

fn ignored(event: &Event, reason: String) -> Response {
    let body = json!({
        "received": true,
        "status": "ignored",
        "reason": reason,
        "event": event.id,
        "type": event.event_type(),
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn merge(body: &mut Value, report: &Report) {
    if let (Value::Object(target), Ok(Value::Object(fields))) = (body, serde_json::to_value(report)) {
        target.extend(fields);
    }
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({ "error": code, "message": message.into() });
    (status, axum::Json(body)).into_response()
}

async fn method_not_allowed() -> Response {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "deliveries are POSTed",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

async fn not_found() -> Response {
    let paths = DELIVERY_PATHS.join(" or ");
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("deliveries are POSTed to {paths}"),
    )
}
