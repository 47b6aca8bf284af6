//! How one container starts under its debugger: the pack's `[debug]` data
//! applied to what the container runs (the manifest's command/args over the
//! image's ENTRYPOINT/CMD, as Kubernetes combines them). A pure function;
//! the transform writes its result into the manifests.

use crate::build::docker::ImageConfig;
use crate::pack::Debug;

/// Init wrappers kept in front of the program (tini forwards signals).
const INIT_WRAPPERS: &[&str] = &["tini", "tini-static", "dumb-init"];

/// The debug command and environment of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The whole command (`command:`; `args:` is cleared); `None`: as it was.
    pub command: Option<Vec<String>>,
    /// Variables to set, in order.
    pub env: Vec<(String, String)>,
}

/// The container as rendered: its `command`, `args` and `env` (name, value).
#[derive(Debug, Clone, Default)]
pub struct Container {
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
}

/// The launch of `container` (running `image`) under `debug`; `wait` starts
/// the app paused until a debugger attaches. Errors say why the command
/// cannot run under this debugger.
pub fn launch(
    debug: &Debug,
    container: &Container,
    image: &ImageConfig,
    wait: bool,
) -> Result<Launch, String> {
    let port = debug.port.to_string();
    let fill = |s: &str| s.replace("{port}", &port);
    let template = if wait && !debug.wait_command.is_empty() {
        &debug.wait_command
    } else {
        &debug.command
    };
    let command = if debug.programs.is_empty() || template.is_empty() {
        None
    } else {
        let running = argv(container, image);
        let (wrappers, program, args) = split_program(&running)
            .ok_or_else(|| "the container has no command to run under the debugger".to_owned())?;
        let (program, args): (String, Vec<String>) = match debug.rewrite.get(base_name(program)) {
            Some(replacement) if !replacement.is_empty() => {
                let mut rest = replacement[1..].to_vec();
                rest.extend_from_slice(args);
                (replacement[0].clone(), rest)
            }
            _ => (program.clone(), args.to_vec()),
        };
        if !debug.programs.iter().any(|g| glob(g, base_name(&program))) {
            return Err(format!(
                "{} runs under {} only when the container starts {}, and it starts `{}`",
                debug.runtime,
                debug.runtime,
                debug.programs.join(" or "),
                running.join(" ")
            ));
        }
        let mut out: Vec<String> = wrappers.to_vec();
        for part in template {
            match part.as_str() {
                "{program}" => out.push(program.clone()),
                "{args}" => out.extend(args.iter().cloned()),
                other => out.push(fill(other)),
            }
        }
        Some(out)
    };
    let env_template = if wait && !debug.wait_env.is_empty() {
        &debug.wait_env
    } else {
        &debug.env
    };
    let env = env_template
        .iter()
        .map(|(name, value)| {
            let existing = existing_env(container, image, name).unwrap_or_default();
            let value = fill(value).replace(&format!("${{{name}}}"), &existing);
            // An empty list item (`a:` or a trailing space) means something
            // else than no item: PYTHONPATH's empty entry is the cwd.
            let value = value.trim_end_matches([':', ' ']).to_owned();
            (name.clone(), value)
        })
        .collect();
    Ok(Launch { command, env })
}

/// What the container runs: Kubernetes' rule (a manifest `command` replaces
/// the ENTRYPOINT and drops the CMD; `args` replace the CMD).
fn argv(container: &Container, image: &ImageConfig) -> Vec<String> {
    let mut out = container
        .command
        .clone()
        .unwrap_or_else(|| image.entrypoint.clone());
    match (&container.args, &container.command) {
        (Some(args), _) => out.extend(args.iter().cloned()),
        (None, None) => out.extend(image.cmd.iter().cloned()),
        (None, Some(_)) => {}
    }
    out
}

/// `(init wrappers with their flags, the program, its arguments)`.
fn split_program(argv: &[String]) -> Option<(&[String], &String, &[String])> {
    let mut i = 0;
    while i < argv.len() && INIT_WRAPPERS.contains(&base_name(&argv[i])) {
        i += 1;
        while i < argv.len() && argv[i].starts_with('-') {
            i += 1;
            if argv[i - 1] == "--" {
                break;
            }
        }
    }
    let program = argv.get(i)?;
    Some((&argv[..i], program, &argv[i + 1..]))
}

fn existing_env(container: &Container, image: &ImageConfig, name: &str) -> Option<String> {
    container
        .env
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .or_else(|| {
            image.env.iter().find_map(|e| {
                let (n, v) = e.split_once('=')?;
                (n == name).then(|| v.to_owned())
            })
        })
}

