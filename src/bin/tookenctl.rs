//! `tookenctl`: the command-line tool for the people who run the webhook.
//!
//! It is built on the function's own library: the same signature scheme, the same configuration
//! loading and the same reconciler, so what it reports and does is what the function would.
//! Secrets come from the environment or a file, never from an argument (arguments end up in
//! shell history and in `ps`).

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use serde_json::{Value, json};
use tooken_webhook::app::{self, RealReconciler};
use tooken_webhook::config::Settings;
use tooken_webhook::devkit::events::{self, EventSpec};
use tooken_webhook::error_chain;
use tooken_webhook::event::{TOKEN_ROTATED, TokenId};
use tooken_webhook::reconcile::{Plan, SecretPlan, ServiceAction, ServiceReport};
use tooken_webhook::signature::{SIGNATURE_HEADER, sign};
use tooken_webhook::targets::Target;

const EXIT_CODES: &str = "\
Exit codes:
  0  done; everything checked is healthy
  1  a problem: the endpoint answered with an error, a check failed, an operation failed
  2  usage or configuration error
  3  the endpoint could not be reached";

#[derive(Parser)]
#[command(
    name = "tookenctl",
    version,
    about = "Operate the Tooken rotation webhook: send test deliveries, rotate and store tokens, check a deployment",
    after_help = EXIT_CODES
)]
struct Cli {
    /// Print machine-readable JSON instead of text
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the X-Tooken-Signature value for a body
    #[command(after_help = EXIT_CODES)]
    Sign(SignArgs),
    /// Sign a delivery and POST it to a URL (a Function URL or a local run)
    #[command(after_help = EXIT_CODES)]
    Send(SendArgs),
    /// Print a signed event body, or a whole Function URL request payload
    #[command(after_help = EXIT_CODES)]
    Event(EventArgs),
    /// Rotate a token and store its new secret at once, as Tooken's guide recommends
    #[command(after_help = EXIT_CODES)]
    Rotate(RotateArgs),
    /// Check every target, and show what a token.rotated for each would do now (a dry run)
    #[command(after_help = EXIT_CODES)]
    Check,
}

#[derive(Args)]
struct SecretArgs {
    /// Environment variable holding the webhook secret
    #[arg(long, value_name = "VAR", default_value = "TOOKEN_WEBHOOK_SECRET")]
    secret_env: String,
    /// File holding the webhook secret (instead of the environment variable)
    #[arg(long, value_name = "PATH")]
    secret_file: Option<PathBuf>,
}

#[derive(Args)]
struct EventOptions {
    /// Event type
    #[arg(long = "type", value_name = "TYPE", default_value = TOKEN_ROTATED)]
    event_type: String,
    /// Token ID the event is about (data.id); required for token.rotated
    #[arg(long, value_name = "ID")]
    token: Option<String>,
    /// Event ID [default: a random evt_…]
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// Event time, RFC 3339 [default: now]
    #[arg(long, value_name = "TIME")]
    created_at: Option<String>,
}

#[derive(Args)]
struct SignArgs {
    /// The body to sign: a file, or - for standard input
    #[arg(default_value = "-")]
    file: PathBuf,
    #[command(flatten)]
    secret: SecretArgs,
}

#[derive(Args)]
struct SendArgs {
    /// Where to POST the delivery
    #[arg(long)]
    url: String,
    /// Send this file's bytes (or - for standard input) instead of building an event
    #[arg(long, value_name = "FILE", conflicts_with_all = ["token", "id", "created_at"])]
    body: Option<PathBuf>,
    #[command(flatten)]
    event: EventOptions,
    #[command(flatten)]
    secret: SecretArgs,
    /// Seconds to wait for the answer
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    timeout: u64,
}

#[derive(Args)]
struct EventArgs {
    #[command(flatten)]
    event: EventOptions,
    /// Print a whole Lambda Function URL request payload instead of the body
    #[arg(long)]
    function_url: bool,
    /// Base64-encode the body in the payload (isBase64Encoded: true)
    #[arg(long, requires = "function_url")]
    base64: bool,
    /// Leave the signature out
    #[arg(long)]
    unsigned: bool,
    #[command(flatten)]
    secret: SecretArgs,
}

#[derive(Args)]
struct RotateArgs {
    /// The token to rotate; it must be in the targets
    token: String,
    /// Also restart the services that are not running the new secret, as the function would
    #[arg(long)]
    restart: bool,
}

/// A failure with its exit code. The message never holds secret material.
struct Failure {
    code: u8,
    message: String,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

fn problem(message: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        message: message.into(),
    }
}

type Outcome = Result<ExitCode, Failure>;

