//! The reconcile: make the token's secret one that Tooken accepts, then restart the services
//! that are not yet running with it.
//!
//! A delivery is only a hint. Nothing here trusts its order, age or count: every decision is
//! taken from the state that Secrets Manager, ECS and Tooken report now, so a duplicate, late or
//! replayed delivery finds nothing left to do. The outside world is reached through three narrow
//! traits ([`TookenApi`], [`SecretStore`], [`Deployer`]); the real adapters live in `tooken` and
//! `aws`, and the unit tests below drive the decisions through in-memory fakes.

use std::future::Future;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use secrecy::SecretString;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::event::TokenId;
use crate::targets::{SecretRef, ServiceRef, Target};

/// A deployment counts as evidence only when it was created at least this long after the secret
/// version: Secrets Manager may report times truncated to the second, and the two services'
/// clocks are not the same clock. Inside the margin the service is restarted, because an extra
/// rolling restart is harmless and a missed one leaves tasks on a revoked secret.
pub const CLEARLY_AFTER: Duration = Duration::from_secs(2);

/// How long the function waits, after finding no stored version accepted, before it rotates
/// the token itself. A rotator that follows Tooken's guide calls rotate and then stores the new
/// secret, and Tooken fires the webhook in between; rotating at once would revoke the secret the
/// rotator is about to store. Within the reconcile budget, and paid only on the rare self-healing
/// path.
pub const DEFAULT_ROTATE_GRACE: Duration = Duration::from_secs(2);

/// The ECS service tag that records which secret version the service was last restarted for.
pub const VERSION_TAG: &str = "tooken:secret-version";

// ---------------------------------------------------------------------------------------------
// The ports.

/// A version of the token's secret as Secrets Manager holds it.
#[derive(Debug, Clone)]
pub struct SecretVersion {
    pub id: String,
    pub created: Option<SystemTime>,
    pub value: SecretString,
}

/// Whether Tooken accepts a secret as a Bearer credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Accepted,
    Rejected,
}

/// What Tooken's rotate endpoint hands back: the only place a new secret can come from.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub secret: SecretString,
    pub rotated_at: Option<String>,
}

/// An ECS deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub id: String,
    pub created: Option<SystemTime>,
}

/// What ECS reports about a service, reduced to what the restart decision needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceState {
    pub arn: String,
    pub primary: Option<Deployment>,
    /// The value of [`VERSION_TAG`], if the service carries it.
    pub version_tag: Option<String>,
}

/// A failed call to Tooken or AWS. The message is for people and must hold no secret material;
/// adapters build it from status codes and error codes, never from credentials.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExternalError {
    pub kind: FailureKind,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The named resource does not exist.
    NotFound,
    /// The peer asked us to slow down; retrying later will work.
    Throttled { retry_after: Option<Duration> },
    /// Anything else: unreachable, timed out, refused, answered with an error.
    Failed,
}

