//! Every row of the design's answer table, over real HTTP (or the same router in-process).

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use crate::helpers::{Options, TestApp, actions, pairs};

/// A delivery whose stored secret is current, so the reconcile reaches Tooken and AWS.
async fn stored_rotation(app: &TestApp) -> String {
    use secrecy::ExposeSecret;
    let secret = app.tooken.rotate_quietly(&app.token);
    app.put_secret(secret.expose_secret(), &[]).await;
    app.tooken.event_body(&app.token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_methods_get_405_with_allow_and_other_paths_get_404() {
    let app = TestApp::spawn(Options::default()).await;
    let base = app.url.trim_end_matches("/webhooks/tooken").to_owned();
    let client = reqwest::Client::new();
    for path in ["/", "/webhooks/tooken"] {
        for method in [
            reqwest::Method::GET,
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
        ] {
            let response = client
                .request(method.clone(), format!("{base}{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 405, "{method} {path}");
            assert_eq!(response.headers()["allow"], "POST");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"], "method_not_allowed");
        }
    }
    let response = client.post(format!("{base}/elsewhere")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    app.assert_untouched();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_get_413_whether_declared_or_not() {
    let app = TestApp::spawn(Options::default()).await;
    let big = format!(
        r#"{{"type":"token.rotated","data":{{"id":"tok_api"}},"pad":"{}"}}"#,
        "x".repeat(256 * 1024)
    );

    let (status, answer) = app.deliver(&big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer["error"], "payload_too_large");

    // No Content-Length: the limit still holds while reading.
    let request = Request::post("/")
        .header("x-tooken-signature", app.sign(&big))
        .body(Body::from(big))
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    app.assert_untouched();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_bodies_that_are_not_valid_events_get_400_and_reach_nothing() {
    let app = TestApp::spawn(Options::default()).await;
    for body in [
        "not json",
        "[]",
        r#"{"type":"token.rotated"}"#,
        r#"{"type":"token.rotated","data":{"id":""}}"#,
    ] {
        let (status, answer) = app.deliver(body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["error"], "invalid_event", "{body}");
    }
    app.assert_untouched();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_signature_headers_are_ambiguous_and_get_401_even_when_both_match() {
    let app = TestApp::spawn(Options::default()).await;
    let body = app.tooken.event_body(&app.token);
    let signature = app.sign(&body);
    let request = Request::post("/")
        .header("x-tooken-signature", &signature)
        .header("x-tooken-signature", &signature)
        .body(Body::from(body))
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    app.assert_untouched();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_signed_with_the_previous_webhook_secret_is_accepted() {
    let app = TestApp::spawn(Options::default()).await;
    let body = r#"{"type":"token.created"}"#;
    let signature = tooken_webhook::signature::sign(&"whsec_previous".to_owned().into(), body.as_bytes());
    let (status, answer) = app.post(body, Some(&signature)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["status"], "ignored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_tooken_api_answers_502_and_changes_nothing() {
    let app = TestApp::spawn(Options::default()).await;
    let body = stored_rotation(&app).await;
    app.tooken.fail_next(1, 500, None);

    let (status, answer) = app.deliver(&body).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{answer}");
    assert_eq!(answer["error"], "tooken_failed");
    assert!(answer["message"].as_str().unwrap().contains("500"), "{answer}");
    assert!(app.tap.writes().is_empty(), "{:?}", app.tap.writes());

    let (status, _) = app.deliver(&body).await;
    assert_eq!(status, StatusCode::OK, "the redelivery converges");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_tooken_api_answers_503_with_its_retry_after() {
    let app = TestApp::spawn(Options::default()).await;
    let body = stored_rotation(&app).await;
    app.tooken.fail_next(1, 429, Some(7));

    let response = reqwest::Client::new()
        .post(&app.url)
        .header("x-tooken-signature", app.sign(&body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "7");
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["error"], "throttled");
    assert!(app.tap.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_answers_502_naming_it() {
    let app = TestApp::spawn(Options::default()).await;
    app.aws
        .secrets
        .delete_secret()
        .secret_id(&app.secret)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();

    let (status, answer) = app.deliver(&app.tooken.event_body(&app.token)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{answer}");
    assert_eq!(answer["error"], "secrets_manager_failed");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains(&app.secret) && message.contains("ResourceNotFoundException"),
        "{message}"
    );
    assert!(app.tooken.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconcile_past_its_budget_answers_503_and_the_redelivery_finishes_the_work() {
    let app = TestApp::spawn(Options {
        budget_ms: 300,
        ..Options::default()
    })
    .await;
    let body = stored_rotation(&app).await;
    app.tooken.set_latency(Duration::from_millis(1500));

    let started = std::time::Instant::now();
    let (status, answer) = app.deliver(&body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_eq!(answer["error"], "budget_exceeded");
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "answered at the budget, not after Tooken"
    );
    assert_eq!(app.tap.count("UpdateService", None), 0);

    app.tooken.set_latency(Duration::ZERO);
    let (status, answer) = app.deliver(&body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        actions(&answer),
        pairs(&[("api", "restarted"), ("worker", "restarted")])
    );
}
