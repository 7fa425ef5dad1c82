//! The harness: real components on loopback, one set per test.
//!
//! - one moto server for the whole test binary (started on first use; every test names its own
//!   resources, so tests share it safely);
//! - per test, an "AWS tap": a recording HTTP proxy between the function and moto, so a test can
//!   assert exactly which AWS calls the function made (or that it made none);
//! - per test, a fake Tooken and the real app (`app::build`) served on `127.0.0.1:0`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::task::JoinHandle;
use tooken_webhook::config::{self, Settings};
use tooken_webhook::devkit::{FakeTooken, LocalAws, Moto, moto};
use tooken_webhook::signature::{SIGNATURE_HEADER, sign};

pub fn moto_server() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| Moto::start().unwrap_or_else(|e| panic!("{e:#}")))
}

/// A name no other test in this run uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// A fresh webhook secret, long and random enough to search logs for.
pub fn random_secret() -> String {
    format!("whsec_{}", tooken_webhook::devkit::random_alphanumeric(32))
}

// --- The AWS tap ------------------------------------------------------------------------------

/// One AWS call, as the function sent it.
#[derive(Debug, Clone)]
pub struct AwsCall {
    /// The operation, e.g. `UpdateService`.
    pub operation: String,
    pub body: Value,
}

#[derive(Clone)]
pub struct AwsTap {
    endpoint: String,
    calls: Arc<Mutex<Vec<AwsCall>>>,
    _server: Arc<AbortOnDrop>,
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Clone)]
struct TapState {
    upstream: String,
    http: reqwest::Client,
    calls: Arc<Mutex<Vec<AwsCall>>>,
}

impl AwsTap {
    pub async fn start(upstream: &str) -> Self {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let state = TapState {
            upstream: upstream.to_owned(),
            http: reqwest::Client::new(),
            calls: calls.clone(),
        };
        let router = axum::Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            endpoint,
            calls,
            _server: Arc::new(AbortOnDrop(server)),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn calls(&self) -> Vec<AwsCall> {
        self.calls.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.calls.lock().unwrap().clear();
    }

    pub fn operations(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.operation).collect()
    }

    /// How many times `operation` was called (for ECS, optionally for one service name).
    pub fn count(&self, operation: &str, service: Option<&str>) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.operation == operation)
            .filter(|c| service.is_none_or(|s| c.body["service"].as_str() == Some(s)))
            .count()
    }

    /// The calls that change state.
    pub fn writes(&self) -> Vec<String> {
        const READS: [&str; 3] = ["GetSecretValue", "DescribeSecret", "DescribeServices"];
        self.operations()
            .into_iter()
            .filter(|op| !READS.contains(&op.as_str()))
            .collect()
    }
}

async fn forward(State(tap): State<TapState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit('.').next())
        .unwrap_or("(unknown)")
        .to_owned();
    tap.calls.lock().unwrap().push(AwsCall {
        operation,
        body: serde_json::from_slice(&body).unwrap_or_default(),
    });
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut upstream = tap.http.request(parts.method, format!("{}{path}", tap.upstream));
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            upstream = upstream.header(name, value);
        }
    }
    let answer = upstream.body(body).send().await.unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    response.body(Body::from(answer.bytes().await.unwrap())).unwrap()
}

/// Clients straight to moto (not through the tap), for arranging and inspecting.
pub async fn aws() -> LocalAws {
    LocalAws::new(&moto_server().sdk_config().await)
}

// --- The app under test -----------------------------------------------------------------------

pub struct Options {
    pub token: String,
    /// Services created in moto and listed in the targets.
    pub services: Vec<&'static str>,
    /// Services listed in the targets but not created.
    pub missing_services: Vec<&'static str>,
    pub management_token: bool,
    pub budget_ms: u64,
    /// The webhook secret; a fresh one when `None`.
    pub webhook_secret: Option<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            token: "tok_api".into(),
            services: vec!["api", "worker"],
            missing_services: vec![],
            management_token: false,
            budget_ms: 8000,
            webhook_secret: None,
        }
    }
}

pub struct TestApp {
    /// `http://127.0.0.1:PORT/webhooks/tooken`
    pub url: String,
    pub tooken: FakeTooken,
    pub tap: AwsTap,
    pub aws: LocalAws,
    pub token: String,
    pub secret: String,
    pub cluster: String,
    pub webhook_secret: SecretString,
    /// The same router the server runs, for in-process requests.
    pub router: axum::Router,
    /// The function's configuration, as environment variables.
    pub vars: HashMap<&'static str, String>,
    _server: AbortOnDrop,
}

