//! CloudTrail's S3 key layout for log files and digest files, and validation of every part that
//! comes from input (account ids, regions, prefixes, organization ids, trail names) so that no
//! event can place an object outside the trail's layout.

use chrono::{DateTime, Datelike, Utc};
use thiserror::Error;

/// A part of an S3 key that failed validation.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LayoutError {
    #[error("invalid account id {0:?}: expected 12 digits")]
    AccountId(String),
    #[error("invalid region {0:?}: expected a region name such as us-east-1")]
    Region(String),
    #[error(
        "invalid organization id {0:?}: expected o- followed by 10-32 lowercase letters or digits"
    )]
    OrganizationId(String),
    #[error("invalid key prefix {0:?}: {1}")]
    Prefix(String, &'static str),
    #[error("invalid trail name {0:?}: 3-128 letters, digits, '.', '_' or '-', starting with a letter or digit")]
    TrailName(String),
    #[error("invalid trail ARN {0:?}: expected arn:<partition>:cloudtrail:<region>:<account>:trail/<name>")]
    TrailArn(String),
    #[error("not a CloudTrail key: {0:?}")]
    NotATrailKey(String),
}

/// Validates a 12-digit AWS account id.
pub fn check_account_id(s: &str) -> Result<&str, LayoutError> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s)
    } else {
        Err(LayoutError::AccountId(s.to_string()))
    }
}

/// Validates a region name: lowercase letters and digits in at least three dash-separated parts,
/// starting with a letter (`us-east-1`, `us-gov-west-1`, `eu-isoe-west-1`, and the anonymised
/// names some datasets use). Nothing else can appear in a key, so no input can leave the layout.
pub fn check_region(s: &str) -> Result<&str, LayoutError> {
    let err = || LayoutError::Region(s.to_string());
    if s.is_empty() || s.len() > 32 || !s.as_bytes()[0].is_ascii_lowercase() {
        return Err(err());
    }
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() < 3
        || parts.iter().any(|p| {
            p.is_empty()
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
    {
        return Err(err());
    }
    Ok(s)
}

/// Validates an AWS Organizations id (`o-` + 10 to 32 lowercase letters or digits).
pub fn check_organization_id(s: &str) -> Result<&str, LayoutError> {
    let ok = s
        .strip_prefix("o-")
        .map(|r| {
            (10..=32).contains(&r.len())
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        .unwrap_or(false);
    if ok {
        Ok(s)
    } else {
        Err(LayoutError::OrganizationId(s.to_string()))
    }
}

/// Validates and normalises a key prefix: no leading or trailing slash, no empty, `.` or `..`
/// segments, printable ASCII without backslashes. An empty prefix is allowed (no prefix).
pub fn check_prefix(s: &str) -> Result<String, LayoutError> {
    let trimmed = s.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed.len() > 200 {
        return Err(LayoutError::Prefix(s.into(), "longer than 200 characters"));
    }
    if !trimmed
        .bytes()
        .all(|b| (0x21..0x7f).contains(&b) && b != b'\\')
    {
        return Err(LayoutError::Prefix(
            s.into(),
            "only printable ASCII without spaces or backslashes is allowed",
        ));
    }
    for seg in trimmed.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return Err(LayoutError::Prefix(
                s.into(),
                "empty, '.' or '..' path segments are not allowed",
            ));
        }
    }
    if trimmed.starts_with("AWSLogs") {
        return Err(LayoutError::Prefix(
            s.into(),
            "the prefix must not itself start with AWSLogs",
        ));
    }
    Ok(trimmed.to_string())
}

/// Validates a trail name as CloudTrail does.
pub fn check_trail_name(s: &str) -> Result<&str, LayoutError> {
    let ok = (3..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        && s.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(s)
    } else {
        Err(LayoutError::TrailName(s.to_string()))
    }
}

/// A parsed trail ARN: `arn:aws:cloudtrail:us-east-1:111122223333:trail/my-trail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailArn {
    pub arn: String,
    pub home_region: String,
    pub account_id: String,
    pub name: String,
}

impl TrailArn {
    pub fn parse(arn: &str) -> Result<Self, LayoutError> {
        let err = || LayoutError::TrailArn(arn.to_string());
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "cloudtrail" {
            return Err(err());
        }
        let name = parts[5].strip_prefix("trail/").ok_or_else(err)?;
        let home_region = check_region(parts[3]).map_err(|_| err())?;
        let account_id = check_account_id(parts[4]).map_err(|_| err())?;
        let name = check_trail_name(name).map_err(|_| err())?;
        Ok(Self {
            arn: arn.to_string(),
            home_region: home_region.to_string(),
            account_id: account_id.to_string(),
            name: name.to_string(),
        })
    }
}

/// Where a trail's files live: bucket, optional prefix, optional organization id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrailLocation {
    pub bucket: String,
    /// Normalised prefix without slashes at either end; empty for none.
    pub prefix: String,
    pub organization_id: Option<String>,
}

impl TrailLocation {
    pub fn new(
        bucket: &str,
        prefix: Option<&str>,
        organization_id: Option<&str>,
    ) -> Result<Self, LayoutError> {
        let prefix = check_prefix(prefix.unwrap_or(""))?;
        let organization_id = match organization_id.filter(|s| !s.is_empty()) {
            Some(o) => Some(check_organization_id(o)?.to_string()),
            None => None,
        };
        Ok(Self {
            bucket: bucket.to_string(),
            prefix,
            organization_id,
        })
    }

    /// `[prefix/]AWSLogs/[o-id/]`
    pub fn awslogs_root(&self) -> String {
        let mut s = String::new();
        if !self.prefix.is_empty() {
            s.push_str(&self.prefix);
            s.push('/');
        }
        s.push_str("AWSLogs/");
        if let Some(o) = &self.organization_id {
            s.push_str(o);
            s.push('/');
        }
        s
    }

