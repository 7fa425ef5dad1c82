//! ECS as the [`Deployer`]: read a service's PRIMARY deployment and version tag, force a new
//! deployment (the rolling restart that makes new tasks read the secret again), and tag the
//! service with the secret version it was restarted for.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{Service, ServiceField, Tag};

use super::{external, system_time};
use crate::reconcile::{
    Deployer, Deployment, ExternalError, ExternalResult, FailureKind, ServiceState, VERSION_TAG,
};
use crate::targets::ServiceRef;

#[derive(Debug, Clone)]
pub struct EcsDeployer {
    client: Client,
}

impl EcsDeployer {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn primary(service: &Service) -> Option<Deployment> {
    service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .map(|d| Deployment {
            id: d.id().unwrap_or_default().to_owned(),
            created: system_time(d.created_at()),
        })
}

impl Deployer for EcsDeployer {
    async fn describe(&self, service: &ServiceRef) -> ExternalResult<ServiceState> {
        let name = service.to_string();
        let output = self
            .client
            .describe_services()
            .cluster(service.cluster())
            .services(service.service())
            .include(ServiceField::Tags)
            .send()
            .await
            .map_err(|e| external("DescribeServices", &name, e))?;
        // DescribeServices reports an unknown service as a failure entry, not as an error; a
        // deleted one lingers as INACTIVE for a while.
        let found = output.services().first().filter(|s| s.status() == Some("ACTIVE"));
        let Some(found) = found else {
            let reason = output
                .failures()
                .first()
                .and_then(|f| f.reason())
                .or_else(|| output.services().first().and_then(|s| s.status()))
                .unwrap_or("MISSING");
            return Err(ExternalError::new(
                FailureKind::NotFound,
                format!("DescribeServices {name}: service not found ({reason})"),
            ));
        };
        Ok(ServiceState {
            arn: found.service_arn().unwrap_or_default().to_owned(),
            primary: primary(found),
            version_tag: found
                .tags()
                .iter()
                .find(|t| t.key() == Some(VERSION_TAG))
                .and_then(|t| t.value())
                .map(str::to_owned),
        })
    }

    async fn restart(&self, service: &ServiceRef) -> ExternalResult<Deployment> {
        let name = service.to_string();
        let output = self
            .client
            .update_service()
            .cluster(service.cluster())
            .service(service.service())
            .force_new_deployment(true)
            .send()
            .await
            .map_err(|e| external("UpdateService", &name, e))?;
        output.service().and_then(primary).ok_or_else(|| {
            ExternalError::new(
                FailureKind::Failed,
                format!("UpdateService {name}: the answer shows no PRIMARY deployment"),
            )
        })
    }

    async fn mark_current(&self, service_arn: &str, version: &str) -> ExternalResult<()> {
        let tag = Tag::builder().key(VERSION_TAG).value(version).build();
        self.client
            .tag_resource()
            .resource_arn(service_arn)
            .tags(tag)
            .send()
            .await
            .map_err(|e| external("TagResource", service_arn, e))?;
        Ok(())
    }
}
