use super::*;
use crate::alerting::Engine;
use crate::filter::{MatchSet, Scratch};
use crate::store::{MemoryStore, Put};
use chrono::TimeZone;
use serde_json::{json, Value};

fn engine() -> Engine {
    Engine::new(Some("CISBenchmark"), &[], "test").unwrap()
}

fn record(name: &str, time: &str) -> Value {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/mallory",
                         "accountId": "123456789012", "userName": "mallory"},
        "eventTime": time,
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "eventType": "AwsApiCall",
        "recipientAccountId": "123456789012"
    })
}

fn file(records: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "Records": records })).unwrap()
}

fn gz(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 7, 10, h, m, 0).unwrap()
}

fn options(start: DateTime<Utc>, end: DateTime<Utc>) -> ReplayOptions {
    ReplayOptions {
        start: Some(start),
        end: Some(end),
        period_secs: None,
        max_decompressed: 1 << 30,
    }
}

fn filter<'a>(r: &'a ReplayReport, name: &str) -> &'a FilterReplay {
    r.filters.iter().find(|f| f.filter_name == name).unwrap()
}

fn alarm<'a>(r: &'a ReplayReport, name: &str) -> &'a AlarmReplay {
    r.alarms.iter().find(|a| a.alarm_name == name).unwrap()
}

#[test]
fn counts_per_period_and_the_alarm_transitions_in_time() {
    let e = engine();
    let mut replay = Replay::new(&e, options(at(12, 0), at(15, 0))).unwrap();
    // Two trail changes in the 12:00 period, one at 14:20, one before the range; plus noise.
    replay.add_file(
        "a.json.gz",
        &gz(&file(&[
            record("StopLogging", "2023-07-10T12:03:41Z"),
            record("DescribeTrails", "2023-07-10T12:03:50Z"),
            record("DeleteTrail", "2023-07-10T12:04:02Z"),
        ])),
    );
    replay.add_file(
        "b.json",
        &file(&[
            record("UpdateTrail", "2023-07-10T14:20:00Z"),
            record("CreateTrail", "2023-07-10T11:00:00Z"),
        ]),
    );
    let r = replay.finish().unwrap();
    assert_eq!((r.files, r.records, r.records_not_json), (2, 5, 0));
    assert_eq!(
        r.matches_outside_range, 1,
        "the 11:00 CreateTrail is before the range"
    );
    assert_eq!(r.start, "2023-07-10T12:00:00Z");
    assert_eq!(r.end, "2023-07-10T15:00:00Z");

    let f = filter(&r, "CloudTrailChanges");
    assert_eq!(f.period_seconds, 300, "the CIS alarm's period");
    assert_eq!(f.matches, 3);
    assert_eq!(
        f.periods,
        vec![
            PeriodCount {
                start: "2023-07-10T12:00:00Z".into(),
                matches: 2
            },
            PeriodCount {
                start: "2023-07-10T14:20:00Z".into(),
                matches: 1
            },
        ]
    );
    assert_eq!(filter(&r, "RootAccountUsage").matches, 0);
    assert!(filter(&r, "RootAccountUsage").periods.is_empty());

    let a = alarm(&r, "CloudTrailChanges");
    // Evaluated every minute from 12:01 to 15:00.
    assert_eq!(a.evaluations, 180);
    let states: Vec<(&str, AlarmState, bool)> = a
        .transitions
        .iter()
        .map(|t| (t.time.as_str(), t.new_state, t.notifies))
        .collect();
    // The first evaluation finds no data (notBreaching: OK, no alert); the 12:03 datapoint is
    // in the 5-minute period ending at 12:04 (which starts at 11:59: periods end at the
    // evaluation instant), the 14:20 one in the period ending at 14:21.
    assert_eq!(states[0], ("2023-07-10T12:01:00Z", AlarmState::Ok, false));
    assert_eq!(states[1], ("2023-07-10T12:04:00Z", AlarmState::Alarm, true));
    assert_eq!(states[2].1, AlarmState::Ok);
    assert!(states[2].2, "back to OK from ALARM is alerted");
    assert_eq!(states[3], ("2023-07-10T14:21:00Z", AlarmState::Alarm, true));
    assert_eq!(states[4].1, AlarmState::Ok);
    assert_eq!(states.len(), 5);
    assert_eq!(a.final_state, AlarmState::Ok);
    assert!(
        a.transitions[1].reason.starts_with(
            "Threshold Crossed: 1 out of the last 1 datapoints [1.0 (10/07/23 11:59:00)]"
        ),
        "{}",
        a.transitions[1].reason
    );
    // An alarm without any datapoint goes to OK once and stays there.
    let root = alarm(&r, "RootAccountUsage");
    assert_eq!(root.transitions.len(), 1);
    assert_eq!(root.evaluations_in_alarm, 0);

    let text = r.to_text();
    assert!(text.contains("filter CloudTrailChanges (CISBenchmark/CloudTrailChanges): 3 matches, per 300 s period"), "{text}");
    assert!(
        text.contains("  2023-07-10T12:04:00Z  OK -> ALARM (alert)  Threshold Crossed"),
        "{text}"
    );
}

