//! CloudWatch Embedded Metric Format: the metric filters' datapoints written to stdout as JSON
//! documents, which CloudWatch Logs turns into metrics without an API call.
//!
//! One document per minute timestamp, namespace and dimension set (a document has one
//! timestamp, and dimension values are root members), each metric's samples as an array of
//! values. Limits respected: at most 100 metrics per directive, at most 100 values per metric
//! array, at most 256 KB per document; larger sets are split into several documents.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::alarm::MetricId;

/// Metrics per `CloudWatchMetrics` directive.
pub const MAX_METRICS_PER_DIRECTIVE: usize = 100;
/// Values in one metric's array.
pub const MAX_VALUES_PER_METRIC: usize = 100;
/// Bytes per EMF document.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// The samples of one metric, per minute (epoch ms).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub unit: Option<String>,
    pub minutes: BTreeMap<i64, Vec<f64>>,
}

/// Every metric's samples.
pub type MetricSeries = BTreeMap<MetricId, Series>;

struct Entry<'a> {
    name: &'a str,
    unit: Option<&'a str>,
    values: &'a [f64],
}

impl Entry<'_> {
    fn definition(&self) -> Value {
        match self.unit {
            Some(u) => json!({ "Name": self.name, "Unit": u }),
            None => json!({ "Name": self.name }),
        }
    }
    fn value(&self) -> Value {
        match self.values {
            [one] => json!(one),
            many => json!(many),
        }
    }
    /// Serialized bytes this entry adds to a document.
    fn size(&self) -> usize {
        let d = serde_json::to_vec(&self.definition()).map_or(0, |b| b.len());
        let v = serde_json::to_vec(&self.value()).map_or(0, |b| b.len());
        let k = serde_json::to_vec(self.name).map_or(0, |b| b.len());
        d + k + v + 3
    }
}

fn document(ts: i64, namespace: &str, dims: &[(String, String)], entries: &[Entry]) -> Value {
    let names: Vec<&str> = dims.iter().map(|(n, _)| n.as_str()).collect();
    let defs: Vec<Value> = entries.iter().map(Entry::definition).collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": ts,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [names],
                "Metrics": defs,
            }],
        }),
    );
    for (n, v) in dims {
        root.insert(n.clone(), Value::String(v.clone()));
    }
    for e in entries {
        root.insert(e.name.to_string(), e.value());
    }
    Value::Object(root)
}