impl ExternalError {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

pub type ExternalResult<T> = Result<T, ExternalError>;

/// Tooken's API.
pub trait TookenApi: Send + Sync {
    /// Uses `secret` as a Bearer credential and reports whether Tooken accepts it.
    fn check(&self, secret: &SecretString) -> impl Future<Output = ExternalResult<Credential>> + Send;
    /// Rotates `token` with the management token; the old secret stops working at once.
    fn rotate(
        &self,
        token: &TokenId,
        management_token: &SecretString,
    ) -> impl Future<Output = ExternalResult<Rotation>> + Send;
}

/// The token's secret in Secrets Manager.
pub trait SecretStore: Send + Sync {
    /// The AWSCURRENT version, with its value.
    fn current(&self, secret: &SecretRef) -> impl Future<Output = ExternalResult<SecretVersion>> + Send;
    /// The AWSPENDING version with its value, if one exists apart from AWSCURRENT.
    fn pending(
        &self,
        secret: &SecretRef,
    ) -> impl Future<Output = ExternalResult<Option<SecretVersion>>> + Send;
    /// Moves AWSCURRENT from `from` to `version`.
    fn promote(
        &self,
        secret: &SecretRef,
        version: &str,
        from: &str,
    ) -> impl Future<Output = ExternalResult<()>> + Send;
    /// Stores `value` as the new AWSCURRENT version. The same `idempotency_token` never makes a
    /// second version. Returns the version id.
    fn store(
        &self,
        secret: &SecretRef,
        value: &SecretString,
        idempotency_token: &str,
    ) -> impl Future<Output = ExternalResult<String>> + Send;
}

/// ECS.
pub trait Deployer: Send + Sync {
    fn describe(&self, service: &ServiceRef) -> impl Future<Output = ExternalResult<ServiceState>> + Send;
    /// Forces a new deployment and returns it.
    fn restart(&self, service: &ServiceRef) -> impl Future<Output = ExternalResult<Deployment>> + Send;
    /// Records on the service that it was restarted for `version`.
    fn mark_current(
        &self,
        service_arn: &str,
        version: &str,
    ) -> impl Future<Output = ExternalResult<()>> + Send;
}

// ---------------------------------------------------------------------------------------------
// The report.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretAction {
    /// AWSCURRENT already authenticates; nothing was written.
    Unchanged,
    /// An accepted AWSPENDING version became AWSCURRENT.
    Promoted,
    /// The function rotated the token itself and stored the new secret.
    Rotated,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretReport {
    pub id: SecretRef,
    /// The AWSCURRENT version id after the reconcile.
    pub version: String,
    pub action: SecretAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceAction {
    Restarted,
    AlreadyCurrent,
    Failed,
}

/// Why a service was judged to run the current secret already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    /// It carries [`VERSION_TAG`] with the current version id.
    Tagged,
    /// Its PRIMARY deployment was created clearly after the version.
    DeployedAfter,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceReport {
    pub service: ServiceRef,
    pub action: ServiceAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub token: TokenId,
    pub secret: SecretReport,
    pub services: Vec<ServiceReport>,
}

impl Report {
    pub fn failed_services(&self) -> impl Iterator<Item = &ServiceReport> {
        self.services.iter().filter(|s| s.action == ServiceAction::Failed)
    }
}

/// Why the secret could not be made to work. Service failures are not errors: they are part of
/// the [`Report`], so one missing service does not hide what happened to the others.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("reading secret {secret} from Secrets Manager failed")]
    ReadSecret {
        secret: SecretRef,
        #[source]
        source: ExternalError,
    },
    #[error("checking a stored secret against the Tooken API failed")]
    Check(#[source] ExternalError),
    #[error(
        "secret {secret} holds a value that Tooken no longer accepts (was {token} rotated outside this function?) \
         and no management token is configured to rotate it; store the current secret with \
         `aws secretsmanager put-secret-value --secret-id {secret} --secret-string …`, \
         or configure TOOKEN_ADMIN_TOKEN_ARN, then let Tooken redeliver"
    )]
    Stale { token: TokenId, secret: SecretRef },
    #[error("rotating {token} through the Tooken API failed")]
    Rotate {
        token: TokenId,
        #[source]
        source: ExternalError,
    },
    #[error(
        "storing the secret of a new rotation in {secret} failed; Tooken has already revoked the old one, \
         so the next delivery rotates again"
    )]
    Store {
        secret: SecretRef,
        #[source]
        source: ExternalError,
    },
    #[error("promoting AWSPENDING version {version} of {secret} to AWSCURRENT failed")]
    Promote {
        secret: SecretRef,
        version: String,
        #[source]
        source: ExternalError,
    },
    #[error("after rotating, the AWSCURRENT value of {secret} does not authenticate: {reason}")]
    Unverified { secret: SecretRef, reason: String },
    #[error("rotating needs a management token: set TOOKEN_ADMIN_TOKEN_ARN (or TOOKEN_ADMIN_TOKEN locally)")]
    NoManagementToken,
}

