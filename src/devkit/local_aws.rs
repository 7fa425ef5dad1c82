//! Arranging and inspecting the AWS side of a local run (moto): the token's secret, a cluster
//! whose task definition reads it, services, and what the function changed about them.

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_ecs::types::{ContainerDefinition, Secret as EcsSecret, ServiceField};

use crate::reconcile::VERSION_TAG;

/// Clients straight to the emulator.
#[derive(Clone)]
pub struct LocalAws {
    pub secrets: aws_sdk_secretsmanager::Client,
    pub ecs: aws_sdk_ecs::Client,
}

/// A service as the demo and the tests look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceView {
    pub primary_deployment: String,
    pub version_tag: Option<String>,
}

impl LocalAws {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            ecs: aws_sdk_ecs::Client::new(sdk),
        }
    }

    /// Creates `name` holding `value`; returns its ARN.
    pub async fn create_secret(&self, name: &str, value: &str) -> anyhow::Result<String> {
        let out = self
            .secrets
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .with_context(|| format!("creating secret {name}"))?;
        out.arn()
            .map(str::to_owned)
            .context("CreateSecret returned no ARN")
    }

    /// Stores a new version of `name` (AWSCURRENT unless `stages` say otherwise); returns its id.
    pub async fn put_secret(&self, name: &str, value: &str, stages: &[&str]) -> anyhow::Result<String> {
        let mut request = self
            .secrets
            .put_secret_value()
            .secret_id(name)
            .secret_string(value);
        for stage in stages {
            request = request.version_stages(*stage);
        }
        let out = request
            .send()
            .await
            .with_context(|| format!("storing a version of {name}"))?;
        out.version_id()
            .map(str::to_owned)
            .context("PutSecretValue returned no version id")
    }

    /// The AWSCURRENT version id and value of `name`.
    pub async fn current(&self, name: &str) -> anyhow::Result<(String, String)> {
        // The stage is explicit: moto's stage-less default does not follow UpdateSecretVersionStage.
        let out = self
            .secrets
            .get_secret_value()
            .secret_id(name)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .with_context(|| format!("reading {name}"))?;
        let id = out.version_id().context("no version id")?.to_owned();
        let value = out.secret_string().context("no string value")?.to_owned();
        Ok((id, value))
    }

    /// A cluster named `cluster` and a task definition of the same family whose container reads
    /// `secret_arn` as `TOOKEN_TOKEN`, as a real workload would.
    pub async fn create_cluster(&self, cluster: &str, secret_arn: &str) -> anyhow::Result<()> {
        self.ecs
            .create_cluster()
            .cluster_name(cluster)
            .send()
            .await
            .with_context(|| format!("creating cluster {cluster}"))?;
        let secret = EcsSecret::builder()
            .name("TOOKEN_TOKEN")
            .value_from(secret_arn)
            .build()?;
        let container = ContainerDefinition::builder()
            .name("app")
            .image("public.ecr.aws/docker/library/busybox:latest")
            .memory(128)
            .secrets(secret)
            .build();
        self.ecs
            .register_task_definition()
            .family(cluster)
            .container_definitions(container)
            .send()
            .await
            .with_context(|| format!("registering task definition {cluster}"))?;
        Ok(())
    }

    /// A service in `cluster` running the cluster's task definition.
    pub async fn create_service(&self, cluster: &str, service: &str) -> anyhow::Result<()> {
        self.ecs
            .create_service()
            .cluster(cluster)
            .service_name(service)
            .task_definition(cluster)
            .desired_count(1)
            .send()
            .await
            .with_context(|| format!("creating service {cluster}/{service}"))?;
        Ok(())
    }

    /// The PRIMARY deployment and the version tag of `cluster/service`.
    pub async fn service(&self, cluster: &str, service: &str) -> anyhow::Result<ServiceView> {
        let out = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .include(ServiceField::Tags)
            .send()
            .await
            .with_context(|| format!("describing {cluster}/{service}"))?;
        let found = out
            .services()
            .first()
            .with_context(|| format!("no service {cluster}/{service}"))?;
        let primary = found
            .deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
            .and_then(|d| d.id())
            .context("no PRIMARY deployment")?;
        let version_tag = found
            .tags()
            .iter()
            .find(|t| t.key() == Some(VERSION_TAG))
            .and_then(|t| t.value())
            .map(str::to_owned);
        Ok(ServiceView {
            primary_deployment: primary.to_owned(),
            version_tag,
        })
    }
}
