//! Metric filters (PutMetricFilter shape, validation, datapoints) and the CIS module.

use std::collections::BTreeMap;
use trailwarden::filter::cis::{self, AlarmSettings, CisFilter, CIS_FILTERS, DEFAULT_NAMESPACE};
use trailwarden::filter::metric::{
    round_to_minute, MetricDatum, MetricFilter, MetricTransformation,
};
use trailwarden::filter::{FilterError, FilterPattern, PatternKind};

fn mf(pattern: &str, value: &str) -> MetricFilter {
    MetricFilter {
        filter_name: "f".into(),
        filter_pattern: pattern.into(),
        metric_transformations: vec![MetricTransformation {
            metric_name: "M".into(),
            metric_namespace: "NS".into(),
            metric_value: value.into(),
            default_value: None,
            dimensions: BTreeMap::new(),
            unit: None,
        }],
        log_group_name: None,
    }
}

fn metric_err(def: &MetricFilter) -> String {
    match def.compile() {
        Ok(_) => panic!("{def:?} should be rejected"),
        Err(e @ FilterError::Metric { .. }) => e.to_string(),
        Err(e) => panic!("unexpected error kind {e:?}"),
    }
}

const T: i64 = 1_700_000_123_456; // 2023-11-14T22:15:23.456Z

#[test]
fn serde_uses_put_metric_filter_names() {
    let json = r#"{
        "filterName": "Latency",
        "filterPattern": "{ $.latency > 0 }",
        "metricTransformations": [{
            "metricName": "LatencyMs", "metricNamespace": "App", "metricValue": "$.latency",
            "unit": "Milliseconds", "dimensions": {"Op": "$.op"}
        }]
    }"#;
    let def: MetricFilter = serde_json::from_str(json).unwrap();
    assert_eq!(def.filter_name, "Latency");
    assert_eq!(
        def.metric_transformations[0]
            .dimensions
            .get("Op")
            .map(String::as_str),
        Some("$.op")
    );
    let back = serde_json::to_value(&def).unwrap();
    for key in ["filterName", "filterPattern", "metricTransformations"] {
        assert!(back.get(key).is_some(), "{key}");
    }
    let t = &back["metricTransformations"][0];
    for key in [
        "metricName",
        "metricNamespace",
        "metricValue",
        "unit",
        "dimensions",
    ] {
        assert!(t.get(key).is_some(), "{key}");
    }
    assert!(t.get("defaultValue").is_none());
    let with_default = r#"{"filterName":"x","filterPattern":"ERROR","metricTransformations":[{"metricName":"E","metricNamespace":"N","metricValue":"1","defaultValue":0}]}"#;
    let c = MetricFilter::from_json(with_default).unwrap();
    assert_eq!(
        c.definition().metric_transformations[0].default_value,
        Some(0.0)
    );
    assert!(MetricFilter::from_json("{\"filterName\":1}")
        .unwrap_err()
        .to_string()
        .contains("definition"));
}

