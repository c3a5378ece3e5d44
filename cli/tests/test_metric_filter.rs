//! `trailwarden test-metric-filter`: the AWS CLI's output, byte for byte, on the documented
//! examples; files of lines and CloudTrail log files; errors on stderr with a non-zero exit.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailwarden"))
        .arg("test-metric-filter")
        .args(args)
        .output()
        .expect("run trailwarden")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

const APACHE: [&str; 3] = [
    r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534"#,
    r#"127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324"#,
    r#"127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355"#,
];

#[test]
fn prints_exactly_what_the_aws_cli_prints() {
    let mut args = vec![
        "--filter-pattern",
        "[ip, identity, user_id, timestamp, request, status_code=200, size]",
        "--log-event-messages",
    ];
    args.extend(APACHE);
    let out = stdout(&run(&args));
    // `aws logs test-metric-filter` prints the response with json.dumps(indent=4,
    // ensure_ascii=False) and a newline; the service's field order.
    let want = r#"{
    "matches": [
        {
            "eventNumber": 1,
            "eventMessage": "127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 1534",
            "extractedValues": {
                "$ip": "127.0.0.1",
                "$identity": "-",
                "$user_id": "frank",
                "$timestamp": "10/Oct/2000:13:25:15 -0700",
                "$request": "GET /apache_pb.gif HTTP/1.0",
                "$status_code": "200",
                "$size": "1534"
            }
        },
        {
            "eventNumber": 3,
            "eventMessage": "127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 4355",
            "extractedValues": {
                "$ip": "127.0.0.1",
                "$identity": "-",
                "$user_id": "frank",
                "$timestamp": "10/Oct/2000:13:50:35 -0700",
                "$request": "GET /apache_pb.gif HTTP/1.0",
                "$status_code": "200",
                "$size": "4355"
            }
        }
    ]
}
"#;
    assert_eq!(out, want);

    let out = stdout(&run(&[
        "--filter-pattern",
        "NOPE",
        "--log-event-messages",
        "a",
        "b",
    ]));
    assert_eq!(out, "{\n    \"matches\": []\n}\n");

    let out = stdout(&run(&[
        "--filter-pattern",
        r#""[ERROR]" Exception"#,
        "--log-event-messages",
        "02 May 2014 00:34:12,525 [INFO] Starting the application",
        "02 May 2014 00:34:16,142 [ERROR] Unhanded exception: InvalidQueryException",
        "02 May 2014 00:34:16,224 [ERROR] Terminating the application",
        "café [ERROR] Exception",
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let numbers: Vec<u64> = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["eventNumber"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![2, 4]);
    assert!(
        out.contains("\"café [ERROR] Exception\""),
        "non-ASCII kept as is"
    );
    assert_eq!(v["matches"][0]["extractedValues"], serde_json::json!({}));
}

#[test]
fn positional_fields_and_leading_dash_patterns() {
    let mut args = vec!["--filter-pattern", "[]", "--log-event-messages"];
    args.extend(&APACHE[..1]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&run(&args))).unwrap();
    let ex = &v["matches"][0]["extractedValues"];
    assert_eq!(ex["$1"], "127.0.0.1");
    assert_eq!(ex["$7"], "1534");
    let out = stdout(&run(&[
        "--filter-pattern",
        "-DEBUG",
        "--log-event-messages",
        "DEBUG x",
        "INFO y",
    ]));
    assert!(out.contains("\"eventNumber\": 2") && !out.contains("\"eventNumber\": 1"));
}

#[test]
fn files_of_lines_and_cloudtrail_log_files() {
    let dir = std::env::temp_dir().join(format!("tw-tmf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lines = dir.join("events.log");
    std::fs::write(
        &lines,
        "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200\n\nINFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310\nWARNING 09/25/2014 12:00:02 Invalid user request\nERROR 09/25/2014 12:00:02 Failed to process request\n",
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout(&run(&[
        "--filter-pattern",
        "[w1=ERROR || w1=WARNING, w2]",
        "--file",
        lines.to_str().unwrap(),
    ])))
    .unwrap();
    let numbers: Vec<u64> = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["eventNumber"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![3, 4], "blank lines are not events");

    // A real CloudTrail log file, plain and gzipped: each record is one event, as it would be
    // in the trail's CloudWatch Logs group.
    let src = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "../../shared/data/cloudtrail/invictus-ir/218007301253_CloudTrail_us-east-1_20230710T1205Z_SjF3IkuNXJkoHyar.json",
    );
    let raw = std::fs::read(&src).unwrap();
    let gz = dir.join("log.json.gz");
    std::fs::write(&gz, trailwarden::gz::compress(&raw, 6)).unwrap();
    for f in [src.to_str().unwrap(), gz.to_str().unwrap()] {
        let out = stdout(&run(&[
            "--filter-pattern",
            "{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}",
            "--file",
            f,
        ]));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let m = v["matches"].as_array().unwrap();
        assert_eq!(m.len(), 3, "{f}");
        for x in m {
            let rec: serde_json::Value =
                serde_json::from_str(x["eventMessage"].as_str().unwrap()).unwrap();
            assert_eq!(rec["eventSource"], "cloudtrail.amazonaws.com");
            assert!((1..=26).contains(&x["eventNumber"].as_u64().unwrap()));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_invalid_pattern_fails_with_the_error_on_stderr() {
    let o = run(&["--filter-pattern", "{ $.x = ", "--log-event-messages", "a"]);
    assert!(!o.status.success());
    assert!(o.stdout.is_empty());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("invalid filter pattern") && err.contains("position"),
        "{err}"
    );
    let o = run(&["--filter-pattern", "ERR*", "--log-event-messages", "a"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("'*'"));
    let o = run(&["--filter-pattern", "x", "--file", "/nonexistent/events.log"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read /nonexistent/events.log"));
    let o = run(&["--filter-pattern", "x"]);
    assert!(!o.status.success(), "messages or a file are required");
}
