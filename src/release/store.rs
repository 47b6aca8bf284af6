//! Helm's Secrets storage driver (`pkg/storage/driver/secrets.go`, Helm 4):
//! one Secret per revision, `sh.helm.release.v1.<name>.v<N>`, type
//! `helm.sh/release.v1`, data `release` = [`codec::encode`], labels
//! `name`, `owner=helm`, `status`, `version` plus the release's own labels
//! and `createdAt` (on create) or `modifiedAt` (on update), Unix seconds.
//!
//! Reads follow `pkg/storage/storage.go`: history by the `owner=helm,name=`
//! selector, the newest `deployed` revision, pruning before a create.
//! What a deploy or rollback does with the revisions is the caller's.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};

use super::ReleaseError;
use super::codec;
use super::plan::prune_plan;
use super::record::{APPLY_METHOD, Release, Status, key};
use crate::cluster::{Cluster, ClusterError};

/// The Secret type Helm 3 and 4 give release records.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";

/// Labels Helm sets itself and strips from a release's own labels.
const SYSTEM_LABELS: [&str; 6] = [
    "name",
    "owner",
    "status",
    "version",
    "createdAt",
    "modifiedAt",
];

/// One release's revisions in one namespace.
#[derive(Clone)]
pub struct Store {
    api: Api<Secret>,
    server: String,
    name: String,
    namespace: String,
}

