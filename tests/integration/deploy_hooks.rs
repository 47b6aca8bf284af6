//! Chart hooks through `devloop deploy`: a pre-upgrade migration Job runs
//! to completion before the Deployment changes and is deleted per its
//! `hook-succeeded` policy.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use kube::api::Api;

use crate::cluster::Cluster;
use crate::deploy_e2e::{PYTHON_STANDIN, devloop_in, python_app, scaffold_python, standins};
use crate::support::World;

const MIGRATION: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    "helm.sh/hook": pre-install,pre-upgrade
    "helm.sh/hook-weight": "-1"
    "helm.sh/hook-delete-policy": before-hook-creation,hook-succeeded
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: {{ include "app.image" . | quote }}
          command: ["python", "-c", "import time; time.sleep(2); print('migrated')"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_a_pre_upgrade_migration_job_runs_first_and_is_deleted() {
    let Some(world) = World::get() else { return };
    standins(&world, &[PYTHON_STANDIN]);
    let cluster = Cluster::start(&world).await;
    let dir = scaffold_python("hook-py", "v1");
    std::fs::write(dir.path().join("chart/templates/migrate.yaml"), MIGRATION).expect("hook");
    let (ns, app) = ("hook-py-dev", "hook-py");
    let out = devloop_in(dir.path(), &world, &cluster, &["deploy"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), ns);
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
    assert!(
        jobs.get_opt("hook-py-migrate")
            .await
            .expect("get")
            .is_none(),
        "hook-succeeded deletes the Job after the install"
    );
    let generation = deployments.get(app).await.expect("dep").metadata.generation;

    // The upgrade: sample the Job and the Deployment while it runs.
    std::fs::write(dir.path().join("server.py"), python_app("v2")).expect("edit");
    let deploy = tokio::spawn({
        let dir = dir.path().to_owned();
        let kubeconfig = cluster.kubeconfig.clone();
        let host = world.var("DOCKER_HOST").to_owned();
        let registry = world.var("DEVLOOP_WORLD_REGISTRY").to_owned();
        async move {
            let mut cmd = crate::support::devloop(&dir);
            cmd.arg("deploy")
                .env("KUBECONFIG", kubeconfig)
                .env("DOCKER_HOST", host)
                .env("DEVLOOP_REGISTRY", registry);
            tokio::task::spawn_blocking(move || crate::support::run(&mut cmd))
                .await
                .expect("join")
        }
    });
    let started = Instant::now();
    // The Job is deleted as soon as it succeeded (hook-succeeded), so the
    // last moment it is seen bounds its run.
    let (mut job_seen_last, mut changed_at) = (None, None);
    while !deploy.is_finished() && started.elapsed() < Duration::from_mins(2) {
        if jobs
            .get_opt("hook-py-migrate")
            .await
            .expect("get job")
            .is_some()
        {
            job_seen_last = Some(started.elapsed());
        }
        let now = deployments.get(app).await.expect("dep").metadata.generation;
        if changed_at.is_none() && now != generation {
            changed_at = Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = deploy.await.expect("deploy task");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let job_seen_last = job_seen_last.expect("the migration Job ran during the upgrade");
    let changed_at = changed_at.expect("the Deployment changed");
    assert!(
        job_seen_last < changed_at,
        "the Job was still there at {job_seen_last:?}, the Deployment changed at {changed_at:?}"
    );
    eprintln!("migration Job gone by {job_seen_last:?}, Deployment changed at {changed_at:?}");
    assert!(
        jobs.get_opt("hook-py-migrate")
            .await
            .expect("get")
            .is_none()
    );
    cluster
        .answers(ns, app, 8000, "v2", Duration::from_secs(20))
        .await
        .expect("v2");
    cluster.sim.shutdown().await;
}
