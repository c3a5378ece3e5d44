//! The CIS AWS Foundations Benchmark monitoring filters (Security Hub CloudWatch.1-14, CIS
//! 4.1-4.15), exactly as published, with their default metric and alarm settings.

use super::metric::{MetricFilter, MetricTransformation};
use super::{FilterPattern, FilterSet};
use std::collections::BTreeMap;

/// Default metric namespace (Security Hub's remediation uses `LogMetrics`: configurable).
pub const DEFAULT_NAMESPACE: &str = "CISBenchmark";

/// Threshold the CloudTrail user guide uses for console sign-in failures (3 in 5 minutes),
/// as an alternative to the CIS default of 1.
pub const CLOUDTRAIL_GUIDE_CONSOLE_FAILURE_THRESHOLD: f64 = 3.0;

/// One built-in CIS filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CisFilter {
    /// Security Hub control id (`CloudWatch.1`..`CloudWatch.14`); CIS 4.15 has none.
    pub security_hub_id: Option<&'static str>,
    /// CIS benchmark id (`4.1`..`4.15`).
    pub cis_id: &'static str,
    /// Filter / metric name (`RootAccountUsage`...).
    pub name: &'static str,
    /// The filter pattern, verbatim.
    pub pattern: &'static str,
}

impl CisFilter {
    /// `CloudWatch.N`, or `CIS.4.15` for the filter without a Security Hub control.
    pub fn id(&self) -> String {
        match self.security_hub_id {
            Some(id) => id.to_string(),
            None => format!("CIS.{}", self.cis_id),
        }
    }

    /// The compiled pattern.
    pub fn compile(&self) -> FilterPattern {
        // The 15 patterns are constants of this module (not input); the tests check they parse.
        FilterPattern::parse(self.pattern).expect("built-in CIS pattern parses")
    }

    /// The metric filter for this control: metric value `1`, metric name = filter name.
    pub fn metric_filter(&self, namespace: &str) -> MetricFilter {
        MetricFilter {
            filter_name: self.name.to_string(),
            filter_pattern: self.pattern.to_string(),
            metric_transformations: vec![MetricTransformation {
                metric_name: self.name.to_string(),
                metric_namespace: namespace.to_string(),
                metric_value: "1".to_string(),
                default_value: None,
                dimensions: BTreeMap::new(),
                unit: None,
            }],
            log_group_name: None,
        }
    }

    /// The default alarm on this filter's metric.
    pub fn alarm(&self, namespace: &str) -> AlarmSettings {
        AlarmSettings {
            alarm_name: self.name.to_string(),
            metric_name: self.name.to_string(),
            namespace: namespace.to_string(),
            ..AlarmSettings::default()
        }
    }
}

/// CIS default alarm settings: `Sum` over 300 s, threshold 1, `GreaterThanOrEqualToThreshold`,
/// 1 evaluation period (1 datapoint to alarm), missing data `notBreaching`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmSettings {
    /// Alarm name.
    pub alarm_name: String,
    /// Metric name.
    pub metric_name: String,
    /// Metric namespace.
    pub namespace: String,
    /// Statistic (`Sum`).
    pub statistic: String,
    /// Period in seconds (300).
    pub period: u32,
    /// Threshold (1).
    pub threshold: f64,
    /// Comparison operator (`GreaterThanOrEqualToThreshold`).
    pub comparison_operator: String,
    /// Evaluation periods (1).
    pub evaluation_periods: u32,
    /// Datapoints to alarm (1).
    pub datapoints_to_alarm: u32,
    /// Treat missing data (`notBreaching`).
    pub treat_missing_data: String,
}

impl Default for AlarmSettings {
    fn default() -> Self {
        AlarmSettings {
            alarm_name: String::new(),
            metric_name: String::new(),
            namespace: DEFAULT_NAMESPACE.to_string(),
            statistic: "Sum".to_string(),
            period: 300,
            threshold: 1.0,
            comparison_operator: "GreaterThanOrEqualToThreshold".to_string(),
            evaluation_periods: 1,
            datapoints_to_alarm: 1,
            treat_missing_data: "notBreaching".to_string(),
        }
    }
}