#[test]
fn validation_errors() {
    let ok = mf("{ $.a = 1 }", "1");
    assert!(ok.compile().is_ok());

    let mut d = ok.clone();
    d.filter_name = String::new();
    assert!(metric_err(&d).contains("filterName"));
    d.filter_name = "a:b".into();
    assert!(metric_err(&d).contains("must not contain ':'"));

    let mut d = ok.clone();
    d.filter_pattern = "ERR*".into();
    let e = metric_err(&d);
    assert!(
        e.contains("filterPattern") && e.contains("Invalid character(s) in term '*'"),
        "{e}"
    );

    let mut d = ok.clone();
    d.metric_transformations
        .push(d.metric_transformations[0].clone());
    assert!(metric_err(&d).contains("exactly 1"));
    d.metric_transformations.clear();
    assert!(metric_err(&d).contains("exactly 1"));

    let mut d = ok.clone();
    d.metric_transformations[0].metric_name = "a$b".into();
    assert!(metric_err(&d).contains("metricName"));
    d.metric_transformations[0].metric_name = "x".repeat(256);
    assert!(metric_err(&d).contains("1 to 255"));

    let mut d = ok.clone();
    d.metric_transformations[0].metric_namespace = String::new();
    assert!(metric_err(&d).contains("metricNamespace"));

    let mut d = ok.clone();
    d.metric_transformations[0].unit = Some("Furlongs".into());
    assert!(metric_err(&d).contains("not a CloudWatch standard unit"));
    d.metric_transformations[0].unit = Some("Count/Second".into());
    assert!(d.compile().is_ok());

    // defaultValue and dimensions are mutually exclusive; at most 3 dimensions
    let mut d = ok.clone();
    d.metric_transformations[0].default_value = Some(0.0);
    d.metric_transformations[0]
        .dimensions
        .insert("A".into(), "$.a".into());
    assert!(metric_err(&d).contains("both defaultValue and dimensions"));
    let mut d = ok.clone();
    for k in ["A", "B", "C", "D"] {
        d.metric_transformations[0]
            .dimensions
            .insert(k.into(), "$.a".into());
    }
    assert!(metric_err(&d).contains("at most 3 dimensions"));
    let mut d = ok.clone();
    d.metric_transformations[0].default_value = Some(f64::NAN);
    assert!(metric_err(&d).contains("finite"));

    // metricValue forms must fit the pattern
    assert!(metric_err(&mf("{ $.a = 1 }", "abc")).contains("not a number"));
    assert!(metric_err(&mf("ERROR", "$.a")).contains("not a JSON pattern"));
    assert!(metric_err(&mf("{ $.a = 1 }", "$size")).contains("not space-delimited"));
    assert!(metric_err(&mf("[ip, size]", "$bytes")).contains("not a field of the pattern"));
    assert!(metric_err(&mf("[ip, size]", "$2")).contains("not a field of the pattern"));
    assert!(metric_err(&mf("{ $.a = 1 }", "$.a[*]")).contains("wildcards"));
    assert!(metric_err(&mf("{ $.a = 1 }", "$.a b")).contains("metricValue"));
    assert!(mf("[ip, size]", "$size").compile().is_ok());
    assert!(mf("[ip, ...]", "$2").compile().is_ok());
    assert!(mf("[]", "$7").compile().is_ok());
    assert!(mf("{ $.a = 1 }", "$.b.c[0]").compile().is_ok());
    assert!(mf("ERROR", "2.5").compile().is_ok());
}

