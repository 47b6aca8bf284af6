//! Table tests of resolution: precedence, defaults, and where errors point.

use std::collections::HashMap;
use std::path::Path;

use super::*;

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new(toml: &str, dirs: &[&str]) -> Repo {
        let dir = tempfile::Builder::new()
            .prefix("shop")
            .tempdir()
            .expect("tempdir");
        for d in dirs {
            std::fs::create_dir_all(dir.path().join(d)).expect("mkdir");
        }
        std::fs::write(dir.path().join(file::FILE_NAME), toml).expect("write");
        Repo { dir }
    }

    fn resolve(&self, overrides: &Overrides, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::load(self.dir.path(), overrides, &|k| env.get(k).cloned())
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn no_flags() -> Overrides {
    Overrides::default()
}

#[test]
fn defaults_for_a_one_app_repo() {
    let repo = Repo::new("", &[]);
    let config = repo.resolve(&no_flags(), &[]).expect("resolves");
    let app = &config.apps[0];
    let dir_name = repo.path().file_name().expect("name").to_string_lossy();
    assert_eq!(app.name.value, names::release_name(&dir_name));
    assert_eq!(app.name.source, Source::Default("the app directory's name"));
    assert_eq!(app.namespace.value, format!("{}-dev", app.name.value));
    assert_eq!(app.image.value, app.name.value);
    assert_eq!(app.registry.value, None);
    assert_eq!(app.chart.value, repo.path().join("chart"));
    assert_eq!(app.path.value, repo.path());
}

#[test]
fn precedence_flag_over_env_over_file_over_default() {
    type Case<'a> = (
        &'a Overrides,
        &'a [(&'a str, &'a str)],
        &'a str,
        &'a str,
        &'a str,
    );
    let repo = Repo::new(
        "name = \"web\"\nregistry = \"file.example:5000\"\nnamespace = \"from-file\"\n",
        &[],
    );
    let flags = Overrides {
        registry: Some("flag.example".to_owned()),
        namespace: None,
    };
    let env = [
        ("DEVLOOP_REGISTRY", "env.example"),
        ("DEVLOOP_NAMESPACE", "from-env"),
    ];
    let cases: [Case; 3] = [
        (&flags, &env, "flag.example", "--registry", "from-env"),
        (
            &no_flags(),
            &env,
            "env.example",
            "env DEVLOOP_REGISTRY",
            "from-env",
        ),
        (
            &no_flags(),
            &[],
            "file.example:5000",
            "devloop.toml:2:12",
            "from-file",
        ),
    ];
    for (overrides, env, registry, source, namespace) in cases {
        let config = repo.resolve(overrides, env).expect("resolves");
        let app = &config.apps[0];
        assert_eq!(app.registry.value.as_deref(), Some(registry));
        assert!(
            app.registry.source.to_string().ends_with(source),
            "{}",
            app.registry.source
        );
        assert_eq!(app.namespace.value, namespace);
    }
}

#[test]
fn empty_env_values_count_as_unset() {
    let repo = Repo::new("name = \"web\"\n", &[]);
    let config = repo
        .resolve(&no_flags(), &[("DEVLOOP_NAMESPACE", "")])
        .expect("resolves");
    assert_eq!(config.apps[0].namespace.value, "web-dev");
}

#[test]
fn many_apps_share_top_level_defaults() {
    let repo = Repo::new(
        "registry = \"127.0.0.1:5000\"\nallowed_contexts = [\"team-dev\"]\n\n[[app]]\npath = \"services/api\"\nports = [8080]\n\n[[app]]\nname = \"front\"\npath = \"services/web\"\nnamespace = \"web-ns\"\n",
        &["services/api", "services/web"],
    );
    let config = repo.resolve(&no_flags(), &[]).expect("resolves");
    let names: Vec<_> = config.apps.iter().map(|a| a.name.value.as_str()).collect();
    assert_eq!(names, ["api", "front"]);
    assert_eq!(
        config.apps[0].registry.value.as_deref(),
        Some("127.0.0.1:5000")
    );
    assert_eq!(
        config.apps[1].registry.value.as_deref(),
        Some("127.0.0.1:5000")
    );
    assert_eq!(config.apps[0].namespace.value, "api-dev");
    assert_eq!(config.apps[1].namespace.value, "web-ns");
    assert_eq!(config.allowed_contexts.value, ["team-dev"]);
    assert_eq!(config.apps[0].path.value, repo.path().join("services/api"));
    assert_eq!(config.select(Some("front")).expect("front").len(), 1);
    assert_eq!(config.select(None).expect("all").len(), 2);
    match config.select(Some("nope")) {
        Err(err @ ConfigError::UnknownApp { .. }) => {
            assert_eq!(err.hint().as_deref(), Some("apps here: api, front"));
        }
        other => panic!("expected UnknownApp, got {other:?}"),
    }
}

