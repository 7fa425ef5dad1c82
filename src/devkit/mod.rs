//! Local stand-ins for the outside world, shared by the integration tests and the local demo:
//! a moto server (the AWS emulator, real wire protocols) and a stateful fake of the Tooken API.
//! Also the generator of the Function URL request payloads in `events/`.
//!
//! Nothing here is used by the function itself; it lives in the library so that the tests, the
//! demo and later tools start the same components the same way.

pub mod events;
pub mod fake_tooken;
pub mod local_aws;
pub mod moto;

pub use fake_tooken::FakeTooken;
pub use local_aws::{LocalAws, ServiceView};
pub use moto::Moto;

/// `len` random ASCII letters and digits, for generated secrets and ids.
pub fn random_alphanumeric(len: usize) -> String {
    use rand::Rng;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Waits until a function process prints its `listening on http://…` line and returns that
/// line. Every line is read until the process ends (copied to `log` when given), so its logging
/// never meets a closed pipe.
pub async fn wait_until_listening(
    stdout: std::process::ChildStdout,
    mut log: Option<std::fs::File>,
    timeout: std::time::Duration,
) -> anyhow::Result<String> {
    use std::io::{BufRead, Write};
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(log) = log.as_mut() {
                let _ = writeln!(log, "{line}");
            }
            if line.contains("listening on http://") {
                let _ = ready_tx.send(line);
            }
        }
    });
    tokio::task::spawn_blocking(move || ready_rx.recv_timeout(timeout))
        .await?
        .map_err(|_| anyhow::anyhow!("the function did not report listening within {timeout:?}"))
}
