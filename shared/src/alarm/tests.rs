use super::*;
use crate::store::{Listed, MemoryStore, Object};
use async_trait::async_trait;
use chrono::TimeZone;
use std::sync::atomic::{AtomicUsize, Ordering};
use AlarmState::{Alarm, InsufficientData, Ok as OK};

fn def(n: u32, m: u32, tmd: TreatMissingData) -> AlarmDefinition {
    AlarmDefinition {
        name: "TestAlarm".into(),
        description: None,
        metric: MetricId::new("NS", "M", Vec::new()),
        statistic: Statistic::Sum,
        period: 300,
        evaluation_periods: n,
        datapoints_to_alarm: m,
        threshold: 1.0,
        comparison_operator: ComparisonOperator::GreaterThanOrEqualToThreshold,
        treat_missing_data: tmd,
    }
}

/// The evaluation range written oldest first, as in CloudWatch's documentation ("0 - X - X":
/// 0 = not breaching, X = breaching, - = missing), returned newest first.
fn range(s: &str) -> Vec<(i64, Option<f64>)> {
    let v: Vec<Option<f64>> = s
        .split_whitespace()
        .map(|c| match c {
            "0" => Some(0.0),
            "X" => Some(5.0),
            "-" => None,
            other => panic!("bad cell {other}"),
        })
        .collect();
    let n = v.len() as i64;
    v.into_iter()
        .enumerate()
        .map(|(i, x)| ((n - 1 - i as i64) * -300_000, x))
        .rev()
        .collect()
}

const MODES: [TreatMissingData; 4] = [
    TreatMissingData::Missing,
    TreatMissingData::Ignore,
    TreatMissingData::Breaching,
    TreatMissingData::NotBreaching,
];

#[test]
fn documented_missing_data_table() {
    // CloudWatch's table: Evaluation Periods 3, Datapoints to Alarm 3, a range of 5 periods.
    // Columns: MISSING, IGNORE, BREACHING, NOT BREACHING (None = retain the current state).
    let table: [(&str, [Option<AlarmState>; 4]); 5] = [
        ("0 - X - X", [Some(OK), Some(OK), Some(OK), Some(OK)]),
        ("- - - - 0", [Some(OK), Some(OK), Some(OK), Some(OK)]),
        (
            "- - - - -",
            [Some(InsufficientData), None, Some(Alarm), Some(OK)],
        ),
        (
            "0 X X - X",
            [Some(Alarm), Some(Alarm), Some(Alarm), Some(Alarm)],
        ),
        ("- - X - -", [Some(Alarm), None, Some(Alarm), Some(OK)]),
    ];
    for (cells, want) in table {
        for (mode, want) in MODES.iter().zip(want) {
            let d = def(3, 3, *mode);
            for current in [OK, Alarm, InsufficientData] {
                let got = d.evaluate_periods(&range(cells), 0, current).state;
                assert_eq!(
                    got,
                    want.unwrap_or(current),
                    "{cells} {mode} from {current}"
                );
            }
        }
    }
}

#[test]
fn every_comparison_operator() {
    use ComparisonOperator::*;
    let cases = [
        (GreaterThanOrEqualToThreshold, [false, true, true]),
        (GreaterThanThreshold, [false, false, true]),
        (LessThanThreshold, [true, false, false]),
        (LessThanOrEqualToThreshold, [true, true, false]),
    ];
    for (op, want) in cases {
        for (v, w) in [0.5, 1.0, 1.5].into_iter().zip(want) {
            assert_eq!(op.breaches(v, 1.0), w, "{op} {v}");
            let mut d = def(1, 1, TreatMissingData::Missing);
            d.comparison_operator = op;
            let e = d.evaluate_periods(&[(0, Some(v)), (-1, None), (-2, None)], 0, OK);
            assert_eq!(e.state, if w { Alarm } else { OK }, "{op} {v}");
        }
        assert_eq!(ComparisonOperator::parse(op.as_str()), Some(op));
    }
    assert_eq!(ComparisonOperator::parse("GreaterThan"), None);
}

