//! The Tooken API client: the credential check and the rotate call, over HTTPS.
//!
//! What a status code means is a working assumption (`tooken-api.md`): 401 means the credential
//! is revoked or unknown, any 2xx or 403 means it authenticates, 429 carries `Retry-After`.
//! Error messages carry the status and Tooken's error `type`, never a credential and never
//! Tooken's free-text message (it could quote what it was sent).

use std::time::Duration;

use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::event::TokenId;
use crate::reconcile::{Credential, ExternalError, ExternalResult, FailureKind, Rotation, TookenApi};

/// The production API base.
pub const DEFAULT_API_URL: &str = "https://api.tooken.io/v1";

#[derive(Debug, Clone)]
pub struct TookenClient {
    http: reqwest::Client,
    base: Url,
}

impl TookenClient {
    /// `base` is the API root including its version segment, e.g. `https://api.tooken.io/v1`.
    /// `timeout` bounds each call from connect to the last body byte.
    pub fn new(base: Url, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("tooken-webhook/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, base })
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("the base URL was validated as http(s)")
            .pop_if_empty()
            .extend(segments);
        url
    }

    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> ExternalResult<reqwest::Response> {
        request.send().await.map_err(|e| {
            let cause = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "failed"
            };
            ExternalError::new(FailureKind::Failed, format!("Tooken {what}: {cause}"))
                .with_source(e.without_url())
        })
    }
}

impl TookenApi for TookenClient {
    async fn check(&self, secret: &SecretString) -> ExternalResult<Credential> {
        let request = self
            .http
            .get(self.url(&["tokens"]))
            .bearer_auth(secret.expose_secret());
        let response = self.send(request, "credential check (GET /tokens)").await?;
        match response.status() {
            status if status.is_success() || status == StatusCode::FORBIDDEN => Ok(Credential::Accepted),
            StatusCode::UNAUTHORIZED => Ok(Credential::Rejected),
            _ => Err(failure(response, "credential check (GET /tokens)").await),
        }
    }

    async fn rotate(&self, token: &TokenId, management_token: &SecretString) -> ExternalResult<Rotation> {
        let what = "rotate (POST /tokens/:id/rotate)";
        let request = self
            .http
            .post(self.url(&["tokens", token.as_str(), "rotate"]))
            .bearer_auth(management_token.expose_secret());
        let response = self.send(request, what).await?;
        if !response.status().is_success() {
            return Err(failure(response, what).await);
        }
        let body: RotateResponse = response.json().await.map_err(|e| {
            ExternalError::new(
                FailureKind::Failed,
                format!("Tooken {what}: the answer is not {{\"secret\": \"…\", \"rotated_at\": \"…\"}}"),
            )
            .with_source(e.without_url())
        })?;
        if body.id.as_deref().is_some_and(|id| id != token.as_str()) {
            return Err(ExternalError::new(
                FailureKind::Failed,
                format!("Tooken {what}: the answer is for another token than {token}"),
            ));
        }
        if body.secret.expose_secret().trim().is_empty() {
            return Err(ExternalError::new(
                FailureKind::Failed,
                format!("Tooken {what}: the answer holds an empty secret"),
            ));
        }
        Ok(Rotation {
            secret: body.secret,
            rotated_at: body.rotated_at,
        })
    }
}

#[derive(Deserialize)]
struct RotateResponse {
    #[serde(default)]
    id: Option<String>,
    secret: SecretString,
    #[serde(default)]
    rotated_at: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(rename = "type")]
    kind: Option<String>,
}

async fn failure(response: reqwest::Response, what: &str) -> ExternalError {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let error_type = response
        .json::<ErrorBody>()
        .await
        .ok()
        .and_then(|b| b.error.kind)
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    let kind = match status {
        StatusCode::TOO_MANY_REQUESTS => FailureKind::Throttled { retry_after },
        StatusCode::NOT_FOUND => FailureKind::NotFound,
        _ => FailureKind::Failed,
    };
    ExternalError::new(kind, format!("Tooken {what} answered {status}{error_type}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_the_base_path_and_encode_the_token_id() {
        let client = TookenClient::new(
            Url::parse("http://127.0.0.1:9/v1/").unwrap(),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(client.url(&["tokens"]).as_str(), "http://127.0.0.1:9/v1/tokens");
        let token = TokenId::parse("tok_a/b?c").unwrap();
        assert_eq!(
            client.url(&["tokens", token.as_str(), "rotate"]).as_str(),
            "http://127.0.0.1:9/v1/tokens/tok_a%2Fb%3Fc/rotate"
        );
    }
}
