//! [`FakeCloud`]: every actuator trait in memory, with a call log and failure injection, so the
//! engine and every runbook are tested without AWS.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::actuator::{
    ActError, ActErrorKind, ActResult, CloudTrailActuator, Ec2Actuator, RdsActuator, S3Actuator,
};
use super::types::{
    BucketEncryption, DbInstance, EventSelector, PublicAccessBlock, SecurityGroup, Tags, Trail,
    TrailSelectors, TrailSpec, TrailUpdate, Versioning,
};

/// A bucket's configuration.
#[derive(Debug, Clone)]
pub struct FakeBucket {
    pub public_access_block: Option<PublicAccessBlock>,
    pub encryption: Option<BucketEncryption>,
    pub versioning: Versioning,
    pub policy: Option<String>,
    pub tags: Tags,
}

impl Default for FakeBucket {
    fn default() -> Self {
        Self {
            public_access_block: None,
            encryption: None,
            versioning: Versioning::Unversioned,
            policy: None,
            tags: Tags::new(),
        }
    }
}

/// A trail with its status, selectors and tags.
#[derive(Debug, Clone)]
pub struct FakeTrail {
    pub trail: Trail,
    pub logging: bool,
    pub selectors: TrailSelectors,
    pub tags: Tags,
}

#[derive(Default)]
struct State {
    buckets: BTreeMap<String, FakeBucket>,
    groups: BTreeMap<String, SecurityGroup>,
    ebs_default: bool,
    ec2_tags: BTreeMap<String, Tags>,
    trails: BTreeMap<String, FakeTrail>,
    dbs: Vec<DbInstance>,
    calls: Vec<String>,
    /// api → (error, remaining failures; None = always)
    failures: HashMap<String, (ActError, Option<usize>)>,
}

/// In-memory AWS for tests. Clones share state.
#[derive(Clone, Default)]
pub struct FakeCloud {
    state: Arc<Mutex<State>>,
}

impl FakeCloud {
    pub fn new() -> Self {
        Self::default()
    }
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add_bucket(&self, name: &str, bucket: FakeBucket) {
        self.lock().buckets.insert(name.into(), bucket);
    }
    pub fn bucket(&self, name: &str) -> Option<FakeBucket> {
        self.lock().buckets.get(name).cloned()
    }
    pub fn add_group(&self, group: SecurityGroup) {
        self.lock().groups.insert(group.group_id.clone(), group);
    }
    pub fn group(&self, id: &str) -> Option<SecurityGroup> {
        self.lock().groups.get(id).cloned()
    }
    pub fn set_ebs_default(&self, on: bool) {
        self.lock().ebs_default = on;
    }
    pub fn ebs_default(&self) -> bool {
        self.lock().ebs_default
    }
    pub fn set_ec2_tags(&self, id: &str, tags: Tags) {
        self.lock().ec2_tags.insert(id.into(), tags);
    }
    pub fn ec2_tags(&self, id: &str) -> Tags {
        self.lock().ec2_tags.get(id).cloned().unwrap_or_default()
    }
    pub fn add_trail(&self, t: FakeTrail) {
        self.lock().trails.insert(t.trail.name.clone(), t);
    }
    pub fn trail(&self, name: &str) -> Option<FakeTrail> {
        self.lock().trails.get(name).cloned()
    }
    pub fn add_db(&self, db: DbInstance) {
        self.lock().dbs.push(db);
    }
    pub fn db(&self, identifier: &str) -> Option<DbInstance> {
        self.lock()
            .dbs
            .iter()
            .find(|d| d.db_instance_identifier == identifier)
            .cloned()
    }

    /// Makes `api` (`s3:PutBucketVersioning`) fail with `kind`/`code`, `times` times (None =
    /// always).
    pub fn fail(&self, api: &str, kind: ActErrorKind, code: &str, times: Option<usize>) {
        let e = ActError::new(api, kind, code, format!("injected {code}"));
        self.lock().failures.insert(api.into(), (e, times));
    }
    pub fn clear_failures(&self) {
        self.lock().failures.clear();
    }

