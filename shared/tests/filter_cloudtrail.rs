//! The 15 CIS filters over the real CloudTrail records in /work/shared/data/cloudtrail, checked
//! against independent oracles: `jq` with ../bench/cis.jq (CloudWatch semantics for `!=` and
//! `NOT EXISTS`), per record and per filter, plus hand-written serde_json predicates.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::path::{Path, PathBuf};
use trailwarden::filter::{cis, FilterSet, Scratch};

fn data_dir() -> PathBuf {
    std::env::var_os("TRAILWARDEN_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/data"))
        .join("cloudtrail")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v
}

struct Source {
    name: &'static str,
    records: Vec<String>,
    /// for panther: the `rule` label of each record
    labels: Vec<String>,
}

fn load() -> Vec<Source> {
    let d = data_dir();
    let mut out = Vec::new();

    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "Records")]
        records: Vec<Box<RawValue>>,
    }
    let mut inv = Vec::new();
    for f in json_files(&d.join("invictus-ir")) {
        let text = std::fs::read_to_string(&f).unwrap();
        let env: Envelope = serde_json::from_str(&text).unwrap();
        inv.extend(env.records.into_iter().map(|r| r.get().to_string()));
    }
    out.push(Source {
        name: "invictus-ir",
        records: inv,
        labels: Vec::new(),
    });

    let mut st = Vec::new();
    for f in json_files(&d.join("stratus-red-team")) {
        let text = std::fs::read_to_string(&f).unwrap();
        let arr: Vec<Box<RawValue>> = serde_json::from_str(&text).unwrap();
        st.extend(arr.into_iter().map(|r| r.get().to_string()));
    }
    out.push(Source {
        name: "stratus-red-team",
        records: st,
        labels: Vec::new(),
    });

    let mut ot = Vec::new();
    for f in json_files(&d.join("otrf")) {
        let text = std::fs::read_to_string(&f).unwrap();
        ot.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string),
        );
    }
    out.push(Source {
        name: "otrf",
        records: ot,
        labels: Vec::new(),
    });

    #[derive(Deserialize)]
    struct Labelled {
        rule: String,
        record: Box<RawValue>,
    }
    let text =
        std::fs::read_to_string(d.join("panther-labelled/panther_aws_cloudtrail_rule_tests.json"))
            .unwrap();
    let arr: Vec<Labelled> = serde_json::from_str(&text).unwrap();
    out.push(Source {
        name: "panther-labelled",
        labels: arr.iter().map(|l| l.rule.clone()).collect(),
        records: arr
            .into_iter()
            .map(|l| l.record.get().to_string())
            .collect(),
    });
    out
}

/// Per record, which of the 15 filters match (bit i = CIS_FILTERS[i]).
fn evaluate(set: &FilterSet, records: &[String]) -> Vec<u16> {
    let mut scratch = Scratch::default();
    let mut m = Default::default();
    records
        .iter()
        .map(|r| {
            set.matches_into(r.as_bytes(), &mut scratch, &mut m);
            m.iter().fold(0u16, |acc, i| acc | (1 << i))
        })
        .collect()
}

fn counts(bits: &[u16]) -> [usize; 15] {
    let mut c = [0; 15];
    for b in bits {
        for (i, n) in c.iter_mut().enumerate() {
            if b & (1 << i) != 0 {
                *n += 1;
            }
        }
    }
    c
}

