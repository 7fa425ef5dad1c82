//! Typed configuration, read once at cold start.
//!
//! [`Settings::from_lookup`] reads the environment without touching the network, so a bad value
//! fails start-up at once with a message naming the variable. Secrets that the environment names
//! by ARN are fetched afterwards, in [`Settings::resolve`]. An error never contains the value of
//! a secret variable. Blank variables count as unset, because deployment tools (SAM parameters,
//! `.env` templates) pass empty strings for optional values.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;

use crate::aws::SecretsManager;
use crate::signature::WebhookSecrets;
use crate::targets::Targets;
use crate::tooken::DEFAULT_API_URL;

pub const WEBHOOK_SECRET: &str = "TOOKEN_WEBHOOK_SECRET";
pub const WEBHOOK_SECRET_ARN: &str = "TOOKEN_WEBHOOK_SECRET_ARN";
pub const TARGETS: &str = "TOOKEN_TARGETS";
pub const TARGETS_FILE: &str = "TOOKEN_TARGETS_FILE";
pub const API_URL: &str = "TOOKEN_API_URL";
pub const ADMIN_TOKEN: &str = "TOOKEN_ADMIN_TOKEN";
pub const ADMIN_TOKEN_ARN: &str = "TOOKEN_ADMIN_TOKEN_ARN";
pub const MAX_BODY_BYTES: &str = "TOOKEN_MAX_BODY_BYTES";
pub const RECONCILE_BUDGET_MS: &str = "TOOKEN_RECONCILE_BUDGET_MS";
pub const CALL_TIMEOUT_MS: &str = "TOOKEN_CALL_TIMEOUT_MS";
pub const RESTART_CONCURRENCY: &str = "TOOKEN_RESTART_CONCURRENCY";
pub const PORT: &str = "PORT";

pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// Below the ~10 s that Tooken is assumed to wait for an answer.
pub const DEFAULT_RECONCILE_BUDGET: Duration = Duration::from_millis(8000);
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_millis(3000);
/// ECS throttles UpdateService per account; a few at a time keeps a large fan-out polite.
pub const DEFAULT_RESTART_CONCURRENCY: usize = 4;
pub const DEFAULT_PORT: u16 = 3000;

/// Where a secret comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The variable holds the value (local use).
    Value(SecretString),
    /// The variable holds the ARN of a Secrets Manager secret to read at cold start.
    SecretsManager(String),
}

/// Everything the environment says, validated, before any network call.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Always set for the function; optional for the command-line tools that send nothing.
    pub webhook_secrets: Option<Source>,
    pub management_token: Option<Source>,
    pub targets: Targets,
    pub api_url: Url,
    pub max_body_bytes: usize,
    pub reconcile_budget: Duration,
    pub call_timeout: Duration,
    pub restart_concurrency: usize,
    pub port: u16,
}

/// The secrets, once read.
#[derive(Debug, Clone)]
pub struct Secrets {
    pub webhook: Option<WebhookSecrets>,
    pub management_token: Option<SecretString>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set (set one of them)")]
    Missing(String),
    #[error("{0} and {1} are both set; set only one")]
    Conflict(&'static str, &'static str),
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
    #[error("{var}: reading the secret from Secrets Manager failed")]
    Unreadable {
        var: &'static str,
        #[source]
        source: crate::reconcile::ExternalError,
    },
}

