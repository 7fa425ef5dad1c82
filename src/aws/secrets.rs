//! Secrets Manager as the token's [`SecretStore`], and the reader for secrets the configuration
//! names by ARN (the webhook secrets, the management token).
//!
//! A secret's value is the token secret itself, as a string; surrounding whitespace (a trailing
//! newline from `--secret-string file://…`) is trimmed. Binary secrets are refused with a message.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use secrecy::{ExposeSecret, SecretString};

use super::{external, system_time};
use crate::reconcile::{ExternalError, ExternalResult, FailureKind, SecretStore, SecretVersion};
use crate::targets::SecretRef;

const CURRENT: &str = "AWSCURRENT";
const PENDING: &str = "AWSPENDING";

#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: Client,
}

impl SecretsManager {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Reads the AWSCURRENT string value of `secret_id`, for configuration loaded at cold start.
    pub async fn read_string(&self, secret_id: &str) -> ExternalResult<SecretString> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(CURRENT)
            .send()
            .await
            .map_err(|e| external("GetSecretValue", secret_id, e))?;
        Ok(string_value(secret_id, &output)?.1)
    }

    async fn read(&self, secret: &SecretRef, version: Version<'_>) -> ExternalResult<SecretVersion> {
        let request = self.client.get_secret_value().secret_id(secret.as_str());
        let request = match version {
            Version::Stage(stage) => request.version_stage(stage),
            Version::Id(id) => request.version_id(id),
        };
        let output = request
            .send()
            .await
            .map_err(|e| external("GetSecretValue", secret.as_str(), e))?;
        let (id, value) = string_value(secret.as_str(), &output)?;
        Ok(SecretVersion {
            id,
            created: system_time(output.created_date()),
            value,
        })
    }
}

enum Version<'a> {
    Stage(&'a str),
    Id(&'a str),
}

fn string_value(secret_id: &str, output: &GetSecretValueOutput) -> ExternalResult<(String, SecretString)> {
    let id = output.version_id().unwrap_or_default().to_owned();
    let value = output.secret_string().map(str::trim).filter(|v| !v.is_empty()).ok_or_else(|| {
        ExternalError::new(
            FailureKind::Failed,
            format!("secret {secret_id} (version {id}) has no string value; store the token secret as a plain string"),
        )
    })?;
    Ok((id, SecretString::from(value.to_owned())))
}

impl SecretStore for SecretsManager {
    async fn current(&self, secret: &SecretRef) -> ExternalResult<SecretVersion> {
        self.read(secret, Version::Stage(CURRENT)).await
    }

    async fn pending(&self, secret: &SecretRef) -> ExternalResult<Option<SecretVersion>> {
        // ListSecretVersionIds would also work, but DescribeSecret is one call with the stages.
        let described = self
            .client
            .describe_secret()
            .secret_id(secret.as_str())
            .send()
            .await
            .map_err(|e| external("DescribeSecret", secret.as_str(), e))?;
        let pending = described.version_ids_to_stages().and_then(|stages| {
            stages
                .iter()
                .find(|(_, labels)| {
                    labels.iter().any(|l| l == PENDING) && !labels.iter().any(|l| l == CURRENT)
                })
                .map(|(id, _)| id.clone())
        });
        match pending {
            Some(id) => self.read(secret, Version::Id(&id)).await.map(Some),
            None => Ok(None),
        }
    }

    async fn promote(&self, secret: &SecretRef, version: &str, from: &str) -> ExternalResult<()> {
        // RemoveFromVersionId makes the move conditional: if AWSCURRENT moved meanwhile, it fails.
        self.client
            .update_secret_version_stage()
            .secret_id(secret.as_str())
            .version_stage(CURRENT)
            .move_to_version_id(version)
            .remove_from_version_id(from)
            .send()
            .await
            .map_err(|e| external("UpdateSecretVersionStage", secret.as_str(), e))?;
        Ok(())
    }

    async fn store(
        &self,
        secret: &SecretRef,
        value: &SecretString,
        idempotency_token: &str,
    ) -> ExternalResult<String> {
        let output = self
            .client
            .put_secret_value()
            .secret_id(secret.as_str())
            .secret_string(value.expose_secret())
            .client_request_token(idempotency_token)
            .send()
            .await
            .map_err(|e| external("PutSecretValue", secret.as_str(), e))?;
        Ok(output.version_id().unwrap_or(idempotency_token).to_owned())
    }
}
