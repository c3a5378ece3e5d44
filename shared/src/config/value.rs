//! Small helpers to read loosely typed JSON (configuration items are full of fields that are a
//! string in one encoding and a number, a boolean or a nested JSON string in the other).

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

/// The first of `keys` present in `v` that is not `null`.
pub(crate) fn field<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    let obj = v.as_object()?;
    keys.iter()
        .filter_map(|k| obj.get(*k))
        .find(|x| !x.is_null())
}

/// The first of `keys` as a string; numbers and booleans are rendered as text.
pub(crate) fn string(v: &Value, keys: &[&str]) -> Option<String> {
    field(v, keys).and_then(scalar_text)
}

/// A scalar as text (`"x"`, `12`, `true`); `None` for null, arrays and objects.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A borrowed string field.
pub(crate) fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A boolean that may be encoded as a JSON boolean or as the text `true`/`false` (any case: the
/// notification form of some items carries `"True"`).
pub(crate) fn truthy(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// `v[key]` as a boolean (see [`truthy`]).
pub(crate) fn bool_of(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(truthy)
}

/// A member as an integer, accepting numeric strings.
pub(crate) fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `v[key]` as a slice of values: an array as is, a single non-null value as a one-element
/// slice, null or absent as empty.
pub(crate) fn list_of<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    list(v.get(key))
}

/// A member as a slice of values, as [`list_of`] reads it.
pub(crate) fn list(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Array(a)) => a.as_slice(),
        Some(Value::Null) | None => &[],
        Some(one) => std::slice::from_ref(one),
    }
}

/// A value as a list of strings: a string is one element, an array keeps its string members.
pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(scalar_text).collect(),
        Some(other) => scalar_text(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// Decodes a value that the API encoding stores as a JSON string: a string that parses as JSON
/// is replaced by the parsed value (repeatedly, up to three levels, because some supplementary
/// values are JSON strings holding JSON strings). Strings that are not JSON stay as they are.
pub(crate) fn decode_embedded(v: Value) -> Value {
    let mut v = v;
    for _ in 0..3 {
        match &v {
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(parsed) => v = parsed,
                Err(_) => break,
            },
            _ => break,
        }
    }
    v
}

/// Parses a timestamp as Config writes it: RFC 3339 text (`2016-02-17T01:36:34.043Z`) in events,
/// epoch seconds (`1414708529.922`, as the API's JSON shows it) or epoch milliseconds. `Err`
/// carries the unparseable text.
pub(crate) fn timestamp(v: &Value) -> Result<Option<DateTime<Utc>>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => {
            let t = s.trim();
            if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
                return Ok(Some(dt.with_timezone(&Utc)));
            }
            if let Ok(n) = t.parse::<f64>() {
                return epoch(n).map(Some).ok_or_else(|| s.clone());
            }
            if let Some(dt) = python_datetime(t) {
                return Ok(Some(dt));
            }
            // "2016-10-06 16:46:16.261" (no zone: UTC)
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f"))
                .map(|n| Some(n.and_utc()))
                .map_err(|_| s.clone())
        }
        Value::Number(n) => n
            .as_f64()
            .and_then(epoch)
            .map(Some)
            .ok_or_else(|| n.to_string()),
        other => Err(other.to_string()),
    }
}

/// `datetime.datetime(2020, 4, 22, 13, 13, 17, 718000, tzinfo=tzlocal())`: the Python repr
/// some RDK sample items carry (written by boto3 users who dumped items with `str`). The zone is
/// not recoverable and is read as UTC.
fn python_datetime(t: &str) -> Option<DateTime<Utc>> {
    let inner = t.strip_prefix("datetime.datetime(")?.strip_suffix(')')?;
    let nums: Vec<u32> = inner
        .split(',')
        .map(str::trim)
        .take_while(|p| !p.starts_with("tzinfo"))
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let get = |i: usize| nums.get(i).copied().unwrap_or(0);
    if nums.len() < 3 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(get(0)).ok()?, get(1), get(2))?;
    let time = chrono::NaiveTime::from_hms_micro_opt(get(3), get(4), get(5), get(6))?;
    Some(date.and_time(time).and_utc())
}

fn epoch(n: f64) -> Option<DateTime<Utc>> {
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    // Values past the year 5138 in seconds are epoch milliseconds.
    let millis = if n > 1e11 { n } else { n * 1000.0 };
    if millis > 8.0e15 {
        return None;
    }
    Utc.timestamp_millis_opt(millis.round() as i64).single()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_in_all_encodings() {
        let a = timestamp(&json!("2014-10-30T22:35:29.922Z")).unwrap();
        let b = timestamp(&json!(1414708529.922)).unwrap();
        let c = timestamp(&json!(1414708529922u64)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(timestamp(&Value::Null).unwrap(), None);
        assert!(timestamp(&json!("yesterday")).is_err());
        assert!(timestamp(&json!(-5)).is_err());
        assert!(timestamp(&json!(1e300)).is_err());
        assert!(timestamp(&json!([1])).is_err());
        assert_eq!(
            timestamp(&json!(
                "datetime.datetime(2020, 4, 22, 13, 13, 17, 718000, tzinfo=tzlocal())"
            ))
            .unwrap(),
            timestamp(&json!("2020-04-22T13:13:17.718Z")).unwrap()
        );
        assert!(timestamp(&json!("datetime.datetime(2020, 13, 1)")).is_err());
        assert!(timestamp(&json!("datetime.datetime(x)")).is_err());
    }

    #[test]
    fn embedded_json_is_decoded() {
        assert_eq!(decode_embedded(json!("{\"a\":1}")), json!({"a":1}));
        assert_eq!(decode_embedded(json!("\"{\\\"a\\\":1}\"")), json!({"a": 1}));
        assert_eq!(decode_embedded(json!("arn:aws:x")), json!("arn:aws:x"));
        assert_eq!(decode_embedded(json!({"a":"1"})), json!({"a":"1"}));
    }

    #[test]
    fn loose_scalars() {
        let v = json!({"a": "True", "b": false, "n": "22", "m": 22.0, "l": "x"});
        assert_eq!(bool_of(&v, "a"), Some(true));
        assert_eq!(bool_of(&v, "b"), Some(false));
        assert_eq!(int(v.get("n")), Some(22));
        assert_eq!(int(v.get("m")), Some(22));
        assert_eq!(list_of(&v, "l").len(), 1);
        assert!(list_of(&v, "zz").is_empty());
        assert_eq!(string(&v, &["zz", "n"]).as_deref(), Some("22"));
    }
}