fn invalid(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var,
        reason: reason.into(),
    }
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the function's settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let settings = Self::for_tools(lookup)?;
        if settings.webhook_secrets.is_none() {
            return Err(ConfigError::Missing(format!(
                "{WEBHOOK_SECRET} or {WEBHOOK_SECRET_ARN}"
            )));
        }
        Ok(settings)
    }

    /// The same settings with the same validation, except that the webhook secret may be
    /// absent: rotating or checking a token does not need it.
    pub fn for_tools(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let webhook_secrets = one_of(&get, WEBHOOK_SECRET, WEBHOOK_SECRET_ARN)?;
        if let Some(Source::Value(list)) = &webhook_secrets {
            WebhookSecrets::parse_list(list).map_err(|e| invalid(WEBHOOK_SECRET, e.to_string()))?;
        }
        let management_token = one_of(&get, ADMIN_TOKEN, ADMIN_TOKEN_ARN)?;

        let targets = match (get(TARGETS), get(TARGETS_FILE)) {
            (Some(_), Some(_)) => return Err(ConfigError::Conflict(TARGETS, TARGETS_FILE)),
            (Some(json), None) => Targets::from_json(&json).map_err(|e| invalid(TARGETS, e))?,
            (None, Some(path)) => {
                let path = PathBuf::from(path.trim());
                let json = std::fs::read_to_string(&path)
                    .map_err(|e| invalid(TARGETS_FILE, format!("cannot read {}: {e}", path.display())))?;
                Targets::from_json(&json)
                    .map_err(|e| invalid(TARGETS_FILE, format!("{}: {e}", path.display())))?
            }
            (None, None) => return Err(ConfigError::Missing(format!("{TARGETS} or {TARGETS_FILE}"))),
        };

        let api_url = api_url(get(API_URL).as_deref().unwrap_or(DEFAULT_API_URL))?;
        let max_body_bytes = number(
            &get,
            MAX_BODY_BYTES,
            DEFAULT_MAX_BODY_BYTES,
            1024..=6 * 1024 * 1024,
        )?;
        let budget_ms = number(
            &get,
            RECONCILE_BUDGET_MS,
            millis(DEFAULT_RECONCILE_BUDGET),
            100..=900_000,
        )?;
        let call_ms = number(&get, CALL_TIMEOUT_MS, millis(DEFAULT_CALL_TIMEOUT), 50..=60_000)?;
        let restart_concurrency = number(&get, RESTART_CONCURRENCY, DEFAULT_RESTART_CONCURRENCY, 1..=50)?;
        let port = number(&get, PORT, DEFAULT_PORT, 0..=u16::MAX)?;

        Ok(Self {
            webhook_secrets,
            management_token,
            targets,
            api_url,
            max_body_bytes,
            reconcile_budget: Duration::from_millis(budget_ms),
            call_timeout: Duration::from_millis(call_ms),
            restart_concurrency,
            port,
        })
    }

    /// Reads the secrets that are named by ARN.
    pub async fn resolve(&self, store: &SecretsManager) -> Result<Secrets, ConfigError> {
        let webhook = match &self.webhook_secrets {
            Some(source) => {
                let list = read(source, store, WEBHOOK_SECRET_ARN).await?;
                let var = match source {
                    Source::Value(_) => WEBHOOK_SECRET,
                    Source::SecretsManager(_) => WEBHOOK_SECRET_ARN,
                };
                Some(WebhookSecrets::parse_list(&list).map_err(|e| invalid(var, e.to_string()))?)
            }
            None => None,
        };
        let management_token = match &self.management_token {
            Some(source) => Some(read(source, store, ADMIN_TOKEN_ARN).await?),
            None => None,
        };
        Ok(Secrets {
            webhook,
            management_token,
        })
    }
}

fn one_of(
    get: &impl Fn(&str) -> Option<String>,
    value_var: &'static str,
    arn_var: &'static str,
) -> Result<Option<Source>, ConfigError> {
    match (get(value_var), get(arn_var)) {
        (Some(_), Some(_)) => Err(ConfigError::Conflict(value_var, arn_var)),
        (Some(value), None) => Ok(Some(Source::Value(SecretString::from(value)))),
        (None, Some(arn)) => {
            let arn = arn.trim().to_owned();
            if !arn.starts_with("arn:") || !arn.contains(":secretsmanager:") {
                // Not shown: a secret pasted into the ARN variable is the usual cause.
                return Err(invalid(
                    arn_var,
                    "the value is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME); \
                     it is not shown in case it is a secret pasted into the wrong variable",
                ));
            }
            Ok(Some(Source::SecretsManager(arn)))
        }
        (None, None) => Ok(None),
    }
}

