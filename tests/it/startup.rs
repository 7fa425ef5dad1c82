//! The function binary as a process: configuration is validated at start-up with a message that
//! names the variable (never a secret's value), secrets named by ARN are read from Secrets
//! Manager, and without a Lambda runtime it serves plain HTTP on 127.0.0.1:$PORT.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::{aws, moto_server, random_secret, unique};

const BINARY: &str = env!("CARGO_BIN_EXE_tooken-webhook");
const TARGETS: &str = r#"{"tok_api": {"secret": "some/secret", "services": ["c/s"]}}"#;

/// The binary with a clean environment (no inherited AWS settings, no `.env`) plus `vars`.
fn function(vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", moto_server().endpoint())
        .current_dir(std::env::temp_dir())
        .envs(vars.iter().copied());
    command
}

fn fails_with(vars: &[(&str, &str)]) -> String {
    let output = function(vars).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "start-up should fail");
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn a_missing_or_bad_variable_stops_start_up_naming_it_and_never_its_value() {
    let secret = random_secret();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("TOOKEN_TARGETS", TARGETS)],
            "TOOKEN_WEBHOOK_SECRET or TOOKEN_WEBHOOK_SECRET_ARN is not set",
        ),
        (
            vec![("TOOKEN_WEBHOOK_SECRET", &secret)],
            "TOOKEN_TARGETS or TOOKEN_TARGETS_FILE is not set",
        ),
        (
            vec![
                ("TOOKEN_WEBHOOK_SECRET", &secret),
                ("TOOKEN_TARGETS", TARGETS),
                ("TOOKEN_ADMIN_TOKEN_ARN", &secret),
            ],
            "TOOKEN_ADMIN_TOKEN_ARN is invalid",
        ),
        (
            vec![
                ("TOOKEN_WEBHOOK_SECRET", &secret),
                ("TOOKEN_TARGETS", r#"{"tok_api": {"secret": "s"}}"#),
            ],
            "TOOKEN_TARGETS is invalid",
        ),
        (
            vec![
                ("TOOKEN_WEBHOOK_SECRET", &secret),
                ("TOOKEN_TARGETS", TARGETS),
                ("TOOKEN_API_URL", "http://example.com/v1"),
            ],
            "TOOKEN_API_URL is invalid",
        ),
    ];
    for (vars, expected) in cases {
        let stderr = fails_with(&vars);
        assert!(stderr.contains(expected), "{stderr:?} lacks {expected:?}");
        assert!(!stderr.contains(&secret), "the secret's value is in {stderr:?}");
    }
}

#[test]
fn an_unreadable_webhook_secret_arn_stops_start_up_naming_it() {
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:does-not-exist-AbCdEf";
    let stderr = fails_with(&[("TOOKEN_WEBHOOK_SECRET_ARN", arn), ("TOOKEN_TARGETS", TARGETS)]);
    assert!(
        stderr.contains("TOOKEN_WEBHOOK_SECRET_ARN: reading the secret from Secrets Manager failed"),
        "{stderr}"
    );
    assert!(stderr.contains("ResourceNotFoundException"), "{stderr}");
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_webhook_secret_in_secrets_manager_it_serves_http_on_loopback() {
    let aws = aws().await;
    let webhook_secret = random_secret();
    let arn = aws
        .create_secret(&unique("webhook"), &format!("whsec_old,\n{webhook_secret}\n"))
        .await
        .unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = function(&[
        ("TOOKEN_WEBHOOK_SECRET_ARN", &arn),
        ("TOOKEN_TARGETS", TARGETS),
        ("PORT", &port.to_string()),
        ("RUST_LOG", "info"),
    ])
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let line = tooken_webhook::devkit::wait_until_listening(stdout, None, Duration::from_secs(20))
        .await
        .unwrap();
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");

    let body = r#"{"type":"token.created"}"#;
    let signature = tooken_webhook::signature::sign(&webhook_secret.clone().into(), body.as_bytes());
    for path in ["/", "/webhooks/tooken"] {
        let response = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}{path}"))
            .header("x-tooken-signature", &signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer["status"], "ignored");
    }
    drop(running);
}
