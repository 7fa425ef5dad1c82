//! A stateful fake of the Tooken API (`tooken-api.md`), served on loopback.
//!
//! It keeps the behaviour the function depends on: each token has one working secret; rotating
//! issues a new random one and revokes the old at once; `GET /v1/tokens` answers 401 to anything
//! but a live token secret or a management token; and a rotation sends a signed `token.rotated`
//! delivery to the configured webhook URL, asynchronously, as a real webhook sender would. Every
//! request and delivery is recorded (without credentials) so tests can assert what happened.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::bail;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::devkit::events::{EventSpec, now_rfc3339};
use crate::signature::{SIGNATURE_HEADER, sign};

/// One request the fake received. Credentials are reduced to whose they were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// `Some(token id)`, `Some("management")`, or `None` for an unknown or missing credential.
    pub credential: Option<String>,
    pub status: u16,
}

/// One webhook delivery the fake sent, with the answer it got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub token: String,
    pub body: String,
    /// `None` when the request failed before an answer.
    pub status: Option<u16>,
    pub answer: String,
}

impl Delivery {
    /// The answer parsed as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.answer).unwrap_or_default()
    }
}

#[derive(Default)]
struct Books {
    /// Token id → its one live secret.
    tokens: BTreeMap<String, String>,
    management: Vec<String>,
    webhook: Option<(String, SecretString)>,
    requests: Vec<Recorded>,
    deliveries: Vec<Delivery>,
    in_flight: usize,
    /// Injected faults: answers to give instead of the real ones, oldest first.
    faults: std::collections::VecDeque<(StatusCode, Option<u64>)>,
    latency: Duration,
}

struct Shared {
    state: Mutex<Books>,
    changed: Notify,
    http: reqwest::Client,
}

pub struct FakeTooken {
    base: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for FakeTooken {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeTooken {
    /// Serves the fake on `127.0.0.1` at a free port.
    pub async fn start() -> anyhow::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            changed: Notify::new(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
        });
        let router = Router::new()
            .route("/v1/tokens", get(list_tokens))
            .route("/v1/tokens/{id}/rotate", post(rotate_token))
            .fallback(|| async { api_error(StatusCode::NOT_FOUND, "not_found", "no such route") })
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self { base, shared, server })
    }

    /// The API base to configure as `TOOKEN_API_URL`.
    pub fn api_url(&self) -> String {
        format!("{}/v1", self.base)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Books> {
        self.shared.state.lock().expect("fake Tooken state")
    }

    /// Creates a token and returns its secret.
    pub fn add_token(&self, id: &str) -> SecretString {
        let secret = new_secret();
        self.state().tokens.insert(id.to_owned(), secret.clone());
        SecretString::from(secret)
    }

    /// Creates a management token (allowed to rotate any token) and returns it.
    pub fn add_management_token(&self) -> SecretString {
        let secret = new_secret();
        self.state().management.push(secret.clone());
        SecretString::from(secret)
    }

    /// Where rotations are delivered, and the webhook secret they are signed with.
    pub fn set_webhook(&self, url: &str, secret: SecretString) {
        self.state().webhook = Some((url.to_owned(), secret));
    }

    /// Stops sending deliveries.
    pub fn clear_webhook(&self) {
        self.state().webhook = None;
    }

    /// Whether `secret` authenticates as some token right now.
    pub fn accepts(&self, secret: &SecretString) -> bool {
        self.state().tokens.values().any(|s| s == secret.expose_secret())
    }

    /// Rotates as the dashboard would: a new secret, and a delivery sent in the background.
    pub fn rotate(&self, id: &str) -> SecretString {
        let secret = self.rotate_quietly(id);
        spawn_delivery(self.shared.clone(), id);
        secret
    }

    /// Rotates without sending a delivery (the test sends it later with [`Self::deliver`]).
    pub fn rotate_quietly(&self, id: &str) -> SecretString {
        let secret = new_secret();
        let mut state = self.state();
        let slot = state
            .tokens
            .get_mut(id)
            .unwrap_or_else(|| panic!("no token {id}"));
        *slot = secret.clone();
        SecretString::from(secret)
    }

    /// A `token.rotated` body for `id`, as the fake would send it.
    pub fn event_body(&self, id: &str) -> String {
        EventSpec::rotated(id).body()
    }

    /// Signs and sends `body` to the webhook now, records the delivery and returns it.
    pub async fn deliver(&self, token: &str, body: String) -> Delivery {
        self.state().in_flight += 1;
        send_delivery(&self.shared, token, body).await
    }

    /// Makes the next `count` API requests fail with `status` (and `Retry-After`, if given).
    pub fn fail_next(&self, count: usize, status: u16, retry_after: Option<u64>) {
        let status = StatusCode::from_u16(status).expect("a valid status code");
        self.state()
            .faults
            .extend(std::iter::repeat_n((status, retry_after), count));
    }

    /// Delays every API answer by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    /// Successful rotations of `id` through the API.
    pub fn api_rotations(&self, id: &str) -> usize {
        let path = format!("/v1/tokens/{id}/rotate");
        self.state()
            .requests
            .iter()
            .filter(|r| r.path == path && r.status == 200)
            .count()
    }

    /// Waits until at least `count` deliveries have been answered and none is in flight.
    pub async fn wait_for_deliveries(
        &self,
        count: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<Delivery>> {
        let wait = async {
            loop {
                let notified = self.shared.changed.notified();
                {
                    let state = self.state();
                    if state.deliveries.len() >= count && state.in_flight == 0 {
                        return state.deliveries.clone();
                    }
                }
                notified.await;
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(deliveries) => Ok(deliveries),
            Err(_) => bail!(
                "only {} of {count} deliveries were answered within {timeout:?}",
                self.state().deliveries.len()
            ),
        }
    }
}

fn new_secret() -> String {
    format!("tok_live_{}", super::random_alphanumeric(32))
}

fn spawn_delivery(shared: Arc<Shared>, token: &str) {
    let token = token.to_owned();
    let enabled = {
        let mut state = shared.state.lock().expect("fake Tooken state");
        let enabled = state.webhook.is_some();
        state.in_flight += usize::from(enabled);
        enabled
    };
    if enabled {
        tokio::spawn(async move {
            send_delivery(&shared, &token, EventSpec::rotated(&token).body()).await;
        });
    }
}

/// Sends one delivery; the caller has already counted it in flight.
async fn send_delivery(shared: &Shared, token: &str, body: String) -> Delivery {
    let webhook = shared.state.lock().expect("fake Tooken state").webhook.clone();
    let (status, answer) = match webhook {
        Some((url, secret)) => {
            let sent = shared
                .http
                .post(&url)
                .header(header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, sign(&secret, body.as_bytes()))
                .header(header::USER_AGENT, "Tooken-Webhooks (fake)")
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    (Some(status), response.text().await.unwrap_or_default())
                }
                Err(e) => (None, format!("delivery failed: {e}")),
            }
        }
        None => (None, "no webhook is configured".to_owned()),
    };
    let delivery = Delivery {
        token: token.to_owned(),
        body,
        status,
        answer,
    };
    {
        let mut state = shared.state.lock().expect("fake Tooken state");
        state.deliveries.push(delivery.clone());
        state.in_flight -= 1;
    }
    shared.changed.notify_waiters();
    delivery
}

