//! `devloop template`: renders a chart as `helm template` prints it (each
//! document as `---\n# Source: PATH\n...`, manifests in install order,
//! then hooks), with devloop's own Helm renderer. Without `--chart` it
//! renders the app's chart with the image values `devloop deploy` would set.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::AppArgs;
use crate::build::content_tag;
use crate::build::context::BuildContext;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::helm::chart::{self, Chart, ReleaseInfo, ValueInputs};
use crate::helm::rendered::Capabilities;

#[derive(Debug, Args)]
pub struct TemplateArgs {
    #[command(flatten)]
    pub apps: AppArgs,
    /// The chart directory or .tgz (default: the app's chart).
    #[arg(long, value_name = "DIR")]
    pub chart: Option<PathBuf>,
    /// A values file (repeatable; later files win).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// A value, Helm's `--set` syntax (repeatable).
    #[arg(long, value_name = "K=V")]
    pub set: Vec<String>,
    #[arg(long = "set-string", value_name = "K=V")]
    pub set_string: Vec<String>,
    #[arg(long = "set-json", value_name = "K=JSON")]
    pub set_json: Vec<String>,
    #[arg(long = "set-file", value_name = "K=PATH")]
    pub set_file: Vec<String>,
    /// The release name (default: the app's name, or `release-name`).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// `.Capabilities.KubeVersion` (default: Helm's).
    #[arg(long = "kube-version", value_name = "VERSION")]
    pub kube_version: Option<String>,
    /// Extra `.Capabilities.APIVersions` (repeatable).
    #[arg(short = 'a', long = "api-versions", value_name = "API")]
    pub api_versions: Vec<String>,
    /// Only print documents from this template path (repeatable).
    #[arg(short = 's', long = "show-only", value_name = "PATH")]
    pub show_only: Vec<String>,
}

pub fn run(args: &TemplateArgs, ctx: &Context) -> Result<()> {
    let mut inputs = ValueInputs {
        files: Vec::new(),
        set: args.set.clone(),
        set_string: args.set_string.clone(),
        set_json: args.set_json.clone(),
        set_file: args.set_file.clone(),
        overrides: serde_json::Value::Null,
    };
    let (chart_path, name, namespace) = match &args.chart {
        Some(path) => (
            path.clone(),
            args.name
                .clone()
                .unwrap_or_else(|| "release-name".to_owned()),
            ctx.global
                .namespace
                .clone()
                .unwrap_or_else(|| "default".to_owned()),
        ),
        None => app_chart(args, ctx, &mut inputs)?,
    };
    inputs.files.extend(args.values.iter().cloned());
    let chart = Chart::load(&chart_path)?;
    let values = chart::values::coalesce(&chart, &inputs)?;
    let mut caps = Capabilities::helm_default();
    if let Some(v) = &args.kube_version {
        caps = caps.with_kube_version(v).ok_or_else(|| {
            Error::usage(
                format!("invalid kube version {v:?}"),
                Some("use a version like 1.30.0".to_owned()),
            )
        })?;
    }
    caps = caps.with_api_versions(&args.api_versions);
    let release = ReleaseInfo {
        name,
        namespace,
        revision: 1,
        is_install: true,
    };
    let rendered = chart::render(&chart, &values.merged, &release, &caps, None)?;
    let docs = rendered
        .manifests
        .iter()
        .chain(rendered.hooks.iter().map(|h| &h.manifest));
    let mut out = String::new();
    let mut shown = false;
    for m in docs {
        if !args.show_only.is_empty()
            && !args
                .show_only
                .iter()
                .any(|s| matches_show_only(s, &m.source))
        {
            continue;
        }
        shown = true;
        out.push_str("---\n# Source: ");
        out.push_str(&m.source);
        out.push('\n');
        out.push_str(&m.text);
        out.push('\n');
    }
    if !args.show_only.is_empty() && !shown {
        return Err(Error::usage(
            format!(
                "could not find template {} in chart",
                args.show_only.join(", ")
            ),
            None,
        ));
    }
    ctx.printer.data(out.trim_end_matches('\n'));
    Ok(())
}

/// The app's chart, its values files and the image values `devloop deploy`
/// would set, into `inputs`; returns the chart path, release name and the
/// app's namespace (`-n` or devloop.toml's, as deploy uses).
fn app_chart(
    args: &TemplateArgs,
    ctx: &Context,
    inputs: &mut ValueInputs,
) -> Result<(PathBuf, String, String)> {
    let config = ctx.load_config(args.apps.registry.as_deref())?;
    let apps = config.select(args.apps.app.as_deref())?;
    let [app] = apps.as_slice() else {
        return Err(Error::usage(
            "this repo has several apps; `devloop template` renders one",
            Some("pass --app NAME or --chart DIR".to_owned()),
        ));
    };
    inputs.files.extend(app.values.value.iter().cloned());
    // The content tag `devloop build` would give the image, without
    // building. A pushed image's digest is only known after the push, so
    // offline the tag stands in for it (digest left empty).
    let context = BuildContext::open(&app.path.value, "Dockerfile")?;
    let summary = context.digest()?;
    let tag = content_tag(&summary.digest, "Dockerfile", &BTreeMap::new(), None);
    let repository = match &app.registry.value {
        Some(registry) => format!("{}/{}", registry.trim_end_matches('/'), app.image.value),
        None => app.image.value.clone(),
    };
    inputs.overrides = json!({"image": {
        "repository": repository,
        "tag": tag,
        "digest": "",
        "pullPolicy": "IfNotPresent",
    }});
    ctx.printer.debug(format_args!(
        "image {repository}:{tag} (content tag; a pushed image's digest is only known after `devloop build`)"
    ));
    Ok((
        app.chart.value.clone(),
        args.name.clone().unwrap_or_else(|| app.name.value.clone()),
        app.namespace.value.clone(),
    ))
}

/// Helm's `--show-only`: a template path relative to the chart's parent, or
/// a glob over it.
fn matches_show_only(pattern: &str, source: &str) -> bool {
    pattern == source
        || globset::Glob::new(pattern).is_ok_and(|g| g.compile_matcher().is_match(source))
}
