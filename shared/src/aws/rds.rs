//! [`RdsActuator`] on Amazon RDS.

use async_trait::async_trait;
use aws_sdk_rds::error::ProvideErrorMetadata;
use aws_sdk_rds::types::{DbInstance as SdkDbInstance, Filter, Tag};
use aws_sdk_rds::Client;

use super::act::act_err;
use crate::remediation::{ActResult, DbInstance, RdsActuator, Tags};

/// RDS through the SDK.
#[derive(Clone)]
pub struct RdsResources {
    client: Client,
}

impl RdsResources {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn to_domain(d: &SdkDbInstance) -> Option<DbInstance> {
    Some(DbInstance {
        db_instance_identifier: d.db_instance_identifier()?.to_string(),
        db_instance_arn: d.db_instance_arn()?.to_string(),
        dbi_resource_id: d.dbi_resource_id().map(str::to_string),
        tags: d
            .tag_list()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_string(),
                    t.value().unwrap_or_default().to_string(),
                ))
            })
            .collect(),
    })
}

impl RdsResources {
    async fn by_identifier(&self, id: &str) -> ActResult<Option<DbInstance>> {
        match self
            .client
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(out) => Ok(out.db_instances().iter().find_map(to_domain)),
            Err(e)
                if e.code() == Some("DBInstanceNotFound")
                    || e.code() == Some("DBInstanceNotFoundFault") =>
            {
                Ok(None)
            }
            Err(e) if e.code() == Some("InvalidParameterValue") => Ok(None),
            Err(e) => Err(act_err!("rds:DescribeDBInstances", e)),
        }
    }

    async fn by_resource_id(&self, id: &str) -> ActResult<Option<DbInstance>> {
        let out = self
            .client
            .describe_db_instances()
            .filters(Filter::builder().name("dbi-resource-id").values(id).build())
            .send()
            .await
            .map_err(|e| act_err!("rds:DescribeDBInstances", e))?;
        Ok(out.db_instances().iter().find_map(to_domain))
    }
}

#[async_trait]
impl RdsActuator for RdsResources {
    async fn find_db_instance(&self, id: &str) -> ActResult<Option<DbInstance>> {
        // Config reports DB instances by DbiResourceId (`db-...`); people use identifiers.
        if id.starts_with("db-") {
            if let Some(d) = self.by_resource_id(id).await? {
                return Ok(Some(d));
            }
        }
        self.by_identifier(id).await
    }

    async fn add_tags_to_resource(&self, arn: &str, tags: &Tags) -> ActResult<()> {
        let list: Vec<Tag> = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.client
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(list))
            .send()
            .await
            .map_err(|e| act_err!("rds:AddTagsToResource", e))?;
        Ok(())
    }
}
