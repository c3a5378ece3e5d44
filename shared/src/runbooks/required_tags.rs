//! `TrailWarden-SetRequiredTags`: adds the required tags a resource is missing, with the
//! configured default values, through the resource type's own API: S3 `PutBucketTagging`
//! (merged with the existing tag set, which that call replaces), EC2 `CreateTags`, RDS
//! `AddTagsToResource`. Existing tags are never changed. (AWS-SetRequiredTags does not work
//! with the required-tags rule: it needs ARNs, Config passes resource ids.)

use async_trait::async_trait;

use super::{
    failed, passed, req, ParamError, ParamKind, Plan, Runbook, RunbookError, RunbookInfo,
    RunbookParam, RunbookParams,
};
use crate::remediation::{ActError, ActErrorKind, Action, Cloud, Tags, Target, VerificationResult};

pub struct SetRequiredTags;

static INFO: RunbookInfo = RunbookInfo {
    name: "TrailWarden-SetRequiredTags",
    description: "Adds missing required tags with default values (S3 buckets, EC2 resources, RDS DB instances); never changes existing tags.",
    resource_types: &[
        "AWS::S3::Bucket",
        "AWS::EC2::Instance",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::Volume",
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::EC2::NetworkInterface",
        "AWS::EC2::InternetGateway",
        "AWS::EC2::RouteTable",
        "AWS::EC2::NetworkAcl",
        "AWS::RDS::DBInstance",
    ],
    resource_param: Some("ResourceId"),
    parameters: &[
        RunbookParam::required("ResourceId", ParamKind::String, "Bucket name, EC2 resource id, or DB instance identifier / DbiResourceId."),
        RunbookParam::required("Tags", ParamKind::StringMap, "Required tag keys with the default value to set when missing, e.g. {\"CostCenter\":\"unassigned\"}."),
    ],
    read_api: "tagging:GetTags",
    cause_events: &["CreateBucket", "PutBucketTagging", "DeleteBucketTagging", "RunInstances", "CreateTags", "DeleteTags", "CreateSecurityGroup", "CreateVolume", "CreateDBInstance", "RemoveTagsFromResource"],
};