#[test]
fn m_of_n_need_not_be_consecutive() {
    let d = def(5, 3, TreatMissingData::Missing);
    assert_eq!(
        d.evaluate_periods(&range("- - X 0 X 0 X"), 0, OK).state,
        Alarm
    );
    assert_eq!(d.evaluate_periods(&range("- - X 0 0 0 X"), 0, OK).state, OK);
    assert_eq!(
        d.evaluate_periods(&range("- - 0 X X X 0"), 0, OK).state,
        Alarm
    );
    // Only the N most recent real datapoints count: older breaching ones do not.
    assert_eq!(
        d.evaluate_periods(&range("X X 0 0 0 0 0"), 0, Alarm).state,
        OK
    );
    // 2 of 2 vs 1 of 2
    let d2 = def(2, 2, TreatMissingData::NotBreaching);
    assert_eq!(d2.evaluate_periods(&range("- - 0 X"), 0, OK).state, OK);
    let d1 = def(2, 1, TreatMissingData::NotBreaching);
    assert_eq!(d1.evaluate_periods(&range("- - 0 X"), 0, OK).state, Alarm);
}

#[test]
fn partial_data_fills_missing_as_few_times_as_possible() {
    // N=3, M=2, one real breaching datapoint: breaching fills two (3 >= 2), notBreaching fills
    // two good ones (1 < 2), missing goes by the real one and the premature rule.
    let cells = "- - - - X";
    let e = def(3, 2, TreatMissingData::Breaching).evaluate_periods(&range(cells), 0, OK);
    assert_eq!(e.state, Alarm);
    assert!(matches!(
        e.basis,
        Basis::Datapoints {
            filled: 2,
            filled_breaching: true,
            ..
        }
    ));
    let e = def(3, 2, TreatMissingData::NotBreaching).evaluate_periods(&range(cells), 0, OK);
    assert_eq!(e.state, OK);
    // The newest datapoint breaching, 1 period old < M=2: not premature, 1 < 2 real breaching.
    assert_eq!(
        def(3, 2, TreatMissingData::Missing)
            .evaluate_periods(&range(cells), 0, InsufficientData)
            .state,
        OK
    );
    // 2 periods old and nothing newer but missing: premature ALARM (ignore keeps the state).
    assert_eq!(
        def(3, 2, TreatMissingData::Missing)
            .evaluate_periods(&range("- - - X -"), 0, OK)
            .state,
        Alarm
    );
    assert_eq!(
        def(3, 2, TreatMissingData::Ignore)
            .evaluate_periods(&range("- - - X -"), 0, OK)
            .state,
        OK
    );
    // A good datapoint newer than the breaching one stops the premature rule.
    assert_eq!(
        def(3, 2, TreatMissingData::Missing)
            .evaluate_periods(&range("- - X 0 -"), 0, OK)
            .state,
        OK
    );
}

fn minute(ms: i64, values: &[f64]) -> (i64, Aggregate) {
    (ms, Aggregate::of_all(values).unwrap())
}

#[test]
fn statistics_over_minutes_of_a_period() {
    // Period 300 s ending at 600 000 covers minutes 300 000 .. 540 000.
    let minutes: BTreeMap<i64, Aggregate> = [
        minute(300_000, &[1.0, 4.0]),
        minute(360_000, &[2.0]),
        minute(540_000, &[7.0]),
        minute(600_000, &[100.0]), // next period
        minute(240_000, &[100.0]), // previous period
    ]
    .into();
    let cases = [
        (Statistic::Sum, 14.0),
        (Statistic::SampleCount, 4.0),
        (Statistic::Average, 3.5),
        (Statistic::Minimum, 1.0),
        (Statistic::Maximum, 7.0),
    ];
    for (s, want) in cases {
        let mut d = def(1, 1, TreatMissingData::Missing);
        d.statistic = s;
        let p = d.periods(&minutes, 600_000);
        assert_eq!(p[0], (300_000, Some(want)), "{s}");
        let older = if s == Statistic::SampleCount {
            1.0
        } else {
            100.0
        };
        assert_eq!(p[1], (0, Some(older)), "{s}");
        assert_eq!(p.len(), 3);
        assert_eq!(Statistic::parse(s.as_str()), Some(s));
    }
    assert_eq!(Statistic::SampleCount.upper(), "SAMPLE_COUNT");
    assert_eq!(Statistic::Sum.upper(), "SUM");
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 7, 10, h, m, 0).unwrap()
}