#[test]
fn datapoints_for_json_values() {
    let c = mf("{ $.eventName = Put* }", "$.bytes").compile().unwrap();
    let dp = c.datapoints(r#"{"eventName":"PutObject","bytes":1500}"#, T);
    assert_eq!(
        dp,
        vec![MetricDatum {
            namespace: "NS".into(),
            metric_name: "M".into(),
            dimensions: vec![],
            timestamp_ms: 1_700_000_100_000,
            value: 1500.0,
            unit: None,
        }]
    );
    // numeric string accepted; non-number or missing publishes nothing; no default for misses
    assert_eq!(
        c.datapoints(r#"{"eventName":"PutObject","bytes":"2.5"}"#, T)[0].value,
        2.5
    );
    assert!(c
        .datapoints(r#"{"eventName":"PutObject","bytes":"lots"}"#, T)
        .is_empty());
    assert!(c
        .datapoints(r#"{"eventName":"PutObject","bytes":true}"#, T)
        .is_empty());
    assert!(c.datapoints(r#"{"eventName":"PutObject"}"#, T).is_empty());
    assert!(c
        .datapoints(r#"{"eventName":"GetObject","bytes":1}"#, T)
        .is_empty());
    assert!(c.datapoints("not json", T).is_empty());
}

#[test]
fn datapoints_constant_default_and_dimensions() {
    let mut d = mf("ERROR", "1");
    d.metric_transformations[0].default_value = Some(0.0);
    d.metric_transformations[0].unit = Some("Count".into());
    let c = d.compile().unwrap();
    let hit = c.datapoints("an ERROR happened", T);
    assert_eq!((hit[0].value, hit[0].unit.as_deref()), (1.0, Some("Count")));
    let miss = c.datapoints("all good", T);
    assert_eq!(miss.len(), 1);
    assert_eq!(miss[0].value, 0.0);
    assert_eq!(miss[0].timestamp_ms, round_to_minute(T));

    let mut d = mf("{ $.eventSource = * }", "1");
    d.metric_transformations[0]
        .dimensions
        .insert("Source".into(), "$.eventSource".into());
    d.metric_transformations[0]
        .dimensions
        .insert("Region".into(), "$.awsRegion".into());
    let c = d.compile().unwrap();
    let dp = c.datapoints(
        r#"{"eventSource":"s3.amazonaws.com","awsRegion":"eu-west-1"}"#,
        T,
    );
    assert_eq!(
        dp[0].dimensions,
        vec![
            ("Region".to_string(), "eu-west-1".to_string()),
            ("Source".to_string(), "s3.amazonaws.com".to_string())
        ]
    );
    // a missing dimension field publishes nothing
    assert!(c
        .datapoints(r#"{"eventSource":"s3.amazonaws.com"}"#, T)
        .is_empty());
}

#[test]
fn datapoints_for_space_delimited_values() {
    let c = mf("[ip, user, status=5*, size]", "$size")
        .compile()
        .unwrap();
    let dp = c.datapoints("10.0.0.1 bob 503 2048", T);
    assert_eq!(dp[0].value, 2048.0);
    assert!(c.datapoints("10.0.0.1 bob 200 2048", T).is_empty());
    assert!(c.datapoints("10.0.0.1 bob 500 -", T).is_empty());
    let c = mf("[ip, ...]", "$3").compile().unwrap();
    assert_eq!(c.datapoints("a b 7 d", T)[0].value, 7.0);
    let mut d = mf("[ip, user, status, size]", "1");
    d.metric_transformations[0]
        .dimensions
        .insert("Status".into(), "$status".into());
    let c = d.compile().unwrap();
    assert_eq!(
        c.datapoints("1 u 404 0", T)[0].dimensions,
        vec![("Status".to_string(), "404".to_string())]
    );
    // precomputed match (e.g. from a FilterSet)
    let ex = c.pattern().evaluate("1 u 500 0");
    assert_eq!(c.datapoints_matched("1 u 500 0", ex.as_ref(), T).len(), 1);
    assert!(c.datapoints_matched("x", None, T).is_empty());
}

#[test]
fn rounding_to_the_minute() {
    assert_eq!(round_to_minute(0), 0);
    assert_eq!(round_to_minute(59_999), 0);
    assert_eq!(round_to_minute(60_000), 60_000);
    assert_eq!(round_to_minute(T), 1_700_000_100_000);
    assert_eq!(round_to_minute(-1), -60_000);
}

// ---------------------------------------------------------------- CIS

/// The CIS table of filter-patterns.md: (ids, name, pattern) per row.
fn spec_table() -> Option<Vec<(String, String, String)>> {
    let path = std::env::var_os("TRAILWARDEN_REFERENCE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/work/shared/reference".into())
        .join("filter-patterns.md");
    let text = std::fs::read_to_string(path).ok()?;
    let mut rows = Vec::new();
    for line in text.lines() {
        if !(line.starts_with("| CloudWatch.") || line.starts_with("| CIS ")) {
            continue;
        }
        let line = line.replace("\\|\\|", "||");
        let cells: Vec<&str> = line.split(" | ").collect();
        let ids = cells[0].trim_start_matches("| ").to_string();
        let name = cells[1].to_string();
        let pat = cells[2];
        let start = pat.find('`')? + 1;
        let end = start + pat[start..].find('`')?;
        rows.push((ids, name, pat[start..end].to_string()));
    }
    Some(rows)
}

#[test]
fn cis_filters_are_verbatim_from_the_spec() {
    let rows = spec_table().expect("filter-patterns.md");
    assert_eq!(rows.len(), 15);
    assert_eq!(CIS_FILTERS.len(), 15);
    for (f, (ids, name, pat)) in CIS_FILTERS.iter().zip(&rows) {
        let want_ids = match f.security_hub_id {
            Some(sh) => format!("{sh} / CIS {}", f.cis_id),
            None => format!("CIS {}", f.cis_id),
        };
        assert_eq!(&want_ids, ids);
        assert_eq!(f.name, name);
        assert_eq!(f.pattern, pat, "{}", f.name);
    }
}

#[test]
fn cis_filters_parse_and_have_defaults() {
    for (i, f) in CIS_FILTERS.iter().enumerate() {
        let p = FilterPattern::parse(f.pattern).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!(p.kind(), PatternKind::Json);
        assert_eq!(f.compile().as_str(), f.pattern);
        let m = f.metric_filter(DEFAULT_NAMESPACE);
        assert_eq!(m.filter_name, f.name);
        let t = &m.metric_transformations[0];
        assert_eq!(
            (
                t.metric_name.as_str(),
                t.metric_namespace.as_str(),
                t.metric_value.as_str()
            ),
            (f.name, "CISBenchmark", "1")
        );
        assert!(m.compile().is_ok());
        let a = f.alarm(DEFAULT_NAMESPACE);
        assert_eq!(
            a,
            AlarmSettings {
                alarm_name: f.name.into(),
                metric_name: f.name.into(),
                namespace: "CISBenchmark".into(),
                statistic: "Sum".into(),
                period: 300,
                threshold: 1.0,
                comparison_operator: "GreaterThanOrEqualToThreshold".into(),
                evaluation_periods: 1,
                datapoints_to_alarm: 1,
                treat_missing_data: "notBreaching".into(),
            }
        );
        if i < 14 {
            assert_eq!(f.id(), format!("CloudWatch.{}", i + 1));
        }
    }
    assert_eq!(CIS_FILTERS[14].id(), "CIS.4.15");
    assert_eq!(CIS_FILTERS[14].security_hub_id, None);
    // namespace is configurable (Security Hub's remediation uses LogMetrics)
    let ms = cis::metric_filters("LogMetrics");
    assert!(ms
        .iter()
        .all(|m| m.metric_transformations[0].metric_namespace == "LogMetrics"));
    assert!(cis::alarms("LogMetrics")
        .iter()
        .all(|a| a.namespace == "LogMetrics"));
    let json = serde_json::to_value(cis::alarms(DEFAULT_NAMESPACE)[0].clone()).unwrap();
    assert_eq!(json["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
    assert_eq!(json["TreatMissingData"], "notBreaching");
}

#[test]
fn cis_lookup() {
    let by = |s: &str| cis::find(s).map(|f: &CisFilter| f.name);
    assert_eq!(by("CloudWatch.1"), Some("RootAccountUsage"));
    assert_eq!(by("4.3"), Some("RootAccountUsage"));
    assert_eq!(by("CIS 4.1"), Some("UnauthorizedAPICalls"));
    assert_eq!(by("CIS.4.15"), Some("OrganizationsChanges"));
    assert_eq!(by("VPCChanges"), Some("VPCChanges"));
    assert_eq!(by("CloudWatch.15"), None);
    let set = cis::filter_set();
    assert_eq!(set.len(), 15);
    let hits: Vec<usize> = set
        .matching(r#"{"eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com","errorCode":"AccessDenied"}"#)
        .iter()
        .collect();
    assert_eq!(hits, vec![1, 4]);
}

#[test]
fn cis_metric_datapoints_for_a_record() {
    let root = cis::find("CloudWatch.1")
        .unwrap()
        .metric_filter("NS")
        .compile()
        .unwrap();
    let rec = r#"{"eventVersion":"1.08","userIdentity":{"type":"Root","principalId":"123","arn":"arn:aws:iam::123:root"},"eventTime":"2023-07-10T11:42:36Z","eventType":"AwsConsoleSignIn","eventName":"ConsoleLogin"}"#;
    let dp = root.datapoints(rec, 1_688_989_356_000);
    assert_eq!(dp.len(), 1);
    assert_eq!(
        (dp[0].metric_name.as_str(), dp[0].value, dp[0].timestamp_ms),
        ("RootAccountUsage", 1.0, 1_688_989_320_000)
    );
    let service = rec.replace(
        r#""type":"Root","#,
        r#""type":"Root","invokedBy":"signin.amazonaws.com","#,
    );
    assert!(root.datapoints(&service, 0).is_empty());
}
