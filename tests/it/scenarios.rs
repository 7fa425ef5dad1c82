//! The issue's eight scenarios, end to end: moto, the fake Tooken and the real router over HTTP.

use axum::http::StatusCode;
use secrecy::ExposeSecret;

use crate::helpers::{DELIVERY_WAIT, Options, TestApp, actions, pairs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_stored_before_the_webhook_leaves_it_unchanged_and_restarts_each_service_once() {
    let app = TestApp::spawn(Options::default()).await;
    let (version_before, _) = app.current_secret().await;
    let (api_before, _) = app.service("api").await;

    // The guide's order: rotate, store the new secret at once, then the webhook fires.
    let new_secret = app.tooken.rotate_quietly(&app.token);
    let stored = app.put_secret(new_secret.expose_secret(), &[]).await;
    assert_ne!(stored, version_before);
    let delivery = app
        .tooken
        .deliver(&app.token, app.tooken.event_body(&app.token))
        .await;

    assert_eq!(delivery.status, Some(200), "{}", delivery.answer);
    let answer = delivery.json();
    assert_eq!(answer["status"], "reconciled");
    assert_eq!(answer["token"], "tok_api");
    assert_eq!(answer["secret"]["action"], "unchanged");
    assert_eq!(answer["secret"]["version"], stored.as_str());
    assert_eq!(
        actions(&answer),
        pairs(&[("api", "restarted"), ("worker", "restarted")])
    );

    for service in ["api", "worker"] {
        assert_eq!(app.tap.count("UpdateService", Some(service)), 1, "{service}");
        let (_, tag) = app.service(service).await;
        assert_eq!(
            tag.as_deref(),
            Some(stored.as_str()),
            "{service} is tagged with the version"
        );
    }
    let (api_after, _) = app.service("api").await;
    assert_ne!(api_after, api_before, "a new PRIMARY deployment");
    assert_eq!(answer["services"][0]["deployment"], api_after.as_str());
    assert_eq!(app.tap.count("PutSecretValue", None), 0);
    assert_eq!(app.tooken.api_rotations(&app.token), 0);
    assert_eq!(
        app.current_secret().await,
        (stored, new_secret.expose_secret().to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_elsewhere_with_a_management_token_rotates_once_stores_restarts_and_the_echo_changes_nothing()
{
    let app = TestApp::spawn(Options {
        management_token: true,
        ..Options::default()
    })
    .await;
    let (version_before, _) = app.current_secret().await;

    // Rotated in the dashboard: nobody stored the new secret, and the stored one is revoked.
    let dashboard_secret = app.tooken.rotate(&app.token);
    // The dashboard's delivery, then the echo of the function's own rotation.
    let deliveries = app.tooken.wait_for_deliveries(2, DELIVERY_WAIT).await.unwrap();

    let first = deliveries[0].json();
    assert_eq!(deliveries[0].status, Some(200), "{}", deliveries[0].answer);
    assert_eq!(first["secret"]["action"], "rotated");
    assert_eq!(
        actions(&first),
        pairs(&[("api", "restarted"), ("worker", "restarted")])
    );

    let echo = deliveries[1].json();
    assert_eq!(deliveries[1].status, Some(200), "{}", deliveries[1].answer);
    assert_eq!(echo["secret"]["action"], "unchanged");
    assert_eq!(
        actions(&echo),
        pairs(&[("api", "already-current"), ("worker", "already-current")])
    );

    assert_eq!(
        app.tooken.api_rotations(&app.token),
        1,
        "exactly one rotation, no loop"
    );
    assert_eq!(app.tap.count("PutSecretValue", None), 1);
    let put = app
        .tap
        .calls()
        .into_iter()
        .find(|c| c.operation == "PutSecretValue")
        .unwrap();
    let request_token = put.body["ClientRequestToken"].as_str().unwrap().to_owned();
    assert_eq!(
        request_token.len(),
        32,
        "an idempotency token derived from the rotation"
    );

    let (version, value) = app.current_secret().await;
    assert_ne!(version, version_before);
    assert_eq!(version, request_token);
    assert_eq!(first["secret"]["version"], version.as_str());
    assert!(
        app.tooken.accepts(&value.clone().into()),
        "the stored secret authenticates"
    );
    assert_ne!(
        value,
        dashboard_secret.expose_secret(),
        "the dashboard's secret was revoked by the new rotation"
    );
    for service in ["api", "worker"] {
        assert_eq!(app.tap.count("UpdateService", Some(service)), 1, "{service}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_elsewhere_without_a_management_token_answers_503_then_converges_after_a_manual_store() {
    let app = TestApp::spawn(Options::default()).await;
    let (api_before, _) = app.service("api").await;

    let new_secret = app.tooken.rotate(&app.token);
    let deliveries = app.tooken.wait_for_deliveries(1, DELIVERY_WAIT).await.unwrap();

    assert_eq!(deliveries[0].status, Some(503), "{}", deliveries[0].answer);
    let answer = deliveries[0].json();
    assert_eq!(answer["error"], "secret_stale");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("put-secret-value"), "actionable: {message}");
    assert!(message.contains(&app.secret), "names the secret: {message}");
    assert!(
        app.tap.writes().is_empty(),
        "nothing changed: {:?}",
        app.tap.writes()
    );
    assert_eq!(app.service("api").await.0, api_before);

    // A person stores the secret; Tooken redelivers the same body.
    app.put_secret(new_secret.expose_secret(), &[]).await;
    let redelivery = app.tooken.deliver(&app.token, deliveries[0].body.clone()).await;

    assert_eq!(redelivery.status, Some(200), "{}", redelivery.answer);
    let answer = redelivery.json();
    assert_eq!(answer["secret"]["action"], "unchanged");
    assert_eq!(
        actions(&answer),
        pairs(&[("api", "restarted"), ("worker", "restarted")])
    );
    assert_ne!(app.service("api").await.0, api_before);
    assert_eq!(app.tap.count("PutSecretValue", None), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_pending_version_is_promoted_to_current() {
    let app = TestApp::spawn(Options::default()).await;
    let (version_before, _) = app.current_secret().await;
    let new_secret = app.tooken.rotate_quietly(&app.token);
    let pending = app.put_secret(new_secret.expose_secret(), &["AWSPENDING"]).await;
    assert_eq!(
        app.current_secret().await.0,
        version_before,
        "still current before the delivery"
    );

    let (status, answer) = app.deliver(&app.tooken.event_body(&app.token)).await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["secret"]["action"], "promoted");
    assert_eq!(answer["secret"]["version"], pending.as_str());
    assert_eq!(
        app.current_secret().await,
        (pending, new_secret.expose_secret().to_owned())
    );
    assert_eq!(app.tap.count("UpdateSecretVersionStage", None), 1);
    let promote = app
        .tap
        .calls()
        .into_iter()
        .find(|c| c.operation == "UpdateSecretVersionStage")
        .unwrap();
    assert_eq!(promote.body["RemoveFromVersionId"], version_before.as_str());
    assert_eq!(
        actions(&answer),
        pairs(&[("api", "restarted"), ("worker", "restarted")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_delivery_twice_and_ten_at_once_restart_each_service_at_most_once() {
    let app = TestApp::spawn(Options::default()).await;
    let new_secret = app.tooken.rotate_quietly(&app.token);
    app.put_secret(new_secret.expose_secret(), &[]).await;
    let body = app.tooken.event_body(&app.token);

    let (first, _) = app.deliver(&body).await;
    let (second, answer) = app.deliver(&body).await;
    assert_eq!((first, second), (StatusCode::OK, StatusCode::OK));
    assert_eq!(
        actions(&answer),
        pairs(&[("api", "already-current"), ("worker", "already-current")])
    );
    assert_eq!(answer["services"][0]["evidence"], "tagged");
    assert_eq!(app.tap.count("UpdateService", None), 2, "one per service");

    // The next rotation, delivered ten times at once.
    let newer = app.tooken.rotate_quietly(&app.token);
    app.put_secret(newer.expose_secret(), &[]).await;
    app.tap.clear();
    let body = app.tooken.event_body(&app.token);
    let answers = futures::future::join_all((0..10).map(|_| app.deliver(&body))).await;

    assert!(
        answers.iter().all(|(status, _)| *status == StatusCode::OK),
        "{answers:?}"
    );
    for service in ["api", "worker"] {
        assert_eq!(app.tap.count("UpdateService", Some(service)), 1, "{service}");
    }
    let restarted = answers
        .iter()
        .flat_map(|(_, a)| actions(a))
        .filter(|(_, action)| action == "restarted")
        .count();
    assert_eq!(restarted, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_missing_signatures_answer_401_and_reach_nothing() {
    let app = TestApp::spawn(Options::default()).await;
    let body = app.tooken.event_body(&app.token);
    let forged = tooken_webhook::signature::sign(&"whsec_guess".to_owned().into(), body.as_bytes());
    let cases = [
        Some(forged.as_str()),
        None,
        Some("sha256=nothex"),
        Some("whatever"),
    ];
    for signature in cases {
        let (status, answer) = app.post(&body, signature).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{signature:?}");
        assert_eq!(answer["error"], "invalid_signature");
        assert_eq!(
            answer["message"],
            "the x-tooken-signature header is missing, malformed or does not match"
        );
    }
    app.assert_untouched();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_events_and_unmanaged_tokens_are_acknowledged_and_ignored() {
    let app = TestApp::spawn(Options::default()).await;
    let other = r#"{"id":"evt_1","type":"token.created","data":{"id":"tok_api"}}"#;
    let unmanaged = r#"{"id":"evt_2","type":"token.rotated","data":{"id":"tok_someone_else"}}"#;

    let (status, answer) = app.deliver(other).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["status"], "ignored");
    assert_eq!(answer["received"], true);
    assert_eq!(answer["type"], "token.created");
    assert_eq!(answer["event"], "evt_1");

    let (status, answer) = app.deliver(unmanaged).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["status"], "ignored");
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .contains("tok_someone_else is not managed")
    );

    app.assert_untouched();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_service_answers_502_naming_it_and_the_redelivery_restarts_only_that_one() {
    let app = TestApp::spawn(Options {
        services: vec!["api"],
        missing_services: vec!["later"],
        ..Options::default()
    })
    .await;
    let new_secret = app.tooken.rotate_quietly(&app.token);
    app.put_secret(new_secret.expose_secret(), &[]).await;
    let body = app.tooken.event_body(&app.token);

    let (status, answer) = app.deliver(&body).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{answer}");
    assert_eq!(answer["error"], "restart_failed");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains(&app.service_ref("later")), "{message}");
    assert!(!message.contains(&app.service_ref("api")), "{message}");
    assert_eq!(
        actions(&answer),
        pairs(&[("api", "restarted"), ("later", "failed")])
    );
    assert!(
        answer["services"][1]["error"]
            .as_str()
            .unwrap()
            .contains("not found")
    );

    app.aws.create_service(&app.cluster, "later").await.unwrap();
    app.tap.clear();
    let (status, answer) = app.deliver(&body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        actions(&answer),
        pairs(&[("api", "already-current"), ("later", "restarted")])
    );
    assert_eq!(app.tap.count("UpdateService", Some("later")), 1);
    assert_eq!(app.tap.count("UpdateService", None), 1);
}
