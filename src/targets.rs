//! Which Secrets Manager secret and which ECS services belong to each Tooken token.
//!
//! This is the explicit source of targets: a JSON document validated in full at start-up, so a
//! typo stops the deployment instead of surfacing at the first rotation. Discovery by tags and
//! task definitions will be a second source that produces the same [`Targets`].

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::Deserialize;

use crate::event::TokenId;

/// Every managed token and what belongs to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    by_token: BTreeMap<TokenId, Target>,
}

/// The secret holding one token's current value, and the services that read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub secret: SecretRef,
    pub services: Vec<ServiceRef>,
}

/// A Secrets Manager secret, by name or ARN, exactly as configured (both are valid `SecretId`s).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct SecretRef(String);

impl SecretRef {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("the secret name is empty".into());
        }
        if raw.chars().any(char::is_whitespace) {
            return Err(format!("secret {raw:?} contains whitespace"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ECS service: `cluster/service`, or a service ARN (long form
/// `arn:…:ecs:…:service/cluster/name`, or the legacy `arn:…:service/name` in the default cluster).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceRef {
    configured: String,
    cluster: String,
    service: String,
}

impl ServiceRef {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if let Some(rest) = raw.strip_prefix("arn:") {
            return Self::parse_arn(raw, rest);
        }
        let (cluster, service) = raw
            .split_once('/')
            .filter(|(c, s)| !c.is_empty() && !s.is_empty() && !s.contains('/'))
            .ok_or_else(|| format!("service {raw:?} is neither `cluster/service` nor a service ARN"))?;
        for part in [cluster, service] {
            check_ecs_name(raw, part)?;
        }
        Ok(Self {
            configured: raw.to_owned(),
            cluster: cluster.to_owned(),
            service: service.to_owned(),
        })
    }

    fn parse_arn(raw: &str, rest: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{raw:?} is not an ECS service ARN (arn:PARTITION:ecs:REGION:ACCOUNT:service/CLUSTER/SERVICE)"
            )
        };
        let fields: Vec<&str> = rest.splitn(5, ':').collect();
        let [_partition, "ecs", region, account, resource] = fields.as_slice() else {
            return Err(bad());
        };
        if region.is_empty() || account.is_empty() {
            return Err(bad());
        }
        let path = resource.strip_prefix("service/").ok_or_else(bad)?;
        let (cluster, name) = match path.split('/').collect::<Vec<_>>().as_slice() {
            [cluster, name] => (*cluster, *name),
            [name] => ("default", *name),
            _ => return Err(bad()),
        };
        for part in [cluster, name] {
            check_ecs_name(raw, part)?;
        }
        // ECS accepts the ARN wherever it takes a service name, which keeps the account and
        // region in the request explicit.
        Ok(Self {
            configured: raw.to_owned(),
            cluster: cluster.to_owned(),
            service: raw.to_owned(),
        })
    }

    /// The cluster name, for the `cluster` parameter of ECS calls.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The service name or ARN, for the `service(s)` parameter of ECS calls.
    pub fn service(&self) -> &str {
        &self.service
    }
}

impl fmt::Display for ServiceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.configured)
    }
}

impl serde::Serialize for ServiceRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.configured)
    }
}

fn check_ecs_name(raw: &str, name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{raw:?}: {name:?} is not an ECS name (1-255 letters, digits, hyphens, underscores)"
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    secret: String,
    services: Vec<String>,
}

