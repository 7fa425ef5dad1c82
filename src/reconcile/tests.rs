//! Unit tests of the reconcile decisions, through in-memory fakes that record every call.
//! The real adapters are exercised against moto and the fake Tooken in `tests/it`.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use secrecy::ExposeSecret;

use super::*;

fn s(v: &str) -> SecretString {
    SecretString::from(v.to_owned())
}

fn token() -> TokenId {
    TokenId::parse("tok_api").unwrap()
}

fn secret_ref() -> SecretRef {
    SecretRef::parse("prod/api").unwrap()
}

fn service(name: &str) -> ServiceRef {
    ServiceRef::parse(&format!("prod/{name}")).unwrap()
}

fn target(services: &[&str]) -> Target {
    Target {
        secret: secret_ref(),
        services: services.iter().map(|n| service(n)).collect(),
    }
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

// --- Tooken -----------------------------------------------------------------------------------

#[derive(Default)]
struct FakeTooken {
    accepted: Mutex<HashSet<String>>,
    checks: AtomicUsize,
    rotations: AtomicUsize,
}

impl FakeTooken {
    fn accepting(secrets: &[&str]) -> Self {
        let fake = Self::default();
        fake.accepted
            .lock()
            .unwrap()
            .extend(secrets.iter().map(|s| s.to_string()));
        fake
    }
}

impl TookenApi for FakeTooken {
    async fn check(&self, secret: &SecretString) -> ExternalResult<Credential> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        Ok(
            if self.accepted.lock().unwrap().contains(secret.expose_secret()) {
                Credential::Accepted
            } else {
                Credential::Rejected
            },
        )
    }

    async fn rotate(&self, token: &TokenId, management_token: &SecretString) -> ExternalResult<Rotation> {
        assert_eq!(token.as_str(), "tok_api");
        assert_eq!(management_token.expose_secret(), "tok_live_management");
        let n = self.rotations.fetch_add(1, Ordering::SeqCst) + 1;
        let new = format!("tok_live_rotated_{n}");
        let mut accepted = self.accepted.lock().unwrap();
        accepted.clear();
        accepted.insert(new.clone());
        Ok(Rotation {
            secret: s(&new),
            rotated_at: Some(format!("2026-12-04T10:00:0{n}Z")),
        })
    }
}

// --- Secrets Manager --------------------------------------------------------------------------

struct Version {
    id: String,
    value: String,
    stages: Vec<&'static str>,
    created: SystemTime,
}

#[derive(Default)]
struct FakeSecrets {
    versions: Mutex<Vec<Version>>,
    writes: Mutex<Vec<String>>,
    /// When set, `store` succeeds but another writer's version stays AWSCURRENT.
    lose_race: bool,
}

