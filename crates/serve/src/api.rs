//! The HTTP API: `POST /predict` (Hugging Face text-classification JSON, the first model),
//! `POST /models/NAME/predict`, `GET /models`, `POST /models/NAME/reload`, `GET /health`,
//! `GET /info`, `GET /metrics`; every error is a JSON `{"error": "..."}` with a status that
//! says what kind it is, and never affects another request.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::batcher::Job;
use crate::metrics::Metrics;
use crate::models::Slot;
use crate::request::{labelled, parse};
use crate::Limits;

/// What every handler shares.
pub struct AppState {
    /// The models, the first being the one `/predict` and `/info` serve.
    pub models: Vec<Arc<Slot>>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Request limits.
    pub limits: Limits,
    /// The server's settings, in `GET /info`.
    pub settings: Value,
    /// How long a request's body may take to arrive.
    pub body_timeout: std::time::Duration,
}

impl AppState {
    fn model(&self, name: &str) -> Option<&Arc<Slot>> {
        self.models.iter().find(|m| m.name == name)
    }

    fn names(&self) -> String {
        self.models
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
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
        .route("/predict", post(predict_first).fallback(not_allowed))
        .route("/models", get(models).fallback(not_allowed))
        .route(
            "/models/{name}/predict",
            post(predict_named).fallback(not_allowed),
        )
        .route("/models/{name}/reload", post(reload).fallback(not_allowed))
        .route("/health", get(health).fallback(not_allowed))
        .route("/info", get(info).fallback(not_allowed))
        .route("/metrics", get(metrics).fallback(not_allowed))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "no such route: use POST /predict, POST /models/NAME/predict, GET /models, \
                 POST /models/NAME/reload, GET /health, GET /info or GET /metrics",
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
    let first = &s.models[0];
    let run = first.current();
    let mut info = json!({
        "run": first.path.display().to_string(),
        "model": run.config().model,
        "classes": run.class_names(),
        "vocab_size": run.encoder().vocab.len(),
        "tokenizer": run.encoder().tokenizer,
        "max_tokens": run.encoder().max_tokens,
        "models": s.models.iter().map(|m| m.name.clone()).collect::<Vec<_>>(),
    });
    if let (Value::Object(o), Value::Object(settings)) = (&mut info, &s.settings) {
        o.extend(settings.clone());
    }
    axum::Json(info).into_response()
}

async fn models(State(s): State<Arc<AppState>>) -> Response {
    axum::Json(json!({"models": s.models.iter().map(|m| m.describe()).collect::<Vec<_>>()}))
        .into_response()
}

/// Loads the model's run folder again; the old version serves until the new one is
/// loaded, and stays when it cannot be (500 with why).
async fn reload(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let Some(slot) = s.model(&name).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no model {name:?}: the models are {}", s.names()),
        );
    };
    match tokio::task::spawn_blocking(move || slot.reload()).await {
        Ok(Ok(version)) => axum::Json(json!({"name": name, "version": version})).into_response(),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{name} was not reloaded (the previous version still serves): {e}"),
        ),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "the reload failed"),
    }
}

async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics
            .render(s.models.iter().map(|m| m.queue.depth()).sum()),
    )
        .into_response()
}

async fn predict_first(State(s): State<Arc<AppState>>, req: Request) -> Response {
    let slot = s.models[0].clone();
    predict(&s, &slot, req).await
}

async fn predict_named(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    req: Request,
) -> Response {
    let Some(slot) = s.model(&name).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no model {name:?}: the models are {}", s.names()),
        );
    };
    predict(&s, &slot, req).await
}

/// Classifies a request's texts with `slot`'s model.
async fn predict(s: &AppState, slot: &Slot, req: Request) -> Response {
    let _in_flight = slot.queue.enter();
    // this version encodes and runs the request, whatever reloads meanwhile
    let run = slot.current();
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
        match run.encode(t) {
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
    let classes = run.class_names().to_vec();
    if let Err(e) = slot.queue.send(Job {
        run,
        ids,
        reply: tx,
    }) {
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
        .map(|p| labelled(p, &classes, parsed.top_k))
        .collect();
    let out = if parsed.single {
        rows.pop().unwrap_or(Value::Null)
    } else {
        Value::Array(rows)
    };
    axum::Json(out).into_response()
}
