//! `trailwarden deliver | sign-digest | public-key | validate-logs`, run as the binary: on the
//! kit's synthetic chain (which the AWS CLI validated) and end to end against the emulator.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use chrono::{Duration, DurationRound, Utc};
use trailwarden_tests::{kit, repo_root, Moto};

fn run(args: &[&str], env: &[(String, String)], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailwarden"))
        .args(args)
        .envs(env.iter().cloned())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(data) = stdin {
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `validate-logs` arguments for the kit's synthetic chain (4 digests, 6 log files), read locally.
fn synthetic_chain_args() -> Vec<String> {
    let dir = kit().join("data/integrity/synthetic-awscli-validated");
    let args_file = std::fs::read_to_string(dir.join("validate-logs-args.txt")).unwrap();
    let mut args: Vec<String> = vec!["validate-logs".into()];
    args.extend(args_file.split_whitespace().map(String::from));
    args.extend([
        "--public-key".into(),
        dir.join("ListPublicKeys.json")
            .to_string_lossy()
            .into_owned(),
    ]);
    args.extend(["--local-dir".into(), dir.to_string_lossy().into_owned()]);
    args
}

#[test]
fn the_kits_synthetic_chain_validates() {
    let args = synthetic_chain_args();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&refs, &[], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("4/4 digest files valid"), "{out}");
    assert!(out.contains("6/6 log files valid"), "{out}");
    assert!(out.starts_with("Validating log files for trail arn:aws:cloudtrail:us-east-1:111122223333:trail/my-trail between 2024-05-01T10:00:00Z and 2024-05-01T14:00:00Z\n"));
    // stderr is a pipe here: no progress bar in it (scripts and logs get the report alone).
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("files") && !err.contains('\r'), "{err:?}");
}

/// A pseudo-terminal: (master, path of the slave side).
fn pty() -> (std::fs::File, PathBuf) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain libc calls on a descriptor this function owns; the name buffer is sized and
    // NUL-terminated by ptsname_r.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(m >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        let master = std::fs::File::from_raw_fd(m);
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, name.as_mut_ptr(), name.len()), 0);
        let path = std::ffi::CStr::from_ptr(name.as_ptr())
            .to_string_lossy()
            .into_owned();
        (master, PathBuf::from(path))
    }
}

#[test]
fn validate_logs_draws_a_progress_bar_when_stderr_is_a_terminal() {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let (mut master, slave_path) = pty();
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(&slave_path)
        .unwrap();
    let args = synthetic_chain_args();
    // The Command (and with it the parent's copy of the slave) is dropped at the end of this
    // statement, so the master reads EOF/EIO once the child exits.
    let child = Command::new(env!("CARGO_BIN_EXE_trailwarden"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(slave))
        .spawn()
        .unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        // Linux answers EIO once every slave descriptor is closed.
        while let Ok(n @ 1..) = master.read(&mut buf) {
            seen.extend_from_slice(&buf[..n]);
        }
        seen
    });
    let o = child.wait_with_output().unwrap();
    let tty = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    assert_eq!(o.status.code(), Some(0), "{tty}");
    // The report is on stdout, untouched by the bar.
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("4/4 digest files valid\n6/6 log files valid"),
        "{out}"
    );
    // On the terminal: one frame per file (4 digests + 6 logs), counting up, the last one full,
    // then the bar erased.
    let frames: Vec<&str> = tty.split('\r').filter(|f| f.starts_with('[')).collect();
    let counts: Vec<usize> = frames
        .iter()
        .map(|f| {
            let n = f.split("] ").nth(1).and_then(|r| r.split('/').next());
            n.and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("not a frame: {f:?} in {tty:?}"))
        })
        .collect();
    assert_eq!(counts, (1..=10).collect::<Vec<_>>(), "{tty:?}");
    assert_eq!(
        *frames.last().unwrap(),
        format!("[{}] 10/10 files", "#".repeat(30)),
        "{tty:?}"
    );
    assert!(
        tty.ends_with('\r') && tty.trim_end_matches('\r').ends_with(' '),
        "{tty:?}"
    );
}