#[test]
fn errors_point_at_the_key() {
    type Case<'a> = (&'a str, &'a [&'a str], (usize, usize), &'a str);
    let cases: &[Case] = &[
        (
            "name = \"Web_App\"\n",
            &[],
            (1, 8),
            "not a valid release name",
        ),
        (
            "namespace = \"Dev\"\n",
            &[],
            (1, 13),
            "not a namespace name",
        ),
        (
            "image = \"ghcr.io/x:1\"\n",
            &[],
            (1, 9),
            "not an image repository",
        ),
        (
            "registry = \"http://x\"\n",
            &[],
            (1, 12),
            "without a scheme",
        ),
        ("path = \"missing\"\n", &[], (1, 8), "not a directory"),
        (
            "ports = [80, \"80:8080\"]\n",
            &[],
            (1, 9),
            "forwarded twice",
        ),
        (
            "name = \"x\"\n[[app]]\npath = \"a\"\n",
            &["a"],
            (1, 8),
            "describes one app",
        ),
        (
            "[[app]]\npath = \"a\"\n[[app]]\npath = \"b\"\nallowed_contexts = []\n",
            &["a", "b"],
            (5, 20),
            "shared by all apps",
        ),
        (
            "[[app]]\nname = \"a\"\npath = \"a\"\n[[app]]\nname = \"a\"\npath = \"b\"\n",
            &["a", "b"],
            (5, 8),
            "two apps are named",
        ),
        ("[[app]]\nname = \"a\"\n", &[], (2, 8), "has no `path`"),
        (
            "name = \"a\"\nsync = [{ src = \"*.py\", dest = \"app\" }]\n",
            &[],
            (2, 8),
            "must be an absolute path",
        ),
        (
            "sync = []\n[[app]]\npath = \"a\"\n",
            &["a"],
            (1, 8),
            "describes one app",
        ),
    ];
    for (toml, dirs, (line, column), needle) in cases {
        let repo = Repo::new(toml, dirs);
        match repo.resolve(&no_flags(), &[]) {
            Err(ConfigError::Invalid {
                line: l,
                column: c,
                message,
                ..
            }) => {
                assert!(message.contains(needle), "{toml:?}: {message}");
                assert_eq!((l, c), (*line, *column), "{toml:?}: {message}");
            }
            other => panic!("{toml:?}: expected Invalid, got {other:?}"),
        }
    }
}

#[test]
fn bad_overrides_name_their_source() {
    let repo = Repo::new("", &[]);
    let err = repo
        .resolve(&no_flags(), &[("DEVLOOP_NAMESPACE", "Bad_NS")])
        .expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "invalid value of env DEVLOOP_NAMESPACE: `Bad_NS` is not a namespace name (lowercase letters, digits and '-', at most 63 characters)"
    );
    let flags = Overrides {
        registry: Some("https://r".to_owned()),
        namespace: None,
    };
    let err = repo.resolve(&flags, &[]).expect_err("invalid");
    assert!(
        err.to_string().starts_with("invalid value of --registry"),
        "{err}"
    );
}

#[test]
fn found_from_a_subdirectory() {
    let repo = Repo::new("name = \"web\"\n", &["src/deep"]);
    let config =
        Config::load(&repo.path().join("src/deep"), &no_flags(), &|_| None).expect("resolves");
    assert_eq!(
        config.file.as_deref(),
        Some(repo.path().join(file::FILE_NAME).as_path())
    );
    assert_eq!(config.apps[0].path.value, repo.path());
}

#[test]
fn keep_images_defaults_is_shared_and_must_keep_one() {
    let repo = Repo::new("", &[]);
    let app = &repo.resolve(&no_flags(), &[]).expect("resolves").apps[0];
    assert_eq!(app.keep_images.value, DEFAULT_KEEP_IMAGES);
    let repo = Repo::new(
        "keep_images = 2\n\n[[app]]\npath = \"a\"\n\n[[app]]\npath = \"b\"\nkeep_images = 9\n",
        &["a", "b"],
    );
    let config = repo.resolve(&no_flags(), &[]).expect("resolves");
    assert_eq!(config.apps[0].keep_images.value, 2);
    assert_eq!(
        config.apps[0].keep_images.source.to_string(),
        "devloop.toml:1:15"
    );
    assert_eq!(config.apps[1].keep_images.value, 9);
    for bad in ["keep_images = 0\n", "keep_images = -3\n"] {
        match Repo::new(bad, &[]).resolve(&no_flags(), &[]) {
            Err(ConfigError::Invalid {
                line: 1,
                column: 15,
                message,
                ..
            }) => assert!(message.contains("keeps no image"), "{message}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn history_max_defaults_to_helms_is_shared_and_zero_keeps_all() {
    let repo = Repo::new("", &[]);
    let app = &repo.resolve(&no_flags(), &[]).expect("resolves").apps[0];
    assert_eq!(app.history_max.value, 10);
    assert_eq!(
        app.history_max.source.to_string(),
        "default (10 revisions, as helm's --history-max)"
    );
    let repo = Repo::new(
        "history_max = 3\n\n[[app]]\npath = \"a\"\n\n[[app]]\npath = \"b\"\nhistory_max = 0\n",
        &["a", "b"],
    );
    let config = repo.resolve(&no_flags(), &[]).expect("resolves");
    assert_eq!(config.apps[0].history_max.value, 3);
    assert_eq!(
        config.apps[0].history_max.source.to_string(),
        "devloop.toml:1:15"
    );
    assert_eq!(config.apps[1].history_max.value, 0);
    match Repo::new("history_max = -1\n", &[]).resolve(&no_flags(), &[]) {
        Err(ConfigError::Invalid {
            line: 1,
            column: 15,
            message,
            ..
        }) => assert_eq!(message, "history_max = -1 is negative"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sync_rules_are_per_app_and_default_to_the_pack() {
    let repo = Repo::new(
        "[[app]]\npath = \"a\"\nsync = [{ src = \"src/**\", dest = \"/app/src\", reload = \"restart\" }]\n[[app]]\npath = \"b\"\n",
        &["a", "b"],
    );
    let config = repo.resolve(&no_flags(), &[]).expect("resolves");
    let rules = config.apps[0].sync.value.as_ref().expect("written rules");
    assert_eq!(rules[0].dest, "/app/src");
    assert_eq!(rules[0].reload, crate::sync::rules::Reload::Restart);
    assert!(matches!(
        config.apps[0].sync.source,
        Source::File { line: 3, .. }
    ));
    assert_eq!(config.apps[1].sync.value, None, "the pack's rules");
}