impl Targets {
    /// Parses and validates the targets document. The error names the token and the entry at
    /// fault; every problem stops start-up.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let raw: BTreeMap<String, RawTarget> = serde_json::from_str(json).map_err(|e| {
            format!(
                "not a JSON object of {{\"tok_…\": {{\"secret\": \"…\", \"services\": [\"cluster/service\", …]}}}}: {e}"
            )
        })?;
        let mut by_token = BTreeMap::new();
        let mut secrets_seen: BTreeMap<String, TokenId> = BTreeMap::new();
        for (token, target) in raw {
            let token = TokenId::parse(&token)?;
            let secret = SecretRef::parse(&target.secret).map_err(|e| format!("{token}: {e}"))?;
            if let Some(other) = secrets_seen.insert(secret.as_str().to_owned(), token.clone()) {
                return Err(format!(
                    "{token} and {other} both name secret {secret}; one secret holds one token"
                ));
            }
            let mut unique = HashSet::new();
            let services = target
                .services
                .iter()
                .map(|raw| {
                    let service = ServiceRef::parse(raw).map_err(|e| format!("{token}: {e}"))?;
                    if !unique.insert((service.cluster.clone(), service.service.clone())) {
                        return Err(format!("{token}: service {raw:?} is listed twice"));
                    }
                    Ok(service)
                })
                .collect::<Result<Vec<_>, String>>()?;
            by_token.insert(token, Target { secret, services });
        }
        Ok(Self { by_token })
    }

    pub fn get(&self, token: &TokenId) -> Option<&Target> {
        self.by_token.get(token)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&TokenId, &Target)> {
        self.by_token.iter()
    }

    pub fn len(&self) -> usize {
        self.by_token.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_document_parses_every_form_of_service() {
        let targets = Targets::from_json(
            r#"{
                "tok_api": {"secret": "prod/tooken/api", "services": [
                    "prod/api",
                    "arn:aws:ecs:eu-west-1:123456789012:service/prod/worker",
                    "arn:aws:ecs:eu-west-1:123456789012:service/legacy"
                ]},
                "tok_batch": {"secret": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:batch-AbCdEf", "services": []}
            }"#,
        )
        .unwrap();
        assert_eq!(targets.len(), 2);
        let api = targets.get(&TokenId::parse("tok_api").unwrap()).unwrap();
        assert_eq!(api.secret.as_str(), "prod/tooken/api");
        let parts: Vec<_> = api.services.iter().map(|s| (s.cluster(), s.service())).collect();
        assert_eq!(
            parts,
            [
                ("prod", "api"),
                ("prod", "arn:aws:ecs:eu-west-1:123456789012:service/prod/worker"),
                ("default", "arn:aws:ecs:eu-west-1:123456789012:service/legacy"),
            ]
        );
        assert_eq!(api.services[0].to_string(), "prod/api");
        assert!(targets.get(&TokenId::parse("tok_other").unwrap()).is_none());
    }

    #[test]
    fn invalid_documents_are_refused_with_a_message_naming_the_problem() {
        let cases = [
            ("[]", "not a JSON object"),
            (r#"{"tok_a": {"secret": "s"}}"#, "services"),
            (
                r#"{"tok_a": {"secret": "s", "services": [], "service": []}}"#,
                "unknown field",
            ),
            (
                r#"{"tok_a": {"secret": "", "services": []}}"#,
                "tok_a: the secret name is empty",
            ),
            (
                r#"{"tok_a": {"secret": "s", "services": ["api"]}}"#,
                "neither `cluster/service`",
            ),
            (
                r#"{"tok_a": {"secret": "s", "services": ["a/b/c"]}}"#,
                "neither `cluster/service`",
            ),
            (
                r#"{"tok_a": {"secret": "s", "services": ["a/b c"]}}"#,
                "is not an ECS name",
            ),
            (
                r#"{"tok_a": {"secret": "s", "services": ["arn:aws:ecs:r:1:task/x"]}}"#,
                "not an ECS service ARN",
            ),
            (
                r#"{"tok_a": {"secret": "s", "services": ["c/a", "c/a"]}}"#,
                "listed twice",
            ),
            (
                r#"{"tok_a": {"secret": "s", "services": []}, "tok_b": {"secret": "s", "services": []}}"#,
                "both name secret s",
            ),
            (r#"{"": {"secret": "s", "services": []}}"#, "token ID is empty"),
        ];
        for (json, expected) in cases {
            let err = Targets::from_json(json).unwrap_err();
            assert!(err.contains(expected), "{json}: {err:?} lacks {expected:?}");
        }
    }
}
