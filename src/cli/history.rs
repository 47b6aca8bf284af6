//! `devloop history`: each app's release revisions, as `helm history`
//! lists them (revision, updated, status, chart, app version, description)
//! plus the images each revision ran. Reads Helm's own storage, so
//! revisions written by helm show up as well as devloop's.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::release::{Release, ReleaseError, Store};

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Show this app's release only (default: every app in devloop.toml)
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    /// Show at most the newest N revisions (as `helm history --max`)
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max: usize,
}

/// One revision, as `-o json` prints it.
#[derive(Debug, Serialize)]
struct Entry {
    revision: u32,
    /// RFC 3339, UTC.
    updated: Option<String>,
    status: String,
    chart: String,
    app_version: String,
    images: Vec<String>,
    description: String,
}

/// One app's history, one JSON line per app.
#[derive(Debug, Serialize)]
struct AppHistory<'a> {
    event: &'static str,
    app: &'a str,
    release: &'a str,
    namespace: &'a str,
    revisions: Vec<Entry>,
}

impl Entry {
    fn of(release: &Release) -> Entry {
        Entry {
            revision: release.version,
            updated: release.updated().map(|t| t.to_string()),
            status: release.status().to_string(),
            chart: release.chart_label(),
            app_version: release.app_version().to_owned(),
            images: release.images(),
            description: release.description().to_owned(),
        }
    }
}

pub fn run(args: &HistoryArgs, ctx: &Context) -> Result<()> {
    let config = ctx.load_config(None)?;
    let apps = config.select(args.app.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let cluster = ctx.kube_target().connect().await?;
        let many = apps.len() > 1;
        for (i, app) in apps.iter().enumerate() {
            let store = Store::new(&cluster, &app.namespace.value, &app.name.value);
            let mut history = store.history().await?;
            if history.is_empty() {
                let err = ReleaseError::NotFound {
                    name: app.name.value.clone(),
                    namespace: app.namespace.value.clone(),
                };
                if many {
                    ctx.printer
                        .warn(format_args!("app {}: {err}", app.name.value));
                    continue;
                }
                return Err(err.into());
            }
            let skip = history.len().saturating_sub(args.max);
            history.drain(..skip);
            let revisions: Vec<Entry> = history.iter().map(Entry::of).collect();
            if ctx.printer.is_json() {
                ctx.printer.event(&AppHistory {
                    event: "history",
                    app: &app.name.value,
                    release: store.name(),
                    namespace: store.namespace(),
                    revisions,
                });
                continue;
            }
            if many {
                let gap = if i == 0 { "" } else { "\n" };
                ctx.printer.data(format_args!(
                    "{gap}app {} (release {} in {})",
                    app.name.value,
                    store.name(),
                    store.namespace()
                ));
            }
            ctx.printer.data(table(&history).trim_end());
        }
        Ok(())
    })
}

/// `helm history`'s columns (UPDATED in Go's `ANSIC` layout, UTC), with
/// IMAGE before DESCRIPTION.
fn table(history: &[Release]) -> String {
    let mut rows = vec![[
        "REVISION".to_owned(),
        "UPDATED".to_owned(),
        "STATUS".to_owned(),
        "CHART".to_owned(),
        "APP VERSION".to_owned(),
        "IMAGE".to_owned(),
        "DESCRIPTION".to_owned(),
    ]];
    for release in history {
        rows.push([
            release.version.to_string(),
            release.updated().map_or_else(String::new, |t| {
                t.strftime("%a %b %e %H:%M:%S %Y").to_string()
            }),
            release.status().to_string(),
            release.chart_label(),
            release.app_version().to_owned(),
            release.images().join(","),
            release.description().to_owned(),
        ]);
    }
    let mut widths = [0_usize; 7];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::codec;

    #[test]
    fn table_has_helms_columns_and_the_image() {
        let release = codec::decode(include_str!(
            "../../tests/data/release/helm-4.2.3-install.b64"
        ))
        .expect("decodes");
        let text = table(&[release]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "REVISION  UPDATED                   STATUS    CHART       APP VERSION  IMAGE           DESCRIPTION"
        );
        assert_eq!(
            lines[1],
            "1         Fri Nov 27 12:20:49 2026  deployed  demo-0.1.0  1.16.0       busybox:1.16.0  Install complete"
        );
    }
}
