//! Webhook event bodies and the Function URL request payloads that carry them.
//!
//! `tookenctl event` prints what these functions build, and every file in `events/` is exactly
//! what `tookenctl` prints for the arguments of its [`Sample`]; a test runs the tool for each
//! sample and compares. The samples are signed with [`EVENTS_WEBHOOK_SECRET`], which the README
//! names.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use base64::Engine;
use serde_json::json;

use crate::signature::SIGNATURE_HEADER;

/// The webhook secret the sample events are signed with. For local use only.
pub const EVENTS_WEBHOOK_SECRET: &str = "whsec_local_test_only";

/// The token the sample events are about.
pub const EVENTS_TOKEN: &str = "tok_demo";

/// An event to build.
#[derive(Debug, Clone)]
pub struct EventSpec {
    pub event_type: String,
    /// `data.id`; events without one carry no `data`.
    pub token: Option<String>,
    pub id: String,
    pub created_at: String,
}

impl EventSpec {
    /// A `token.rotated` for `token`, with a fresh id and the current time.
    pub fn rotated(token: &str) -> Self {
        Self {
            event_type: crate::event::TOKEN_ROTATED.to_owned(),
            token: Some(token.to_owned()),
            id: random_event_id(),
            created_at: now_rfc3339(),
        }
    }

    /// The body, compact, as a JSON library would send it: these exact bytes are what gets signed.
    pub fn body(&self) -> String {
        let mut body = json!({"id": self.id, "type": self.event_type, "created_at": self.created_at});
        if let Some(token) = &self.token {
            body["data"] = json!({"id": token});
        }
        body.to_string()
    }
}

pub fn random_event_id() -> String {
    format!("evt_{}", super::random_alphanumeric(16))
}

pub fn now_rfc3339() -> String {
    DateTime::from(std::time::SystemTime::now())
        .fmt(Format::DateTime)
        .expect("the current time formats as RFC 3339")
}

/// A Function URL (payload format 2.0) POST to `/` carrying `body` as Lambda hands it to the
/// function, pretty-printed with a final newline. `request_id` also fills the trace header.
pub fn function_url_payload(body: &str, signature: Option<&str>, base64: bool, request_id: &str) -> String {
    let host = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws";
    let mut headers = json!({
        "content-type": "application/json",
        "host": host,
        "user-agent": "Tooken-Webhooks/1.0",
        "x-amzn-trace-id": format!("Root=1-00000000-{request_id}"),
        "x-forwarded-for": "198.51.100.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    });
    if let Some(signature) = signature {
        headers[SIGNATURE_HEADER] = json!(signature);
    }
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        body.to_owned()
    };
    let payload = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghijklmnopqrstuvwxyz012345",
            "domainName": host,
            "domainPrefix": "abcdefghijklmnopqrstuvwxyz012345",
            "http": {
                "method": "POST",
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "Tooken-Webhooks/1.0"
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "04/Dec/2026:10:00:00 +0000",
            "timeEpoch": 1796378400000u64
        },
        "body": body,
        "isBase64Encoded": base64
    });
    let mut text = serde_json::to_string_pretty(&payload).expect("a JSON value serialises");
    text.push('\n');
    text
}

/// One file in `events/`: the `tookenctl` arguments that print it, and the secret to sign with.
pub struct Sample {
    pub file: &'static str,
    pub args: Vec<&'static str>,
    /// `None` for an unsigned sample.
    pub secret: Option<&'static str>,
}

/// Every file in `events/`.
pub fn samples() -> Vec<Sample> {
    let sample = |file, id, event_type, token, extra: &[&'static str], secret| {
        let mut args = vec![
            "event",
            "--function-url",
            "--type",
            event_type,
            "--token",
            token,
            "--id",
            id,
        ];
        args.extend(["--created-at", "2026-12-04T10:00:00Z"]);
        args.extend_from_slice(extra);
        Sample { file, args, secret }
    };
    let valid = Some(EVENTS_WEBHOOK_SECRET);
    vec![
        sample(
            "token-rotated.json",
            "evt_demo_0001",
            "token.rotated",
            EVENTS_TOKEN,
            &[],
            valid,
        ),
        sample(
            "token-rotated-base64.json",
            "evt_demo_0002",
            "token.rotated",
            EVENTS_TOKEN,
            &["--base64"],
            valid,
        ),
        sample(
            "other-event.json",
            "evt_demo_0003",
            "token.created",
            EVENTS_TOKEN,
            &[],
            valid,
        ),
        sample(
            "unmanaged-token.json",
            "evt_demo_0004",
            "token.rotated",
            "tok_not_managed_here",
            &[],
            valid,
        ),
        sample(
            "forged-signature.json",
            "evt_demo_0005",
            "token.rotated",
            EVENTS_TOKEN,
            &[],
            Some("whsec_someone_else"),
        ),
        sample(
            "missing-signature.json",
            "evt_demo_0006",
            "token.rotated",
            EVENTS_TOKEN,
            &["--unsigned"],
            None,
        ),
    ]
}
