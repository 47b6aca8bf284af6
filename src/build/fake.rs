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
                Delivery::Push {
                    registry,
                    pull_from,
                } => (
                    format!(
                        "{}/{}@sha256:{count:064x}",
                        pull_from.as_deref().unwrap_or(registry),
                        request.image
                    ),
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

#[cfg(test)]
mod tests {
    use futures_util::FutureExt as _;

    use super::*;
    use crate::output::OutputFormat;

    #[test]
    fn the_fake_answers_like_the_real_builder() {
        let printer = Printer::new(OutputFormat::Text, -2, false);
        let fake = FakeBuilder::default();
        let mut request = BuildRequest {
            app: "web".to_owned(),
            context: std::path::PathBuf::from("."),
            dockerfile: "Dockerfile".to_owned(),
            image: "web".to_owned(),
            build_args: std::collections::BTreeMap::new(),
            target: None,
            delivery: Delivery::Push {
                registry: "localhost:5001".to_owned(),
                pull_from: Some("kind-registry:5000".to_owned()),
            },
            keep_images: 5,
            defer_prune: false,
        };
        let pushed = fake
            .build(&request, &printer)
            .now_or_never()
            .expect("ready")
            .expect("built");
        assert!(
            pushed
                .reference
                .starts_with("kind-registry:5000/web@sha256:")
        );
        assert_eq!(pushed.pull_policy, PullPolicy::Chart);
        request.delivery = Delivery::SharedDaemon;
        let shared = fake
            .build(&request, &printer)
            .now_or_never()
            .expect("ready")
            .expect("built");
        assert_eq!(shared.reference, "web:fake-2");
        assert_eq!(shared.pull_policy, PullPolicy::IfNotPresent);
        assert_eq!(fake.requests.lock().map_or(0, |r| r.len()), 2);
    }
}