    /// Every call made, as `api target`.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }
    /// The mutating calls made (anything but Get/Describe/List).
    pub fn writes(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| {
                let op = c.split([':', ' ']).nth(1).unwrap_or("");
                !(op.starts_with("Get") || op.starts_with("Describe") || op.starts_with("List"))
            })
            .collect()
    }
    pub fn reset_calls(&self) {
        self.lock().calls.clear();
    }

    /// Logs the call and applies an injected failure.
    fn call(&self, api: &str, target: &str) -> ActResult<MutexGuard<'_, State>> {
        let mut g = self.lock();
        g.calls.push(format!("{api} {target}"));
        if let Some((e, left)) = g.failures.get_mut(api) {
            let e = e.clone();
            match left {
                None => return Err(e),
                Some(0) => {}
                Some(n) => {
                    *n -= 1;
                    return Err(e);
                }
            }
        }
        Ok(g)
    }
}

fn no_bucket(api: &str, b: &str) -> ActError {
    ActError::new(
        api,
        ActErrorKind::NotFound,
        "NoSuchBucket",
        format!("The specified bucket does not exist: {b}"),
    )
}

fn bucket_mut<'a>(
    g: &'a mut MutexGuard<'_, State>,
    api: &str,
    b: &str,
) -> ActResult<&'a mut FakeBucket> {
    g.buckets.get_mut(b).ok_or_else(|| no_bucket(api, b))
}

#[async_trait]
impl S3Actuator for FakeCloud {
    async fn get_public_access_block(&self, bucket: &str) -> ActResult<Option<PublicAccessBlock>> {
        let api = "s3:GetPublicAccessBlock";
        let mut g = self.call(api, bucket)?;
        Ok(bucket_mut(&mut g, api, bucket)?.public_access_block)
    }
    async fn put_public_access_block(
        &self,
        bucket: &str,
        pab: &PublicAccessBlock,
    ) -> ActResult<()> {
        let api = "s3:PutPublicAccessBlock";
        let mut g = self.call(api, bucket)?;
        bucket_mut(&mut g, api, bucket)?.public_access_block = Some(*pab);
        Ok(())
    }
    async fn get_bucket_encryption(&self, bucket: &str) -> ActResult<Option<BucketEncryption>> {
        let api = "s3:GetBucketEncryption";
        let mut g = self.call(api, bucket)?;
        Ok(bucket_mut(&mut g, api, bucket)?.encryption.clone())
    }
    async fn put_bucket_encryption(&self, bucket: &str, enc: &BucketEncryption) -> ActResult<()> {
        let api = "s3:PutBucketEncryption";
        let mut g = self.call(api, bucket)?;
        bucket_mut(&mut g, api, bucket)?.encryption = Some(enc.clone());
        Ok(())
    }
    async fn get_bucket_versioning(&self, bucket: &str) -> ActResult<Versioning> {
        let api = "s3:GetBucketVersioning";
        let mut g = self.call(api, bucket)?;
        Ok(bucket_mut(&mut g, api, bucket)?.versioning)
    }
    async fn put_bucket_versioning(&self, bucket: &str, status: Versioning) -> ActResult<()> {
        let api = "s3:PutBucketVersioning";
        let mut g = self.call(api, bucket)?;
        bucket_mut(&mut g, api, bucket)?.versioning = status;
        Ok(())
    }
    async fn get_bucket_policy(&self, bucket: &str) -> ActResult<Option<String>> {
        let api = "s3:GetBucketPolicy";
        let mut g = self.call(api, bucket)?;
        Ok(bucket_mut(&mut g, api, bucket)?.policy.clone())
    }
    async fn put_bucket_policy(&self, bucket: &str, policy: &str) -> ActResult<()> {
        let api = "s3:PutBucketPolicy";
        let mut g = self.call(api, bucket)?;
        if serde_json::from_str::<serde_json::Value>(policy).is_err() {
            return Err(ActError::new(
                api,
                ActErrorKind::Invalid,
                "MalformedPolicy",
                "not JSON",
            ));
        }
        bucket_mut(&mut g, api, bucket)?.policy = Some(policy.to_string());
        Ok(())
    }
    async fn get_bucket_tagging(&self, bucket: &str) -> ActResult<Tags> {
        let api = "s3:GetBucketTagging";
        let mut g = self.call(api, bucket)?;
        Ok(bucket_mut(&mut g, api, bucket)?.tags.clone())
    }
    async fn put_bucket_tagging(&self, bucket: &str, tags: &Tags) -> ActResult<()> {
        let api = "s3:PutBucketTagging";
        let mut g = self.call(api, bucket)?;
        bucket_mut(&mut g, api, bucket)?.tags = tags.clone();
        Ok(())
    }
}

