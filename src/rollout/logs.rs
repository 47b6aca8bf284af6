//! The last lines a crashed container wrote: the previous run's
//! (`previous=true`, the one that crashed), else the current one's. Logs are
//! a courtesy of the report: any error (a server without the `log`
//! subresource answers 404, a container that never ran 400) gives no lines.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};

use super::pod::LOG_LINES;

pub async fn last_lines(api: &Api<Pod>, pod: &str, container: &str) -> Vec<String> {
    for previous in [true, false] {
        let params = LogParams {
            container: Some(container.to_owned()),
            previous,
            tail_lines: Some(i64::try_from(LOG_LINES).unwrap_or(20)),
            ..LogParams::default()
        };
        if let Ok(text) = api.logs(pod, &params).await
            && !text.trim().is_empty()
        {
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let skip = lines.len().saturating_sub(LOG_LINES);
            return lines.into_iter().skip(skip).collect();
        }
    }
    Vec::new()
}
