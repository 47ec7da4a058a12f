//! A `/predict` request body checked against the API and the server's limits ([`parse`]),
//! and the answer's shape ([`labelled`]).

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::Limits;

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A parsed `/predict` request: the texts, whether one text was sent (not a list), top_k.
pub struct Parsed {
    /// The texts.
    pub texts: Vec<String>,
    /// One text was sent, not a list.
    pub single: bool,
    /// Classes to answer (`None`: all).
    pub top_k: Option<usize>,
}

/// A refused request: its status and message.
pub type Refusal = (StatusCode, String);

fn refuse(status: StatusCode, message: impl Into<String>) -> Refusal {
    (status, message.into())
}

/// Checks a request body against the API and the limits.
pub fn parse(body: &[u8], limits: &Limits) -> Result<Parsed, Refusal> {
    let unprocessable = |m: String| refuse(StatusCode::UNPROCESSABLE_ENTITY, m);
    // a UTF-8 byte-order mark is not part of the JSON
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let text = std::str::from_utf8(body).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid UTF-8 (byte {})", e.valid_up_to()),
        )
    })?;
    let v: Value = serde_json::from_str(text).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let Value::Object(mut obj) = v else {
        return Err(unprocessable(format!(
            "expected a JSON object {{\"inputs\": ...}}, found {}",
            kind(&v)
        )));
    };
    let (texts, single) = match obj.remove("inputs") {
        None => {
            return Err(unprocessable(
                "missing \"inputs\": expected a string or a list of strings".into(),
            ))
        }
        Some(Value::String(s)) => (vec![s], true),
        Some(Value::Array(items)) => {
            if items.is_empty() {
                return Err(unprocessable("\"inputs\" is an empty list".into()));
            }
            if items.len() > limits.max_inputs {
                return Err(refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "{} inputs, over the server's limit of {} a request",
                        items.len(),
                        limits.max_inputs
                    ),
                ));
            }
            let mut texts = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Value::String(s) => texts.push(s),
                    other => {
                        return Err(unprocessable(format!(
                            "inputs[{i}] is {}, expected a string",
                            kind(&other)
                        )))
                    }
                }
            }
            (texts, false)
        }
        Some(other) => {
            return Err(unprocessable(format!(
                "\"inputs\" is {}, expected a string or a list of strings",
                kind(&other)
            )))
        }
    };
    for (i, t) in texts.iter().enumerate() {
        if t.len() > limits.max_text_bytes {
            return Err(refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "inputs[{i}] is {} bytes, over the server's limit of {} bytes a text",
                    t.len(),
                    limits.max_text_bytes
                ),
            ));
        }
    }
    let top_k = match obj.get("parameters").map(|p| p.get("top_k")) {
        None | Some(None) => Some(1),
        Some(Some(Value::Null)) => None,
        Some(Some(Value::Number(n))) => match n.as_u64() {
            Some(0) => None,
            Some(k) => Some(k as usize),
            None => {
                return Err(unprocessable(format!(
                    "parameters.top_k is {n}, expected a non-negative integer or null"
                )))
            }
        },
        Some(Some(other)) => {
            return Err(unprocessable(format!(
                "parameters.top_k is {}, expected a non-negative integer or null",
                kind(other)
            )))
        }
    };
    if let Some(p) = obj.get("parameters").filter(|p| !p.is_object()) {
        return Err(unprocessable(format!(
            "\"parameters\" is {}, expected an object",
            kind(p)
        )));
    }
    Ok(Parsed {
        texts,
        single,
        top_k,
    })
}

/// `[{"label", "score"}, …]` sorted by score (ties by class order), the first `top_k`.
pub fn labelled(probs: &[f64], classes: &[String], top_k: Option<usize>) -> Value {
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    order.truncate(top_k.unwrap_or(probs.len()));
    Value::Array(
        order
            .into_iter()
            .map(|c| json!({"label": classes[c], "score": probs[c]}))
            .collect(),
    )
}