fn no_group(api: &str, id: &str) -> ActError {
    ActError::new(
        api,
        ActErrorKind::NotFound,
        "InvalidGroup.NotFound",
        format!("The security group '{id}' does not exist"),
    )
}

impl FakeCloud {
    fn revoke(&self, api: &str, group_id: &str, ids: &[String], egress: bool) -> ActResult<()> {
        let mut g = self.call(api, &format!("{group_id} {}", ids.join(",")))?;
        let group = g
            .groups
            .get_mut(group_id)
            .ok_or_else(|| no_group(api, group_id))?;
        for id in ids {
            if !group
                .rules
                .iter()
                .any(|r| &r.security_group_rule_id == id && r.is_egress == egress)
            {
                return Err(ActError::new(
                    api,
                    ActErrorKind::RuleNotFound,
                    "InvalidSecurityGroupRuleId.NotFound",
                    format!("The security group rule ID '{id}' does not exist"),
                ));
            }
        }
        group
            .rules
            .retain(|r| !(ids.contains(&r.security_group_rule_id) && r.is_egress == egress));
        Ok(())
    }
}

#[async_trait]
impl Ec2Actuator for FakeCloud {
    async fn describe_security_group(&self, group_id: &str) -> ActResult<SecurityGroup> {
        let api = "ec2:DescribeSecurityGroups";
        let g = self.call(api, group_id)?;
        g.groups
            .get(group_id)
            .cloned()
            .ok_or_else(|| no_group(api, group_id))
    }
    async fn revoke_ingress(&self, group_id: &str, rule_ids: &[String]) -> ActResult<()> {
        self.revoke("ec2:RevokeSecurityGroupIngress", group_id, rule_ids, false)
    }
    async fn revoke_egress(&self, group_id: &str, rule_ids: &[String]) -> ActResult<()> {
        self.revoke("ec2:RevokeSecurityGroupEgress", group_id, rule_ids, true)
    }
    async fn get_ebs_encryption_by_default(&self) -> ActResult<bool> {
        let g = self.call("ec2:GetEbsEncryptionByDefault", "")?;
        Ok(g.ebs_default)
    }
    async fn enable_ebs_encryption_by_default(&self) -> ActResult<()> {
        let mut g = self.call("ec2:EnableEbsEncryptionByDefault", "")?;
        g.ebs_default = true;
        Ok(())
    }
    async fn get_tags(&self, resource_id: &str) -> ActResult<Tags> {
        let g = self.call("ec2:DescribeTags", resource_id)?;
        Ok(g.ec2_tags.get(resource_id).cloned().unwrap_or_default())
    }
    async fn create_tags(&self, resource_id: &str, tags: &Tags) -> ActResult<()> {
        let api = "ec2:CreateTags";
        let mut g = self.call(api, resource_id)?;
        if let Some(group) = g.groups.get_mut(resource_id) {
            group.tags.extend(tags.clone());
        }
        g.ec2_tags
            .entry(resource_id.into())
            .or_default()
            .extend(tags.clone());
        Ok(())
    }
}

fn find_trail<'a>(g: &'a mut MutexGuard<'_, State>, name: &str) -> Option<&'a mut FakeTrail> {
    g.trails
        .values_mut()
        .find(|t| t.trail.name == name || t.trail.trail_arn == name)
}

fn no_trail(api: &str, name: &str) -> ActError {
    ActError::new(
        api,
        ActErrorKind::NotFound,
        "TrailNotFoundException",
        format!("Unknown trail: {name}"),
    )
}

