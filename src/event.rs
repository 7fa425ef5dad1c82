//! The webhook event envelope, and the one event this function acts on: `token.rotated`.
//!
//! The envelope's shape is a working assumption (see `tooken-api.md`): only `type` and, for
//! `token.rotated`, `data.id` are relied on. Every other field is optional and unknown fields are
//! ignored, so Tooken can add to its payloads without breaking deliveries. If the assumption
//! turns out wrong, this file is the one place to change.

use std::fmt;

use serde::Deserialize;

use crate::signature::VerifiedBody;

/// The event type that triggers a reconcile.
pub const TOKEN_ROTATED: &str = "token.rotated";

/// A Tooken token ID such as `tok_abc123`. Not a secret: it names a token, it does not
/// authenticate as one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct TokenId(String);

impl TokenId {
    /// Accepts any non-blank ID without surrounding or inner whitespace; Tooken's ID format is
    /// not documented beyond the `tok_` examples, so nothing stricter is assumed.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("a token ID is empty".into());
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("token ID {raw:?} contains whitespace"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A verified, parsed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Tooken's event ID, when present; used only to correlate logs.
    pub id: Option<String>,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    TokenRotated {
        token: TokenId,
    },
    /// Any other event type: acknowledged and ignored.
    Other {
        event_type: String,
    },
}

impl Event {
    pub fn event_type(&self) -> &str {
        match &self.kind {
            EventKind::TokenRotated { .. } => TOKEN_ROTATED,
            EventKind::Other { event_type } => event_type,
        }
    }
}

/// Why a verified body is not an event this function understands. Messages describe the
/// structure only; they never echo the body.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("the body is not a JSON object with a string `type` ({0})")]
    NotAnEnvelope(String),
    #[error("a token.rotated event needs a non-empty string `data.id`")]
    MissingTokenId,
    #[error("`data.id` is not a usable token ID: {0}")]
    BadTokenId(String),
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    id: Option<String>,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

/// Parses a verified body. Only a [`VerifiedBody`] is accepted, so nothing parses input whose
/// signature was not checked.
pub fn parse(body: &VerifiedBody) -> Result<Event, EventError> {
    let envelope: Envelope = serde_json::from_slice(body.as_bytes())
        .map_err(|e| EventError::NotAnEnvelope(describe_json_error(&e)))?;
    let kind = if envelope.event_type == TOKEN_ROTATED {
        let raw = envelope
            .data
            .as_ref()
            .and_then(|data| data.get("id"))
            .and_then(serde_json::Value::as_str)
            .ok_or(EventError::MissingTokenId)?;
        EventKind::TokenRotated {
            token: TokenId::parse(raw).map_err(EventError::BadTokenId)?,
        }
    } else {
        EventKind::Other {
            event_type: envelope.event_type,
        }
    };
    Ok(Event {
        id: envelope.id,
        kind,
    })
}

/// serde_json's messages can quote pieces of the input; keep only the category and position.
fn describe_json_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Io => "unreadable",
        Category::Syntax => "invalid JSON",
        Category::Data => "wrong shape",
        Category::Eof => "truncated JSON",
    };
    format!("{what} at line {} column {}", error.line(), error.column())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use secrecy::SecretString;

    use super::*;
    use crate::signature::{WebhookSecrets, sign};

    fn verified(body: &str) -> VerifiedBody {
        let key = SecretString::from("k".to_owned());
        let header = sign(&key, body.as_bytes());
        WebhookSecrets::parse_list(&key)
            .unwrap()
            .verify(Some(header.as_bytes()), Bytes::from(body.to_owned()))
            .unwrap()
    }

    #[test]
    fn a_full_token_rotated_envelope_parses() {
        let event = parse(&verified(
            r#"{"id":"evt_1","type":"token.rotated","created_at":"2026-12-04T10:00:00Z","data":{"id":"tok_abc"}}"#,
        ))
        .unwrap();
        assert_eq!(event.id.as_deref(), Some("evt_1"));
        assert_eq!(
            event.kind,
            EventKind::TokenRotated {
                token: TokenId::parse("tok_abc").unwrap()
            }
        );
        assert_eq!(event.event_type(), TOKEN_ROTATED);
    }

    #[test]
    fn only_type_and_data_id_are_required_and_unknown_fields_are_ignored() {
        let event = parse(&verified(
            r#"{"type":"token.rotated","data":{"id":"tok_x","name":"api-prod","extra":[1,2]},"v":2}"#,
        ))
        .unwrap();
        assert_eq!(event.id, None);
        assert!(matches!(event.kind, EventKind::TokenRotated { ref token } if token.as_str() == "tok_x"));
    }

    #[test]
    fn other_event_types_parse_without_data() {
        let event = parse(&verified(r#"{"type":"token.created"}"#)).unwrap();
        assert_eq!(
            event.kind,
            EventKind::Other {
                event_type: "token.created".into()
            }
        );
    }

    #[test]
    fn token_rotated_without_a_usable_data_id_is_rejected() {
        for body in [
            r#"{"type":"token.rotated"}"#,
            r#"{"type":"token.rotated","data":null}"#,
            r#"{"type":"token.rotated","data":{}}"#,
            r#"{"type":"token.rotated","data":{"id":42}}"#,
            r#"{"type":"token.rotated","data":"tok_abc"}"#,
        ] {
            assert_eq!(
                parse(&verified(body)).unwrap_err(),
                EventError::MissingTokenId,
                "{body}"
            );
        }
        for body in [
            r#"{"type":"token.rotated","data":{"id":""}}"#,
            r#"{"type":"token.rotated","data":{"id":"tok abc"}}"#,
        ] {
            assert!(
                matches!(parse(&verified(body)).unwrap_err(), EventError::BadTokenId(_)),
                "{body}"
            );
        }
    }

    #[test]
    fn bodies_that_are_not_envelopes_are_rejected_without_echoing_them() {
        for body in [
            "",
            "not json",
            "[]",
            "null",
            r#"{"type":7}"#,
            r#"{"data":{"id":"x"}}"#,
            r#"{"type":"token.rotated""#,
        ] {
            let err = parse(&verified(body)).unwrap_err();
            assert!(matches!(err, EventError::NotAnEnvelope(_)), "{body:?}: {err:?}");
            if body.len() > 3 {
                assert!(!err.to_string().contains(body), "{err} echoes the body");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse(&verified(&String::from_utf8_lossy(&body)));
        }

        #[test]
        fn any_token_rotated_with_a_usable_id_parses_to_that_id(
            id in "[A-Za-z0-9_-]{1,40}",
            extra in "[a-z]{1,10}",
        ) {
            let body = serde_json::json!({"type": "token.rotated", "data": {"id": id, extra: 1}, "x": [1, 2]}).to_string();
            let event = parse(&verified(&body)).unwrap();
            proptest::prop_assert_eq!(event.kind, EventKind::TokenRotated { token: TokenId::parse(&id).unwrap() });
        }
    }

    #[test]
    fn token_ids_reject_blank_and_whitespace() {
        assert!(TokenId::parse("tok_ok-1").is_ok());
        for bad in ["", " tok", "tok\n", "to k"] {
            assert!(TokenId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
