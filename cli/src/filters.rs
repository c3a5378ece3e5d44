//! test-metric-filter: `aws logs test-metric-filter`, locally, with the same output.

use std::io::{Read, Write};

use clap::Args;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use trailwarden::filter::{Extracted, FilterPattern, FilterSet, Scratch};

use crate::trail::CliResult;

#[derive(Args)]
pub struct TestMetricFilterArgs {
    /// The filter pattern, in CloudWatch Logs syntax.
    #[arg(long, allow_hyphen_values = true)]
    filter_pattern: String,
    /// The log event messages to test.
    #[arg(
        long,
        num_args = 1..,
        allow_hyphen_values = true,
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    log_event_messages: Vec<String>,
    /// Read the events from a file instead: a CloudTrail log file (`.json` or `.json.gz`
    /// with `Records`, or a JSON array of records), each record one event, or else one event per
    /// non-blank line. `-` reads standard input.
    #[arg(long)]
    file: Option<String>,
}

/// `extractedValues`, in field order.
struct Values<'a>(&'a Extracted);

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Match<'a> {
    event_number: usize,
    event_message: &'a str,
    extracted_values: Values<'a>,
}

#[derive(Serialize)]
struct Output<'a> {
    matches: Vec<Match<'a>>,
}

/// The events of a file: the records of a CloudTrail log file, or its non-blank lines.
fn events_of(data: &[u8]) -> Vec<String> {
    let mut records = Vec::new();
    let walked = FilterSet::new().for_each_record(data, &mut Scratch::default(), |_, r, _| {
        records.push(String::from_utf8_lossy(r).into_owned())
    });
    if walked.is_ok() {
        return records;
    }
    String::from_utf8_lossy(data)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn read_file(path: &str) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let data = if path == "-" {
        let mut v = Vec::new();
        std::io::stdin().read_to_end(&mut v)?;
        v
    } else {
        std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?
    };
    if trailwarden::gz::is_gzip(&data) {
        return Ok(
            trailwarden::gz::decompress(&data, trailwarden::gz::DEFAULT_MAX_DECOMPRESSED)
                .map_err(|e| format!("{path}: {e}"))?,
        );
    }
    Ok(data)
}

pub fn test_metric_filter(a: TestMetricFilterArgs) -> CliResult {
    let pattern = FilterPattern::parse(&a.filter_pattern)
        .map_err(|e| format!("invalid filter pattern: {e}"))?;
    let events = match &a.file {
        Some(path) => events_of(&read_file(path)?),
        None => a.log_event_messages,
    };
    let extracted: Vec<Option<Extracted>> = events.iter().map(|m| pattern.evaluate(m)).collect();
    let matches = events
        .iter()
        .zip(&extracted)
        .enumerate()
        .filter_map(|(i, (m, ex))| {
            ex.as_ref().map(|ex| Match {
                event_number: i + 1,
                event_message: m,
                extracted_values: Values(ex),
            })
        })
        .collect();
    // As the AWS CLI prints JSON: 4-space indentation, non-ASCII as is, a final newline.
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    Output { matches }.serialize(&mut ser)?;
    out.push(b'\n');
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(0)
}

#[derive(Args)]
pub struct ReplayArgs {
    /// Log files (`.json.gz` or `.json` with `Records`) or directories (read recursively).
    #[arg(required_unless_present = "s3_bucket", conflicts_with = "s3_bucket")]
    paths: Vec<std::path::PathBuf>,
    /// Read the log files from this bucket instead (through the AWS SDK).
    #[arg(long)]
    s3_bucket: Option<String>,
    /// Key prefix of the log files in the bucket (e.g. `AWSLogs/123456789012/CloudTrail/`).
    #[arg(long, default_value = "AWSLogs/", requires = "s3_bucket")]
    s3_prefix: String,
    /// Evaluate from this time (default: the hour of the first match).
    #[arg(long)]
    start_time: Option<String>,
    /// Up to this time (default: the hour after the last match).
    #[arg(long)]
    end_time: Option<String>,
    /// User filters and alarms (YAML or JSON, as the function's FILTERS_FILE).
    #[arg(long)]
    filters_file: Option<std::path::PathBuf>,
    /// Leave out the 15 built-in CIS filters and alarms.
    #[arg(long)]
    no_cis: bool,
    /// Namespace of the CIS metrics.
    #[arg(long, default_value = trailwarden::filter::cis::DEFAULT_NAMESPACE)]
    namespace: String,
    /// Period of the per-filter counts in seconds (default: the filter's alarm period, else 300).
    #[arg(long)]
    period: Option<u32>,
    /// `text` (default) or `json`.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    output: String,
}

/// The log files under `path` (the file itself, or every `.json.gz` / `.json` below a directory),
/// sorted.
fn log_files(path: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for e in entries {
            if e.is_dir() {
                log_files(&e, out)?;
            } else {
                let name = e.to_string_lossy();
                if name.ends_with(".json.gz") || name.ends_with(".json") {
                    out.push(e);
                }
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// `trailwarden replay`: the filters and alarms over archived log files.
pub async fn replay(a: ReplayArgs) -> CliResult {
    use trailwarden::alerting::replay::{Replay, ReplayOptions};
    let engine = trailwarden::alerting::Engine::load(
        (!a.no_cis).then_some(a.namespace.as_str()),
        a.filters_file.as_deref(),
    )?;
    if engine.filters().is_empty() {
        return Err("no filters: give --filters-file or leave out --no-cis".into());
    }
    let options = ReplayOptions {
        start: a
            .start_time
            .as_deref()
            .map(crate::trail::time_arg)
            .transpose()?,
        end: a
            .end_time
            .as_deref()
            .map(crate::trail::time_arg)
            .transpose()?,
        period_secs: a.period,
        max_decompressed: trailwarden::alerting::DEFAULT_MAX_DECOMPRESSED,
    };
    let mut replay = Replay::new(&engine, options)?;
    match &a.s3_bucket {
        Some(bucket) => {
            let store = trailwarden::aws::s3::S3Store::for_validation_from_env().await;
            replay
                .add_store_prefix(&store, bucket, &a.s3_prefix)
                .await?;
        }
        None => {
            let mut files = Vec::new();
            for p in &a.paths {
                log_files(p, &mut files)
                    .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            }
            for f in &files {
                match std::fs::read(f) {
                    Ok(body) => replay.add_file(&f.display().to_string(), &body),
                    Err(e) => return Err(format!("cannot read {}: {e}", f.display()).into()),
                }
            }
        }
    }
    let report = replay.finish()?;
    let mut stdout = std::io::stdout().lock();
    if a.output == "json" {
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        stdout.write_all(b"\n")?;
    } else {
        stdout.write_all(report.to_text().as_bytes())?;
    }
    stdout.flush()?;
    // As validate-logs: 1 when some input could not be read.
    Ok(if report.bad_inputs.is_empty() { 0 } else { 1 })
}
