//! The Function URL request payloads in `events/`, built from one description each.
//!
//! They are what Lambda hands the function for a delivery from Tooken (payload format 2.0),
//! signed with [`EVENTS_WEBHOOK_SECRET`], which the README names. A test checks that the files
//! are exactly what [`all`] builds, so they cannot drift from the signature scheme.

use base64::Engine;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::signature::{SIGNATURE_HEADER, sign};

/// The webhook secret the sample events are signed with. For local use only.
pub const EVENTS_WEBHOOK_SECRET: &str = "whsec_local_test_only";

/// The token the sample events are about.
pub const EVENTS_TOKEN: &str = "tok_demo";

/// One sample: a file name, a body, how it is signed and encoded.
pub struct Sample {
    pub file: &'static str,
    pub body: String,
    pub signing: Signing,
    pub base64: bool,
}

pub enum Signing {
    /// Signed with [`EVENTS_WEBHOOK_SECRET`].
    Valid,
    /// Signed with another secret.
    Forged,
    /// No signature header.
    Missing,
}

fn envelope(id: &str, kind: &str, token: &str) -> String {
    // Compact, as a JSON library would send it; the exact bytes are what gets signed.
    json!({"id": id, "type": kind, "created_at": "2026-12-04T10:00:00Z", "data": {"id": token}}).to_string()
}

/// Every sample in `events/`.
pub fn all() -> Vec<Sample> {
    vec![
        Sample {
            file: "token-rotated.json",
            body: envelope("evt_demo_0001", "token.rotated", EVENTS_TOKEN),
            signing: Signing::Valid,
            base64: false,
        },
        Sample {
            file: "token-rotated-base64.json",
            body: envelope("evt_demo_0002", "token.rotated", EVENTS_TOKEN),
            signing: Signing::Valid,
            base64: true,
        },
        Sample {
            file: "other-event.json",
            body: envelope("evt_demo_0003", "token.created", EVENTS_TOKEN),
            signing: Signing::Valid,
            base64: false,
        },
        Sample {
            file: "unmanaged-token.json",
            body: envelope("evt_demo_0004", "token.rotated", "tok_not_managed_here"),
            signing: Signing::Valid,
            base64: false,
        },
        Sample {
            file: "forged-signature.json",
            body: envelope("evt_demo_0005", "token.rotated", EVENTS_TOKEN),
            signing: Signing::Forged,
            base64: false,
        },
        Sample {
            file: "missing-signature.json",
            body: envelope("evt_demo_0006", "token.rotated", EVENTS_TOKEN),
            signing: Signing::Missing,
            base64: false,
        },
    ]
}

impl Sample {
    /// The Function URL request payload, pretty-printed as stored in `events/`.
    pub fn payload(&self) -> String {
        let signature = match self.signing {
            Signing::Valid => Some(sign(
                &SecretString::from(EVENTS_WEBHOOK_SECRET),
                self.body.as_bytes(),
            )),
            Signing::Forged => Some(sign(
                &SecretString::from("whsec_someone_else"),
                self.body.as_bytes(),
            )),
            Signing::Missing => None,
        };
        let body = if self.base64 {
            base64::engine::general_purpose::STANDARD.encode(&self.body)
        } else {
            self.body.clone()
        };
        let mut payload = function_url_request(&body, signature.as_deref(), self.base64);
        payload["requestContext"]["requestId"] =
            json!(format!("sample-{}", self.file.trim_end_matches(".json")));
        let mut text = serde_json::to_string_pretty(&payload).expect("a JSON value serialises");
        text.push('\n');
        text
    }
}

/// A Function URL (payload format 2.0) POST to `/` carrying `body` as Lambda sends it.
pub fn function_url_request(body: &str, signature: Option<&str>, base64: bool) -> Value {
    let host = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws";
    let mut headers = json!({
        "content-type": "application/json",
        "host": host,
        "user-agent": "Tooken-Webhooks/1.0",
        "x-amzn-trace-id": "Root=1-6750a8c0-0123456789abcdef01234567",
        "x-forwarded-for": "198.51.100.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    });
    if let Some(signature) = signature {
        headers[SIGNATURE_HEADER] = json!(signature);
    }
    json!({
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
            "requestId": "sample",
            "routeKey": "$default",
            "stage": "$default",
            "time": "04/Dec/2026:10:00:00 +0000",
            "timeEpoch": 1796378400000u64
        },
        "body": body,
        "isBase64Encoded": base64
    })
}
