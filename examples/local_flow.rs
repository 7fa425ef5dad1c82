//! The whole flow on this machine, narrated: moto (AWS), the fake Tooken and the function binary
//! on loopback; a token rotated "in the dashboard"; the signed delivery; the secret reconciled and
//! the services restarted; then the echo and a replay that change nothing.
//!
//! Run it with `./scripts/demo`, which installs moto and builds the function first. Usage:
//! `local_flow [PATH_TO_FUNCTION_BINARY]` (default: `tooken-webhook` beside this example's
//! directory). Exits non-zero if any step fails or any check does not hold.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context, ensure};
use secrecy::ExposeSecret;
use tooken_webhook::devkit::{self, FakeTooken, LocalAws, Moto, ServiceView};

const TOKEN: &str = "tok_demo";
const SECRET: &str = "tooken/tok_demo";
const CLUSTER: &str = "demo";
const SERVICES: [&str; 2] = ["api", "worker"];
const WEBHOOK_SECRET: &str = "whsec_local_demo_only";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => {
            println!("\nOK: every step of the flow worked.");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nFAILED: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn step(text: &str) {
    println!("\n== {text}");
}

/// The function process; killed when dropped.
struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn run() -> anyhow::Result<()> {
    let binary = match std::env::args_os().nth(1) {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()?
            .parent()
            .and_then(|examples| examples.parent())
            .context("locating the build directory")?
            .join("tooken-webhook"),
    };
    ensure!(
        binary.is_file(),
        "the function binary {} does not exist; build it first",
        binary.display()
    );
    // The function runs in its own directory (for its log), so a relative path would not resolve.
    let binary = binary.canonicalize()?;

    step("1. Start the local AWS emulator (moto)");
    let moto = Moto::start()?;
    let aws = LocalAws::new(&moto.sdk_config().await);
    println!("   moto listens on {}", moto.endpoint());

    step("2. Start the fake Tooken API");
    let tooken = FakeTooken::start().await?;
    let token_secret = tooken.add_token(TOKEN);
    let management = tooken.add_management_token();
    println!(
        "   {} with token {TOKEN} and a management token",
        tooken.api_url()
    );

    step("3. Create what a platform team has in AWS");
    let secret_arn = aws.create_secret(SECRET, token_secret.expose_secret()).await?;
    aws.create_cluster(CLUSTER, &secret_arn).await?;
    for service in SERVICES {
        aws.create_service(CLUSTER, service).await?;
    }
    println!("   secret {SECRET} holds {TOKEN}'s secret");
    println!(
        "   cluster {CLUSTER}: task definition reads the secret as TOOKEN_TOKEN; services {}",
        SERVICES.join(", ")
    );

    step("4. Start the function on loopback");
    let targets = serde_json::json!({
        TOKEN: {"secret": SECRET, "services": SERVICES.map(|s| format!("{CLUSTER}/{s}"))}
    })
    .to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let log_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/local-flow");
    std::fs::create_dir_all(&log_dir)?;
    let log_path = log_dir.join("function.log");
    let mut child = Command::new(&binary)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_REGION", tooken_webhook::devkit::moto::REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("TOOKEN_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("TOOKEN_TARGETS", &targets)
        .env("TOOKEN_API_URL", tooken.api_url())
        .env("TOOKEN_ADMIN_TOKEN", management.expose_secret())
        .env("PORT", port.to_string())
        .env("RUST_LOG", "info")
        .current_dir(&log_dir)
        .stdout(Stdio::piped())
        .stderr(File::create(log_dir.join("function.stderr"))?)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let stdout = child.stdout.take().context("the function's output")?;
    let function = Function(child);
    devkit::wait_until_listening(stdout, Some(File::create(&log_path)?), Duration::from_secs(30))
        .await
        .context("see target/local-flow/function.stderr")?;
    let url = format!("http://127.0.0.1:{port}/webhooks/tooken");
    tooken.set_webhook(&url, WEBHOOK_SECRET.to_owned().into());
    println!("   {} listens on {url}", binary.display());
    println!("   TOOKEN_TARGETS={targets}");
    println!("   TOOKEN_ADMIN_TOKEN is set, so it may rotate a token whose stored secret stopped working");
    println!("   its log: {}", log_path.display());

    let before = state(&aws, &tooken).await?;
    step("Before");
    before.print();
    ensure!(
        before.secret_accepted,
        "the stored secret should authenticate before the rotation"
    );

    step("5. Rotate the token in Tooken's dashboard: the stored secret is revoked at once");
    let dashboard_secret = tooken.rotate(TOKEN);
    println!("   Tooken now sends a signed token.rotated to the function...");
    let deliveries = tooken.wait_for_deliveries(2, Duration::from_secs(30)).await?;
    let first = &deliveries[0];
    println!(
        "   delivery 1 (the dashboard's rotation) answered {}:",
        status(first.status)
    );
    println!("{}", indent(&serde_json::to_string_pretty(&first.json())?));
    ensure!(first.status == Some(200), "the delivery should be reconciled");
    ensure!(
        first.json()["secret"]["action"] == "rotated",
        "the function should have rotated once more"
    );
    let echo = &deliveries[1];
    println!(
        "   delivery 2 (the echo of the function's own rotation) answered {}:",
        status(echo.status)
    );
    println!("{}", indent(&serde_json::to_string_pretty(&echo.json())?));
    ensure!(
        echo.status == Some(200) && echo.json()["secret"]["action"] == "unchanged",
        "the echo should change nothing"
    );

    let after = state(&aws, &tooken).await?;
    step("After");
    after.print();
    ensure!(
        after.secret_version != before.secret_version,
        "a new secret version"
    );
    ensure!(after.secret_accepted, "the stored secret authenticates");
    ensure!(
        !tooken.accepts(&dashboard_secret),
        "the dashboard's secret was replaced by the function's rotation"
    );
    ensure!(
        tooken.api_rotations(TOKEN) == 1,
        "exactly one rotation by the function"
    );
    for ((name, was), (_, now)) in before.services.iter().zip(&after.services) {
        ensure!(
            now.primary_deployment != was.primary_deployment,
            "{name} got a new deployment"
        );
        ensure!(
            now.version_tag.as_deref() == Some(after.secret_version.as_str()),
            "{name} is tagged"
        );
    }

    step("6. Replay the first delivery (as a retry or an attacker would)");
    let replay = tooken.deliver(TOKEN, first.body.clone()).await;
    println!("   answered {}: {}", status(replay.status), replay.answer);
    let replayed = state(&aws, &tooken).await?;
    ensure!(replay.status == Some(200), "the replay is acknowledged");
    ensure!(
        replayed.services == after.services,
        "the replay restarted nothing"
    );
    ensure!(
        replayed.secret_version == after.secret_version,
        "the replay wrote nothing"
    );
    println!("   nothing changed: no new deployment, no new secret version");

    step("7. Stop everything");
    drop(function);
    drop(moto);
    println!("   the function and moto are stopped");
    Ok(())
}

struct State {
    secret_version: String,
    secret_accepted: bool,
    services: Vec<(String, ServiceView)>,
}

impl State {
    fn print(&self) {
        let accepted = if self.secret_accepted {
            "authenticates"
        } else {
            "REJECTED"
        };
        println!(
            "   secret {SECRET}: version {} ({accepted} at Tooken)",
            self.secret_version
        );
        for (name, view) in &self.services {
            let tag = view.version_tag.as_deref().unwrap_or("-");
            println!(
                "   service {name}: PRIMARY deployment {}, tooken:secret-version={tag}",
                view.primary_deployment
            );
        }
    }
}

async fn state(aws: &LocalAws, tooken: &FakeTooken) -> anyhow::Result<State> {
    let (secret_version, value) = aws.current(SECRET).await?;
    let mut services = Vec::new();
    for service in SERVICES {
        services.push((
            format!("{CLUSTER}/{service}"),
            aws.service(CLUSTER, service).await?,
        ));
    }
    Ok(State {
        secret_version,
        secret_accepted: tooken.accepts(&value.into()),
        services,
    })
}

fn status(status: Option<u16>) -> String {
    status.map_or_else(|| "nothing (the request failed)".to_owned(), |s| s.to_string())
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("     {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