impl ReconcileError {
    /// The outside failure behind this error, if there was one.
    pub fn external(&self) -> Option<&ExternalError> {
        match self {
            Self::ReadSecret { source, .. }
            | Self::Check(source)
            | Self::Rotate { source, .. }
            | Self::Store { source, .. }
            | Self::Promote { source, .. } => Some(source),
            Self::Stale { .. } | Self::Unverified { .. } | Self::NoManagementToken => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The reconciler.

/// Steps 4 and 5 of the design, over any implementation of the three ports.
pub struct Reconciler<T, S, D> {
    tooken: T,
    secrets: S,
    deployer: D,
    management_token: Option<SecretString>,
    restart_concurrency: usize,
    rotate_grace: Duration,
}

/// The secret step's outcome, with what the restart step needs to know about the version.
struct Settled {
    report: SecretReport,
    /// Since when the version has been AWSCURRENT, as far as is known. `None` means that no
    /// deployment can serve as evidence (the version was promoted just now, or its date is
    /// unknown), so only the tag can.
    current_since: Option<SystemTime>,
}

/// What the stored versions say, before anything is changed.
enum Decision {
    /// AWSCURRENT authenticates.
    Keep(SecretVersion),
    /// AWSCURRENT does not, an AWSPENDING version does.
    Promote {
        pending: SecretVersion,
        current: SecretVersion,
    },
    /// No stored version authenticates.
    Rejected { current: SecretVersion },
}

/// What a `token.rotated` would do to the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretPlan {
    /// AWSCURRENT authenticates: nothing to write.
    Keep,
    /// An accepted AWSPENDING version would become AWSCURRENT.
    Promote,
    /// Nothing stored authenticates; the management token would rotate.
    Rotate,
    /// Nothing stored authenticates and there is no management token: the delivery would get 503.
    Stale,
}

/// A dry run of the reconcile for one token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub token: TokenId,
    pub secret: SecretRef,
    /// The AWSCURRENT version id now.
    pub current_version: String,
    pub action: SecretPlan,
    /// Per service, what a delivery would do (`restarted` meaning "would restart", `failed`
    /// meaning the service cannot be read).
    pub services: Vec<ServiceReport>,
}

impl Plan {
    /// Whether anything needs a person: a stale secret without a way to fix it, or a service
    /// that cannot be read.
    pub fn is_healthy(&self) -> bool {
        self.action != SecretPlan::Stale && self.services.iter().all(|s| s.action != ServiceAction::Failed)
    }
}

impl<T: TookenApi, S: SecretStore, D: Deployer> Reconciler<T, S, D> {
    pub fn new(
        tooken: T,
        secrets: S,
        deployer: D,
        management_token: Option<SecretString>,
        restart_concurrency: usize,
    ) -> Self {
        Self {
            tooken,
            secrets,
            deployer,
            management_token,
            restart_concurrency: restart_concurrency.max(1),
            rotate_grace: DEFAULT_ROTATE_GRACE,
        }
    }

    /// Sets how long to wait for a rotator to store its secret before rotating (see
    /// [`DEFAULT_ROTATE_GRACE`]).
    pub fn with_rotate_grace(mut self, grace: Duration) -> Self {
        self.rotate_grace = grace;
        self
    }

    pub fn tooken(&self) -> &T {
        &self.tooken
    }

    pub fn secrets(&self) -> &S {
        &self.secrets
    }

    pub fn deployer(&self) -> &D {
        &self.deployer
    }

    /// Brings `target` in line for `token` and reports what was done.
    pub async fn reconcile(&self, token: &TokenId, target: &Target) -> Result<Report, ReconcileError> {
        let settled = self.settle_secret(token, &target.secret).await?;
        tracing::info!(
            secret = %target.secret,
            version = %settled.report.version,
            action = ?settled.report.action,
            "secret reconciled"
        );
        // The futures are made before they are streamed: a closure inside the stream would tie
        // them to a higher-ranked lifetime that the compiler cannot prove `Send` for.
        let restarts: Vec<_> = target
            .services
            .iter()
            .map(|service| self.restart_if_stale(service, &settled))
            .collect();
        let services = futures::stream::iter(restarts)
            .buffered(self.restart_concurrency)
            .collect()
            .await;
        Ok(Report {
            token: token.clone(),
            secret: settled.report,
            services,
        })
    }

    /// Looks, without changing anything, at which version of the secret Tooken accepts.
    async fn decide(&self, secret: &SecretRef) -> Result<Decision, ReconcileError> {
        let read_failed = |source| ReconcileError::ReadSecret {
            secret: secret.clone(),
            source,
        };
        let current = self.secrets.current(secret).await.map_err(read_failed)?;
        if self.check(&current.value).await? == Credential::Accepted {
            return Ok(Decision::Keep(current));
        }
        tracing::warn!(%secret, version = %current.id, "the AWSCURRENT value is no longer accepted by Tooken");
        if let Some(pending) = self.secrets.pending(secret).await.map_err(read_failed)? {
            if self.check(&pending.value).await? == Credential::Accepted {
                return Ok(Decision::Promote { pending, current });
            }
            tracing::warn!(%secret, version = %pending.id, "the AWSPENDING value is not accepted either");
        }
        Ok(Decision::Rejected { current })
    }

