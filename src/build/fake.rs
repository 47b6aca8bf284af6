//! A [`Builder`] for tests of the stages that use one (deploy, `up`): it
//! records requests and answers with a result shaped like the real one.

use std::sync::Mutex;

use super::{BuildError, BuildRequest, BuildResult, Builder, Delivery, PullPolicy, Timings};
use crate::output::Printer;

/// Answers every build with `<image>:<content tag>`; the tag is the given
/// one, or `fake-<n>` counting builds.
#[derive(Debug, Default)]
pub struct FakeBuilder {
    pub requests: Mutex<Vec<BuildRequest>>,
    /// When set, every build fails with this step and message.
    pub fail: Option<(String, String)>,
}

impl Builder for FakeBuilder {
    fn build(
        &self,
        request: &BuildRequest,
        _printer: &Printer,
    ) -> impl Future<Output = Result<BuildResult, BuildError>> + Send {
        let count = {
            let mut requests = self
                .requests
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            requests.push(request.clone());
            requests.len()
        };
        let outcome = if let Some((step, message)) = &self.fail {
            Err(BuildError::Step {
                step: step.clone(),
                message: message.clone(),
                lines: Vec::new(),
            })
        } else {
            let tag = format!("fake-{count}");
            let local = format!("{}:{tag}", request.image);
            let (reference, pull_policy) = match &request.delivery {
                Delivery::Push { registry } => (
                    format!("{registry}/{}@sha256:{count:064x}", request.image),
                    PullPolicy::Chart,
                ),
                _ => (local.clone(), PullPolicy::IfNotPresent),
            };
            Ok(BuildResult {
                reference,
                pull_policy,
                delivery: request.delivery.clone(),
                local,
                tag,
                built: true,
                delivered: true,
                context_bytes: 0,
                timings: Timings::default(),
            })
        };
        std::future::ready(outcome)
    }
}
