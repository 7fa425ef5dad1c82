//! Tooken's delivery signature: `X-Tooken-Signature: sha256=<hex HMAC-SHA256(secret, body)>`.
//!
//! This module owns the scheme and nothing else. Verification runs over the exact bytes that
//! arrived (never a re-serialisation, the mistake in Tooken's sample receiver), compares in
//! constant time through `Mac::verify_slice`, and tries every configured secret so that the
//! webhook secret itself can be rotated without dropping deliveries. The only way to obtain a
//! [`VerifiedBody`] is to pass verification, so the event parser cannot run on unverified input.

use std::fmt;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The header Tooken puts the signature in. HTTP header names are case-insensitive; this is
/// the lowercase form that `http::HeaderMap` normalises to.
pub const SIGNATURE_HEADER: &str = "x-tooken-signature";

/// The scheme prefix of the header value.
pub const SIGNATURE_PREFIX: &str = "sha256=";

const DIGEST_HEX_LEN: usize = 64;

type HmacSha256 = Hmac<Sha256>;

/// One or more webhook secrets; a delivery signed with any of them is accepted.
///
/// Each secret is kept as a keyed HMAC state, so verifying a delivery does not re-derive the key.
/// `Debug` never shows key material.
#[derive(Clone)]
pub struct WebhookSecrets {
    keys: Vec<HmacSha256>,
}

impl fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookSecrets([{} redacted])", self.keys.len())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretsError {
    #[error("no webhook secret given (the value is empty after trimming)")]
    Empty,
}