fn base_name(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// `*` matches any run of characters; nothing else is special.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.len() >= head.len()
                && name.starts_with(head)
                && (0..=name.len() - head.len()).any(|i| {
                    name.is_char_boundary(head.len() + i) && glob(tail, &name[head.len() + i..])
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack_debug(pack: &str) -> Debug {
        crate::pack::embedded()
            .expect("packs")
            .iter()
            .find(|p| p.name == pack)
            .and_then(|p| p.scaffold.debug.clone())
            .expect("the pack has [debug]")
    }

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    fn image(entrypoint: &[&str], cmd: &[&str], env: &[&str]) -> ImageConfig {
        ImageConfig {
            entrypoint: strings(entrypoint),
            cmd: strings(cmd),
            env: strings(env),
            working_dir: "/app".to_owned(),
        }
    }

    #[test]
    fn each_runtime_rewrites_the_command_the_image_runs() {
        let tini = ["tini", "--"];
        let cases: &[(&str, ImageConfig, bool, Option<&[&str]>)] = &[
            (
                "python",
                image(&tini, &["python", "server.py"], &[]),
                false,
                Some(&[
                    "tini",
                    "--",
                    "python",
                    "-m",
                    "debugpy",
                    "--listen",
                    "0.0.0.0:5678",
                    "server.py",
                ]),
            ),
            (
                "python",
                image(&[], &["python3", "-u", "server.py"], &[]),
                true,
                Some(&[
                    "python3",
                    "-m",
                    "debugpy",
                    "--listen",
                    "0.0.0.0:5678",
                    "--wait-for-client",
                    "-u",
                    "server.py",
                ]),
            ),
            (
                "python",
                image(&tini, &["flask", "--app", "app", "run"], &[]),
                false,
                Some(&[
                    "tini",
                    "--",
                    "python",
                    "-m",
                    "debugpy",
                    "--listen",
                    "0.0.0.0:5678",
                    "-m",
                    "flask",
                    "--app",
                    "app",
                    "run",
                ]),
            ),
            (
                "node",
                image(&tini, &["node", "index.js"], &[]),
                true,
                Some(&[
                    "tini",
                    "--",
                    "node",
                    "--inspect-brk=0.0.0.0:9229",
                    "index.js",
                ]),
            ),
            (
                "go",
                image(&["/usr/bin/tini", "--"], &["/usr/local/bin/app"], &[]),
                false,
                Some(&[
                    "/usr/bin/tini",
                    "--",
                    "/devloop-debug/go/dlv",
                    "exec",
                    "--headless",
                    "--listen=:2345",
                    "--api-version=2",
                    "--accept-multiclient",
                    "--continue",
                    "/usr/local/bin/app",
                    "--",
                ]),
            ),
            (
                "java",
                image(&tini, &["java", "-jar", "/app/app.jar"], &[]),
                false,
                None,
            ),
        ];
        for (pack, image, wait, want) in cases {
            let got = launch(&pack_debug(pack), &Container::default(), image, *wait)
                .unwrap_or_else(|e| panic!("{pack}: {e}"));
            assert_eq!(got.command, want.map(strings), "{pack} wait={wait}");
        }
    }

    #[test]
    fn manifest_command_and_args_win_over_the_image_as_kubernetes_combines_them() {
        let debug = pack_debug("python");
        let img = image(&["tini", "--"], &["python", "server.py"], &[]);
        let args_only = Container {
            args: Some(strings(&["python", "other.py"])),
            ..Container::default()
        };
        let got = launch(&debug, &args_only, &img, false).expect("launch");
        assert_eq!(
            got.command.expect("command").last().map(String::as_str),
            Some("other.py")
        );
        // A command drops the image's CMD.
        let command = Container {
            command: Some(strings(&["python", "main.py"])),
            ..Container::default()
        };
        let got = launch(&debug, &command, &img, false).expect("launch");
        assert_eq!(
            got.command,
            Some(strings(&[
                "python",
                "-m",
                "debugpy",
                "--listen",
                "0.0.0.0:5678",
                "main.py"
            ]))
        );
    }

    #[test]
    fn a_command_the_runtime_cannot_wrap_is_an_error_naming_it() {
        let err = launch(
            &pack_debug("python"),
            &Container::default(),
            &image(&["sh", "-c"], &["python server.py"], &[]),
            false,
        )
        .expect_err("sh is not python");
        assert!(err.contains("`sh -c python server.py`"), "{err}");
        assert!(err.contains("python or python3"), "{err}");
    }

    #[test]
    fn env_extends_the_variables_the_container_or_image_already_has() {
        let debug = pack_debug("python");
        let img = image(&[], &["python", "a.py"], &["PYTHONPATH=/opt/lib"]);
        let got = launch(&debug, &Container::default(), &img, false).expect("launch");
        assert!(
            got.env.contains(&(
                "PYTHONPATH".to_owned(),
                "/devloop-debug/python:/opt/lib".to_owned()
            )),
            "{:?}",
            got.env
        );
        let bare = image(&[], &["python", "a.py"], &[]);
        let got = launch(&debug, &Container::default(), &bare, false).expect("launch");
        assert!(
            got.env
                .contains(&("PYTHONPATH".to_owned(), "/devloop-debug/python".to_owned())),
            "{:?}",
            got.env
        );
        let java = pack_debug("java");
        let container = Container {
            env: vec![("JAVA_TOOL_OPTIONS".to_owned(), "-Xmx256m".to_owned())],
            ..Container::default()
        };
        let got = launch(&java, &container, &img, true).expect("launch");
        assert_eq!(
            got.env,
            vec![(
                "JAVA_TOOL_OPTIONS".to_owned(),
                "-agentlib:jdwp=transport=dt_socket,server=y,address=*:5005,suspend=y -Xmx256m"
                    .to_owned()
            )]
        );
    }

    #[test]
    fn globs_match_program_names() {
        assert!(glob("python3.*", "python3.13"));
        assert!(glob("*", "app"));
        assert!(!glob("python", "python3"));
        assert!(!glob("python3.*", "python3"));
    }
}