impl Store {
    pub fn new(cluster: &Cluster, namespace: &str, name: &str) -> Store {
        Store {
            api: Api::namespaced(cluster.client.clone(), namespace),
            server: cluster.server.clone(),
            name: name.to_owned(),
            namespace: namespace.to_owned(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn error(&self, action: &str, err: kube::Error) -> ReleaseError {
        ReleaseError::Cluster(ClusterError::from_kube(&self.server, action, err))
    }

    /// Every stored revision, oldest first. Records that do not decode are
    /// skipped, as Helm's `Query` skips them.
    pub async fn history(&self) -> Result<Vec<Release>, ReleaseError> {
        let params = ListParams::default().labels(&format!("owner=helm,name={}", self.name));
        let list =
            self.api.list(&params).await.map_err(|e| {
                self.error(&format!("list the revisions of release {}", self.name), e)
            })?;
        let mut out: Vec<Release> = list
            .items
            .iter()
            .filter_map(|secret| from_secret(secret).ok())
            .filter(|r| r.name == self.name)
            .collect();
        out.sort_by_key(|r| r.version);
        Ok(out)
    }

    /// Revision `version`.
    pub async fn get(&self, version: u32) -> Result<Release, ReleaseError> {
        let key = key(&self.name, version);
        match self.api.get_opt(&key).await {
            Ok(Some(secret)) => from_secret(&secret),
            Ok(None) => Err(ReleaseError::NoRevision {
                name: self.name.clone(),
                version,
            }),
            Err(e) => Err(self.error(&format!("read {key}"), e)),
        }
    }

    /// The newest revision, whatever its status.
    pub async fn last(&self) -> Result<Option<Release>, ReleaseError> {
        Ok(self.history().await?.pop())
    }

    /// The newest `deployed` revision: what an upgrade starts from and what
    /// a failed deploy leaves in place.
    pub async fn deployed(&self) -> Result<Option<Release>, ReleaseError> {
        Ok(self
            .history()
            .await?
            .into_iter()
            .rev()
            .find(|r| r.status() == Status::Deployed))
    }

    /// The number the next revision gets (1 for a new release).
    pub async fn next_version(&self) -> Result<u32, ReleaseError> {
        Ok(self.last().await?.map_or(1, |r| r.version + 1))
    }

    /// Writes a new revision, first pruning the history so that at most
    /// `history_max` revisions remain with it (0: keep all), as Helm's
    /// `Storage.Create` does. Returns the versions pruned.
    pub async fn create(
        &self,
        release: &Release,
        history_max: usize,
    ) -> Result<Vec<u32>, ReleaseError> {
        let history: Vec<(u32, Status)> = self
            .history()
            .await?
            .iter()
            .map(|r| (r.version, r.status()))
            .collect();
        let pruned = prune_plan(&history, history_max);
        for version in &pruned {
            self.delete(*version).await?;
        }
        let secret = to_secret(release, "createdAt")?;
        self.api
            .create(&PostParams::default(), &secret)
            .await
            .map_err(|e| self.error(&format!("create {}", release.key()), e))?;
        Ok(pruned)
    }

    /// Writes `release` before its objects are applied, as Helm does: with
    /// a pending status (which is also Helm's lock), after pruning to
    /// `history_max`. Returns the versions pruned.
    pub async fn begin(
        &self,
        release: &mut Release,
        status: Status,
        description: &str,
        history_max: usize,
    ) -> Result<Vec<u32>, ReleaseError> {
        release.set_status(status, description);
        self.hand_over().await?;
        self.create(release, history_max).await
    }

    /// Rewrites the apply method of revisions Helm applied server-side
    /// (`ssa`, Helm 4's default) to [`APPLY_METHOD`]: once devloop's manager
    /// owns the fields, Helm's rollback to such a revision would apply
    /// server-side without force (Helm takes the method from the target
    /// revision) and conflict with devloop. Returns the versions rewritten.
    pub async fn hand_over(&self) -> Result<Vec<u32>, ReleaseError> {
        let mut done = Vec::new();
        for mut release in self.history().await? {
            if release.apply_method == "ssa" {
                APPLY_METHOD.clone_into(&mut release.apply_method);
                self.update(&release).await?;
                done.push(release.version);
            }
        }
        Ok(done)
    }

    /// Records how applying `release` ended. `deployed` supersedes every
    /// other deployed revision; `failed` leaves them, so the last deployed
    /// revision stays what an upgrade starts from.
    pub async fn finish(
        &self,
        release: &mut Release,
        status: Status,
        description: &str,
    ) -> Result<(), ReleaseError> {
        release.set_status(status, description);
        self.update(release).await?;
        if status == Status::Deployed {
            self.supersede(release.version).await?;
        }
        Ok(())
    }

    /// Rewrites an existing revision (its status, say), as Helm's `Update`.
    pub async fn update(&self, release: &Release) -> Result<(), ReleaseError> {
        let key = release.key();
        let mut secret = to_secret(release, "modifiedAt")?;
        let current = self
            .api
            .get(&key)
            .await
            .map_err(|e| self.error(&format!("read {key}"), e))?;
        secret.metadata.resource_version = current.metadata.resource_version;
        self.api
            .replace(&key, &PostParams::default(), &secret)
            .await
            .map_err(|e| self.error(&format!("update {key}"), e))?;
        Ok(())
    }

    /// Marks every `deployed` revision but `keep` `superseded`, as Helm does
    /// once an upgrade or rollback has succeeded. Returns their versions.
    pub async fn supersede(&self, keep: u32) -> Result<Vec<u32>, ReleaseError> {
        let mut done = Vec::new();
        for mut release in self.history().await? {
            if release.version != keep && release.status() == Status::Deployed {
                if let Some(info) = release.info.as_mut() {
                    info.status = Status::Superseded;
                }
                self.update(&release).await?;
                done.push(release.version);
            }
        }
        Ok(done)
    }

    /// Deletes revision `version` (absent already is fine).
    pub async fn delete(&self, version: u32) -> Result<(), ReleaseError> {
        let key = key(&self.name, version);
        match self.api.delete(&key, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(self.error(&format!("delete {key}"), e)),
        }
    }

    /// Deletes every revision (`helm uninstall` without `--keep-history`).
    pub async fn delete_all(&self) -> Result<Vec<u32>, ReleaseError> {
        let mut done = Vec::new();
        for release in self.history().await? {
            self.delete(release.version).await?;
            done.push(release.version);
        }
        Ok(done)
    }
}

/// The Secret Helm's `newSecretsObject` builds; `stamp` is `createdAt` or
/// `modifiedAt`.
pub fn to_secret(release: &Release, stamp: &str) -> Result<Secret, ReleaseError> {
    let text = codec::encode(release).map_err(|source| ReleaseError::Corrupt {
        key: release.key(),
        source,
    })?;
    let mut labels: BTreeMap<String, String> = release.labels.clone();
    labels.insert(stamp.to_owned(), Timestamp::now().as_second().to_string());
    labels.insert("name".to_owned(), release.name.clone());
    labels.insert("owner".to_owned(), "helm".to_owned());
    labels.insert("status".to_owned(), release.status().as_str().to_owned());
    labels.insert("version".to_owned(), release.version.to_string());
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(release.key()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        type_: Some(SECRET_TYPE.to_owned()),
        data: Some(BTreeMap::from([(
            "release".to_owned(),
            ByteString(text.into_bytes()),
        )])),
        ..Secret::default()
    })
}

/// The release a Secret holds, with the Secret's non-system labels.
pub fn from_secret(secret: &Secret) -> Result<Release, ReleaseError> {
    let key = secret.metadata.name.clone().unwrap_or_default();
    let data = secret
        .data
        .as_ref()
        .and_then(|d| d.get("release"))
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        .unwrap_or_default();
    let mut release = codec::decode(&data).map_err(|source| ReleaseError::Corrupt {
        key: key.clone(),
        source,
    })?;
    release.labels = secret
        .metadata
        .labels
        .iter()
        .flatten()
        .filter(|(k, _)| !SYSTEM_LABELS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(release)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_what_helm_writes_and_reads_back() {
        let mut release = codec::decode(include_str!(
            "../../tests/data/release/helm-4.2.3-install.b64"
        ))
        .expect("decodes");
        release.labels.insert("team".to_owned(), "web".to_owned());
        let secret = to_secret(&release, "createdAt").expect("encodes");
        assert_eq!(
            secret.metadata.name.as_deref(),
            Some("sh.helm.release.v1.rel.v1")
        );
        assert_eq!(secret.type_.as_deref(), Some("helm.sh/release.v1"));
        let labels = secret.metadata.labels.clone().expect("labels");
        let keys: Vec<&str> = labels.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["createdAt", "name", "owner", "status", "team", "version"]
        );
        assert_eq!(labels["owner"], "helm");
        assert_eq!(labels["status"], "deployed");
        assert_eq!(labels["version"], "1");
        assert!(labels["createdAt"].parse::<i64>().expect("unix seconds") > 1_700_000_000);
        let back = from_secret(&secret).expect("decodes");
        assert_eq!(
            back.labels,
            BTreeMap::from([("team".to_owned(), "web".to_owned())])
        );
        assert_eq!(back, release);
    }
}