    /// `[prefix/]AWSLogs/[o-id/]<acct>/CloudTrail/<region>/`
    pub fn log_region_prefix(&self, account: &str, region: &str) -> String {
        format!("{}{account}/CloudTrail/{region}/", self.awslogs_root())
    }

    /// `[prefix/]AWSLogs/[o-id/]<acct>/CloudTrail-Digest/<region>/`
    pub fn digest_region_prefix(&self, account: &str, region: &str) -> String {
        format!(
            "{}{account}/CloudTrail-Digest/{region}/",
            self.awslogs_root()
        )
    }

    /// Date folder `YYYY/MM/DD/` under a region prefix.
    pub fn day_folder(region_prefix: &str, t: DateTime<Utc>) -> String {
        format!(
            "{region_prefix}{:04}/{:02}/{:02}/",
            t.year(),
            t.month(),
            t.day()
        )
    }

    /// The key of a log file delivered at `delivered` with the 16-character unique string.
    pub fn log_key(
        &self,
        account: &str,
        region: &str,
        delivered: DateTime<Utc>,
        unique16: &str,
    ) -> String {
        let folder = Self::day_folder(&self.log_region_prefix(account, region), delivered);
        format!(
            "{folder}{account}_CloudTrail_{region}_{}_{unique16}.json.gz",
            delivered.format("%Y%m%dT%H%MZ")
        )
    }

    /// The key of a digest file ending at `end`.
    pub fn digest_key(
        &self,
        account: &str,
        region: &str,
        trail: &TrailArn,
        end: DateTime<Utc>,
    ) -> String {
        let folder = Self::day_folder(&self.digest_region_prefix(account, region), end);
        format!(
            "{folder}{account}_CloudTrail-Digest_{region}_{}_{}_{}.json.gz",
            trail.name,
            trail.home_region,
            end.format("%Y%m%dT%H%M%SZ")
        )
    }
}

/// The 16-character timestamp of a digest key (`YYYYMMDDTHHMMSSZ`), read by position as
/// `validate-logs` does, parsed.
pub fn digest_key_time(key: &str) -> Option<DateTime<Utc>> {
    let stem = key.strip_suffix(".json.gz")?;
    let stem = stem.strip_suffix("_backfill").unwrap_or(stem);
    let ts = stem.get(stem.len().checked_sub(16)?..)?;
    parse_compact_time(ts, "%Y%m%dT%H%M%SZ")
}

/// The delivery timestamp of a log file key (`..._YYYYMMDDTHHmmZ_<unique16>.json.gz`).
pub fn log_key_time(key: &str) -> Option<DateTime<Utc>> {
    let stem = key.strip_suffix(".json.gz")?;
    let name = stem.rsplit('/').next()?;
    let mut parts = name.rsplitn(3, '_');
    let _unique = parts.next()?;
    let ts = parts.next()?;
    parse_compact_time(ts, "%Y%m%dT%H%MZ")
}

fn parse_compact_time(ts: &str, fmt: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(ts, fmt)
        .ok()
        .map(|n| n.and_utc())
}

/// Parses CloudTrail's `YYYY-MM-DDTHH:MM:SSZ` (and RFC 3339 in general).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// Formats a time as CloudTrail does in digests: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn log_key_matches_cloudtrail_example() {
        let loc = TrailLocation::new("b", None, None).unwrap();
        let t = Utc.with_ymd_and_hms(2015, 8, 1, 2, 10, 0).unwrap();
        assert_eq!(
            loc.log_key("111122223333", "us-east-2", t, "Mu0KsOhtH1ar15ZZ"),
            "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz"
        );
        assert_eq!(
            log_key_time(
                "x/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz"
            ),
            Some(t)
        );
    }

    #[test]
    fn org_and_prefix_layout() {
        let loc = TrailLocation::new("b", Some("/audit/trail/"), Some("o-abcdefghij")).unwrap();
        let trail =
            TrailArn::parse("arn:aws:cloudtrail:us-east-1:111122223333:trail/my-trail").unwrap();
        let t = Utc.with_ymd_and_hms(2024, 5, 1, 13, 0, 0).unwrap();
        let k = loc.digest_key("111122223333", "eu-west-1", &trail, t);
        assert_eq!(k, "audit/trail/AWSLogs/o-abcdefghij/111122223333/CloudTrail-Digest/eu-west-1/2024/05/01/111122223333_CloudTrail-Digest_eu-west-1_my-trail_us-east-1_20240501T130000Z.json.gz");
        assert_eq!(digest_key_time(&k), Some(t));
    }

    #[test]
    fn injection_attempts_are_rejected() {
        for bad in [
            "../111122223333",
            "11112222333",
            "1111222233334",
            "111122223333/",
            "",
        ] {
            assert!(check_account_id(bad).is_err(), "{bad}");
        }
        for bad in [
            "us-east-1/..",
            "../us-east-1",
            "us-east",
            "US-EAST-1",
            "us--1",
            "-us-east-1",
            "us-east-1 ",
        ] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "ap-southeast-5",
            "eu-isoe-west-1",
        ] {
            assert!(check_region(ok).is_ok(), "{ok}");
        }
        for bad in ["a/../b", "a//b", "./a", "a b", "a\\b", "AWSLogs/x"] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
        assert_eq!(check_prefix("/a/b/").unwrap(), "a/b");
        assert!(check_organization_id("o-../../x").is_err());
        assert!(check_trail_name("../x").is_err());
        assert!(TrailArn::parse("arn:aws:cloudtrail:us-east-1:111122223333:trail/../x").is_err());
    }
}