fn data(source: &str, points: &[(DateTime<Utc>, f64)]) -> NewData {
    let mut minutes = BTreeMap::new();
    for (t, v) in points {
        minutes
            .entry(t.timestamp_millis())
            .and_modify(|a: &mut Aggregate| a.add(*v))
            .or_insert(Aggregate::of(*v));
    }
    NewData {
        source: source.into(),
        minutes,
    }
}

#[test]
fn new_alarm_starts_insufficient_and_moves_without_notifying() {
    let mut rec = AlarmRecord::new("A");
    assert_eq!(rec.state_value, InsufficientData);
    let d = def(1, 1, TreatMissingData::Missing);
    let adv = advance(&d, &mut rec, &[], at(12, 0));
    assert!(adv.transitions.is_empty(), "{:?}", adv.transitions);
    assert!(!adv.changed);
    assert_eq!(rec.state_value, InsufficientData);

    let d = def(1, 1, TreatMissingData::NotBreaching);
    let adv = advance(&d, &mut rec, &[], at(12, 0));
    assert_eq!(adv.transitions.len(), 1);
    let t = &adv.transitions[0];
    assert_eq!((t.old_state, t.new_state), (InsufficientData, OK));
    assert!(!t.notifies(), "INSUFFICIENT_DATA -> OK is not an alert");
    assert_eq!(
        t.reason,
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching]."
    );
    // Nothing changes: no transition, nothing to write.
    let adv = advance(&d, &mut rec, &[], at(12, 5));
    assert!(adv.transitions.is_empty());
    assert!(!adv.changed);
}

#[test]
fn actions_fire_on_transitions_only() {
    let d = def(1, 1, TreatMissingData::NotBreaching);
    let mut rec = AlarmRecord::new("A");
    advance(&d, &mut rec, &[], at(12, 0));
    assert_eq!(rec.state_value, OK);
    // A match at 12:03, seen at 12:04: ALARM.
    let adv = advance(&d, &mut rec, &[data("f1", &[(at(12, 3), 1.0)])], at(12, 4));
    let states: Vec<_> = adv.transitions.iter().map(|t| t.new_state).collect();
    assert_eq!(states, vec![Alarm]);
    assert!(adv.transitions[0].notifies());
    assert_eq!(
        adv.transitions[0].reason,
        "Threshold Crossed: 1 out of the last 1 datapoints [1.0 (10/07/23 11:59:00)] was greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
    );
    // Another match while in ALARM: no new transition, so no second alert.
    let adv = advance(&d, &mut rec, &[data("f2", &[(at(12, 5), 1.0)])], at(12, 6));
    assert!(adv.transitions.is_empty(), "{:?}", adv.transitions);
    assert!(adv.changed, "the datapoints are recorded");
    assert_eq!(rec.state_value, Alarm);
    // Still within the evaluation range (N + 2 periods): stays ALARM.
    let adv = advance(&d, &mut rec, &[], at(12, 15));
    assert!(adv.transitions.is_empty());
    // Later: back to OK, which notifies.
    let adv = advance(&d, &mut rec, &[], at(12, 30));
    assert_eq!(adv.transitions.len(), 1);
    let t = &adv.transitions[0];
    assert_eq!((t.old_state, t.new_state), (Alarm, OK));
    assert!(t.notifies());
    assert!(advance(&d, &mut rec, &[], at(12, 45))
        .transitions
        .is_empty());
}