impl FakeSecrets {
    fn with(versions: &[(&str, &str, &[&'static str], u64)]) -> Self {
        let fake = Self::default();
        *fake.versions.lock().unwrap() = versions
            .iter()
            .map(|(id, value, stages, created)| Version {
                id: id.to_string(),
                value: value.to_string(),
                stages: stages.to_vec(),
                created: at(*created),
            })
            .collect();
        fake
    }

    fn current_value(&self) -> String {
        let versions = self.versions.lock().unwrap();
        versions
            .iter()
            .find(|v| v.stages.contains(&"AWSCURRENT"))
            .unwrap()
            .value
            .clone()
    }

    fn writes(&self) -> Vec<String> {
        self.writes.lock().unwrap().clone()
    }

    fn find(&self, stage: &str) -> Option<SecretVersion> {
        let versions = self.versions.lock().unwrap();
        versions
            .iter()
            .find(|v| v.stages.contains(&stage))
            .map(|v| SecretVersion {
                id: v.id.clone(),
                created: Some(v.created),
                value: s(&v.value),
            })
    }
}

impl SecretStore for FakeSecrets {
    async fn current(&self, secret: &SecretRef) -> ExternalResult<SecretVersion> {
        assert_eq!(secret, &secret_ref());
        self.find("AWSCURRENT")
            .ok_or_else(|| ExternalError::new(FailureKind::NotFound, "no AWSCURRENT"))
    }

    async fn pending(&self, _: &SecretRef) -> ExternalResult<Option<SecretVersion>> {
        Ok(self
            .find("AWSPENDING")
            .filter(|p| self.find("AWSCURRENT").is_none_or(|c| c.id != p.id)))
    }

    async fn promote(&self, _: &SecretRef, version: &str, from: &str) -> ExternalResult<()> {
        self.writes
            .lock()
            .unwrap()
            .push(format!("promote {version} from {from}"));
        let mut versions = self.versions.lock().unwrap();
        for v in versions.iter_mut() {
            v.stages.retain(|st| *st != "AWSCURRENT");
            if v.id == version {
                v.stages = vec!["AWSCURRENT"];
            }
        }
        Ok(())
    }

    async fn store(
        &self,
        _: &SecretRef,
        value: &SecretString,
        idempotency_token: &str,
    ) -> ExternalResult<String> {
        self.writes
            .lock()
            .unwrap()
            .push(format!("store {idempotency_token}"));
        if self.lose_race {
            return Ok(idempotency_token.to_owned());
        }
        let mut versions = self.versions.lock().unwrap();
        versions.iter_mut().for_each(|v| v.stages.clear());
        versions.push(Version {
            id: idempotency_token.to_owned(),
            value: value.expose_secret().to_owned(),
            stages: vec!["AWSCURRENT"],
            created: at(100),
        });
        Ok(idempotency_token.to_owned())
    }
}

// --- ECS --------------------------------------------------------------------------------------

#[derive(Default)]
struct FakeDeployer {
    services: Mutex<HashMap<String, ServiceState>>,
    restarts: Mutex<Vec<String>>,
    tags: Mutex<Vec<(String, String)>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl FakeDeployer {
    fn with(services: &[(&str, Option<u64>, Option<&str>)]) -> Self {
        let fake = Self::default();
        *fake.services.lock().unwrap() = services
            .iter()
            .map(|(name, deployed, tag)| {
                let state = ServiceState {
                    arn: format!("arn:aws:ecs:eu-west-1:1:service/prod/{name}"),
                    primary: deployed.map(|secs| Deployment {
                        id: format!("ecs-svc/{name}-0"),
                        created: Some(at(secs)),
                    }),
                    version_tag: tag.map(str::to_owned),
                };
                (service(name).to_string(), state)
            })
            .collect();
        fake
    }

    fn restarts(&self) -> Vec<String> {
        let mut restarts = self.restarts.lock().unwrap().clone();
        restarts.sort();
        restarts
    }
}

impl Deployer for FakeDeployer {
    async fn describe(&self, service: &ServiceRef) -> ExternalResult<ServiceState> {
        self.services
            .lock()
            .unwrap()
            .get(&service.to_string())
            .cloned()
            .ok_or_else(|| ExternalError::new(FailureKind::NotFound, format!("service {service} not found")))
    }

    async fn restart(&self, service: &ServiceRef) -> ExternalResult<Deployment> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(10)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let mut restarts = self.restarts.lock().unwrap();
        restarts.push(service.to_string());
        Ok(Deployment {
            id: format!("ecs-svc/{}-{}", service.service(), restarts.len()),
            created: None,
        })
    }

    async fn mark_current(&self, service_arn: &str, version: &str) -> ExternalResult<()> {
        self.tags
            .lock()
            .unwrap()
            .push((service_arn.to_owned(), version.to_owned()));
        Ok(())
    }
}

fn reconciler(
    tooken: FakeTooken,
    secrets: FakeSecrets,
    deployer: FakeDeployer,
    management: bool,
) -> Reconciler<FakeTooken, FakeSecrets, FakeDeployer> {
    Reconciler::new(
        tooken,
        secrets,
        deployer,
        management.then(|| s("tok_live_management")),
        4,
    )
    .with_rotate_grace(Duration::ZERO)
}

// --- The secret -------------------------------------------------------------------------------

#[tokio::test]
async fn an_accepted_current_secret_is_left_unchanged_and_stale_services_restart() {
    let r = reconciler(
        FakeTooken::accepting(&["tok_live_new"]),
        FakeSecrets::with(&[("v2", "tok_live_new", &["AWSCURRENT"], 10)]),
        FakeDeployer::with(&[("api", Some(5), None), ("worker", Some(5), Some("v1"))]),
        true,
    );
    let report = r.reconcile(&token(), &target(&["api", "worker"])).await.unwrap();

    assert_eq!(report.secret.action, SecretAction::Unchanged);
    assert_eq!(report.secret.version, "v2");
    assert!(r.secrets().writes().is_empty());
    assert_eq!(r.tooken().rotations.load(Ordering::SeqCst), 0);
    assert_eq!(r.deployer().restarts(), ["prod/api", "prod/worker"]);
    assert!(
        report
            .services
            .iter()
            .all(|s| s.action == ServiceAction::Restarted)
    );
    let tags = r.deployer().tags.lock().unwrap().clone();
    assert_eq!(tags.len(), 2);
    assert!(tags.iter().all(|(_, version)| version == "v2"));
}

#[tokio::test]
async fn an_accepted_pending_version_is_promoted_and_every_untagged_service_restarts() {
    let r = reconciler(
        FakeTooken::accepting(&["tok_live_new"]),
        FakeSecrets::with(&[
            ("v1", "tok_live_old", &["AWSCURRENT"], 1),
            ("v2", "tok_live_new", &["AWSPENDING"], 2),
        ]),
        // Deployed long after v2 was created, but before it became current: not evidence.
        FakeDeployer::with(&[("api", Some(500), None)]),
        false,
    );
    let report = r.reconcile(&token(), &target(&["api"])).await.unwrap();

    assert_eq!(report.secret.action, SecretAction::Promoted);
    assert_eq!(report.secret.version, "v2");
    assert_eq!(r.secrets().writes(), ["promote v2 from v1"]);
    assert_eq!(r.secrets().current_value(), "tok_live_new");
    assert_eq!(r.deployer().restarts(), ["prod/api"]);
}

#[tokio::test]
async fn a_rejected_secret_is_rotated_once_stored_and_proven_with_a_management_token() {
    let r = reconciler(
        FakeTooken::accepting(&["tok_live_elsewhere"]),
        FakeSecrets::with(&[("v1", "tok_live_old", &["AWSCURRENT"], 1)]),
        FakeDeployer::with(&[("api", Some(5), Some("v1"))]),
        true,
    );
    let report = r.reconcile(&token(), &target(&["api"])).await.unwrap();

    assert_eq!(report.secret.action, SecretAction::Rotated);
    assert_eq!(r.tooken().rotations.load(Ordering::SeqCst), 1);
    let expected_token = idempotency_token(
        &token(),
        &Rotation {
            secret: s("ignored"),
            rotated_at: Some("2026-12-04T10:00:01Z".into()),
        },
    );
    assert_eq!(r.secrets().writes(), [format!("store {expected_token}")]);
    assert_eq!(report.secret.version, expected_token);
    assert_eq!(r.secrets().current_value(), "tok_live_rotated_1");
    // current (rejected), current again after the grace period (rejected), the stored value
    assert_eq!(r.tooken().checks.load(Ordering::SeqCst), 3);
    assert_eq!(r.deployer().restarts(), ["prod/api"]);
}

#[tokio::test]
async fn a_rejected_secret_without_a_management_token_is_stale_and_nothing_changes() {
    let r = reconciler(
        FakeTooken::accepting(&["tok_live_elsewhere"]),
        FakeSecrets::with(&[
            ("v1", "tok_live_old", &["AWSCURRENT"], 1),
            ("v0", "tok_live_older", &["AWSPENDING"], 0),
        ]),
        FakeDeployer::with(&[("api", Some(5), None)]),
        false,
    );
    let err = r.reconcile(&token(), &target(&["api"])).await.unwrap_err();

    assert!(matches!(err, ReconcileError::Stale { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("put-secret-value --secret-id prod/api"),
        "{message}"
    );
    assert!(r.secrets().writes().is_empty());
    assert!(r.deployer().restarts().is_empty());
    assert_eq!(r.tooken().rotations.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_rotator_that_stores_within_the_grace_period_is_not_overtaken() {
    let r = std::sync::Arc::new(
        reconciler(
            FakeTooken::accepting(&["tok_live_from_rotator"]),
            FakeSecrets::with(&[("v1", "tok_live_old", &["AWSCURRENT"], 1)]),
            FakeDeployer::with(&[("api", None, None)]),
            true,
        )
        .with_rotate_grace(Duration::from_secs(2)),
    );
    let work = tokio::spawn({
        let r = r.clone();
        async move { r.reconcile(&token(), &target(&["api"])).await }
    });
    // The rotator stores its secret one second after the webhook arrived.
    tokio::time::sleep(Duration::from_secs(1)).await;
    r.secrets()
        .store(&secret_ref(), &s("tok_live_from_rotator"), "rotator-version")
        .await
        .unwrap();

    let report = work.await.unwrap().unwrap();
    assert_eq!(report.secret.action, SecretAction::Unchanged);
    assert_eq!(report.secret.version, "rotator-version");
    assert_eq!(
        r.tooken().rotations.load(Ordering::SeqCst),
        0,
        "the rotator was not overtaken"
    );
    assert_eq!(r.deployer().restarts(), ["prod/api"]);
}

#[tokio::test]
async fn rotating_on_demand_needs_a_management_token() {
    let r = reconciler(
        FakeTooken::accepting(&["tok_live_new"]),
        FakeSecrets::with(&[("v1", "tok_live_new", &["AWSCURRENT"], 1)]),
        FakeDeployer::default(),
        false,
    );
    let err = r.rotate(&token(), &target(&[])).await.unwrap_err();
    assert!(matches!(err, ReconcileError::NoManagementToken), "{err:?}");
    assert!(r.secrets().writes().is_empty());
}

#[tokio::test]
async fn rotating_on_demand_rotates_a_working_token_and_stores_it() {
    let r = reconciler(
        FakeTooken::accepting(&["tok_live_new"]),
        FakeSecrets::with(&[("v1", "tok_live_new", &["AWSCURRENT"], 1)]),
        FakeDeployer::default(),
        true,
    );
    let report = r.rotate(&token(), &target(&[])).await.unwrap();
    assert_eq!(report.action, SecretAction::Rotated);
    assert_eq!(r.secrets().current_value(), "tok_live_rotated_1");
    assert_eq!(r.tooken().rotations.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_plan_reads_only_and_tells_what_a_delivery_would_do() {
    let healthy = reconciler(
        FakeTooken::accepting(&["tok_live_new"]),
        FakeSecrets::with(&[("v2", "tok_live_new", &["AWSCURRENT"], 10)]),
        FakeDeployer::with(&[("tagged", Some(0), Some("v2")), ("stale", Some(0), None)]),
        false,
    );
    let plan = healthy
        .plan(&token(), &target(&["tagged", "stale", "gone"]))
        .await
        .unwrap();
    assert_eq!(plan.action, SecretPlan::Keep);
    assert_eq!(plan.current_version, "v2");
    let actions: Vec<_> = plan.services.iter().map(|s| s.action).collect();
    assert_eq!(
        actions,
        [
            ServiceAction::AlreadyCurrent,
            ServiceAction::Restarted,
            ServiceAction::Failed
        ]
    );
    assert!(!plan.is_healthy(), "a missing service needs a person");
    assert!(healthy.secrets().writes().is_empty() && healthy.deployer().restarts().is_empty());

    let stale = reconciler(
        FakeTooken::accepting(&["tok_live_elsewhere"]),
        FakeSecrets::with(&[("v1", "tok_live_old", &["AWSCURRENT"], 1)]),
        FakeDeployer::default(),
        false,
    );
    let plan = stale.plan(&token(), &target(&[])).await.unwrap();
    assert_eq!(plan.action, SecretPlan::Stale);
    assert!(!plan.is_healthy());

    let healing = reconciler(
        FakeTooken::accepting(&["tok_live_elsewhere"]),
        FakeSecrets::with(&[("v1", "tok_live_old", &["AWSCURRENT"], 1)]),
        FakeDeployer::default(),
        true,
    );
    assert_eq!(
        healing.plan(&token(), &target(&[])).await.unwrap().action,
        SecretPlan::Rotate
    );
    assert_eq!(healing.tooken().rotations.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_store_that_loses_a_race_is_reported_unverified_and_no_service_restarts() {
    let secrets = FakeSecrets {
        lose_race: true,
        ..FakeSecrets::with(&[("v1", "tok_live_old", &["AWSCURRENT"], 1)])
    };
    let r = reconciler(
        FakeTooken::default(),
        secrets,
        FakeDeployer::with(&[("api", None, None)]),
        true,
    );
    let err = r.reconcile(&token(), &target(&["api"])).await.unwrap_err();

    assert!(matches!(err, ReconcileError::Unverified { .. }), "{err:?}");
    assert!(err.to_string().contains("AWSCURRENT is version v1"), "{err}");
    assert!(r.deployer().restarts().is_empty());
}

#[tokio::test]
async fn the_echo_of_a_rotation_changes_nothing() {
    let r = reconciler(
        FakeTooken::accepting(&["tok_live_elsewhere"]),
        FakeSecrets::with(&[("v1", "tok_live_old", &["AWSCURRENT"], 1)]),
        FakeDeployer::with(&[("api", Some(0), None)]),
        true,
    );
    let first = r.reconcile(&token(), &target(&["api"])).await.unwrap();
    assert_eq!(first.secret.action, SecretAction::Rotated);
    // The function's own rotation makes Tooken deliver token.rotated again. The fake deployer
    // does not apply tags, so write the one the function recorded.
    let (_, version) = r.deployer().tags.lock().unwrap()[0].clone();
    r.deployer()
        .services
        .lock()
        .unwrap()
        .get_mut("prod/api")
        .unwrap()
        .version_tag = Some(version);

    let echo = r.reconcile(&token(), &target(&["api"])).await.unwrap();
    assert_eq!(echo.secret.action, SecretAction::Unchanged);
    assert_eq!(echo.services[0].action, ServiceAction::AlreadyCurrent);
    assert_eq!(echo.services[0].evidence, Some(Evidence::Tagged));
    assert_eq!(r.tooken().rotations.load(Ordering::SeqCst), 1);
    assert_eq!(r.deployer().restarts().len(), 1);
}

// --- The services -----------------------------------------------------------------------------

#[tokio::test]
async fn services_with_evidence_are_left_alone_and_only_stale_ones_restart() {
    let r = reconciler(
        FakeTooken::accepting(&["tok_live_new"]),
        FakeSecrets::with(&[("v2", "tok_live_new", &["AWSCURRENT"], 10)]),
        FakeDeployer::with(&[
            ("tagged", Some(0), Some("v2")),
            ("deployed-after", Some(13), None),
            ("same-second", Some(10), None),
            ("inside-margin", Some(11), Some("v1")),
            ("no-deployment", None, None),
        ]),
        false,
    );
    let report = r
        .reconcile(
            &token(),
            &target(&[
                "tagged",
                "deployed-after",
                "same-second",
                "inside-margin",
                "no-deployment",
            ]),
        )
        .await
        .unwrap();

    let summary: Vec<_> = report
        .services
        .iter()
        .map(|s| (s.service.to_string(), s.action, s.evidence))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "prod/tagged".into(),
                ServiceAction::AlreadyCurrent,
                Some(Evidence::Tagged)
            ),
            (
                "prod/deployed-after".into(),
                ServiceAction::AlreadyCurrent,
                Some(Evidence::DeployedAfter)
            ),
            ("prod/same-second".into(), ServiceAction::Restarted, None),
            ("prod/inside-margin".into(), ServiceAction::Restarted, None),
            ("prod/no-deployment".into(), ServiceAction::Restarted, None),
        ]
    );
    assert_eq!(
        r.deployer().restarts(),
        ["prod/inside-margin", "prod/no-deployment", "prod/same-second"]
    );
    assert_eq!(report.services[0].deployment.as_deref(), Some("ecs-svc/tagged-0"));
}

#[tokio::test]
async fn a_missing_service_fails_alone_and_the_others_still_restart() {
    let r = reconciler(
        FakeTooken::accepting(&["tok_live_new"]),
        FakeSecrets::with(&[("v2", "tok_live_new", &["AWSCURRENT"], 10)]),
        FakeDeployer::with(&[("api", None, None)]),
        false,
    );
    let report = r.reconcile(&token(), &target(&["gone", "api"])).await.unwrap();

    assert_eq!(report.services[0].action, ServiceAction::Failed);
    assert_eq!(
        report.services[0].error.as_deref(),
        Some("service prod/gone not found")
    );
    assert_eq!(report.services[1].action, ServiceAction::Restarted);
    let failed: Vec<_> = report.failed_services().map(|s| s.service.to_string()).collect();
    assert_eq!(failed, ["prod/gone"]);
}

#[tokio::test(start_paused = true)]
async fn restarts_run_concurrently_up_to_the_cap() {
    let names: Vec<String> = (0..10).map(|i| format!("svc{i}")).collect();
    let specs: Vec<(&str, Option<u64>, Option<&str>)> =
        names.iter().map(|n| (n.as_str(), None, None)).collect();
    let r = Reconciler::new(
        FakeTooken::accepting(&["tok_live_new"]),
        FakeSecrets::with(&[("v2", "tok_live_new", &["AWSCURRENT"], 10)]),
        FakeDeployer::with(&specs),
        None,
        3,
    );
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let report = r.reconcile(&token(), &target(&refs)).await.unwrap();

    assert_eq!(r.deployer().restarts().len(), 10);
    assert_eq!(r.deployer().max_in_flight.load(Ordering::SeqCst), 3);
    let order: Vec<_> = report.services.iter().map(|s| s.service.to_string()).collect();
    let expected: Vec<_> = names.iter().map(|n| format!("prod/{n}")).collect();
    assert_eq!(order, expected, "the report keeps the configured order");
}

// --- Pure helpers -----------------------------------------------------------------------------

#[test]
fn evidence_needs_the_tag_or_a_deployment_clearly_after_a_known_date() {
    let state = |deployed: Option<u64>, tag: Option<&str>| ServiceState {
        arn: "arn".into(),
        primary: deployed.map(|secs| Deployment {
            id: "d".into(),
            created: Some(at(secs)),
        }),
        version_tag: tag.map(str::to_owned),
    };
    let since = Some(at(10));
    assert_eq!(
        evidence_of_current(&state(None, Some("v2")), "v2", None),
        Some(Evidence::Tagged)
    );
    assert_eq!(
        evidence_of_current(&state(Some(12), None), "v2", since),
        Some(Evidence::DeployedAfter)
    );
    assert_eq!(evidence_of_current(&state(Some(11), None), "v2", since), None);
    assert_eq!(evidence_of_current(&state(Some(10), None), "v2", since), None);
    assert_eq!(evidence_of_current(&state(Some(3), None), "v2", since), None);
    assert_eq!(
        evidence_of_current(&state(Some(99), Some("v1")), "v2", None),
        None
    );
}

#[test]
fn idempotency_tokens_are_stable_per_rotation_and_fit_secrets_manager() {
    let rotation = |at: &str| Rotation {
        secret: s("tok_live_x"),
        rotated_at: Some(at.into()),
    };
    let a = idempotency_token(&token(), &rotation("2026-12-04T10:00:00Z"));
    assert_eq!(a, idempotency_token(&token(), &rotation("2026-12-04T10:00:00Z")));
    assert_ne!(a, idempotency_token(&token(), &rotation("2026-12-04T10:00:01Z")));
    assert_ne!(
        a,
        idempotency_token(
            &TokenId::parse("tok_other").unwrap(),
            &rotation("2026-12-04T10:00:00Z")
        )
    );
    let different_secret = Rotation {
        secret: s("tok_live_y"),
        ..rotation("2026-12-04T10:00:00Z")
    };
    assert_eq!(
        a,
        idempotency_token(&token(), &different_secret),
        "the secret must not feed the token"
    );
    assert_eq!(a.len(), 32);

    let unknown = Rotation {
        secret: s("tok_live_x"),
        rotated_at: None,
    };
    assert_ne!(
        idempotency_token(&token(), &unknown),
        idempotency_token(&token(), &unknown)
    );
    assert_eq!(idempotency_token(&token(), &unknown).len(), 32);
}