impl TestApp {
    pub async fn spawn(options: Options) -> Self {
        let aws = aws().await;
        let tooken = FakeTooken::start().await.unwrap();
        let token_secret = tooken.add_token(&options.token);

        let secret = unique("tooken/it");
        let secret_arn = aws
            .create_secret(&secret, token_secret.expose_secret())
            .await
            .unwrap();
        let cluster = unique("it");
        aws.create_cluster(&cluster, &secret_arn).await.unwrap();
        for service in &options.services {
            aws.create_service(&cluster, service).await.unwrap();
        }

        let services: Vec<String> = options
            .services
            .iter()
            .chain(&options.missing_services)
            .map(|s| format!("{cluster}/{s}"))
            .collect();
        let targets = serde_json::json!({ &options.token: {"secret": secret, "services": services} });
        let webhook_secret =
            SecretString::from(options.webhook_secret.map_or_else(random_secret, str::to_owned));
        let mut vars = HashMap::from([
            (
                config::WEBHOOK_SECRET,
                format!("whsec_previous, {}", webhook_secret.expose_secret()),
            ),
            (config::TARGETS, targets.to_string()),
            (config::API_URL, tooken.api_url()),
            (config::RECONCILE_BUDGET_MS, options.budget_ms.to_string()),
        ]);
        if options.management_token {
            vars.insert(
                config::ADMIN_TOKEN,
                tooken.add_management_token().expose_secret().to_owned(),
            );
        }
        let settings = Settings::from_lookup(|name| vars.get(name).cloned()).unwrap();

        let tap = AwsTap::start(moto_server().endpoint()).await;
        let sdk = moto::sdk_config(tap.endpoint()).await;
        let app = tooken_webhook::app::build(&settings, &sdk).await.unwrap();
        let router = tooken_webhook::http::router(Arc::new(app));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhooks/tooken", listener.local_addr().unwrap());
        let served = router.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, served).await.unwrap();
        });
        tooken.set_webhook(&url, webhook_secret.clone());

        Self {
            url,
            tooken,
            tap,
            aws,
            token: options.token,
            secret,
            cluster,
            webhook_secret,
            router,
            vars,
            _server: AbortOnDrop(server),
        }
    }

    pub fn sign(&self, body: &str) -> String {
        sign(&self.webhook_secret, body.as_bytes())
    }

    /// POSTs `body` with `signature` (if any) and returns the status and the JSON answer.
    pub async fn post(&self, body: &str, signature: Option<&str>) -> (StatusCode, Value) {
        let mut request = reqwest::Client::new().post(&self.url).body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        let response = request.send().await.unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, response.json().await.unwrap())
    }

    /// POSTs `body` signed with the webhook secret.
    pub async fn deliver(&self, body: &str) -> (StatusCode, Value) {
        self.post(body, Some(&self.sign(body))).await
    }

    /// The AWSCURRENT (version id, value) of the token's secret.
    pub async fn current_secret(&self) -> (String, String) {
        self.aws.current(&self.secret).await.unwrap()
    }

    /// The PRIMARY deployment id and version tag of one of this app's services.
    pub async fn service(&self, name: &str) -> (String, Option<String>) {
        let view = self.aws.service(&self.cluster, name).await.unwrap();
        (view.primary_deployment, view.version_tag)
    }

    /// Stores a new version of the token's secret; returns its id.
    pub async fn put_secret(&self, value: &str, stages: &[&str]) -> String {
        self.aws.put_secret(&self.secret, value, stages).await.unwrap()
    }

    /// Fails unless nothing reached AWS or Tooken: the answer was decided before any call.
    pub fn assert_untouched(&self) {
        assert!(
            self.tap.calls().is_empty(),
            "AWS was called: {:?}",
            self.tap.operations()
        );
        assert!(
            self.tooken.requests().is_empty(),
            "Tooken was called: {:?}",
            self.tooken.requests()
        );
    }

    /// The environment for a tool process: the function's configuration, and AWS through the tap.
    pub fn tool_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        env.extend(
            [
                ("AWS_ENDPOINT_URL", self.tap.endpoint()),
                ("AWS_REGION", moto::REGION),
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        env
    }

    pub fn service_ref(&self, name: &str) -> String {
        format!("{}/{name}", self.cluster)
    }
}

/// The `action` of each service in an answer, by service name.
pub fn actions(answer: &Value) -> Vec<(String, String)> {
    answer["services"]
        .as_array()
        .map(|services| {
            services
                .iter()
                .map(|s| {
                    let name = s["service"]
                        .as_str()
                        .unwrap()
                        .rsplit('/')
                        .next()
                        .unwrap()
                        .to_owned();
                    (name, s["action"].as_str().unwrap().to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

pub const DELIVERY_WAIT: Duration = Duration::from_secs(20);