#[test]
fn deliver_sign_and_validate_by_hand_against_the_emulator() {
    let moto = Moto::start();
    let env = moto.env();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async { moto.bucket("by-hand").await });
    let tmp = std::env::temp_dir().join(format!("tw-cli-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    // A gzip CloudTrail file, a bare array (stratus), NDJSON (otrf) and stdin.
    let invictus = std::fs::read_dir(kit().join("data/cloudtrail/invictus-ir"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    let gz_file = tmp.join("records.json.gz");
    std::fs::write(
        &gz_file,
        trailwarden::gz::compress(&std::fs::read(&invictus).unwrap(), 6),
    )
    .unwrap();
    let stratus =
        kit().join("data/cloudtrail/stratus-red-team/aws.defense-evasion.cloudtrail-stop.json");
    let otrf = kit().join("data/cloudtrail/otrf/ec2_proxy_s3_exfiltration_2020-09-14011940.json");
    let files: Vec<String> = [gz_file.clone(), stratus, otrf]
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut args = vec![
        "deliver",
        "--s3-bucket",
        "by-hand",
        "--s3-prefix",
        "imports",
    ];
    args.extend(files.iter().map(String::as_str));
    args.push("-");
    let o = run(
        &args,
        &env,
        Some(std::fs::read(&invictus).unwrap().as_slice()),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let keys: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(String::from)
        .collect();
    assert!(keys.len() >= 3, "{keys:?}");
    assert!(
        keys.iter()
            .all(|k| k.starts_with("imports/AWSLogs/") && k.ends_with(".json.gz")),
        "{keys:?}"
    );
    // Running the same import again writes nothing new: the same keys (idempotent backfills).
    let again = run(
        &args,
        &env,
        Some(std::fs::read(&invictus).unwrap().as_slice()),
    );
    let again_keys: Vec<String> = String::from_utf8_lossy(&again.stdout)
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(again_keys, keys);

    let pem = repo_root().join("shared/tests/data/test-signing-key.pem");
    let pem = pem.to_string_lossy();
    let arn = "arn:aws:cloudtrail:us-east-1:123837392027:trail/imports";
    let end = Utc::now().duration_trunc(Duration::hours(1)).unwrap() + Duration::hours(1);
    let end_s = trailwarden::layout::format_time(end);
    let o = run(
        &[
            "sign-digest",
            "--s3-bucket",
            "by-hand",
            "--s3-prefix",
            "imports",
            "--trail-arn",
            arn,
            "--private-key",
            &pem,
            "--end-time",
            &end_s,
        ],
        &env,
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let digests = String::from_utf8_lossy(&o.stdout).lines().count();
    assert!(
        digests >= 1,
        "one digest per account/region with a trail folder: {}",
        text(&o)
    );

    let keys_json = run(&["public-key", "--private-key", &pem], &[], None);
    let key_file = tmp.join("keys.json");
    std::fs::write(&key_file, &keys_json.stdout).unwrap();
    let start_s = trailwarden::layout::format_time(end - Duration::hours(2));
    let kf = key_file.to_string_lossy();
    let o = run(
        &[
            "validate-logs",
            "--trail-arn",
            arn,
            "--s3-bucket",
            "by-hand",
            "--s3-prefix",
            "imports",
            "--start-time",
            &start_s,
            "--end-time",
            &end_s,
            "--public-key",
            &kf,
            "--account-id",
            "123837392027",
        ],
        &env,
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("1/1 digest files valid"),
        "{}",
        text(&o)
    );

    // Bad input: a truncated gzip file, a reversed time range, an injected prefix.
    let bad = tmp.join("truncated.json.gz");
    let whole = std::fs::read(&gz_file).unwrap();
    std::fs::write(&bad, &whole[..whole.len() / 2]).unwrap();
    let o = run(
        &["deliver", "--s3-bucket", "by-hand", &bad.to_string_lossy()],
        &env,
        None,
    );
    assert_ne!(o.status.code(), Some(0));
    assert!(
        text(&o).contains("gzip stream is truncated"),
        "{}",
        text(&o)
    );
    let o = run(
        &[
            "validate-logs",
            "--trail-arn",
            arn,
            "--s3-bucket",
            "by-hand",
            "--start-time",
            &end_s,
            "--end-time",
            &start_s,
            "--public-key",
            &kf,
        ],
        &env,
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("start-time must occur before end-time"),
        "{}",
        text(&o)
    );
    let o = run(
        &[
            "deliver",
            "--s3-bucket",
            "by-hand",
            "--s3-prefix",
            "../escape",
            &files[0],
        ],
        &env,
        None,
    );
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o).contains("invalid key prefix"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(PathBuf::from(&tmp));
}