impl WebhookSecrets {
    /// Builds the verifier from a list of secrets. Empty entries are rejected rather than skipped:
    /// an empty HMAC key would let anyone who guesses it forge deliveries.
    pub fn new<I, S>(secrets: I) -> Result<Self, SecretsError>
    where
        I: IntoIterator<Item = S>,
        S: ExposeSecret<str>,
    {
        let keys = secrets
            .into_iter()
            .map(|secret| {
                let bytes = secret.expose_secret().as_bytes();
                if bytes.is_empty() {
                    return Err(SecretsError::Empty);
                }
                Ok(HmacSha256::new_from_slice(bytes).expect("HMAC accepts keys of any length"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(SecretsError::Empty);
        }
        Ok(Self { keys })
    }

    /// Parses the configuration form: secrets separated by commas or newlines, whitespace
    /// trimmed, blank entries dropped. At least one secret must remain.
    pub fn parse_list(list: &SecretString) -> Result<Self, SecretsError> {
        let secrets = list
            .expose_secret()
            .split([',', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| SecretString::from(s.to_owned()));
        Self::new(secrets)
    }

    /// How many secrets are accepted.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false: construction guarantees at least one secret.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks a delivery. `header` is the raw `X-Tooken-Signature` value, if any.
    pub fn verify(&self, header: Option<&[u8]>, body: Bytes) -> Result<VerifiedBody, SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let expected = parse_header(header)?;
        let matches = self.keys.iter().any(|key| {
            let mut mac = key.clone();
            mac.update(&body);
            mac.verify_slice(&expected).is_ok()
        });
        if matches {
            Ok(VerifiedBody(body))
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

/// Why a delivery was not authenticated. The HTTP layer answers all three the same way, so a
/// prober learns nothing; the variants exist for logs and tests.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the {SIGNATURE_HEADER} header is missing")]
    Missing,
    #[error("the {SIGNATURE_HEADER} header is not `{SIGNATURE_PREFIX}` followed by 64 hex digits")]
    Malformed,
    #[error("the signature does not match any configured webhook secret")]
    Mismatch,
}

fn parse_header(value: &[u8]) -> Result<[u8; 32], SignatureError> {
    let hex_digits = value
        .strip_prefix(SIGNATURE_PREFIX.as_bytes())
        .filter(|rest| rest.len() == DIGEST_HEX_LEN)
        .ok_or(SignatureError::Malformed)?;
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_digits, &mut digest).map_err(|_| SignatureError::Malformed)?;
    Ok(digest)
}

/// Computes the header value Tooken would send for `body`. Used by the fake Tooken, the tests
/// and the tooling that sends test deliveries; the function itself only verifies.
pub fn sign(secret: &SecretString, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("{SIGNATURE_PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

/// A request body whose signature has been checked. Only [`WebhookSecrets::verify`] makes one.
#[derive(Debug, Clone)]
pub struct VerifiedBody(Bytes);

impl VerifiedBody {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    fn secrets(list: &str) -> WebhookSecrets {
        WebhookSecrets::parse_list(&secret(list)).unwrap()
    }

    const KNOWN_SECRET: &str = "It's a Secret to Everybody";
    const KNOWN_BODY: &str = "Hello, World!";
    const KNOWN_SIGNATURE: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn sign_matches_the_known_answer() {
        assert_eq!(
            sign(&secret(KNOWN_SECRET), KNOWN_BODY.as_bytes()),
            KNOWN_SIGNATURE
        );
    }

    #[test]
    fn verify_accepts_the_known_answer() {
        let verified = secrets(KNOWN_SECRET)
            .verify(Some(KNOWN_SIGNATURE.as_bytes()), Bytes::from(KNOWN_BODY))
            .unwrap();
        assert_eq!(verified.as_bytes(), KNOWN_BODY.as_bytes());
    }

    #[test]
    fn verify_accepts_uppercase_hex_digits() {
        let upper = format!("sha256={}", KNOWN_SIGNATURE["sha256=".len()..].to_uppercase());
        assert!(
            secrets(KNOWN_SECRET)
                .verify(Some(upper.as_bytes()), Bytes::from(KNOWN_BODY))
                .is_ok()
        );
    }

    #[test]
    fn bodies_the_guides_sample_receiver_rejects_verify_over_their_exact_bytes() {
        // Each of these differs from what JSON.stringify(JSON.parse(body)) would give back.
        let bodies = [
            "{\n  \"type\": \"token.rotated\",\n  \"data\": {\n    \"id\": \"tok_abc\"\n  }\n}\n",
            r#"{"type":"token.rotated","data":{"id":"tok_abc","note":"caf\u00e9"}}"#,
            r#"{"type":"token.rotated","data":{"id":"tok_abc","weight":1.0}}"#,
            r#"{"data":{"id":"tok_abc"},"type":"token.rotated"}"#,
        ];
        let key = secret("whsec_test");
        for body in bodies {
            let header = sign(&key, body.as_bytes());
            let verified = secrets("whsec_test")
                .verify(Some(header.as_bytes()), Bytes::from(body))
                .unwrap_or_else(|e| panic!("{body:?} was rejected: {e}"));
            assert_eq!(verified.as_bytes(), body.as_bytes());
        }
    }

    #[test]
    fn a_missing_header_is_missing() {
        assert_eq!(
            secrets("s").verify(None, Bytes::from_static(b"{}")).unwrap_err(),
            SignatureError::Missing
        );
    }

    #[test]
    fn malformed_headers_are_malformed() {
        let valid_hex = &KNOWN_SIGNATURE["sha256=".len()..];
        let cases = [
            String::new(),
            valid_hex.to_owned(),                             // no prefix
            format!("sha1={valid_hex}"),                      // other scheme
            format!("SHA256={valid_hex}"),                    // the prefix is case-sensitive
            format!("sha256={}", &valid_hex[..63]),           // too short
            format!("sha256={valid_hex}0"),                   // too long
            format!("sha256={}g", &valid_hex[..63]),          // not hex
            format!("sha256= {}", &valid_hex[..63]),          // inner whitespace
            format!("sha256={valid_hex},sha256={valid_hex}"), // a list
        ];
        for case in cases {
            assert_eq!(
                secrets(KNOWN_SECRET)
                    .verify(Some(case.as_bytes()), Bytes::from(KNOWN_BODY))
                    .unwrap_err(),
                SignatureError::Malformed,
                "{case:?}"
            );
        }
    }

    #[test]
    fn a_signature_with_another_secret_is_a_mismatch() {
        let header = sign(&secret("not the configured one"), KNOWN_BODY.as_bytes());
        assert_eq!(
            secrets(KNOWN_SECRET)
                .verify(Some(header.as_bytes()), Bytes::from(KNOWN_BODY))
                .unwrap_err(),
            SignatureError::Mismatch
        );
    }

    #[test]
    fn any_change_to_the_body_is_a_mismatch() {
        let body = br#"{"type":"token.rotated","data":{"id":"tok_abc"}}"#;
        let header = sign(&secret("k"), body);
        for i in 0..body.len() {
            let mut tampered = body.to_vec();
            tampered[i] ^= 0x01;
            assert_eq!(
                secrets("k")
                    .verify(Some(header.as_bytes()), Bytes::from(tampered))
                    .unwrap_err(),
                SignatureError::Mismatch,
                "flipping byte {i} went unnoticed"
            );
        }
        let mut longer = body.to_vec();
        longer.push(b' ');
        assert!(
            secrets("k")
                .verify(Some(header.as_bytes()), Bytes::from(longer))
                .is_err()
        );
    }

    #[test]
    fn every_configured_secret_is_tried() {
        let list = secrets("old-secret, new-secret\nthird-secret\n");
        assert_eq!(list.len(), 3);
        for key in ["old-secret", "new-secret", "third-secret"] {
            let header = sign(&secret(key), b"body");
            assert!(
                list.verify(Some(header.as_bytes()), Bytes::from_static(b"body"))
                    .is_ok(),
                "{key} was not tried"
            );
        }
    }

    #[test]
    fn a_list_without_any_secret_is_refused() {
        for list in ["", " ", ",\n, ,"] {
            assert_eq!(
                WebhookSecrets::parse_list(&secret(list)).unwrap_err(),
                SecretsError::Empty,
                "{list:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_body_signed_with_any_configured_key_verifies(
            key in "[ -~]{1,64}",
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..2048),
        ) {
            let header = sign(&secret(&key), &body);
            let verified = WebhookSecrets::new([secret(&key)]).unwrap().verify(Some(header.as_bytes()), Bytes::from(body.clone()));
            let verified = verified.unwrap();
            proptest::prop_assert_eq!(verified.as_bytes(), &body[..]);
        }

        #[test]
        fn any_change_to_any_body_fails(
            body in proptest::collection::vec(proptest::num::u8::ANY, 1..512),
            index in proptest::num::usize::ANY,
            flip in 1u8..=255,
        ) {
            let header = sign(&secret("k"), &body);
            let mut tampered = body.clone();
            let i = index % tampered.len();
            tampered[i] ^= flip;
            proptest::prop_assert_eq!(
                secrets("k").verify(Some(header.as_bytes()), Bytes::from(tampered)).unwrap_err(),
                SignatureError::Mismatch
            );
        }

        #[test]
        fn arbitrary_headers_never_panic_and_never_verify(header in proptest::collection::vec(proptest::num::u8::ANY, 0..100)) {
            proptest::prop_assert!(secrets("k").verify(Some(&header), Bytes::from_static(b"body")).is_err());
        }
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let shown = format!("{:?}", secrets("hunter2-very-secret,other"));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(shown, "WebhookSecrets([2 redacted])");
    }
}
