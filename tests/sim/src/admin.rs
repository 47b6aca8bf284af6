//! The admin endpoint: fault injection over plain HTTP on its own loopback
//! port (so the faults never block it), for tests in other processes and
//! for people poking the simulator by hand. Same bearer token as the API.
//!
//! `GET /faults`; `POST /faults/fail {"count","code","retryAfterSeconds"}`,
//! `/faults/delay {"milliseconds"}`, `/faults/half-open {"enabled"}`,
//! `/faults/drop-connections`, `/faults/kill-container {"namespace","pod",
//! "container","exitCode"}`, `/faults/delete-pod {"namespace","pod"}`,
//! `/faults/clear`. Answers are JSON.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::Shared;
use crate::api::Body;

pub async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => return,
            a = listener.accept() => a,
        };
        let Ok((tcp, _)) = accepted else { continue };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(handle(&shared, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), svc)
                .await;
        });
    }
}

fn answer(code: u16, v: &Value) -> Response<Body> {
    let mut r = Response::new(Full::new(bytes::Bytes::from(v.to_string())).boxed());
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

async fn handle(shared: &Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let authorized = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == shared.token);
    if !authorized {
        return answer(401, &json!({"error": "Unauthorized"}));
    }
    let method = req.method().clone();
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let args: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let faults = &shared.faults;
    let str_arg = |k: &str| args[k].as_str().unwrap_or("").to_owned();
    let ns = args["namespace"].as_str().unwrap_or("default").to_owned();
    let result: Result<Value, String> = match (method, path.as_str()) {
        (Method::GET, "/faults") => Ok(faults.describe()),
        (Method::POST, "/faults/fail") => {
            let code = u16::try_from(args["code"].as_u64().unwrap_or(500)).unwrap_or(500);
            let count = u32::try_from(args["count"].as_u64().unwrap_or(1)).unwrap_or(u32::MAX);
            faults.fail_next(count, code, args["retryAfterSeconds"].as_u64().unwrap_or(1));
            Ok(faults.describe())
        }
        (Method::POST, "/faults/delay") => {
            faults.set_delay(Duration::from_millis(
                args["milliseconds"].as_u64().unwrap_or(0),
            ));
            Ok(faults.describe())
        }
        (Method::POST, "/faults/half-open") => {
            faults.set_half_open(args["enabled"].as_bool().unwrap_or(true));
            Ok(faults.describe())
        }
        (Method::POST, "/faults/clear") => {
            faults.clear();
            Ok(faults.describe())
        }
        (Method::POST, "/faults/drop-connections") => {
            shared.kill.send_modify(|n| *n += 1);
            Ok(json!({"dropped": true}))
        }
        (Method::POST, "/faults/kill-container") => {
            let container = args["container"].as_str();
            let code = args["exitCode"].as_i64().unwrap_or(137);
            crate::faults::kill_container(shared, &ns, &str_arg("pod"), container, code)
                .await
                .map(|id| json!({"killed": id, "exitCode": code}))
        }
        (Method::POST, "/faults/delete-pod") => {
            crate::faults::delete_pod(shared, &ns, &str_arg("pod"))
                .map(|()| json!({"deleted": str_arg("pod")}))
        }
        _ => {
            return answer(
                404,
                &json!({"error": format!("no such admin endpoint: {path}")}),
            );
        }
    };
    match result {
        Ok(v) => answer(200, &v),
        Err(e) => answer(400, &json!({"error": e})),
    }
}
