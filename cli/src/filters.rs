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