/// Counts measured with `jq -n -f /work/shared/bench/cis.jq` on NDJSON of the same records
/// (CloudWatch.1..14, CIS 4.15 order).
const JQ_COUNTS: [(&str, usize, [usize; 15]); 4] = [
    (
        "invictus-ir",
        2900,
        [0, 60, 1, 26, 13, 0, 0, 6, 0, 8, 0, 15, 40, 16, 1],
    ),
    (
        "stratus-red-team",
        310,
        [0, 51, 1, 2, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
    ),
    ("otrf", 103, [0; 15]),
    (
        "panther-labelled",
        453,
        [12, 37, 4, 14, 8, 1, 4, 15, 6, 7, 6, 2, 2, 2, 1],
    ),
];

#[test]
fn cis_counts_match_jq_reference_counts() {
    let set = cis::filter_set();
    for src in load() {
        let bits = evaluate(&set, &src.records);
        let (_, n, want) = JQ_COUNTS
            .iter()
            .find(|(name, _, _)| *name == src.name)
            .unwrap();
        assert_eq!(src.records.len(), *n, "{}", src.name);
        assert_eq!(counts(&bits), *want, "{}", src.name);
    }
}

/// Runs jq with the definitions of cis.jq and a per-record driver; returns the bit sets.
fn jq_per_record(records: &[String]) -> Option<Vec<u16>> {
    let cis_jq = std::fs::read_to_string(data_dir().join("../../bench/cis.jq")).ok()?;
    let defs = &cis_jq[..cis_jq.find("def b(f)")?];
    let program = format!("{defs}\ninputs | [f1,f2,f3,f4,f5,f6,f7,f8,f9,f10,f11,f12,f13,f14,f15] | map(if . then \"1\" else \"0\" end) | join(\"\")");
    let dir = std::env::temp_dir().join(format!("tw-filter-jq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let input = dir.join("records.ndjson");
    std::fs::write(&input, records.join("\n")).ok()?;
    let prog = dir.join("per_record.jq");
    std::fs::write(&prog, program).ok()?;
    let out = std::process::Command::new("jq")
        .arg("-n")
        .arg("-r")
        .arg("-f")
        .arg(&prog)
        .arg(&input)
        .output()
        .ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    if !out.status.success() {
        panic!("jq failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8(out.stdout).ok()?;
    Some(
        text.lines()
            .map(|l| {
                l.bytes().enumerate().fold(
                    0u16,
                    |acc, (i, c)| if c == b'1' { acc | (1 << i) } else { acc },
                )
            })
            .collect(),
    )
}

#[test]
fn cis_agrees_with_jq_per_record() {
    let set = cis::filter_set();
    let mut checked = 0;
    for src in load() {
        let ours = evaluate(&set, &src.records);
        let Some(theirs) = jq_per_record(&src.records) else {
            eprintln!("jq not available: per-record cross-check skipped");
            return;
        };
        assert_eq!(ours.len(), theirs.len(), "{}", src.name);
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(
                a, b,
                "{} record {i} ({}): ours {a:015b} jq {b:015b}",
                src.name, &src.records[i]
            );
        }
        checked += ours.len();
    }
    assert_eq!(checked, 3766);
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for k in path {
        cur = cur.as_object()?.get(*k)?;
    }
    Some(cur)
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(v, path).and_then(Value::as_str)
}

#[test]
fn cis_fire_where_they_should_and_nowhere_else() {
    let set = cis::filter_set();
    let idx = |id: &str| {
        cis::CIS_FILTERS
            .iter()
            .position(|f| f.security_hub_id == Some(id))
            .unwrap()
    };
    let (root, unauth, mfa, trail, sg) = (
        idx("CloudWatch.1"),
        idx("CloudWatch.2"),
        idx("CloudWatch.3"),
        idx("CloudWatch.5"),
        idx("CloudWatch.10"),
    );
    let mut root_seen = 0;
    let mut root_records = 0;
    for src in load() {
        let bits = evaluate(&set, &src.records);
        for (i, rec) in src.records.iter().enumerate() {
            let v: Value = serde_json::from_str(rec).unwrap();
            let fired = |k: usize| bits[i] & (1 << k) != 0;
            let code = s(&v, &["errorCode"]);
            let want_unauth = code.is_some_and(|c| {
                c.ends_with("UnauthorizedOperation") || c.starts_with("AccessDenied")
            });
            assert_eq!(
                fired(unauth),
                want_unauth,
                "{} #{i} UnauthorizedAPICalls: {rec}",
                src.name
            );

            let name = s(&v, &["eventName"]);
            let want_trail = matches!(
                name,
                Some(
                    "CreateTrail" | "UpdateTrail" | "DeleteTrail" | "StartLogging" | "StopLogging"
                )
            );
            assert_eq!(
                fired(trail),
                want_trail,
                "{} #{i} CloudTrailChanges",
                src.name
            );

            let want_sg = matches!(
                name,
                Some(
                    "AuthorizeSecurityGroupIngress"
                        | "AuthorizeSecurityGroupEgress"
                        | "RevokeSecurityGroupIngress"
                        | "RevokeSecurityGroupEgress"
                        | "CreateSecurityGroup"
                        | "DeleteSecurityGroup"
                )
            );
            assert_eq!(fired(sg), want_sg, "{} #{i} SecurityGroupChanges", src.name);

            let mfa_used = get(&v, &["additionalEventData", "MFAUsed"]);
            let mfa_ne_yes = match mfa_used {
                Some(Value::String(x)) => x != "Yes",
                Some(Value::Number(_)) => true,
                _ => false,
            };
            let want_mfa = name == Some("ConsoleLogin")
                && mfa_ne_yes
                && s(&v, &["userIdentity", "type"]) == Some("IAMUser")
                && s(&v, &["responseElements", "ConsoleLogin"]) == Some("Success");
            assert_eq!(
                fired(mfa),
                want_mfa,
                "{} #{i} ConsoleSigninWithoutMFA: {rec}",
                src.name
            );

            let is_root = s(&v, &["userIdentity", "type"]) == Some("Root");
            let invoked = get(&v, &["userIdentity"])
                .and_then(Value::as_object)
                .is_some_and(|o| o.contains_key("invokedBy"));
            let event_type_ne = match get(&v, &["eventType"]) {
                Some(Value::String(x)) => x != "AwsServiceEvent",
                Some(Value::Number(_)) => true,
                _ => false,
            };
            assert_eq!(
                fired(root),
                is_root && !invoked && event_type_ne,
                "{} #{i} RootAccountUsage: {rec}",
                src.name
            );
            if is_root {
                root_records += 1;
                assert_eq!(src.name, "panther-labelled");
                // the two root records invoked by signin.amazonaws.com are service calls
                assert_eq!(
                    fired(root),
                    src.labels[i] != "AWS.CloudTrail.RootAccessKeyCreated",
                    "{}",
                    src.labels[i]
                );
            }
            if fired(root) {
                root_seen += 1;
            }
        }
    }
    assert_eq!(root_records, 14);
    assert_eq!(root_seen, 12);
}

#[test]
fn cis_specific_real_records() {
    let set = cis::filter_set();
    let sources = load();
    let inv = &sources[0];
    let bits = evaluate(&set, &inv.records);
    let fired_names = |k: usize| -> Vec<String> {
        inv.records
            .iter()
            .zip(&bits)
            .filter(|(_, b)| **b & (1 << k) != 0)
            .map(|(r, _)| {
                let v: Value = serde_json::from_str(r).unwrap();
                s(&v, &["eventName"]).unwrap_or("").to_string()
            })
            .collect()
    };
    // CloudWatch.3: the one console login without MFA
    let mfa = fired_names(2);
    assert_eq!(mfa, vec!["ConsoleLogin"]);
    // CloudWatch.5: StopLogging, DeleteTrail, CreateTrail, ... and only those
    let mut trail = fired_names(4);
    trail.sort();
    trail.dedup();
    for n in &trail {
        assert!([
            "CreateTrail",
            "UpdateTrail",
            "DeleteTrail",
            "StartLogging",
            "StopLogging"
        ]
        .contains(&n.as_str()));
    }
    assert!(
        trail.contains(&"StopLogging".to_string())
            && trail.contains(&"DeleteTrail".to_string())
            && trail.contains(&"CreateTrail".to_string())
    );
    // CloudWatch.8: PutBucketPolicy is among the S3 policy changes
    assert!(fired_names(7).iter().any(|n| n == "PutBucketPolicy"));
    // CloudWatch.10 security-group changes
    assert!(fired_names(9)
        .iter()
        .any(|n| n == "AuthorizeSecurityGroupIngress"));
}

#[test]
fn for_each_record_walks_log_files_like_serde() {
    let set = cis::filter_set();
    let mut scratch = Scratch::default();
    let d = data_dir();
    let mut total = [0usize; 15];
    let mut n_records = 0;
    for f in json_files(&d.join("invictus-ir"))
        .into_iter()
        .chain(json_files(&d.join("stratus-red-team")))
    {
        let bytes = std::fs::read(&f).unwrap();
        // the same records through serde (RawValue keeps the original text)
        let raws: Vec<String> = if f.to_string_lossy().contains("invictus") {
            #[derive(Deserialize)]
            struct Envelope {
                #[serde(rename = "Records")]
                records: Vec<Box<RawValue>>,
            }
            serde_json::from_slice::<Envelope>(&bytes)
                .unwrap()
                .records
                .into_iter()
                .map(|r| r.get().to_string())
                .collect()
        } else {
            serde_json::from_slice::<Vec<Box<RawValue>>>(&bytes)
                .unwrap()
                .into_iter()
                .map(|r| r.get().to_string())
                .collect()
        };
        let expected = evaluate(&set, &raws);
        let mut seen = 0;
        let n = set
            .for_each_record(&bytes, &mut scratch, |i, rec, m| {
                assert_eq!(rec, raws[i].as_bytes(), "{} record {i}", f.display());
                let b = m.iter().fold(0u16, |acc, k| acc | (1 << k));
                assert_eq!(b, expected[i], "{} record {i}", f.display());
                for k in m.iter() {
                    total[k] += 1;
                }
                seen += 1;
            })
            .unwrap();
        assert_eq!(n, raws.len());
        assert_eq!(seen, raws.len());
        n_records += n;
    }
    assert_eq!(n_records, 3210);
    let inv = JQ_COUNTS[0].2;
    let st = JQ_COUNTS[1].2;
    let want: Vec<usize> = inv.iter().zip(st.iter()).map(|(a, b)| a + b).collect();
    assert_eq!(total.to_vec(), want);
}

#[test]
fn for_each_record_edge_cases() {
    let set = cis::filter_set();
    let mut scratch = Scratch::default();
    let mut names = Vec::new();
    let n = set
        .for_each_record(
            br#" {"other":{"Records":[1]},"x":"y","Records" : [ {"eventName":"StopLogging"} , {"eventName":"CreateVpc"} ] } "#,
            &mut scratch,
            |_, rec, m| names.push((String::from_utf8_lossy(rec).into_owned(), m.iter().collect::<Vec<_>>())),
        )
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        names[0],
        (r#"{"eventName":"StopLogging"}"#.to_string(), vec![4])
    );
    assert_eq!(names[1].1, vec![13]);
    assert_eq!(
        set.for_each_record(b"[]", &mut scratch, |_, _, _| {})
            .unwrap(),
        0
    );
    assert_eq!(
        set.for_each_record(br#"{"Records":[]}"#, &mut scratch, |_, _, _| {})
            .unwrap(),
        0
    );
    for bad in [
        &b""[..],
        b"x",
        br#"{"NoRecords":[]}"#,
        b"[1]",
        br#"[{"a":1}"#,
        br#"[{"a":}]"#,
        br#"{"Records":[{}"#,
    ] {
        assert!(
            set.for_each_record(bad, &mut scratch, |_, _, _| {})
                .is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // a set without JSON patterns still walks the file
    let terms: FilterSet = ["StopLogging"]
        .iter()
        .map(|s| trailwarden::filter::FilterPattern::parse(s).unwrap())
        .collect();
    let mut hits = 0;
    terms
        .for_each_record(
            br#"[{"eventName":"StopLogging"},{"a":"{]"}]"#,
            &mut scratch,
            |_, _, m| hits += m.count(),
        )
        .unwrap();
    assert_eq!(hits, 1);
}
