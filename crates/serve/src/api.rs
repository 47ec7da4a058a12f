//! The HTTP API: `POST /predict` (Hugging Face text-classification JSON), `GET /health`,
//! `GET /info`, `GET /metrics`; every error is a JSON `{"error": "..."}` with a status that
//! says what kind it is, and never affects another request.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::batcher::{Job, Queue};
use crate::metrics::Metrics;
use crate::Limits;

/// Token ids of a text as the model was trained (`None`: no token).
pub type Encoder = Box<dyn Fn(&str) -> Option<Vec<usize>> + Send + Sync>;

/// What every handler shares.
pub struct AppState {
    /// Into the inference thread.
    pub queue: Queue,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Request limits.
    pub limits: Limits,
    /// `GET /info`'s body.
    pub info: Value,
    /// Class names, index = class.
    pub classes: Vec<String>,
    /// Encodes a text for the model.
    pub encode: Encoder,
    /// How long a request's body may take to arrive.
    pub body_timeout: std::time::Duration,
}

/// A JSON error response.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

/// The router over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let not_allowed = || async {
        error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this route",
        )
    };
    Router::new()
        .route("/predict", post(predict).fallback(not_allowed))
        .route("/health", get(health).fallback(not_allowed))
        .route("/info", get(info).fallback(not_allowed))
        .route("/metrics", get(metrics).fallback(not_allowed))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "no such route: use POST /predict, GET /health, GET /info or GET /metrics",
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(
            state.limits.max_body_bytes,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// Counts every response by route and status, and times `/predict`.
async fn track(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".to_string(), |p| p.as_str().to_string());
    let t0 = Instant::now();
    let resp = next.run(req).await;
    s.metrics
        .observe_request(&route, resp.status().as_u16(), t0.elapsed().as_secs_f64());
    resp
}

async fn health() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn info(State(s): State<Arc<AppState>>) -> Response {
    axum::Json(s.info.clone()).into_response()
}

async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(s.queue.depth()),
    )
        .into_response()
}

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
struct Parsed {
    texts: Vec<String>,
    single: bool,
    top_k: Option<usize>,
}

/// A refused request: its status and message.
type Refusal = (StatusCode, String);

fn refuse(status: StatusCode, message: impl Into<String>) -> Refusal {
    (status, message.into())
}

/// Checks a request body against the API and the limits.
fn parse(body: &[u8], limits: &Limits) -> Result<Parsed, Refusal> {
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
fn labelled(probs: &[f64], classes: &[String], top_k: Option<usize>) -> Value {
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

async fn predict(State(s): State<Arc<AppState>>, req: Request) -> Response {
    let _in_flight = s.queue.enter();
    let limit = s.limits.max_body_bytes;
    let read = axum::body::to_bytes(req.into_body(), limit);
    let body: Bytes = match tokio::time::timeout(s.body_timeout, read).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            // a body that arrives fails only on its length (`LengthLimitError`)
            let too_long = e.to_string().contains("length limit");
            return if too_long {
                error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the request body is over the server's limit of {limit} bytes"),
                )
            } else {
                error(StatusCode::BAD_REQUEST, format!("reading the body: {e}"))
            };
        }
        Err(_) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {:.0} s",
                    s.body_timeout.as_secs_f64()
                ),
            )
        }
    };
    let parsed = match parse(&body, &s.limits) {
        Ok(p) => p,
        Err((status, message)) => return error(status, message),
    };
    let mut ids = Vec::with_capacity(parsed.texts.len());
    for (i, t) in parsed.texts.iter().enumerate() {
        match (s.encode)(t) {
            Some(x) => ids.push(x),
            None => {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("inputs[{i}] has no token after tokenization"),
                )
            }
        }
    }
    let (tx, rx) = oneshot::channel();
    if let Err(e) = s.queue.send(Job { ids, reply: tx }) {
        return error(StatusCode::SERVICE_UNAVAILABLE, e);
    }
    let probs = match rx.await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the model failed: {e}"),
            )
        }
        Err(_) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the inference thread has stopped",
            )
        }
    };
    let mut rows: Vec<Value> = probs
        .iter()
        .map(|p| labelled(p, &s.classes, parsed.top_k))
        .collect();
    let out = if parsed.single {
        rows.pop().unwrap_or(Value::Null)
    } else {
        Value::Array(rows)
    };
    axum::Json(out).into_response()
}