#[test]
fn late_files_are_replayed_at_the_times_cloudwatch_would_have_evaluated() {
    // A StopLogging at 12:03 arrives two hours late: the alarm still fires (then recovers).
    let d = def(1, 1, TreatMissingData::NotBreaching);
    let mut rec = AlarmRecord::new("A");
    advance(&d, &mut rec, &[], at(12, 0));
    let adv = advance(
        &d,
        &mut rec,
        &[data("late", &[(at(12, 3), 1.0)])],
        at(14, 30),
    );
    let seq: Vec<_> = adv
        .transitions
        .iter()
        .map(|t| (t.old_state, t.new_state))
        .collect();
    assert_eq!(seq, vec![(OK, Alarm), (Alarm, OK)]);
    assert_eq!(
        adv.transitions[0].evaluated_at_ms,
        at(12, 4).timestamp_millis()
    );
    assert_eq!(rec.state_value, OK);
    // Old datapoints are pruned; the source is remembered.
    assert!(rec.datapoints.is_empty());
    assert_eq!(rec.sources, ["late"]);

    // Sliding periods: 3 matches in 4 minutes with threshold 3 over 5 minutes alarm even
    // though no 5-minute-aligned period holds all three.
    let mut d3 = def(1, 1, TreatMissingData::NotBreaching);
    d3.threshold = 3.0;
    let mut rec = AlarmRecord::new("B");
    let pts = [(at(12, 4), 1.0), (at(12, 6), 1.0), (at(12, 7), 1.0)];
    let adv = advance(&d3, &mut rec, &[data("s", &pts)], at(14, 0));
    assert_eq!(adv.transitions[1].new_state, Alarm, "{:?}", adv.transitions);
    assert_eq!(
        adv.transitions[1].evaluated_at_ms,
        at(12, 8).timestamp_millis()
    );
}

#[test]
fn a_source_is_counted_once() {
    let d = def(1, 1, TreatMissingData::NotBreaching);
    let mut rec = AlarmRecord::new("A");
    let f = data("s3://b/k#etag", &[(at(12, 3), 1.0)]);
    let first = advance(&d, &mut rec, std::slice::from_ref(&f), at(12, 4));
    assert_eq!(first.counted, ["s3://b/k#etag"]);
    assert_eq!(first.transitions.len(), 1, "INSUFFICIENT_DATA -> ALARM");
    let again = advance(&d, &mut rec, &[f], at(12, 5));
    assert_eq!(again.duplicates, ["s3://b/k#etag"]);
    assert!(again.counted.is_empty());
    assert!(again.transitions.is_empty());
    assert!(!again.changed);
    assert_eq!(rec.datapoints.values().map(|a| a.sum).sum::<f64>(), 1.0);
}

#[test]
fn reasons_read_like_cloudwatch() {
    assert_eq!(java_double(2.0), "2.0");
    assert_eq!(java_double(1.5), "1.5");
    assert_eq!(java_double(0.0), "0.0");
    assert_eq!(java_double(-3.0), "-3.0");
    assert_eq!(java_double(1e7), "1.0E7");
    assert_eq!(java_double(1.5e-5), "1.5E-5");
    assert_eq!(
        reason_time(at(1, 55).timestamp_millis()),
        "10/07/23 01:55:00"
    );
    let mut d = def(3, 2, TreatMissingData::Missing);
    d.comparison_operator = ComparisonOperator::GreaterThanThreshold;
    d.threshold = 10.0;
    let p = vec![
        (at(1, 55).timestamp_millis(), Some(12.0)),
        (at(1, 50).timestamp_millis(), Some(3.0)),
        (at(1, 45).timestamp_millis(), Some(11.5)),
        (at(1, 40).timestamp_millis(), None),
        (at(1, 35).timestamp_millis(), None),
    ];
    let e = d.evaluate_periods(&p, 0, OK);
    assert_eq!(e.state, Alarm);
    assert_eq!(
        e.reason(&d, OK),
        "Threshold Crossed: 2 out of the last 3 datapoints [12.0 (10/07/23 01:55:00), 11.5 (10/07/23 01:45:00)] were greater than the threshold (10.0) (minimum 2 datapoints for OK -> ALARM transition)."
    );
    let mut p2 = p.clone();
    p2[0].1 = Some(1.0);
    let e = d.evaluate_periods(&p2, 0, Alarm);
    assert_eq!(e.state, OK);
    assert_eq!(
        e.reason(&d, Alarm),
        "Threshold Crossed: 2 out of the last 3 datapoints [1.0 (10/07/23 01:55:00), 3.0 (10/07/23 01:50:00)] were not greater than the threshold (10.0) (minimum 2 datapoints for ALARM -> OK transition)."
    );
    let e = def(1, 1, TreatMissingData::Missing).evaluate_periods(&range("- - -"), 0, OK);
    assert_eq!(
        e.reason(&d, OK),
        "Insufficient Data: 3 datapoints were unknown."
    );
}

