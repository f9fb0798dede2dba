//! Deserializers as forgiving as the original's JSON binding: a number where a string is
//! expected becomes its text, numbers and booleans may arrive as strings, and `null` means
//! "not given".

use serde::de::{Deserializer, Error};
use serde::Deserialize;
use serde_json::Value;

fn text(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        // .NET writes booleans as "True"/"False" when it coerces them to strings.
        Value::Bool(true) => Some("True".to_owned()),
        Value::Bool(false) => Some("False".to_owned()),
        other => Some(other.to_string()),
    }
}

pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(text(Value::deserialize(d)?))
}

pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        other => Err(D::Error::custom(format!(
            "expected a boolean, found {other}"
        ))),
    }
}

pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("expected an integer, found {n}"))),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("expected an integer, found \"{s}\""))),
        other => Err(D::Error::custom(format!(
            "expected an integer, found {other}"
        ))),
    }
}

/// A list of strings; `null` items become empty strings so that validation can name them.
pub fn opt_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Array(items) => Ok(Some(
            items
                .into_iter()
                .map(|v| text(v).unwrap_or_default())
                .collect(),
        )),
        other => Err(D::Error::custom(format!("expected a list, found {other}"))),
    }
}