async fn read(
    source: &Source,
    store: &SecretsManager,
    var: &'static str,
) -> Result<SecretString, ConfigError> {
    match source {
        Source::Value(value) => Ok(value.clone()),
        Source::SecretsManager(arn) => store
            .read_string(arn)
            .await
            .map_err(|source| ConfigError::Unreadable { var, source }),
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn number<N>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: N,
    range: std::ops::RangeInclusive<N>,
) -> Result<N, ConfigError>
where
    N: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(raw) = get(var) else {
        return Ok(default);
    };
    let value: N = raw
        .trim()
        .parse()
        .map_err(|_| invalid(var, format!("{raw:?} is not a whole number")))?;
    if !range.contains(&value) {
        return Err(invalid(
            var,
            format!("{value} is outside {}..={}", range.start(), range.end()),
        ));
    }
    Ok(value)
}

/// Bearer credentials travel to this URL, so plain `http` is allowed only to this machine.
fn api_url(raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw.trim()).map_err(|e| invalid(API_URL, format!("{raw:?} is not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain == "localhost",
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(invalid(
            API_URL,
            format!("{raw:?} is plain http to another host; tokens would travel unencrypted (use https)"),
        )),
        _ => Err(invalid(API_URL, format!("{raw:?} is not an http(s) URL"))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    const TARGETS_JSON: &str = r#"{"tok_a": {"secret": "s", "services": ["c/svc"]}}"#;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    fn minimal() -> Vec<(&'static str, &'static str)> {
        vec![(WEBHOOK_SECRET, "whsec_one"), (TARGETS, TARGETS_JSON)]
    }

    #[test]
    fn the_minimal_configuration_takes_the_documented_defaults() {
        let s = settings(&minimal()).unwrap();
        assert_eq!(s.api_url.as_str(), "https://api.tooken.io/v1");
        assert_eq!(s.max_body_bytes, 262_144);
        assert_eq!(s.reconcile_budget, Duration::from_secs(8));
        assert_eq!(s.call_timeout, Duration::from_secs(3));
        assert_eq!(s.restart_concurrency, 4);
        assert_eq!(s.port, 3000);
        assert!(s.management_token.is_none());
        assert_eq!(s.targets.len(), 1);
    }

    #[test]
    fn arn_sources_and_overrides_are_read() {
        let s = settings(&[
            (
                WEBHOOK_SECRET_ARN,
                "arn:aws:secretsmanager:eu-west-1:1:secret:whsec-AbC",
            ),
            (ADMIN_TOKEN, "tok_live_admin"),
            (TARGETS, TARGETS_JSON),
            (API_URL, "http://127.0.0.1:4010/v1"),
            (RECONCILE_BUDGET_MS, "2500"),
            (PORT, "0"),
        ])
        .unwrap();
        assert!(
            matches!(s.webhook_secrets, Some(Source::SecretsManager(ref arn)) if arn.ends_with("whsec-AbC"))
        );
        assert!(
            matches!(s.management_token, Some(Source::Value(ref v)) if v.expose_secret() == "tok_live_admin")
        );
        assert_eq!(s.reconcile_budget, Duration::from_millis(2500));
        assert_eq!(s.port, 0);
    }

    #[test]
    fn targets_can_come_from_a_file() {
        let path = std::env::temp_dir().join(format!("tooken-targets-{}.json", std::process::id()));
        std::fs::write(&path, TARGETS_JSON).unwrap();
        let s = settings(&[(WEBHOOK_SECRET, "w"), (TARGETS_FILE, path.to_str().unwrap())]).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(s.targets.len(), 1);
    }

    #[test]
    fn blank_values_count_as_unset() {
        let mut vars = minimal();
        vars.push((ADMIN_TOKEN_ARN, ""));
        vars.push((API_URL, "  "));
        let s = settings(&vars).unwrap();
        assert!(s.management_token.is_none());
        assert_eq!(s.api_url.as_str(), DEFAULT_API_URL);
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = minimal();
            vars.extend_from_slice(extra);
            settings(&vars).unwrap_err().to_string()
        };
        let cases: Vec<(String, &str)> = vec![
            (
                settings(&[(TARGETS, TARGETS_JSON)]).unwrap_err().to_string(),
                "TOOKEN_WEBHOOK_SECRET or TOOKEN_WEBHOOK_SECRET_ARN is not set",
            ),
            (
                settings(&[(WEBHOOK_SECRET, "w")]).unwrap_err().to_string(),
                "TOOKEN_TARGETS or TOOKEN_TARGETS_FILE is not set",
            ),
            (
                with(&[(WEBHOOK_SECRET_ARN, "arn:aws:secretsmanager:r:1:secret:x")]),
                "TOOKEN_WEBHOOK_SECRET and TOOKEN_WEBHOOK_SECRET_ARN are both set",
            ),
            (
                settings(&[(WEBHOOK_SECRET, " , \n"), (TARGETS, TARGETS_JSON)])
                    .unwrap_err()
                    .to_string(),
                "TOOKEN_WEBHOOK_SECRET is invalid",
            ),
            (
                with(&[(ADMIN_TOKEN_ARN, "tok_live_pasted_by_mistake")]),
                "TOOKEN_ADMIN_TOKEN_ARN is invalid",
            ),
            (with(&[(TARGETS_FILE, "/nonexistent/targets.json")]), "both set"),
            (
                settings(&[(WEBHOOK_SECRET, "w"), (TARGETS_FILE, "/nonexistent/t.json")])
                    .unwrap_err()
                    .to_string(),
                "TOOKEN_TARGETS_FILE is invalid: cannot read /nonexistent/t.json",
            ),
            (
                settings(&[(WEBHOOK_SECRET, "w"), (TARGETS, "{")])
                    .unwrap_err()
                    .to_string(),
                "TOOKEN_TARGETS is invalid",
            ),
            (
                with(&[(API_URL, "http://api.tooken.io/v1")]),
                "TOOKEN_API_URL is invalid: \"http://api.tooken.io/v1\" is plain http",
            ),
            (
                with(&[(API_URL, "ftp://127.0.0.1/")]),
                "TOOKEN_API_URL is invalid",
            ),
            (
                with(&[(RECONCILE_BUDGET_MS, "soon")]),
                "TOOKEN_RECONCILE_BUDGET_MS is invalid: \"soon\" is not a whole number",
            ),
            (
                with(&[(RECONCILE_BUDGET_MS, "0")]),
                "TOOKEN_RECONCILE_BUDGET_MS is invalid: 0 is outside 100..=900000",
            ),
            (
                with(&[(MAX_BODY_BYTES, "10")]),
                "TOOKEN_MAX_BODY_BYTES is invalid",
            ),
            (
                with(&[(RESTART_CONCURRENCY, "-1")]),
                "TOOKEN_RESTART_CONCURRENCY is invalid",
            ),
            (with(&[(PORT, "70000")]), "PORT is invalid"),
        ];
        for (message, expected) in cases {
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        }
    }

    #[test]
    fn the_env_example_is_a_valid_configuration_that_lists_every_variable() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example");
        let vars: HashMap<String, String> = dotenvy::from_filename_iter(path)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let settings = Settings::from_lookup(|name| vars.get(name).cloned()).unwrap();
        assert_eq!(settings.targets.len(), 1);

        let text = std::fs::read_to_string(path).unwrap();
        let documented = |var: &str| {
            text.lines()
                .any(|l| l.trim_start_matches("# ").starts_with(&format!("{var}=")))
        };
        for var in [
            WEBHOOK_SECRET,
            WEBHOOK_SECRET_ARN,
            TARGETS,
            TARGETS_FILE,
            API_URL,
            ADMIN_TOKEN,
            ADMIN_TOKEN_ARN,
            MAX_BODY_BYTES,
            RECONCILE_BUDGET_MS,
            CALL_TIMEOUT_MS,
            RESTART_CONCURRENCY,
            PORT,
        ] {
            assert!(documented(var), ".env.example does not document {var}");
        }
    }

    #[test]
    fn errors_and_debug_output_never_show_a_secret_value() {
        let mut vars = minimal();
        vars.push((ADMIN_TOKEN, "tok_live_supersecret"));
        vars.push((ADMIN_TOKEN_ARN, "arn:aws:secretsmanager:r:1:secret:x"));
        let message = settings(&vars).unwrap_err().to_string();
        assert!(!message.contains("supersecret"), "{message}");

        let mut vars = minimal();
        vars.push((ADMIN_TOKEN, "tok_live_supersecret"));
        let shown = format!("{:?}", settings(&vars).unwrap());
        assert!(
            !shown.contains("supersecret") && !shown.contains("whsec_one"),
            "{shown}"
        );
    }
}