/// All 15 filters, in Security Hub order (CloudWatch.1..14, then CIS 4.15).
pub const CIS_FILTERS: [CisFilter; 15] = [
    CisFilter {
        security_hub_id: Some("CloudWatch.1"),
        cis_id: "4.3",
        name: "RootAccountUsage",
        pattern: r#"{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}"#,
    },
    CisFilter {
        security_hub_id: Some("CloudWatch.2"),
        cis_id: "4.1",
        name: "UnauthorizedAPICalls",
        pattern: r#"{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}"#,
    },
    CisFilter {
        security_hub_id: Some("CloudWatch.3"),
        cis_id: "4.2",
        name: "ConsoleSigninWithoutMFA",
        pattern: r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }"#,
    },
    CisFilter {
        security_hub_id: Some("CloudWatch.4"),
        cis_id: "4.4",
        name: "IAMPolicyChanges",
        pattern: r#"{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}"#,
    },
    CisFilter {
        security_hub_id: Some("CloudWatch.5"),
        cis_id: "4.5",
        name: "CloudTrailChanges",
        pattern: r#"{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}"#,
    },
    CisFilter {
        security_hub_id: Some("CloudWatch.6"),
        cis_id: "4.6",
        name: "ConsoleAuthenticationFailure",
        pattern: r#"{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}"#,
    },
    CisFilter {
        security_hub_id: Some("CloudWatch.7"),
        cis_id: "4.7",
        name: "DisableOrDeleteCMK",
        pattern: r#"{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}"#,
    },
    CisFilter {
        security_hub_id: Some("CloudWatch.8"),
        cis_id: "4.8",
        name: "S3BucketPolicyChanges",
        pattern: r#"{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}"#,
    },
    CisFilter {
        security_hub_id: Some("CloudWatch.9"),
        cis_id: "4.9",
        name: "AWSConfigChanges",
        pattern: r#"{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}"#,
    },
    CisFilter {
        security_hub_id: Some("CloudWatch.10"),
        cis_id: "4.10",
        name: "SecurityGroupChanges",
        pattern: r#"{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}"#,
    },
    CisFilter {
        security_hub_id: Some("CloudWatch.11"),
        cis_id: "4.11",
        name: "NetworkACLChanges",
        pattern: r#"{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}"#,
    },
    CisFilter {
        security_hub_id: Some("CloudWatch.12"),
        cis_id: "4.12",
        name: "NetworkGatewayChanges",
        pattern: r#"{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}"#,
    },
    CisFilter {
        security_hub_id: Some("CloudWatch.13"),
        cis_id: "4.13",
        name: "RouteTableChanges",
        pattern: r#"{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}"#,
    },
    CisFilter {
        security_hub_id: Some("CloudWatch.14"),
        cis_id: "4.14",
        name: "VPCChanges",
        pattern: r#"{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}"#,
    },
    CisFilter {
        security_hub_id: None,
        cis_id: "4.15",
        name: "OrganizationsChanges",
        pattern: r#"{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }"#,
    },
];

/// Looks a filter up by Security Hub id (`CloudWatch.3`), CIS id (`4.2`, `CIS 4.2`) or name.
pub fn find(id: &str) -> Option<&'static CisFilter> {
    let id = id.trim();
    let cis = id
        .strip_prefix("CIS")
        .map(|s| s.trim_start_matches(['.', ' ']))
        .unwrap_or(id);
    CIS_FILTERS
        .iter()
        .find(|f| f.security_hub_id == Some(id) || f.cis_id == cis || f.name == id)
}

/// A [`FilterSet`] of the 15 filters; pattern `i` is `CIS_FILTERS[i]`.
pub fn filter_set() -> FilterSet {
    CIS_FILTERS.iter().map(CisFilter::compile).collect()
}

/// The 15 metric filters in `namespace` (use [`DEFAULT_NAMESPACE`] for the default).
pub fn metric_filters(namespace: &str) -> Vec<MetricFilter> {
    CIS_FILTERS
        .iter()
        .map(|f| f.metric_filter(namespace))
        .collect()
}

/// The 15 default alarms in `namespace`.
pub fn alarms(namespace: &str) -> Vec<AlarmSettings> {
    CIS_FILTERS.iter().map(|f| f.alarm(namespace)).collect()
}