#[test]
fn the_real_records_count_as_the_engine_matches_them() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/cloudtrail/invictus-ir");
    let e = engine();
    let mut replay = Replay::new(
        &e,
        ReplayOptions {
            max_decompressed: 1 << 30,
            ..Default::default()
        },
    )
    .unwrap();
    let mut expected = vec![0usize; e.filters().len()];
    let mut records = 0;
    let mut scratch = Scratch::default();
    let mut m = MatchSet::default();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for p in &paths {
        let body = std::fs::read(p).unwrap();
        replay.add_file(&p.display().to_string(), &body);
        let v: Value = serde_json::from_slice(&body).unwrap();
        for rec in v["Records"].as_array().unwrap() {
            records += 1;
            let text = serde_json::to_vec(rec).unwrap();
            e.set().matches_into(&text, &mut scratch, &mut m);
            for (i, n) in expected.iter_mut().enumerate() {
                if m.contains(i) {
                    *n += 1;
                }
            }
        }
    }
    let r = replay.finish().unwrap();
    assert_eq!(r.files, paths.len());
    assert_eq!(r.records, records);
    assert!(r.bad_inputs.is_empty());
    let got: Vec<usize> = r.filters.iter().map(|f| f.matches).collect();
    assert_eq!(got, expected);
    assert!(
        expected.iter().sum::<usize>() > 0,
        "the invictus-ir records match some CIS filters"
    );
    // Without a range: from the hour of the first match to the hour after the last.
    assert!(r.start.ends_with(":00:00Z") && r.end.ends_with(":00:00Z"));
    assert_eq!(r.matches_outside_range, 0);
    // Every filter with matches has an alarm that went to ALARM at least once.
    for (f, a) in r.filters.iter().zip(&r.alarms) {
        assert_eq!(f.metric_name, a.alarm_name);
        assert_eq!(
            f.matches > 0,
            a.evaluations_in_alarm > 0,
            "{}",
            f.filter_name
        );
    }
}

#[test]
fn bad_files_are_reported_and_the_others_counted() {
    let e = engine();
    let mut replay = Replay::new(&e, options(at(12, 0), at(13, 0))).unwrap();
    let good = gz(&file(&[record("StopLogging", "2023-07-10T12:03:41Z")]));
    replay.add_file("truncated.json.gz", &good[..good.len() / 2]);
    replay.add_file("not-json.json", b"{\"Records\": [ nope");
    replay.add_file("good.json.gz", &good);
    let r = replay.finish().unwrap();
    assert_eq!(r.files, 3);
    assert_eq!(r.bad_inputs.len(), 2, "{:?}", r.bad_inputs);
    assert_eq!(r.bad_inputs[0].source, "truncated.json.gz");
    assert_eq!(r.bad_inputs[1].source, "not-json.json");
    assert_eq!(filter(&r, "CloudTrailChanges").matches, 1);
    assert!(r.to_text().contains("skipped truncated.json.gz: "));
}