#[tokio::main]
async fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    init_logging();
    let json = cli.json;
    let outcome = match cli.command {
        Command::Sign(args) => sign_body(args, json),
        Command::Send(args) => send(args, json).await,
        Command::Event(args) => event(args, json),
        Command::Rotate(args) => rotate(args, json).await,
        Command::Check => check(json).await,
    };
    match outcome {
        Ok(code) => code,
        Err(failure) => {
            if json {
                println!("{}", json!({"error": failure.message}));
            } else {
                eprintln!("tookenctl: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}

/// Quiet by default: only warnings and errors, on standard error. `RUST_LOG` shows more.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

impl SecretArgs {
    /// The one secret to sign with. A list (as the function accepts while the webhook secret
    /// rotates) is refused: a delivery carries one signature.
    fn load(&self) -> Result<SecretString, Failure> {
        let (raw, source) = match &self.secret_file {
            Some(path) => {
                let raw = std::fs::read_to_string(path)
                    .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
                (raw, path.display().to_string())
            }
            None => {
                let raw = std::env::var(&self.secret_env).map_err(|_| {
                    usage(format!(
                        "{} is not set; put the webhook secret there (or use --secret-env VAR or --secret-file PATH)",
                        self.secret_env
                    ))
                })?;
                (raw, self.secret_env.clone())
            }
        };
        let secrets: Vec<&str> = raw
            .split([',', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        match secrets.as_slice() {
            [one] => Ok(SecretString::from(one.to_string())),
            [] => Err(usage(format!("{source} holds no webhook secret"))),
            many => Err(usage(format!(
                "{source} holds {} webhook secrets; a delivery is signed with one (use --secret-file)",
                many.len()
            ))),
        }
    }
}

impl EventOptions {
    fn spec(&self) -> Result<EventSpec, Failure> {
        if self.event_type == TOKEN_ROTATED && self.token.is_none() {
            return Err(usage("a token.rotated event needs --token ID"));
        }
        if let Some(token) = &self.token {
            TokenId::parse(token).map_err(usage)?;
        }
        Ok(EventSpec {
            event_type: self.event_type.clone(),
            token: self.token.clone(),
            id: self.id.clone().unwrap_or_else(events::random_event_id),
            created_at: self.created_at.clone().unwrap_or_else(events::now_rfc3339),
        })
    }
}

fn read_input(path: &PathBuf) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| usage(format!("cannot read standard input: {e}")))?;
    } else {
        bytes = std::fs::read(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
    }
    Ok(bytes)
}

fn sign_body(args: SignArgs, json: bool) -> Outcome {
    let secret = args.secret.load()?;
    let body = read_input(&args.file)?;
    let signature = sign(&secret, &body);
    if json {
        println!(
            "{}",
            json!({"header": SIGNATURE_HEADER, "value": signature, "bytes": body.len()})
        );
    } else {
        println!("{signature}");
    }
    Ok(ExitCode::SUCCESS)
}

fn event(args: EventArgs, json: bool) -> Outcome {
    let spec = args.event.spec()?;
    let body = spec.body();
    let signature = if args.unsigned {
        None
    } else {
        Some(sign(&args.secret.load()?, body.as_bytes()))
    };
    if args.function_url {
        let payload = events::function_url_payload(&body, signature.as_deref(), args.base64, &spec.id);
        print!("{payload}");
    } else if json {
        println!(
            "{}",
            json!({"body": body, "header": SIGNATURE_HEADER, "signature": signature})
        );
    } else {
        // The body's exact bytes on standard output (they are what was signed), the header on
        // standard error, so `tookenctl event … > body.json` keeps the body intact.
        print!("{body}");
        if let Some(signature) = signature {
            eprintln!("{SIGNATURE_HEADER}: {signature}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn send(args: SendArgs, json: bool) -> Outcome {
    let secret = args.secret.load()?;
    let body = match &args.body {
        Some(path) => read_input(path)?,
        None => args.event.spec()?.body().into_bytes(),
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .build()
        .map_err(|e| problem(format!("cannot build an HTTP client: {e}")))?;
    let started = Instant::now();
    let response = client
        .post(&args.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, sign(&secret, &body))
        .body(body)
        .send()
        .await
        .map_err(|e| Failure {
            code: 3,
            message: format!("could not reach {}: {}", args.url, error_chain(&e)),
        })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let elapsed = started.elapsed();
    let answer = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
    if json {
        let report = json!({
            "url": args.url,
            "status": status.as_u16(),
            "elapsed_ms": elapsed.as_millis() as u64,
            "answer": answer,
        });
        println!("{report}");
    } else {
        println!("POST {} -> {status} in {} ms", args.url, elapsed.as_millis());
        match &answer {
            Value::String(text) => println!("{text}"),
            value => println!("{}", serde_json::to_string_pretty(value).unwrap_or_default()),
        }
    }
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Loads the configuration exactly as the function does (minus the webhook secret, which these
/// commands do not need) and builds the same reconciler.
async fn load() -> Result<(Settings, RealReconciler), Failure> {
    let settings = Settings::for_tools(|name| std::env::var(name).ok()).map_err(|e| usage(e.to_string()))?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let (reconciler, _) = app::reconciler(&settings, &sdk)
        .await
        .map_err(|e| usage(format!("{e:#}")))?;
    Ok((settings, reconciler))
}

fn target<'a>(settings: &'a Settings, token: &str) -> Result<(TokenId, &'a Target), Failure> {
    let token = TokenId::parse(token).map_err(usage)?;
    let target = settings
        .targets
        .get(&token)
        .ok_or_else(|| usage(format!("{token} is not in the targets (TOOKEN_TARGETS)")))?;
    Ok((token, target))
}

async fn rotate(args: RotateArgs, json: bool) -> Outcome {
    let (settings, reconciler) = load().await?;
    let (token, target) = target(&settings, &args.token)?;
    let secret = reconciler
        .rotate(&token, target)
        .await
        .map_err(|e| problem(error_chain(&e)))?;
    let services = if args.restart {
        let report = reconciler.reconcile(&token, target).await.map_err(|e| {
            problem(format!(
                "rotated and stored, but restarting failed: {}",
                error_chain(&e)
            ))
        })?;
        Some(report.services)
    } else {
        None
    };
    let failed = services
        .iter()
        .flatten()
        .any(|s| s.action == ServiceAction::Failed);
    if json {
        println!(
            "{}",
            json!({"token": token, "secret": secret, "services": services})
        );
    } else {
        println!(
            "rotated {token}: stored version {} in {}; Tooken accepts it",
            secret.version, secret.id
        );
        for service in services.iter().flatten() {
            let deployment = service.deployment.as_deref().unwrap_or("?");
            println!(
                "  {}",
                service_line(service, &format!("restarted (deployment {deployment})"))
            );
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One line for a service; `restart` says what its restart is (done, or what a delivery would do).
fn service_line(service: &ServiceReport, restart: &str) -> String {
    let detail = match (service.action, service.evidence) {
        (ServiceAction::AlreadyCurrent, Some(evidence)) => {
            format!("already current ({})", json!(evidence).as_str().unwrap_or("?"))
        }
        (ServiceAction::AlreadyCurrent, None) => "already current".to_owned(),
        (ServiceAction::Restarted, _) => restart.to_owned(),
        (ServiceAction::Failed, _) => {
            format!("FAILED: {}", service.error.as_deref().unwrap_or("unknown error"))
        }
    };
    format!("{}: {detail}", service.service)
}

async fn check(json: bool) -> Outcome {
    let (settings, reconciler) = load().await?;
    let mut healthy = true;
    let mut results = Vec::new();
    for (token, target) in settings.targets.iter() {
        match reconciler.plan(token, target).await {
            Ok(plan) => {
                healthy &= plan.is_healthy();
                if !json {
                    print_plan(&plan);
                }
                results.push(json!({"token": token, "healthy": plan.is_healthy(), "plan": plan}));
            }
            Err(e) => {
                healthy = false;
                let error = error_chain(&e);
                if !json {
                    println!("{token} -> {}: FAILED: {error}", target.secret);
                }
                results.push(json!({"token": token, "healthy": false, "error": error}));
            }
        }
    }
    if json {
        println!("{}", json!({"healthy": healthy, "targets": results}));
    } else if healthy {
        println!("all {} targets are healthy", settings.targets.len());
    } else {
        println!("some targets need attention");
    }
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_plan(plan: &Plan) {
    let secret = match plan.action {
        SecretPlan::Keep => "OK: Tooken accepts it; a delivery writes nothing".to_owned(),
        SecretPlan::Promote => {
            "AWSCURRENT is rejected; a delivery would promote the accepted AWSPENDING version".to_owned()
        }
        SecretPlan::Rotate => {
            "REJECTED by Tooken; a delivery would rotate with the management token".to_owned()
        }
        SecretPlan::Stale => format!(
            "STALE: Tooken rejects every stored version and no management token is set; store the current secret in {}",
            plan.secret
        ),
    };
    println!(
        "{} -> {} (version {}): {secret}",
        plan.token, plan.secret, plan.current_version
    );
    for service in &plan.services {
        println!("  {}", service_line(service, "would restart"));
    }
}
