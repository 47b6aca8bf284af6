//! The real [`Pipeline`] of `devloop up`: a rebuild builds, delivers and
//! deploys; a redeploy renders and applies the chart again with the image
//! last built; a sync (until live sync lands) rebuilds.

use std::cell::RefCell;
use std::collections::HashMap;

use super::events::Kind;
use super::pipeline::{Outcome, Pipeline, Reporter, Running};
use super::plan::Plan;
use crate::build::BuildResult;
use crate::config::AppConfig;
use crate::error::Error;
use crate::pipeline::{Deployed, Pipeline as Stages};

pub struct UpStages<'a> {
    pub stages: &'a Stages,
    pub apps: Vec<&'a AppConfig>,
    /// The image each app last built, for redeploys.
    images: RefCell<HashMap<String, BuildResult>>,
}

impl<'a> UpStages<'a> {
    pub fn new(stages: &'a Stages, apps: Vec<&'a AppConfig>) -> UpStages<'a> {
        UpStages {
            stages,
            apps,
            images: RefCell::new(HashMap::new()),
        }
    }
}

impl Pipeline for UpStages<'_> {
    fn run<'a>(
        &'a self,
        app: &'a str,
        _kind: Kind,
        plan: &Plan,
        reporter: Reporter<'a>,
    ) -> Running<'a> {
        let redeploy = matches!(plan, Plan::Redeploy { .. });
        Box::pin(async move {
            let config = self
                .apps
                .iter()
                .find(|a| a.name.value == app)
                .ok_or_else(|| Error::Internal(format!("no app {app} in the session")))?;
            let last = self.images.borrow().get(app).cloned();
            let image = match last {
                Some(image) if redeploy => image,
                _ => {
                    let image = self.stages.build(config, reporter).await?;
                    self.images
                        .borrow_mut()
                        .insert(app.to_owned(), image.clone());
                    image
                }
            };
            let deployed = self.stages.deploy(config, &image, reporter).await?;
            if let Deployed::Unchanged { revision } = deployed {
                reporter.printer.debug(format_args!(
                    "{app}: nothing to deploy, revision {revision} has these inputs"
                ));
            }
            Ok(Outcome {
                image: Some(image.reference),
            })
        })
    }
}
