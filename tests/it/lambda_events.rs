//! The Function URL payloads in `events/`: they match their generator, and the Lambda path
//! (`lambda_http::request::from_str` → the router) answers them exactly as local HTTP does.

use std::path::PathBuf;

use axum::http::StatusCode;
use base64::Engine;
use http_body_util::BodyExt;
use tooken_webhook::devkit::events::{self, EVENTS_TOKEN, EVENTS_WEBHOOK_SECRET};
use tower::ServiceExt;

use crate::helpers::{Options, TestApp};

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events")
}

/// Runs `tookenctl` with `args`, the webhook secret (if any) in its environment.
pub fn tookenctl(args: &[&str], secret: Option<&str>) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tookenctl"));
    command
        .args(args)
        .env_remove("TOOKEN_WEBHOOK_SECRET")
        .current_dir(std::env::temp_dir());
    if let Some(secret) = secret {
        command.env("TOOKEN_WEBHOOK_SECRET", secret);
    }
    command.output().unwrap()
}

#[test]
fn the_files_in_events_are_what_tookenctl_prints() {
    let update = std::env::var_os("UPDATE_EVENTS").is_some();
    for sample in events::samples() {
        let output = tookenctl(&sample.args, sample.secret);
        assert!(
            output.status.success(),
            "{}: {}",
            sample.file,
            String::from_utf8_lossy(&output.stderr)
        );
        let printed = String::from_utf8(output.stdout).unwrap();
        let path = events_dir().join(sample.file);
        if update {
            std::fs::write(&path, &printed).unwrap();
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (UPDATE_EVENTS=1 cargo test regenerates events/)",
                path.display()
            )
        });
        assert_eq!(
            stored, printed,
            "{} is stale (UPDATE_EVENTS=1 cargo test regenerates it)",
            sample.file
        );
    }
    let files = std::fs::read_dir(events_dir()).unwrap().count();
    assert_eq!(
        files,
        events::samples().len(),
        "events/ holds files that no sample describes"
    );
}

async fn through_lambda(app: &TestApp, payload: &str) -> (StatusCode, serde_json::Value) {
    let request = lambda_http::request::from_str(payload).expect("a Function URL request payload");
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// The same delivery as plain HTTP: the decoded body and the payload's signature header.
async fn through_http(app: &TestApp, payload: &str) -> (StatusCode, serde_json::Value) {
    let payload: serde_json::Value = serde_json::from_str(payload).unwrap();
    let raw = payload["body"].as_str().unwrap();
    let body = if payload["isBase64Encoded"] == true {
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(raw).unwrap()).unwrap()
    } else {
        raw.to_owned()
    };
    app.post(&body, payload["headers"]["x-tooken-signature"].as_str())
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_event_gets_the_same_answer_through_lambda_and_local_http() {
    let app = TestApp::spawn(Options {
        token: EVENTS_TOKEN.into(),
        webhook_secret: Some(EVENTS_WEBHOOK_SECRET),
        ..Options::default()
    })
    .await;
    // A version stored after the services were deployed, so they need a restart whatever the
    // set-up took (a deployment made clearly after the version would rightly count as current).
    let newer = app.tooken.rotate_quietly(EVENTS_TOKEN);
    app.put_secret(secrecy::ExposeSecret::expose_secret(&newer), &[])
        .await;
    let expected = [
        ("token-rotated.json", StatusCode::OK, "reconciled"),
        ("token-rotated-base64.json", StatusCode::OK, "reconciled"),
        ("other-event.json", StatusCode::OK, "ignored"),
        ("unmanaged-token.json", StatusCode::OK, "ignored"),
        (
            "forged-signature.json",
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
        ),
        (
            "missing-signature.json",
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
        ),
    ];
    for (file, status, outcome) in expected {
        let payload = std::fs::read_to_string(events_dir().join(file)).unwrap();
        for (path, (got, answer)) in [
            ("lambda", through_lambda(&app, &payload).await),
            ("http", through_http(&app, &payload).await),
        ] {
            assert_eq!(got, status, "{file} via {path}: {answer}");
            let reported = answer.get("status").or(answer.get("error")).unwrap();
            assert_eq!(reported, outcome, "{file} via {path}: {answer}");
        }
    }
    // The first token.rotated restarted each service once; every later one found them current.
    assert_eq!(app.tap.count("UpdateService", Some("api")), 1);
    assert_eq!(app.tap.count("UpdateService", Some("worker")), 1);
}