#[test]
fn invalid_definitions_are_rejected_with_the_field() {
    let ok = def(2, 1, TreatMissingData::Missing);
    ok.validate().unwrap();
    let bad = |f: &dyn Fn(&mut AlarmDefinition), field: &str| {
        let mut d = ok.clone();
        f(&mut d);
        match d.validate() {
            Err(AlarmError::Invalid { field: got, .. }) => assert_eq!(got, field),
            other => panic!("{field}: {other:?}"),
        }
    };
    bad(&|d| d.period = 45, "Period");
    bad(&|d| d.period = 0, "Period");
    bad(&|d| d.period = 90, "Period");
    bad(&|d| d.evaluation_periods = 0, "EvaluationPeriods");
    bad(&|d| d.datapoints_to_alarm = 3, "DatapointsToAlarm");
    bad(&|d| d.datapoints_to_alarm = 0, "DatapointsToAlarm");
    bad(&|d| d.threshold = f64::NAN, "Threshold");
    bad(&|d| d.name = String::new(), "AlarmName");
    bad(
        &|d| {
            d.period = 3600;
            d.evaluation_periods = 25;
        },
        "Period x EvaluationPeriods",
    );
    for p in [10, 20, 30, 60, 120, 86_400] {
        let mut d = def(1, 1, TreatMissingData::Missing);
        d.period = p;
        d.validate().unwrap();
    }
    let mut s = crate::filter::cis::CIS_FILTERS[0].alarm("CISBenchmark");
    let d = AlarmDefinition::from_settings(&s, None).unwrap();
    assert_eq!(d.statistic, Statistic::Sum);
    assert_eq!(d.treat_missing_data, TreatMissingData::NotBreaching);
    s.comparison_operator = "GreaterThan".into();
    let e = AlarmDefinition::from_settings(&s, None).unwrap_err();
    assert!(
        e.to_string().contains("GreaterThanOrEqualToThreshold"),
        "{e}"
    );
}

#[test]
fn sub_minute_periods_evaluate_at_their_own_step() {
    let mut d = def(1, 1, TreatMissingData::Missing);
    d.period = 10;
    let touched: BTreeSet<i64> = [at(12, 0).timestamp_millis()].into();
    let instants = d.replay_instants(&touched, at(13, 0).timestamp_millis());
    assert_eq!(instants[0], at(12, 0).timestamp_millis() + 10_000);
    let mut rec = AlarmRecord::new("A");
    let adv = advance(&d, &mut rec, &[data("x", &[(at(12, 0), 1.0)])], at(13, 0));
    let seq: Vec<_> = adv.transitions.iter().map(|t| t.new_state).collect();
    assert_eq!(seq, vec![Alarm, InsufficientData]);
}

#[test]
fn state_keys_stay_under_the_prefix() {
    assert_eq!(
        state_key("trailwarden-state/alarms/", "RootAccountUsage"),
        "trailwarden-state/alarms/RootAccountUsage.json"
    );
    assert_eq!(state_key("p/", "../a b/c"), "p/.%2E%2Fa%20b%2Fc.json");
    assert_eq!(state_key("p/", "é"), "p/%C3%A9.json");
}

#[test]
fn state_round_trips_as_json() {
    let d = def(1, 1, TreatMissingData::NotBreaching);
    let mut rec = AlarmRecord::new("A");
    advance(&d, &mut rec, &[data("s", &[(at(12, 3), 2.0)])], at(12, 4));
    let text = serde_json::to_string(&rec).unwrap();
    assert!(text.contains("\"stateValue\":\"ALARM\""), "{text}");
    let back: AlarmRecord = serde_json::from_str(&text).unwrap();
    assert_eq!(back, rec);
}

/// Lets both of the first two readers read before either writes.
struct Interleaved {
    inner: MemoryStore,
    barrier: tokio::sync::Barrier,
    gets: AtomicUsize,
    puts: AtomicUsize,
}

