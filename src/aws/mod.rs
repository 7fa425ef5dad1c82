//! The AWS adapters: Secrets Manager holds the token's secret, ECS runs the services.
//!
//! Clients are built once per cold start from the SDK's standard chain (`AWS_REGION`,
//! credentials, `AWS_ENDPOINT_URL` for a local emulator such as moto), with timeouts so that no
//! call can outlive the reconcile budget. Errors become [`ExternalError`]s that name the
//! operation, the resource and AWS's error code.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_types::DateTime;

use crate::reconcile::{ExternalError, FailureKind};

pub mod ecs;
pub mod secrets;

pub use ecs::EcsDeployer;
pub use secrets::SecretsManager;

/// `sdk` with the function's timeouts: `call_timeout` bounds one attempt (and connecting), and
/// the SDK's standard retries (three attempts, backing off on throttling) fit inside
/// `operation_timeout`, so no call can outlive the reconcile budget.
pub fn with_timeouts(sdk: &SdkConfig, call_timeout: Duration, operation_timeout: Duration) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(call_timeout)
        .operation_attempt_timeout(call_timeout)
        .operation_timeout(operation_timeout)
        .build();
    sdk.to_builder().timeout_config(timeouts).build()
}

/// Turns an SDK error into an [`ExternalError`] that says what failed on which resource.
fn external<E, R>(operation: &str, resource: &str, error: SdkError<E, R>) -> ExternalError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let (kind, detail) = match &error {
        SdkError::ServiceError(_) => {
            let code = error.code().unwrap_or("UnknownError");
            let kind = match code {
                "ResourceNotFoundException" | "ServiceNotFoundException" | "ClusterNotFoundException" => {
                    FailureKind::NotFound
                }
                "ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded" => {
                    FailureKind::Throttled { retry_after: None }
                }
                _ => FailureKind::Failed,
            };
            let detail = match error.message() {
                Some(message) => format!("{code}: {message}"),
                None => code.to_owned(),
            };
            (kind, detail)
        }
        SdkError::TimeoutError(_) => (FailureKind::Failed, "timed out".to_owned()),
        SdkError::DispatchFailure(_) => (FailureKind::Failed, "could not reach the endpoint".to_owned()),
        _ => (FailureKind::Failed, DisplayErrorContext(&error).to_string()),
    };
    ExternalError::new(kind, format!("{operation} {resource}: {detail}")).with_source(error)
}

fn system_time(date: Option<&DateTime>) -> Option<SystemTime> {
    date.and_then(|d| SystemTime::try_from(*d).ok())
}
