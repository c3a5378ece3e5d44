//! `AWSConfigRemediation-EnableEbsEncryptionByDefault`: turns on EBS encryption by default for
//! the account in the region (new volumes are encrypted; existing ones are not changed).

use async_trait::async_trait;

use super::{failed, passed, Plan, Runbook, RunbookError, RunbookInfo, RunbookParams};
use crate::remediation::{ActError, Action, Cloud, Target, VerificationResult};

pub struct EnableEbsEncryptionByDefault;

static INFO: RunbookInfo = RunbookInfo {
    name: "AWSConfigRemediation-EnableEbsEncryptionByDefault",
    description: "Enables EBS encryption by default in the account and region.",
    resource_types: &["AWS::::Account"],
    resource_param: None,
    parameters: &[],
    read_api: "ec2:GetEbsEncryptionByDefault",
    cause_events: &["DisableEbsEncryptionByDefault"],
};

/// The pure plan.
pub fn plan_for(enabled: bool) -> Plan {
    if enabled {
        Plan::nothing("EBS encryption by default is enabled")
    } else {
        Plan::steps(
            "EBS encryption by default is disabled",
            vec![Action::Ec2EnableEbsEncryptionByDefault],
        )
    }
}

#[async_trait]
impl Runbook for EnableEbsEncryptionByDefault {
    fn info(&self) -> &'static RunbookInfo {
        &INFO
    }
    async fn plan(
        &self,
        cloud: &Cloud,
        _t: &Target,
        _p: &RunbookParams,
    ) -> Result<Plan, RunbookError> {
        Ok(plan_for(cloud.ec2.get_ebs_encryption_by_default().await?))
    }
    async fn verify(
        &self,
        cloud: &Cloud,
        _t: &Target,
        _p: &RunbookParams,
    ) -> Result<VerificationResult, ActError> {
        Ok(if cloud.ec2.get_ebs_encryption_by_default().await? {
            passed("GetEbsEncryptionByDefault: EbsEncryptionByDefault true")
        } else {
            failed("GetEbsEncryptionByDefault: EbsEncryptionByDefault false")
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::remediation::{run_runbook, FakeCloud, Outcome};
    use crate::runbooks::testing::*;

    #[tokio::test]
    async fn enables_and_dry_run_changes_nothing() {
        let fake = Arc::new(FakeCloud::new());
        let rb = &EnableEbsEncryptionByDefault;
        let t = target("AWS::::Account", "123456789012");
        let p = params(rb, &t, json!({}));
        let dry = run_runbook(&cloud(&fake), rb, &t, &p, true).await;
        assert_eq!(dry.outcome, Outcome::DryRun);
        assert_eq!(dry.changes, vec!["ec2:EnableEbsEncryptionByDefault {}"]);
        assert!(!fake.ebs_default() && fake.writes().is_empty());
        let rec = run_twice(&fake, rb, &t, &p).await;
        assert_eq!(rec.outcome, Outcome::Remediated);
        assert!(fake.ebs_default());
    }
}