#[test]
fn invalid_options_are_refused_with_the_reason() {
    let e = engine();
    let err = Replay::new(&e, options(at(13, 0), at(12, 0)))
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("is not before --end-time"),
        "{err}"
    );
    let mut o = options(at(12, 0), at(13, 0));
    o.period_secs = Some(90);
    let err = Replay::new(&e, o).err().unwrap();
    assert!(
        err.to_string().contains("multiple of 60 seconds (got 90)"),
        "{err}"
    );
    // Nothing matched and no range given: nothing to evaluate over.
    let mut r = Replay::new(
        &e,
        ReplayOptions {
            max_decompressed: 1 << 20,
            ..Default::default()
        },
    )
    .unwrap();
    r.add_file(
        "a.json",
        &file(&[record("DescribeTrails", "2023-07-10T12:03:41Z")]),
    );
    let err = r.finish().err().unwrap();
    assert!(
        err.to_string().contains("give --start-time and --end-time"),
        "{err}"
    );
}

#[test]
fn a_period_option_regroups_the_counts() {
    let e = engine();
    let mut o = options(at(12, 0), at(13, 0));
    o.period_secs = Some(3600);
    let mut replay = Replay::new(&e, o).unwrap();
    replay.add_file(
        "a.json",
        &file(&[
            record("StopLogging", "2023-07-10T12:03:41Z"),
            record("DeleteTrail", "2023-07-10T12:44:02Z"),
        ]),
    );
    let r = replay.finish().unwrap();
    let f = filter(&r, "CloudTrailChanges");
    assert_eq!(f.period_seconds, 3600);
    assert_eq!(
        f.periods,
        vec![PeriodCount {
            start: "2023-07-10T12:00:00Z".into(),
            matches: 2
        }]
    );
}

#[tokio::test]
async fn a_store_prefix_is_read_without_digests_and_outside_the_range() {
    let store = MemoryStore::default();
    let prefix = "AWSLogs/123456789012/CloudTrail/us-east-1/2023/07/10/";
    let put = |body: Vec<u8>| Put {
        body,
        ..Put::default()
    };
    let logs = [
        (
            "123456789012_CloudTrail_us-east-1_20230710T1205Z_aaaaaaaaaaaaaaaa.json.gz",
            "2023-07-10T12:03:41Z",
        ),
        (
            "123456789012_CloudTrail_us-east-1_20230710T1210Z_bbbbbbbbbbbbbbbb.json.gz",
            "2023-07-10T12:06:00Z",
        ),
        // Delivered long before the range: not read.
        (
            "123456789012_CloudTrail_us-east-1_20230710T0105Z_cccccccccccccccc.json.gz",
            "2023-07-10T01:03:00Z",
        ),
    ];
    for (k, t) in logs {
        store
            .put(
                "b",
                &format!("{prefix}{k}"),
                put(gz(&file(&[record("StopLogging", t)]))),
            )
            .await
            .unwrap();
    }
    store
        .put(
            "b",
            "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2023/07/10/123456789012_CloudTrail-Digest_us-east-1_trail_us-east-1_20230710T130000Z.json.gz",
            put(gz(b"{}")),
        )
        .await
        .unwrap();
    let e = engine();
    let mut replay = Replay::new(&e, options(at(12, 0), at(13, 0))).unwrap();
    replay
        .add_store_prefix(&store, "b", "AWSLogs/")
        .await
        .unwrap();
    let r = replay.finish().unwrap();
    assert_eq!(r.files, 2);
    assert_eq!(r.records, 2);
    assert_eq!(filter(&r, "CloudTrailChanges").matches, 2);
    assert!(r.bad_inputs.is_empty());
}