    async fn settle_secret(&self, token: &TokenId, secret: &SecretRef) -> Result<Settled, ReconcileError> {
        match self.decide(secret).await? {
            Decision::Keep(current) => Ok(settled(
                secret,
                current.id,
                SecretAction::Unchanged,
                current.created,
            )),
            Decision::Promote { pending, current } => {
                self.secrets
                    .promote(secret, &pending.id, &current.id)
                    .await
                    .map_err(|source| ReconcileError::Promote {
                        secret: secret.clone(),
                        version: pending.id.clone(),
                        source,
                    })?;
                // Its creation date says nothing about when it became current; only now is
                // certain, and no deployment can already be later than now.
                Ok(settled(secret, pending.id, SecretAction::Promoted, None))
            }
            Decision::Rejected { .. } => {
                let Some(management_token) = &self.management_token else {
                    return Err(ReconcileError::Stale {
                        token: token.clone(),
                        secret: secret.clone(),
                    });
                };
                tokio::time::sleep(self.rotate_grace).await;
                if let Decision::Keep(current) = self.decide(secret).await? {
                    tracing::info!(%secret, version = %current.id, "a rotator stored the new secret meanwhile");
                    return Ok(settled(
                        secret,
                        current.id,
                        SecretAction::Unchanged,
                        current.created,
                    ));
                }
                self.rotate_and_store(token, secret, management_token).await
            }
        }
    }

    /// Rotates `token` now and stores the new secret in its target secret, in the order Tooken's
    /// guide recommends (for operators and pipelines; the function rotates only when the stored
    /// secret stopped working). Needs the management token.
    pub async fn rotate(&self, token: &TokenId, target: &Target) -> Result<SecretReport, ReconcileError> {
        let management_token = self
            .management_token
            .as_ref()
            .ok_or(ReconcileError::NoManagementToken)?;
        let settled = self
            .rotate_and_store(token, &target.secret, management_token)
            .await?;
        Ok(settled.report)
    }

    /// What a `token.rotated` for `token` would do now, found with reads only.
    pub async fn plan(&self, token: &TokenId, target: &Target) -> Result<Plan, ReconcileError> {
        let decision = self.decide(&target.secret).await?;
        let (action, version, current_since) = match &decision {
            Decision::Keep(current) => (SecretPlan::Keep, Some(current.id.clone()), current.created),
            Decision::Promote { pending, .. } => (SecretPlan::Promote, Some(pending.id.clone()), None),
            Decision::Rejected { .. } if self.management_token.is_some() => (SecretPlan::Rotate, None, None),
            Decision::Rejected { .. } => (SecretPlan::Stale, None, None),
        };
        let mut services = Vec::with_capacity(target.services.len());
        for service in &target.services {
            // A stale service is reported as the restart a delivery would make.
            let planned = match self.assess(service, version.as_deref(), current_since).await {
                Ok(state) => service_report(
                    service,
                    ServiceAction::Restarted,
                    state.primary.map(|d| d.id),
                    None,
                    None,
                ),
                Err(known) => known,
            };
            services.push(planned);
        }
        let current_version = match decision {
            Decision::Keep(current) | Decision::Promote { current, .. } | Decision::Rejected { current } => {
                current.id
            }
        };
        Ok(Plan {
            token: token.clone(),
            secret: target.secret.clone(),
            current_version,
            action,
            services,
        })
    }

    /// The only way to obtain a working secret: rotate once more, store the result before doing
    /// anything else (Tooken has just revoked the old one), then prove it by use.
    async fn rotate_and_store(
        &self,
        token: &TokenId,
        secret: &SecretRef,
        management_token: &SecretString,
    ) -> Result<Settled, ReconcileError> {
        let rotation = self
            .tooken
            .rotate(token, management_token)
            .await
            .map_err(|source| ReconcileError::Rotate {
                token: token.clone(),
                source,
            })?;
        tracing::info!(%token, rotated_at = ?rotation.rotated_at, "rotated the token through the Tooken API");
        let idempotency_token = idempotency_token(token, &rotation);
        let version = self
            .secrets
            .store(secret, &rotation.secret, &idempotency_token)
            .await
            .map_err(|source| ReconcileError::Store {
                secret: secret.clone(),
                source,
            })?;

        let stored = self
            .secrets
            .current(secret)
            .await
            .map_err(|source| ReconcileError::ReadSecret {
                secret: secret.clone(),
                source,
            })?;
        if stored.id != version {
            return Err(ReconcileError::Unverified {
                secret: secret.clone(),
                reason: format!("AWSCURRENT is version {}, not the stored {version}", stored.id),
            });
        }
        if self.check(&stored.value).await? != Credential::Accepted {
            return Err(ReconcileError::Unverified {
                secret: secret.clone(),
                reason: "Tooken rejects it".into(),
            });
        }
        Ok(settled(secret, version, SecretAction::Rotated, stored.created))
    }

    async fn check(&self, value: &SecretString) -> Result<Credential, ReconcileError> {
        self.tooken.check(value).await.map_err(ReconcileError::Check)
    }

