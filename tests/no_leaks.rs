//! No secret reaches a log line or an answer: every secret involved in a self-healing rotation,
//! its echo and a stale-secret answer is searched for in everything the function logged (at
//! TRACE, every crate, the AWS SDK included) and in every answer it gave.
//!
//! A test binary of its own: the capture is the process's global subscriber, which a
//! thread-local one beside concurrent tests is not (tracing caches each call site's interest
//! process-wide, so such a capture can miss events).

#[allow(dead_code)] // the harness serves the main integration binary; this one uses a part
#[path = "it/helpers.rs"]
mod helpers;

use std::io::Write;
use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;
use tracing_subscriber::fmt::MakeWriter;

use helpers::{DELIVERY_WAIT, Options, TestApp};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_logs_or_answers() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let healing = TestApp::spawn(Options {
        management_token: true,
        ..Options::default()
    })
    .await;
    let (_, first_stored) = healing.current_secret().await;
    let dashboard = healing.tooken.rotate(&healing.token);
    let mut deliveries = healing
        .tooken
        .wait_for_deliveries(2, DELIVERY_WAIT)
        .await
        .unwrap();
    let (_, healed) = healing.current_secret().await;
    assert_eq!(deliveries[0].status, Some(200), "{}", deliveries[0].answer);

    let stale = TestApp::spawn(Options::default()).await;
    let (_, stale_stored) = stale.current_secret().await;
    let stale_new = stale.tooken.rotate(&stale.token);
    deliveries.extend(stale.tooken.wait_for_deliveries(1, DELIVERY_WAIT).await.unwrap());
    assert_eq!(deliveries[2].status, Some(503), "{}", deliveries[2].answer);

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("forced a new deployment"),
        "the capture works: {}",
        &logged[logged.len().saturating_sub(3000)..]
    );
    let secrets: Vec<(&str, String)> = vec![
        ("first stored secret", first_stored),
        ("dashboard secret", dashboard.expose_secret().to_owned()),
        ("healed secret", healed),
        ("stale stored secret", stale_stored),
        ("unstored secret", stale_new.expose_secret().to_owned()),
        (
            "webhook secret",
            healing.webhook_secret.expose_secret().to_owned(),
        ),
    ];
    let answers: Vec<&str> = deliveries.iter().map(|d| d.answer.as_str()).collect();
    for (what, secret) in &secrets {
        assert!(secret.len() >= 20, "{what} is a real secret");
        assert!(!logged.contains(secret.as_str()), "the {what} was logged");
        for answer in &answers {
            assert!(
                !answer.contains(secret.as_str()),
                "the {what} is in an answer: {answer}"
            );
        }
    }
}
