//! `tookenctl` as a process: each subcommand's output, exit code and the state it leaves, against
//! moto (through the recording proxy) and the fake Tooken.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use secrecy::ExposeSecret;
use serde_json::Value;

use crate::helpers::{Options, TestApp, actions, pairs, random_secret};

const KNOWN_SIGNATURE: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

/// `tookenctl` with a clean environment plus `env`, and `stdin` as its input.
fn tookenctl(args: &[&str], env: &[(String, String)], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tookenctl"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn secret_env(secret: &str) -> Vec<(String, String)> {
    vec![("TOOKEN_WEBHOOK_SECRET".into(), secret.into())]
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

/// Makes the stored secret a version newer than the services' deployments, so they need a restart.
async fn store_new_version(app: &TestApp) {
    let secret = app.tooken.rotate_quietly(&app.token);
    app.put_secret(secret.expose_secret(), &[]).await;
}

#[test]
fn every_subcommand_has_help() {
    for command in [
        vec!["--help"],
        vec!["sign", "--help"],
        vec!["send", "--help"],
        vec!["event", "--help"],
        vec!["rotate", "--help"],
        vec!["check", "--help"],
    ] {
        let output = tookenctl(&command, &[], b"");
        assert!(output.status.success(), "{command:?}");
        let text = stdout(&output);
        assert!(
            text.contains("Usage: tookenctl") && text.contains("Exit codes:"),
            "{command:?}: {text}"
        );
    }
}

#[test]
fn sign_prints_the_known_answer_for_a_file_and_for_standard_input() {
    let dir = std::env::temp_dir();
    let body = dir.join(format!("tookenctl-body-{}", std::process::id()));
    std::fs::write(&body, "Hello, World!").unwrap();
    let env = secret_env("It's a Secret to Everybody");

    let from_file = tookenctl(&["sign", body.to_str().unwrap()], &env, b"");
    let from_stdin = tookenctl(&["sign"], &env, b"Hello, World!");
    let as_json = tookenctl(&["sign", "-", "--json"], &env, b"Hello, World!");
    std::fs::remove_file(&body).unwrap();

    assert_eq!(stdout(&from_file), format!("{KNOWN_SIGNATURE}\n"));
    assert_eq!(stdout(&from_stdin), format!("{KNOWN_SIGNATURE}\n"));
    assert_eq!(json(&as_json)["value"], KNOWN_SIGNATURE);
    assert_eq!(json(&as_json)["header"], "x-tooken-signature");
}

#[test]
fn sign_takes_the_secret_only_from_the_environment_or_a_file() {
    let missing = tookenctl(&["sign"], &[], b"body");
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("TOOKEN_WEBHOOK_SECRET is not set"),
        "{}",
        stderr(&missing)
    );

    let list = tookenctl(&["sign"], &secret_env("one,two"), b"body");
    assert_eq!(list.status.code(), Some(2));
    assert!(
        stderr(&list).contains("holds 2 webhook secrets"),
        "{}",
        stderr(&list)
    );

    let on_command_line = tookenctl(&["sign", "--secret", "whsec_in_ps_output"], &[], b"body");
    assert_eq!(
        on_command_line.status.code(),
        Some(2),
        "no flag takes a secret's value"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_delivers_a_signed_event_and_reports_the_answer_with_a_meaningful_exit_code() {
    let app = TestApp::spawn(Options::default()).await;
    store_new_version(&app).await;
    let env = secret_env(app.webhook_secret.expose_secret());
    let url = app.url.clone();

    let sent = tokio::task::spawn_blocking(move || {
        tookenctl(
            &["send", "--url", &url, "--token", "tok_api", "--json"],
            &env,
            b"",
        )
    })
    .await
    .unwrap();
    assert_eq!(sent.status.code(), Some(0), "{}", stderr(&sent));
    let report = json(&sent);
    assert_eq!(report["status"], 200);
    assert_eq!(report["answer"]["status"], "reconciled");
    assert_eq!(
        actions(&report["answer"]),
        pairs(&[("api", "restarted"), ("worker", "restarted")])
    );
    assert!(report["elapsed_ms"].is_u64());

    let url = app.url.clone();
    let forged = tokio::task::spawn_blocking(move || {
        tookenctl(
            &["send", "--url", &url, "--token", "tok_api"],
            &secret_env(&random_secret()),
            b"",
        )
    })
    .await
    .unwrap();
    assert_eq!(forged.status.code(), Some(1));
    assert!(
        stdout(&forged).contains("401 Unauthorized"),
        "{}",
        stdout(&forged)
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = tookenctl(
        &[
            "send",
            "--url",
            &format!("http://127.0.0.1:{closed}/"),
            "--type",
            "ping",
        ],
        &secret_env("whsec_x"),
        b"",
    );
    assert_eq!(unreachable.status.code(), Some(3), "{}", stderr(&unreachable));
    assert!(stderr(&unreachable).contains("could not reach"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_stores_a_secret_that_authenticates_and_restart_restarts_the_services() {
    let app = TestApp::spawn(Options {
        management_token: true,
        ..Options::default()
    })
    .await;
    // The function in this test would also react to the rotation's delivery; keep it out.
    app.tooken.clear_webhook();
    let (before, _) = app.current_secret().await;
    let env = app.tool_env();

    let rotated = tokio::task::spawn_blocking(move || {
        tookenctl(&["rotate", "tok_api", "--restart", "--json"], &env, b"")
    })
    .await
    .unwrap();
    assert_eq!(rotated.status.code(), Some(0), "{}", stderr(&rotated));
    let report = json(&rotated);
    let (version, value) = app.current_secret().await;
    assert_ne!(version, before);
    assert_eq!(report["secret"]["version"], version.as_str());
    assert_eq!(report["secret"]["action"], "rotated");
    assert!(
        app.tooken.accepts(&value.into()),
        "the stored secret authenticates"
    );
    assert_eq!(app.tooken.api_rotations("tok_api"), 1);
    assert_eq!(app.tap.count("PutSecretValue", None), 1);
    assert_eq!(
        actions(&report),
        pairs(&[("api", "restarted"), ("worker", "restarted")])
    );
    assert_eq!(app.service("api").await.1.as_deref(), Some(version.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_fails_clearly_without_a_management_token_or_for_an_unknown_token() {
    let app = TestApp::spawn(Options::default()).await;
    let env = app.tool_env();
    let (no_token, unknown) = tokio::task::spawn_blocking(move || {
        (
            tookenctl(&["rotate", "tok_api"], &env, b""),
            tookenctl(&["rotate", "tok_nobody"], &env, b""),
        )
    })
    .await
    .unwrap();

    assert_eq!(no_token.status.code(), Some(1));
    assert!(
        stderr(&no_token).contains("needs a management token"),
        "{}",
        stderr(&no_token)
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("tok_nobody is not in the targets"),
        "{}",
        stderr(&unknown)
    );
    assert!(app.tap.writes().is_empty());
    assert_eq!(app.tooken.api_rotations("tok_api"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_each_target_reads_only_and_exits_non_zero_when_something_is_wrong() {
    let app = TestApp::spawn(Options {
        missing_services: vec!["absent"],
        ..Options::default()
    })
    .await;
    store_new_version(&app).await;
    let env = app.tool_env();

    let checked = tokio::task::spawn_blocking(move || tookenctl(&["check"], &env, b""))
        .await
        .unwrap();
    assert_eq!(checked.status.code(), Some(1), "{}", stderr(&checked));
    let text = stdout(&checked);
    assert!(
        text.contains("tok_api -> ") && text.contains("OK: Tooken accepts it"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}: would restart", app.service_ref("api"))),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}: FAILED", app.service_ref("absent"))),
        "{text}"
    );
    assert!(text.contains("some targets need attention"), "{text}");
    assert!(
        app.tap.writes().is_empty(),
        "a dry run writes nothing: {:?}",
        app.tap.writes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_is_healthy_after_a_delivery_and_reports_a_stale_secret_after_a_dashboard_rotation() {
    let app = TestApp::spawn(Options::default()).await;
    store_new_version(&app).await;
    let (status, _) = app.deliver(&app.tooken.event_body(&app.token)).await;
    assert_eq!(status, 200);

    let env = app.tool_env();
    let healthy = tokio::task::spawn_blocking(move || tookenctl(&["check", "--json"], &env, b""))
        .await
        .unwrap();
    assert_eq!(healthy.status.code(), Some(0), "{}", stdout(&healthy));
    let report = json(&healthy);
    assert_eq!(report["healthy"], true);
    let services = report["targets"][0]["plan"]["services"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        services
            .iter()
            .all(|s| s["action"] == "already-current" && s["evidence"] == "tagged"),
        "{services:?}"
    );

    app.tooken.clear_webhook();
    app.tooken.rotate(&app.token);
    let env = app.tool_env();
    let stale = tokio::task::spawn_blocking(move || tookenctl(&["check"], &env, b""))
        .await
        .unwrap();
    assert_eq!(stale.status.code(), Some(1));
    assert!(stdout(&stale).contains("STALE"), "{}", stdout(&stale));
}