#[async_trait]
impl ObjectStore for Interleaved {
    async fn put(&self, bucket: &str, key: &str, put: Put) -> Result<Option<String>, StoreError> {
        self.puts.fetch_add(1, Ordering::SeqCst);
        self.inner.put(bucket, key, put).await
    }
    async fn get(&self, bucket: &str, key: &str) -> Result<Object, StoreError> {
        let r = self.inner.get(bucket, key).await;
        if self.gets.fetch_add(1, Ordering::SeqCst) < 2 {
            self.barrier.wait().await;
        }
        r
    }
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
    ) -> Result<Vec<Listed>, StoreError> {
        self.inner.list(bucket, prefix, start_after).await
    }
    async fn list_dirs(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list_dirs(bucket, prefix).await
    }
}

#[tokio::test]
async fn two_concurrent_updates_lose_nothing() {
    for existing in [false, true] {
        let store = Interleaved {
            inner: MemoryStore::new(),
            barrier: tokio::sync::Barrier::new(2),
            gets: AtomicUsize::new(0),
            puts: AtomicUsize::new(0),
        };
        let d = def(1, 1, TreatMissingData::NotBreaching);
        let key = state_key(DEFAULT_STATE_PREFIX, &d.name);
        if existing {
            // The second round starts from a state object (If-Match path).
            store
                .inner
                .put(
                    "b",
                    &key,
                    Put {
                        body: serde_json::to_vec(&AlarmRecord::new(&d.name)).unwrap(),
                        ..Put::default()
                    },
                )
                .await
                .unwrap();
        }
        let now = at(12, 10);
        let a = [data("file-a", &[(at(12, 3), 1.0)])];
        let b = [data("file-b", &[(at(12, 4), 2.0)])];
        let (ra, rb) = tokio::join!(
            update_alarm(&store, "b", &key, &d, &a, now),
            update_alarm(&store, "b", &key, &d, &b, now)
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert!(ra.written && rb.written);
        assert_eq!(
            ra.conflicts + rb.conflicts,
            1,
            "exactly one writer had to retry"
        );
        assert_eq!(store.puts.load(Ordering::SeqCst), 3);
        let stored: AlarmRecord =
            serde_json::from_slice(&store.inner.get("b", &key).await.unwrap().body).unwrap();
        assert_eq!(stored.sources.len(), 2, "{stored:?}");
        assert!(stored.sources.contains(&"file-a".to_string()));
        assert!(stored.sources.contains(&"file-b".to_string()));
        let sum: f64 = stored.datapoints.values().map(|a| a.sum).sum();
        assert_eq!(sum, 3.0);
        assert_eq!(stored.state_value, Alarm);
        // The ALARM transition is reported once in all.
        let alarms = ra
            .transitions
            .iter()
            .chain(&rb.transitions)
            .filter(|t| t.new_state == Alarm)
            .count();
        assert_eq!(alarms, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_updates_lose_nothing() {
    let store = std::sync::Arc::new(MemoryStore::new());
    let d = std::sync::Arc::new(def(1, 1, TreatMissingData::NotBreaching));
    let key = state_key(DEFAULT_STATE_PREFIX, &d.name);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, d, key) = (store.clone(), d.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let new = [data(&format!("src-{i}"), &[(at(12, 3), 1.0)])];
            update_alarm(store.as_ref(), "b", &key, &d, &new, at(12, 5)).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let stored: AlarmRecord =
        serde_json::from_slice(&store.get("b", &key).await.unwrap().body).unwrap();
    assert_eq!(stored.sources.len(), 8);
    assert_eq!(stored.datapoints.values().map(|a| a.sum).sum::<f64>(), 8.0);
}

#[tokio::test]
async fn unreadable_state_is_reset_not_fatal() {
    let store = MemoryStore::new();
    let d = def(1, 1, TreatMissingData::NotBreaching);
    let key = state_key(DEFAULT_STATE_PREFIX, &d.name);
    store
        .put(
            "b",
            &key,
            Put {
                body: b"{not json".to_vec(),
                ..Put::default()
            },
        )
        .await
        .unwrap();
    let u = update_alarm(&store, "b", &key, &d, &[], at(12, 0))
        .await
        .unwrap();
    assert!(u.reset && u.written);
    let stored: AlarmRecord =
        serde_json::from_slice(&store.get("b", &key).await.unwrap().body).unwrap();
    assert_eq!(stored.state_value, OK);
}
