//! The deploy path's side of `devloop up --debug`: debug build args, a
//! deploy-inputs label that changes with debug mode, the support image
//! (built once per session and runtime, through the same builder and
//! delivery as the app), and the manifest transform of [`crate::debug`].

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};

use super::Pipeline;
use crate::build::{BuildRequest, BuildResult, Builder as _, PullPolicy};
use crate::config::AppConfig;
use crate::debug::transform::{self, Support, Target};
use crate::error::{Error, Result};
use crate::helm::rendered::Rendered;
use crate::session::pipeline::Reporter;

impl Pipeline {
    /// Build args of the app's build: the pack's debug build args in debug mode.
    pub(super) fn build_args(&self, app: &AppConfig) -> BTreeMap<String, String> {
        self.debug
            .as_ref()
            .and_then(|s| s.apps.get(&app.name.value))
            .map(|d| d.debug.build_args.clone())
            .unwrap_or_default()
    }

    /// The inputs label, mixed with the debug settings when they apply.
    pub(super) fn debug_label(&self, app: &AppConfig, label: String) -> String {
        let Some(word) = self
            .debug
            .as_ref()
            .and_then(|s| s.fingerprint(&app.name.value))
        else {
            return label;
        };
        let mut hasher = Sha256::new();
        hasher.update(label.as_bytes());
        hasher.update(word.as_bytes());
        let hex = crate::build::context::hex(&hasher.finalize());
        hex[..label.len().min(hex.len())].to_owned()
    }

    /// Rewrites `rendered` so the app runs under its debugger.
    pub(super) async fn debug_transform(
        &self,
        app: &AppConfig,
        image: &BuildResult,
        rendered: &mut Rendered,
        reporter: Reporter<'_>,
    ) -> Result<()> {
        let Some(settings) = &self.debug else {
            return Ok(());
        };
        let Some(debug) = settings.apps.get(&app.name.value) else {
            return Ok(());
        };
        let builder = self
            .builder
            .as_ref()
            .ok_or_else(|| Error::Internal("the pipeline has no engine".to_owned()))?;
        let config = builder.image_config(&image.local).await?;
        let support = match &debug.support {
            Some(dockerfile) => Some(self.support(app, &debug.pack, dockerfile, reporter).await?),
            None => None,
        };
        transform::apply(
            rendered,
            &Target {
                app: &app.name.value,
                image: &image.reference,
                config: &config,
                debug: &debug.debug,
                wait: settings.wait,
                support: support.as_ref(),
            },
        )
        .map_err(|message| {
            Error::usage(
                format!("--debug: {}: {message}", app.name.value),
                Some("packs/README.md says which commands each debugger can start".to_owned()),
            )
        })?;
        Ok(())
    }

    /// The support image of `pack`, built and delivered like the app's
    /// image (content-tagged, so it builds once and is fresh after).
    async fn support(
        &self,
        app: &AppConfig,
        pack: &str,
        dockerfile: &str,
        reporter: Reporter<'_>,
    ) -> Result<Support> {
        if let Some(done) = self
            .debug_support
            .lock()
            .map_err(|_| Error::Internal("the support image cache is poisoned".to_owned()))?
            .get(pack)
        {
            return Ok(done.clone());
        }
        let name = format!("devloop-debug-{pack}");
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", dir.display(), e))?;
        let path = dir.join("Dockerfile");
        std::fs::write(&path, dockerfile)
            .map_err(|e| Error::io("cannot write", path.display(), e))?;
        let request = BuildRequest {
            app: name.clone(),
            context: dir.clone(),
            dockerfile: "Dockerfile".to_owned(),
            image: name,
            build_args: BTreeMap::new(),
            target: None,
            delivery: self.delivery(app)?,
            keep_images: 1,
            defer_prune: false,
        };
        let builder = self
            .builder
            .as_ref()
            .ok_or_else(|| Error::Internal("the pipeline has no engine".to_owned()))?;
        let built = builder.build(&request, reporter.printer).await;
        let _ = std::fs::remove_dir_all(&dir);
        let built = built?;
        let support = Support {
            image: built.reference,
            pull_policy: (built.pull_policy == PullPolicy::IfNotPresent)
                .then(|| "IfNotPresent".to_owned()),
        };
        self.debug_support
            .lock()
            .map_err(|_| Error::Internal("the support image cache is poisoned".to_owned()))?
            .insert(pack.to_owned(), support.clone());
        Ok(support)
    }
}