/// Resolves the Bearer credential to whose it is.
fn credential(state: &Books, headers: &HeaderMap) -> Option<String> {
    let presented = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    if state.management.iter().any(|m| m == presented) {
        return Some("management".to_owned());
    }
    state
        .tokens
        .iter()
        .find(|(_, secret)| secret.as_str() == presented)
        .map(|(id, _)| id.clone())
}

fn record(state: &mut Books, method: &str, path: String, credential: Option<String>, status: StatusCode) {
    state.requests.push(Recorded {
        method: method.to_owned(),
        path,
        credential,
        status: status.as_u16(),
    });
}

/// Applies the configured latency, then answers with an injected fault if one is queued.
async fn injected(shared: &Shared, method: &str, path: String) -> Option<Response> {
    let latency = shared.state.lock().expect("fake Tooken state").latency;
    tokio::time::sleep(latency).await;
    let mut state = shared.state.lock().expect("fake Tooken state");
    let (status, retry_after) = state.faults.pop_front()?;
    record(&mut state, method, path, None, status);
    let mut response = api_error(status, "injected", "an injected failure");
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
    }
    Some(response)
}

async fn list_tokens(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(fault) = injected(&shared, "GET", "/v1/tokens".into()).await {
        return fault;
    }
    let response = {
        let mut state = shared.state.lock().expect("fake Tooken state");
        let who = credential(&state, &headers);
        let (status, response) = match &who {
            Some(_) => {
                let data: Vec<_> = state.tokens.keys().map(|id| json!({"id": id})).collect();
                (StatusCode::OK, axum::Json(json!({"data": data})).into_response())
            }
            None => unauthorized(),
        };
        record(&mut state, "GET", "/v1/tokens".into(), who, status);
        response
    };
    shared.changed.notify_waiters();
    response
}

async fn rotate_token(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (status, response) = {
        let mut state = shared.state.lock().expect("fake Tooken state");
        let who = credential(&state, &headers);
        let (status, response) = match who.as_deref() {
            None => unauthorized(),
            Some("management") if state.tokens.contains_key(&id) => {
                let secret = new_secret();
                state.tokens.insert(id.clone(), secret.clone());
                let body = json!({"id": id, "secret": secret, "rotated_at": now_rfc3339()});
                (StatusCode::OK, axum::Json(body).into_response())
            }
            Some("management") => (
                StatusCode::NOT_FOUND,
                api_error(StatusCode::NOT_FOUND, "not_found", "no such token"),
            ),
            Some(_) => (
                StatusCode::FORBIDDEN,
                api_error(
                    StatusCode::FORBIDDEN,
                    "permission_denied",
                    "rotating needs a management token",
                ),
            ),
        };
        record(&mut state, "POST", format!("/v1/tokens/{id}/rotate"), who, status);
        (status, response)
    };
    if status == StatusCode::OK {
        spawn_delivery(shared.clone(), &id);
    }
    shared.changed.notify_waiters();
    response
}

fn unauthorized() -> (StatusCode, Response) {
    let status = StatusCode::UNAUTHORIZED;
    (
        status,
        api_error(status, "authentication_error", "invalid or revoked credential"),
    )
}

fn api_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"type": kind, "message": message}})),
    )
        .into_response()
}
