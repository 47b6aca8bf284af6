//! `pods/log`: a container's output from the Docker engine, with the API's
//! options (follow, container, tailLines, sinceSeconds, sinceTime,
//! timestamps, previous, limitBytes). A followed stream ends when the
//! container stops, as the engine's does.

use std::convert::Infallible;

use bollard::Docker;
use bollard::query_parameters::LogsOptions;
use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{HeaderValue, Request, Response, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::Value;
use tokio::sync::mpsc;

use super::{first, flag, query_pairs};
use crate::api::{Body, error_response};
use crate::objects::ApiError;

/// What a log request asks for.
struct Options {
    container: String,
    previous: bool,
    docker: LogsOptions,
    limit: Option<u64>,
}

fn options(pod: &Value, q: &[(String, String)]) -> Result<Options, ApiError> {
    let container = super::container_name(pod, first(q, "container"))?;
    let number = |k: &str| -> Result<Option<i64>, ApiError> {
        first(q, k)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("{k}: Invalid value: \"{v}\": not a number"))
                })
            })
            .transpose()
    };
    let tail = number("tailLines")?;
    let since_seconds = number("sinceSeconds")?;
    let limit = number("limitBytes")?;
    for (k, v) in [("tailLines", tail), ("sinceSeconds", since_seconds)] {
        if v.is_some_and(|n| n < i64::from(k == "sinceSeconds")) {
            return Err(ApiError::new(
                422,
                "Invalid",
                format!(
                    "PodLogOptions \"\" is invalid: {k}: Invalid value: must be greater than {}",
                    if k == "sinceSeconds" {
                        "0"
                    } else {
                        "or equal to 0"
                    }
                ),
            ));
        }
    }
    if limit.is_some_and(|n| n < 1) {
        return Err(ApiError::new(
            422,
            "Invalid",
            "PodLogOptions \"\" is invalid: limitBytes: Invalid value: must be greater than 0",
        ));
    }
    let since_time = match first(q, "sinceTime") {
        Some(t) => Some(t.parse::<jiff::Timestamp>().map_err(|e| {
            ApiError::bad_request(format!("sinceTime: Invalid value: \"{t}\": {e}"))
        })?),
        None => None,
    };
    if since_seconds.is_some() && since_time.is_some() {
        return Err(ApiError::new(
            422,
            "Invalid",
            "PodLogOptions \"\" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified",
        ));
    }
    // Second precision, as the real API (sinceTime is a metav1.Time).
    let since = since_time.map(jiff::Timestamp::as_second).or_else(|| {
        since_seconds.map(|s| {
            i64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            )
            .unwrap_or(0)
                - s
        })
    });
    Ok(Options {
        container,
        previous: flag(q, "previous"),
        docker: LogsOptions {
            follow: flag(q, "follow"),
            stdout: true,
            stderr: true,
            since: since.map_or(0, |s| i32::try_from(s.max(0)).unwrap_or(i32::MAX)),
            until: 0,
            timestamps: flag(q, "timestamps"),
            tail: tail.map_or_else(|| "all".to_owned(), |n| n.to_string()),
        },
        limit: limit.and_then(|n| u64::try_from(n).ok()),
    })
}

pub fn serve(docker: &Docker, pod: &Value, req: &Request<Incoming>) -> Response<Body> {
    let q = query_pairs(req.uri().query());
    let opts = match options(pod, &q) {
        Ok(o) => o,
        Err(e) => return error_response(&e),
    };
    let id = match super::log_container(pod, &opts.container, opts.previous) {
        Ok(id) => id,
        Err(e) => return error_response(&e),
    };
    let mut logs = docker.logs(&id, Some(opts.docker));
    let mut remaining = opts.limit;
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        while let Some(Ok(chunk)) = logs.next().await {
            let mut bytes = chunk.into_bytes();
            if let Some(left) = remaining.as_mut() {
                let take = usize::try_from(*left)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                bytes.truncate(take);
                *left -= take as u64;
            }
            if !bytes.is_empty() && tx.send(bytes).await.is_err() {
                return;
            }
            if remaining == Some(0) {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let mut r = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}