/// The required tags missing from `have`.
pub fn missing(have: &Tags, required: &Tags) -> Tags {
    required
        .iter()
        .filter(|(k, _)| !have.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

enum Resource {
    S3(String),
    Ec2(String),
    Rds(String),
}

async fn read(cloud: &Cloud, t: &Target, id: &str) -> Result<(Resource, Tags), RunbookError> {
    match t.resource_type.as_str() {
        "AWS::S3::Bucket" => Ok((
            Resource::S3(id.into()),
            cloud.s3.get_bucket_tagging(id).await?,
        )),
        "AWS::RDS::DBInstance" => {
            let db = cloud.rds.find_db_instance(id).await?.ok_or_else(|| {
                ActError::new(
                    "rds:DescribeDBInstances",
                    ActErrorKind::NotFound,
                    "DBInstanceNotFound",
                    format!("DB instance {id} not found"),
                )
            })?;
            Ok((Resource::Rds(db.db_instance_arn), db.tags))
        }
        ty if ty.starts_with("AWS::EC2::") => {
            if ty == "AWS::EC2::SecurityGroup" {
                // Fails with NotFound for a group that does not exist (DescribeTags would not).
                let g = cloud.ec2.describe_security_group(id).await?;
                return Ok((Resource::Ec2(id.into()), g.tags));
            }
            Ok((Resource::Ec2(id.into()), cloud.ec2.get_tags(id).await?))
        }
        other => Err(RunbookError::Refused(format!(
            "{} does not tag {other}",
            INFO.name
        ))),
    }
}

fn describe(have: &Tags) -> String {
    if have.is_empty() {
        "no tags".into()
    } else {
        format!(
            "tags {}",
            have.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    }
}

#[async_trait]
impl Runbook for SetRequiredTags {
    fn info(&self) -> &'static RunbookInfo {
        &INFO
    }
    fn validate(&self, p: &RunbookParams) -> Result<(), ParamError> {
        let tags = p.map("Tags");
        if tags.is_empty() {
            return Err(ParamError::new(
                INFO.name,
                "Tags",
                "give at least one required tag key with its default value",
            ));
        }
        for (k, v) in &tags {
            if k.is_empty() || k.chars().count() > 128 || k.to_ascii_lowercase().starts_with("aws:")
            {
                return Err(ParamError::new(
                    INFO.name,
                    "Tags",
                    format!(
                        "{k:?} is not a valid tag key (1-128 characters, not starting with aws:)"
                    ),
                ));
            }
            if v.chars().count() > 256 {
                return Err(ParamError::new(
                    INFO.name,
                    "Tags",
                    format!("the value of {k:?} is longer than 256 characters"),
                ));
            }
        }
        Ok(())
    }
    async fn plan(
        &self,
        cloud: &Cloud,
        t: &Target,
        p: &RunbookParams,
    ) -> Result<Plan, RunbookError> {
        let id = req(&INFO, p, "ResourceId")?;
        let (res, have) = read(cloud, t, id).await?;
        let add = missing(&have, &p.map("Tags"));
        if add.is_empty() {
            return Ok(Plan::nothing(format!(
                "{id} has every required tag ({})",
                describe(&have)
            )));
        }
        let desc = format!(
            "{id} has {}; missing {}",
            describe(&have),
            add.keys().cloned().collect::<Vec<_>>().join(", ")
        );
        let step = match res {
            Resource::S3(bucket) => {
                // PutBucketTagging replaces the set: send the existing tags too.
                let mut all = have.clone();
                all.extend(add);
                Action::S3PutBucketTagging { bucket, tags: all }
            }
            Resource::Ec2(resource_id) => Action::Ec2CreateTags {
                resource_id,
                tags: add,
            },
            Resource::Rds(arn) => Action::RdsAddTagsToResource { arn, tags: add },
        };
        Ok(Plan::steps(desc, vec![step]))
    }
    async fn verify(
        &self,
        cloud: &Cloud,
        t: &Target,
        p: &RunbookParams,
    ) -> Result<VerificationResult, ActError> {
        let id = p.str("ResourceId").unwrap_or_default();
        let have = match read(cloud, t, id).await {
            Ok((_, h)) => h,
            Err(RunbookError::Act(e)) => return Err(e),
            Err(RunbookError::Refused(m)) => return Ok(failed(m)),
        };
        let left = missing(&have, &p.map("Tags"));
        Ok(if left.is_empty() {
            passed(format!("{id}: {}", describe(&have)))
        } else {
            failed(format!(
                "{id} still misses {}",
                left.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::remediation::{run_runbook, DbInstance, FakeBucket, FakeCloud, Outcome};
    use crate::runbooks::testing::*;

    fn tags(kv: &[(&str, &str)]) -> Tags {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn s3_merges_and_keeps_existing_values() {
        let fake = Arc::new(FakeCloud::new());
        fake.add_bucket(
            "b",
            FakeBucket {
                tags: tags(&[("Owner", "alice"), ("Other", "x")]),
                ..Default::default()
            },
        );
        let rb = &SetRequiredTags;
        let t = target("AWS::S3::Bucket", "b");
        let p = params(
            rb,
            &t,
            json!({"Tags": {"Owner": "unassigned", "CostCenter": "cc-0"}}),
        );
        let rec = run_twice(&fake, rb, &t, &p).await;
        assert_eq!(rec.outcome, Outcome::Remediated);
        assert_eq!(
            fake.bucket("b").unwrap().tags,
            tags(&[("CostCenter", "cc-0"), ("Other", "x"), ("Owner", "alice")])
        );
    }

    #[tokio::test]
    async fn ec2_and_rds() {
        let fake = Arc::new(FakeCloud::new());
        fake.set_ec2_tags("i-1", tags(&[("Name", "web")]));
        fake.add_db(DbInstance {
            db_instance_identifier: "db1".into(),
            db_instance_arn: "arn:aws:rds:us-east-1:123456789012:db:db1".into(),
            dbi_resource_id: Some("db-ABC".into()),
            tags: Tags::new(),
        });
        let rb = &SetRequiredTags;
        let want = json!({"Tags": {"CostCenter": "cc-0"}});
        let t = target("AWS::EC2::Instance", "i-1");
        let rec = run_twice(&fake, rb, &t, &params(rb, &t, want.clone())).await;
        assert_eq!(rec.outcome, Outcome::Remediated);
        assert_eq!(
            rec.step_executions[1].inputs,
            json!({"Resources": ["i-1"], "Tags": [{"Key": "CostCenter", "Value": "cc-0"}]})
        );
        assert_eq!(fake.ec2_tags("i-1").len(), 2);
        // Config reports RDS instances by DbiResourceId.
        let t = target("AWS::RDS::DBInstance", "db-ABC");
        let rec = run_twice(&fake, rb, &t, &params(rb, &t, want.clone())).await;
        assert_eq!(rec.outcome, Outcome::Remediated);
        assert_eq!(
            fake.db("db1")
                .unwrap()
                .tags
                .get("CostCenter")
                .map(String::as_str),
            Some("cc-0")
        );
        let t = target("AWS::RDS::DBInstance", "db-NOPE");
        let rec = run_runbook(&cloud(&fake), rb, &t, &params(rb, &t, want), false).await;
        assert!(rec.failure_message.unwrap().contains("DBInstanceNotFound"));
    }
}
