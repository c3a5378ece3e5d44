//! `trailwarden replay`: the filters and alarms over archived log files, local and in S3.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use trailwarden_tests::{kit, Moto};

fn run(args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailwarden"))
        .args(args)
        .envs(env.iter().cloned())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn invictus() -> PathBuf {
    kit().join("data/cloudtrail/invictus-ir")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v
}

fn totals(report: &Value) -> Vec<(String, u64)> {
    report["filters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["filterName"].as_str().unwrap().to_string(),
                f["matches"].as_u64().unwrap(),
            )
        })
        .collect()
}

const USER_FILTERS: &str = r#"
- filterName: ConsoleLogins
  filterPattern: '{ $.eventName = "ConsoleLogin" }'
  metricTransformations:
    - metricName: ConsoleLogins
      metricNamespace: Custom/Security
      metricValue: "1"
  alarm:
    Period: 3600
    Threshold: 1
"#;

/// The user filter's matches as `test-metric-filter` counts them, file by file.
fn test_metric_filter_count(pattern: &str, files: &[PathBuf]) -> u64 {
    files
        .iter()
        .map(|f| {
            let o = run(
                &[
                    "test-metric-filter",
                    "--filter-pattern",
                    pattern,
                    "--file",
                    &f.to_string_lossy(),
                ],
                &[],
            );
            assert_eq!(o.status.code(), Some(0), "{}", text(&o));
            let v: Value = serde_json::from_slice(&o.stdout).unwrap();
            v["matches"].as_array().unwrap().len() as u64
        })
        .sum()
}

#[test]
fn replays_a_directory_with_the_cis_and_user_filters() {
    let dir = invictus();
    let files = json_files(&dir);
    let tmp = std::env::temp_dir().join(format!("tw-replay-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let filters = tmp.join("filters.yaml");
    std::fs::write(&filters, USER_FILTERS).unwrap();

    let o = run(
        &[
            "replay",
            &dir.to_string_lossy(),
            "--filters-file",
            &filters.to_string_lossy(),
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["files"].as_u64().unwrap(), files.len() as u64);
    assert_eq!(
        r["filters"].as_array().unwrap().len(),
        16,
        "15 CIS + 1 user filter"
    );
    assert_eq!(r["alarms"].as_array().unwrap().len(), 16);
    let t = totals(&r);
    let user = t.iter().find(|(n, _)| n == "ConsoleLogins").unwrap().1;
    assert_eq!(
        user,
        test_metric_filter_count(r#"{ $.eventName = "ConsoleLogin" }"#, &files),
        "replay and test-metric-filter agree"
    );
    assert!(user > 0);
    let alarm = r["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alarmName"] == "ConsoleLogins")
        .unwrap();
    let transitions = alarm["transitions"].as_array().unwrap();
    assert!(
        transitions
            .iter()
            .any(|t| t["newState"] == "ALARM" && t["notifies"] == true),
        "{alarm}"
    );
    // The user alarm's own period groups its counts.
    let f = r["filters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["filterName"] == "ConsoleLogins")
        .unwrap();
    assert_eq!(f["periodSeconds"], 3600);

    // Text: per filter its periods, per alarm its transitions.
    let o = run(
        &[
            "replay",
            &dir.to_string_lossy(),
            "--start-time",
            r["start"].as_str().unwrap(),
            "--end-time",
            r["end"].as_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("replay "), "{out}");
    assert!(
        out.contains("\nfilter RootAccountUsage (CISBenchmark/RootAccountUsage): "),
        "{out}"
    );
    assert!(out.contains("\nalarm RootAccountUsage: "), "{out}");
    assert!(
        out.contains(" -> ALARM (alert)  Threshold Crossed: "),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn replays_an_s3_prefix_as_it_replays_the_same_files_locally() {
    let moto = Moto::start();
    let env = moto.env();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async { moto.bucket("replayed").await });
    let files: Vec<String> = json_files(&invictus())
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["deliver", "--s3-bucket", "replayed"];
    args.extend(files.iter().map(String::as_str));
    let o = run(&args, &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = run(
        &["replay", "--s3-bucket", "replayed", "--output", "json"],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let from_s3: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut local_args = vec!["replay", "--output", "json"];
    local_args.extend(files.iter().map(String::as_str));
    let o = run(&local_args, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let local: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(from_s3["records"], local["records"]);
    assert_eq!(totals(&from_s3), totals(&local));
    assert_eq!(from_s3["alarms"], local["alarms"]);
}

#[test]
fn bad_input_is_reported_and_bad_options_refused() {
    let tmp = std::env::temp_dir().join(format!("tw-replay-bad-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let good = json_files(&invictus())[0].clone();
    let data = std::fs::read(&good).unwrap();
    let gz = trailwarden::gz::compress(&data, 6);
    std::fs::write(tmp.join("a-truncated.json.gz"), &gz[..gz.len() / 2]).unwrap();
    std::fs::write(tmp.join("b-good.json"), &data).unwrap();
    let o = run(
        &[
            "replay",
            &tmp.to_string_lossy(),
            "--output",
            "json",
            "--start-time",
            "2023-07-10",
            "--end-time",
            "2023-07-11",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["files"], 2);
    assert_eq!(r["badInputs"].as_array().unwrap().len(), 1);
    assert!(r["badInputs"][0]["source"]
        .as_str()
        .unwrap()
        .ends_with("a-truncated.json.gz"));
    assert!(
        r["records"].as_u64().unwrap() > 0,
        "the good file was counted"
    );

    for (args, expected) in [
        (vec!["replay"], "required"),
        (
            vec!["replay", ".", "--start-time", "yesterday"],
            "is not a time",
        ),
        (
            vec![
                "replay",
                ".",
                "--start-time",
                "2024-05-02T00:00:00Z",
                "--end-time",
                "2024-05-01T00:00:00Z",
            ],
            "is not before --end-time",
        ),
        (
            vec!["replay", ".", "--period", "45"],
            "multiple of 60 seconds",
        ),
        (
            vec!["replay", "/nonexistent/trail"],
            "cannot read /nonexistent/trail",
        ),
        (vec!["replay", ".", "--no-cis"], "no filters"),
    ] {
        let o = run(&args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(expected), "{args:?}: {}", text(&o));
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
