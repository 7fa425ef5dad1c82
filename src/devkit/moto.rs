//! Starts `moto_server` on a free loopback port and stops it again.
//!
//! The server runs under a small shell guard that reads our end of a pipe: when this process
//! exits for any reason (even a panic in a test that never drops the handle), the pipe closes
//! and the guard kills moto, so no emulator outlives its tests.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_secretsmanager::config::{Credentials, Region};

/// The moto version the project is tested with; `requirements-dev.txt` pins the same.
pub const MOTO_REQUIREMENT: &str = "moto[server]==5.2.1";

/// The region every local resource lives in.
pub const REGION: &str = "us-east-1";

const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Moto {
    guard: Child,
    endpoint: String,
}

impl Moto {
    /// Finds `moto_server` (`$MOTO_SERVER`, then the project's `.venv`, then `PATH`) and starts it.
    /// Fails, with the install command in the message, when it is missing.
    pub fn start() -> anyhow::Result<Self> {
        let program = find_moto_server().with_context(|| {
            format!(
                "moto_server was not found (looked at $MOTO_SERVER, .venv/bin and PATH). \
                 Run ./scripts/test, which installs it into .venv, or `pip install \"{MOTO_REQUIREMENT}\"`"
            )
        })?;
        let port = free_port()?;
        let mut guard = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" "$@" </dev/null & pid=$!; read -r _; kill "$pid" 2>/dev/null; wait "$pid""#)
            .arg(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let started = Instant::now();
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if let Some(status) = guard.try_wait()? {
                bail!(
                    "{} exited ({status}) before it listened on {address}",
                    program.display()
                );
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = guard.kill();
                bail!(
                    "{} did not listen on {address} within {START_TIMEOUT:?}",
                    program.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self {
            guard,
            endpoint: format!("http://{address}"),
        })
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// An SDK configuration for this server: fixed test credentials, [`REGION`], no retries
    /// hidden behind long timeouts.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config(&self.endpoint).await
    }
}

/// An SDK configuration for a moto server (or a proxy in front of one) at `endpoint`.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Closing the pipe makes the guard kill moto and wait for it.
        if let Some(mut stdin) = self.guard.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.guard.wait();
    }
}

fn find_moto_server() -> Option<PathBuf> {
    let executable = |p: &PathBuf| p.is_file();
    if let Some(path) = std::env::var_os("MOTO_SERVER").map(PathBuf::from) {
        return executable(&path).then_some(path);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
    if executable(&venv) {
        return Some(venv);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("moto_server"))
        .find(executable)
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}