#[async_trait]
impl CloudTrailActuator for FakeCloud {
    async fn get_trail(&self, name: &str) -> ActResult<Option<Trail>> {
        let mut g = self.call("cloudtrail:GetTrail", name)?;
        Ok(find_trail(&mut g, name).map(|t| t.trail.clone()))
    }
    async fn is_logging(&self, name: &str) -> ActResult<bool> {
        let api = "cloudtrail:GetTrailStatus";
        let mut g = self.call(api, name)?;
        find_trail(&mut g, name)
            .map(|t| t.logging)
            .ok_or_else(|| no_trail(api, name))
    }
    async fn get_event_selectors(&self, name: &str) -> ActResult<TrailSelectors> {
        let api = "cloudtrail:GetEventSelectors";
        let mut g = self.call(api, name)?;
        find_trail(&mut g, name)
            .map(|t| t.selectors.clone())
            .ok_or_else(|| no_trail(api, name))
    }
    async fn create_trail(&self, spec: &TrailSpec) -> ActResult<()> {
        let api = "cloudtrail:CreateTrail";
        let mut g = self.call(api, &spec.name)?;
        if g.trails.contains_key(&spec.name) {
            return Err(ActError::new(
                api,
                ActErrorKind::Invalid,
                "TrailAlreadyExistsException",
                "exists",
            ));
        }
        let trail = Trail {
            name: spec.name.clone(),
            trail_arn: format!(
                "arn:aws:cloudtrail:us-east-1:123456789012:trail/{}",
                spec.name
            ),
            home_region: Some("us-east-1".into()),
            s3_bucket_name: spec.s3_bucket_name.clone(),
            s3_key_prefix: spec.s3_key_prefix.clone(),
            log_file_validation_enabled: spec.enable_log_file_validation,
            is_multi_region_trail: spec.is_multi_region_trail,
            include_global_service_events: spec.include_global_service_events,
            kms_key_id: None,
        };
        g.trails.insert(
            spec.name.clone(),
            FakeTrail {
                trail,
                logging: false,
                selectors: TrailSelectors::default(),
                tags: Tags::new(),
            },
        );
        Ok(())
    }
    async fn update_trail(&self, u: &TrailUpdate) -> ActResult<()> {
        let api = "cloudtrail:UpdateTrail";
        let mut g = self.call(api, &u.name)?;
        let t = find_trail(&mut g, &u.name).ok_or_else(|| no_trail(api, &u.name))?;
        if let Some(b) = &u.s3_bucket_name {
            t.trail.s3_bucket_name = b.clone();
        }
        if let Some(p) = &u.s3_key_prefix {
            t.trail.s3_key_prefix = (!p.is_empty()).then(|| p.clone());
        }
        if let Some(v) = u.is_multi_region_trail {
            t.trail.is_multi_region_trail = v;
        }
        if let Some(v) = u.include_global_service_events {
            t.trail.include_global_service_events = v;
        }
        if let Some(v) = u.enable_log_file_validation {
            t.trail.log_file_validation_enabled = v;
        }
        Ok(())
    }
    async fn start_logging(&self, name: &str) -> ActResult<()> {
        let api = "cloudtrail:StartLogging";
        let mut g = self.call(api, name)?;
        find_trail(&mut g, name)
            .map(|t| t.logging = true)
            .ok_or_else(|| no_trail(api, name))
    }
    async fn put_event_selectors(&self, name: &str, selectors: &[EventSelector]) -> ActResult<()> {
        let api = "cloudtrail:PutEventSelectors";
        let mut g = self.call(api, name)?;
        let t = find_trail(&mut g, name).ok_or_else(|| no_trail(api, name))?;
        t.selectors = TrailSelectors {
            event_selectors: selectors.to_vec(),
            uses_advanced_selectors: false,
        };
        Ok(())
    }
    async fn list_tags(&self, trail_arn: &str) -> ActResult<Tags> {
        let api = "cloudtrail:ListTags";
        let mut g = self.call(api, trail_arn)?;
        find_trail(&mut g, trail_arn)
            .map(|t| t.tags.clone())
            .ok_or_else(|| no_trail(api, trail_arn))
    }
}

#[async_trait]
impl RdsActuator for FakeCloud {
    async fn find_db_instance(&self, id: &str) -> ActResult<Option<DbInstance>> {
        let g = self.call("rds:DescribeDBInstances", id)?;
        Ok(g.dbs
            .iter()
            .find(|d| d.db_instance_identifier == id || d.dbi_resource_id.as_deref() == Some(id))
            .cloned())
    }
    async fn add_tags_to_resource(&self, arn: &str, tags: &Tags) -> ActResult<()> {
        let api = "rds:AddTagsToResource";
        let mut g = self.call(api, arn)?;
        let db = g
            .dbs
            .iter_mut()
            .find(|d| d.db_instance_arn == arn)
            .ok_or_else(|| {
                ActError::new(
                    api,
                    ActErrorKind::NotFound,
                    "DBInstanceNotFound",
                    arn.to_string(),
                )
            })?;
        db.tags.extend(tags.clone());
        Ok(())
    }
}