/// The EMF documents (one JSON text each, one line each) for every datapoint in `series`.
pub fn documents(series: &MetricSeries) -> Vec<String> {
    type Group<'a> = BTreeMap<(i64, &'a str, &'a [(String, String)]), Vec<Entry<'a>>>;
    let mut groups: Group = BTreeMap::new();
    for (id, s) in series {
        let collides = id.name == "_aws" || id.dimensions.iter().any(|(n, _)| *n == id.name);
        if collides {
            tracing::warn!(metric = %id.name, "metric name collides with an EMF root member; not emitted");
            continue;
        }
        for (ts, values) in &s.minutes {
            for chunk in values.chunks(MAX_VALUES_PER_METRIC) {
                groups
                    .entry((*ts, id.namespace.as_str(), id.dimensions.as_slice()))
                    .or_default()
                    .push(Entry {
                        name: &id.name,
                        unit: s.unit.as_deref(),
                        values: chunk,
                    });
            }
        }
    }
    let mut out = Vec::new();
    for ((ts, ns, dims), entries) in groups {
        // Entries of the same metric (more than 100 values) go to different documents.
        let mut rounds: Vec<Vec<Entry>> = Vec::new();
        for e in entries {
            match rounds
                .iter_mut()
                .find(|r| !r.iter().any(|x| x.name == e.name))
            {
                Some(r) => r.push(e),
                None => rounds.push(vec![e]),
            }
        }
        let base = serde_json::to_vec(&document(ts, ns, dims, &[])).map_or(0, |b| b.len());
        for round in rounds {
            let mut batch: Vec<Entry> = Vec::new();
            let mut size = base;
            for e in round {
                let s = e.size();
                if !batch.is_empty()
                    && (batch.len() == MAX_METRICS_PER_DIRECTIVE || size + s > MAX_DOCUMENT_BYTES)
                {
                    out.push(document(ts, ns, dims, &batch).to_string());
                    batch.clear();
                    size = base;
                }
                size += s;
                batch.push(e);
            }
            if !batch.is_empty() {
                out.push(document(ts, ns, dims, &batch).to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ns: &str, name: &str, dims: &[(&str, &str)]) -> MetricId {
        MetricId::new(
            ns,
            name,
            dims.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn shape_of_a_document() {
        let mut s = MetricSeries::new();
        s.insert(
            id("CISBenchmark", "RootAccountUsage", &[]),
            Series {
                unit: None,
                minutes: [(1_688_990_700_000, vec![1.0])].into(),
            },
        );
        s.insert(
            id("CISBenchmark", "UnauthorizedAPICalls", &[]),
            Series {
                unit: Some("Count".into()),
                minutes: [(1_688_990_700_000, vec![1.0, 1.0, 1.0])].into(),
            },
        );
        let docs = documents(&s);
        assert_eq!(docs.len(), 1);
        let v: Value = serde_json::from_str(&docs[0]).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_688_990_700_000i64);
        let d = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(d["Namespace"], "CISBenchmark");
        assert_eq!(d["Dimensions"], json!([[]]));
        assert_eq!(
            d["Metrics"],
            json!([{"Name":"RootAccountUsage"},{"Name":"UnauthorizedAPICalls","Unit":"Count"}])
        );
        assert_eq!(v["RootAccountUsage"], 1.0);
        assert_eq!(v["UnauthorizedAPICalls"], json!([1.0, 1.0, 1.0]));
        assert!(!docs[0].contains('\n'));
    }

    #[test]
    fn dimensions_and_timestamps_split_documents() {
        let mut s = MetricSeries::new();
        for who in ["alice", "bob"] {
            s.insert(
                id("App", "Logins", &[("User", who)]),
                Series {
                    unit: None,
                    minutes: [(60_000, vec![1.0]), (120_000, vec![2.0])].into(),
                },
            );
        }
        let docs: Vec<Value> = documents(&s)
            .iter()
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        assert_eq!(docs.len(), 4);
        for d in &docs {
            assert_eq!(
                d["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
                json!([["User"]])
            );
            assert!(d["User"] == "alice" || d["User"] == "bob");
        }
    }

    #[test]
    fn limits_split_documents() {
        // 250 metrics in one minute: 3 directives of at most 100.
        let mut s = MetricSeries::new();
        for i in 0..250 {
            s.insert(
                id("NS", &format!("metric{i:03}"), &[]),
                Series {
                    unit: Some("Count".into()),
                    minutes: [(0, vec![1.0])].into(),
                },
            );
        }
        let docs = documents(&s);
        let counts: Vec<usize> = docs
            .iter()
            .map(|d| {
                let v: Value = serde_json::from_str(d).unwrap();
                v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                    .as_array()
                    .unwrap()
                    .len()
            })
            .collect();
        assert_eq!(counts, vec![100, 100, 50]);

        // 250 samples of one metric: arrays of at most 100 values, in separate documents.
        let mut s = MetricSeries::new();
        s.insert(
            id("NS", "m", &[]),
            Series {
                unit: None,
                minutes: [(0, vec![1.5; 250])].into(),
            },
        );
        let docs = documents(&s);
        let lens: Vec<usize> = docs
            .iter()
            .map(|d| {
                let v: Value = serde_json::from_str(d).unwrap();
                v["m"].as_array().unwrap().len()
            })
            .collect();
        assert_eq!(lens, vec![100, 100, 50]);

        // Long names: the 256 KB limit splits before 100 metrics.
        let mut s = MetricSeries::new();
        for i in 0..100 {
            s.insert(
                id("NS", &format!("{i:03}{}", "x".repeat(250)), &[]),
                Series {
                    unit: None,
                    minutes: [(0, vec![1.234_567_890_123_456_7e-300; 100])].into(),
                },
            );
        }
        let docs = documents(&s);
        assert!(docs.len() >= 2, "{}", docs.len());
        let mut total = 0;
        for d in &docs {
            assert!(d.len() <= MAX_DOCUMENT_BYTES, "{}", d.len());
            let v: Value = serde_json::from_str(d).unwrap();
            total += v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .len();
        }
        assert_eq!(total, 100);
    }
}