    /// Reads `service` and judges it against `version`. `Err` holds the report when the answer
    /// is already known (it cannot be read, or it runs the version); `Ok` is a service to restart.
    async fn assess(
        &self,
        service: &ServiceRef,
        version: Option<&str>,
        current_since: Option<SystemTime>,
    ) -> Result<ServiceState, ServiceReport> {
        let state = self.deployer.describe(service).await.map_err(|e| {
            tracing::error!(%service, error = %e, "describing the service failed");
            service_report(service, ServiceAction::Failed, None, None, Some(e.message))
        })?;
        match version.and_then(|v| evidence_of_current(&state, v, current_since)) {
            Some(evidence) => {
                tracing::info!(%service, ?evidence, "service already runs the current secret");
                let deployment = state.primary.map(|d| d.id);
                Err(service_report(
                    service,
                    ServiceAction::AlreadyCurrent,
                    deployment,
                    Some(evidence),
                    None,
                ))
            }
            None => Ok(state),
        }
    }

    async fn restart_if_stale(&self, service: &ServiceRef, settled: &Settled) -> ServiceReport {
        let version = &settled.report.version;
        let state = match self.assess(service, Some(version), settled.current_since).await {
            Ok(state) => state,
            Err(known) => return known,
        };
        let report = |action, deployment, error| service_report(service, action, deployment, None, error);
        let deployment = match self.deployer.restart(service).await {
            Ok(deployment) => deployment,
            Err(e) => {
                tracing::error!(%service, error = %e, "forcing a new deployment failed");
                return report(ServiceAction::Failed, None, Some(e.message));
            }
        };
        tracing::info!(%service, deployment = %deployment.id, "forced a new deployment");
        if let Err(e) = self.deployer.mark_current(&state.arn, version).await {
            // The restart happened; a redelivery sees the new deployment as evidence (or, inside
            // the margin, restarts once more, which is safe).
            tracing::error!(%service, error = %e, "tagging the restarted service failed");
            let error = format!("restarted, but recording {VERSION_TAG} failed: {}", e.message);
            return report(ServiceAction::Failed, Some(deployment.id), Some(error));
        }
        report(ServiceAction::Restarted, Some(deployment.id), None)
    }
}

fn service_report(
    service: &ServiceRef,
    action: ServiceAction,
    deployment: Option<String>,
    evidence: Option<Evidence>,
    error: Option<String>,
) -> ServiceReport {
    ServiceReport {
        service: service.clone(),
        action,
        deployment,
        evidence,
        error,
    }
}

fn settled(
    secret: &SecretRef,
    version: String,
    action: SecretAction,
    current_since: Option<SystemTime>,
) -> Settled {
    Settled {
        report: SecretReport {
            id: secret.clone(),
            version,
            action,
        },
        current_since,
    }
}

/// Decides whether `state` shows that the service's tasks started with `version`.
///
/// A redelivery after a promotion sees the version's creation date, not the promotion's; a
/// deployment made between the two would then count as evidence. Secrets Manager records no
/// per-version staging date, and such a deployment is rare, so this is accepted.
pub fn evidence_of_current(
    state: &ServiceState,
    version: &str,
    current_since: Option<SystemTime>,
) -> Option<Evidence> {
    if state.version_tag.as_deref() == Some(version) {
        return Some(Evidence::Tagged);
    }
    let since = current_since?;
    let deployed = state.primary.as_ref()?.created?;
    let clearly_after = deployed
        .duration_since(since)
        .is_ok_and(|gap| gap >= CLEARLY_AFTER);
    clearly_after.then_some(Evidence::DeployedAfter)
}

/// The `ClientRequestToken` for storing a rotation's secret: the same rotation always maps to the
/// same token, so a retried store cannot create a second version. It is derived from the token
/// ID and Tooken's rotation time, never from the secret. Without a rotation time there is nothing
/// stable to derive from, and a random token is the honest fallback.
pub fn idempotency_token(token: &TokenId, rotation: &Rotation) -> String {
    match &rotation.rotated_at {
        Some(rotated_at) => {
            let digest = Sha256::new()
                .chain_update(b"tooken-webhook rotation\0")
                .chain_update(token.as_str().as_bytes())
                .chain_update(b"\0")
                .chain_update(rotated_at.as_bytes())
                .finalize();
            // Secrets Manager takes 32 to 64 characters.
            hex::encode(&digest[..16])
        }
        None => hex::encode(rand::random::<[u8; 16]>()),
    }
}

#[cfg(test)]
mod tests;
