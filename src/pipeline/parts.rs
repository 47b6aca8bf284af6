//! Small translations between the pipeline's parts: the chart model into
//! what a release stores, a stored release into the kinds prune must look
//! at, and the cluster's advertised local registry (KEP-1755).

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

use crate::build::registry::HostingRegistry;
use crate::cluster::Cluster;
use crate::helm::chart::Chart;
use crate::release::{self, ChartParts};

/// The chart as a release stores it (subcharts are not stored, as in Helm).
pub fn chart_parts(chart: &Chart) -> ChartParts {
    let pairs = |files: &[crate::helm::chart::ChartFile]| {
        files
            .iter()
            .map(|f| (f.name.clone(), f.data.clone()))
            .collect::<Vec<_>>()
    };
    let lock = chart
        .files
        .iter()
        .find(|f| f.name == "Chart.lock")
        .and_then(|f| {
            crate::helm::chart::values::parse_yaml(&String::from_utf8_lossy(&f.data)).ok()
        });
    ChartParts {
        metadata: chart.metadata.clone(),
        lock,
        templates: pairs(&chart.templates),
        values: chart.values.as_object().cloned().unwrap_or_default(),
        schema: chart.schema.clone(),
        files: pairs(&chart.files),
    }
}

/// The kinds of the newest revision's objects, so prune finds objects of
/// kinds the chart no longer renders.
pub fn previous_kinds(history: &[release::Release]) -> Vec<(String, String)> {
    history
        .iter()
        .max_by_key(|r| r.version)
        .map(|r| {
            r.resources()
                .into_iter()
                .map(|o| (o.api_version, o.kind))
                .collect()
        })
        .unwrap_or_default()
}

/// The registry a cluster advertises in `kube-public/local-registry-hosting`
/// (kind and k3d set it up this way); none when absent or unreadable.
pub async fn hosting_registry(cluster: &Cluster) -> Option<HostingRegistry> {
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "kube-public");
    let map = api.get_opt("local-registry-hosting").await.ok()??;
    let text = map.data?.get("localRegistryHosting.v1")?.clone();
    HostingRegistry::parse(&text)
}
