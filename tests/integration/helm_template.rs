//! The Go-template conformance table (tests/data/gotemplate/expected.json):
//! devloop's engine must render every case exactly as Helm did, and, with the
//! test world up, Helm must still render every case as stored.

use std::collections::BTreeMap;
use std::sync::Arc;

use devloop::helm::template::{FuncError, Funcs, Param, Signature, TemplateSet, Value};

use crate::support::{World, repo_root};

const CHART: &str = "conf";

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    template: String,
    values: serde_json::Value,
    output: Option<String>,
    error: Option<String>,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(repo_root().join("tests/data/gotemplate/expected.json"))
        .expect("tests/data/gotemplate/expected.json is readable");
    serde_json::from_str(&text).expect("expected.json is a list of cases")
}

/// The top-level data Helm gives a template of chart `conf` (release
/// `release-name` in `default`, as the oracle renders it).
fn helm_context(template: &str, values: &serde_json::Value) -> Value {
    let ctx = serde_json::json!({
        "Values": without_nulls(values),
        "Release": {
            "Name": "release-name", "Namespace": "default", "IsInstall": true,
            "IsUpgrade": false, "Service": "Helm",
        },
        "Chart": {"Name": CHART, "Version": "0.1.0", "APIVersion": "v2"},
        "Template": {"Name": template, "BasePath": format!("{CHART}/templates")},
    });
    let ctx = Value::from_json(&ctx);
    if let Value::Map(m) = &ctx
        && let Some(Value::Map(release)) = m.borrow().get("Release")
    {
        // Helm's Release.Revision is a Go int, not a float64 from YAML.
        release
            .borrow_mut()
            .insert("Revision".to_owned(), Value::Int(1));
    }
    ctx
}

/// Go's builtins as Helm's engine sees them, plus stand-ins for the few
/// Helm functions the table uses: Helm's `include` and `tpl` (which reach
/// the template set through the call context), `required` and `fail`,
/// sprig's `hasKey` (a typed parameter) and sprig's `slice`, which replaces
/// Go's. Helm's function library proper is part 2 of issue 10.
fn helm_funcs() -> Funcs {
    let mut funcs = Funcs::new();
    let name_and_data = Signature::fixed(&[Param::String, Param::Any]);
    funcs.register("include", name_and_data.clone(), |ctx, args| {
        let name = args[0].as_str().expect("checked by the signature");
        ctx.execute_template(name, args[1].clone()).map(Value::from)
    });
    // sprig's `hasKey`: a typed (map) parameter, checked by the executor.
    funcs.register(
        "hasKey",
        Signature::fixed(&[Param::Map, Param::String]),
        |_, args| {
            let key = args[1].as_str().expect("checked by the signature");
            Ok(Value::Bool(
                matches!(&args[0], Value::Map(m) if m.borrow().contains_key(key)),
            ))
        },
    );
    // Helm's `required` and `fail`: their messages reach the user unwrapped.
    funcs.register(
        "required",
        Signature::fixed(&[Param::String, Param::Any]),
        |_, args| match &args[1] {
            Value::Nil => Err(FuncError::helm_warning(
                args[0].as_str().unwrap_or_default(),
            )),
            Value::String(s) if s.is_empty() => Err(FuncError::helm_warning(
                args[0].as_str().unwrap_or_default(),
            )),
            v => Ok(v.clone()),
        },
    );
    funcs.register("fail", Signature::fixed(&[Param::String]), |_, args| {
        Err(FuncError::helm_warning(
            args[0].as_str().unwrap_or_default(),
        ))
    });
    funcs.register("tpl", name_and_data, |ctx, args| {
        let text = args[0].as_str().expect("checked by the signature");
        let quoted = devloop::helm::template::fmt::quote(text, false);
        match ctx.execute_text("gotpl", text, args[1].clone()) {
            Ok(out) => Ok(Value::from(out.replace("<no value>", ""))),
            // pkg/errors' Wrapf: "msg: cause", unwrapping to the cause.
            Err(devloop::helm::template::Error::Parse(e)) => Err(FuncError::Call {
                chain: vec![
                    format!("cannot parse template {quoted}: {e}"),
                    e.to_string(),
                ],
            }),
            Err(devloop::helm::template::Error::Exec(e)) => {
                let mut chain = vec![format!(
                    "error during tpl function execution for {quoted}: {e}"
                )];
                chain.extend(e.chain);
                Err(FuncError::Call { chain })
            }
        }
    });
    funcs.register(
        "slice",
        Signature::variadic(&[Param::Any], Param::Any),
        |_, args| sprig_slice(&args[0], &args[1..]),
    );
    funcs
}

/// sprig's `slice` (`mustSlice`, whose panics Go reports as errors).
fn sprig_slice(list: &Value, indices: &[Value]) -> Result<Value, FuncError> {
    let Value::List(items) = list else {
        return Err(FuncError::new(match list {
            Value::Nil => {
                "runtime error: invalid memory address or nil pointer dereference".to_owned()
            }
            Value::Map(_) => "list should be type of slice or array but map".to_owned(),
            v => format!(
                "list should be type of slice or array but {}",
                v.type_name()
            ),
        }));
    };
    let items = items.borrow();
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    let to_int = |v: &Value| match v {
        #[allow(clippy::cast_possible_truncation)]
        Value::Float(f) => *f as i64,
        v => v.as_int().unwrap_or(0),
    };
    let len = i64::try_from(items.len()).expect("a list's length fits in i64");
    let start = indices.first().map_or(0, to_int);
    let end = indices.get(1).map_or(len, to_int);
    if start < 0 || start > end || end > len {
        return Err(FuncError::new(
            "reflect.Value.Slice: slice index out of bounds",
        ));
    }
    let (start, end) = (
        usize::try_from(start).expect("checked non-negative"),
        usize::try_from(end).expect("checked non-negative"),
    );
    Ok(Value::list(items[start..end].to_vec()))
}

/// Helm's value coalescing deletes null-valued keys from maps, at every map
/// level but not inside lists (what the chart model, part 3, must do).
fn without_nulls(values: &serde_json::Value) -> serde_json::Value {
    match values {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        v => v.clone(),
    }
}

/// Renders one case as Helm's engine would: parse, execute, Helm's wording.
fn render(case: &Case) -> Result<String, String> {
    let name = format!("{CHART}/templates/{}.yaml", case.name);
    let mut set = TemplateSet::new(Arc::new(helm_funcs()));
    set.parse(&name, &case.template)
        .map_err(|e| e.helm_message())?;
    set.render(&name, helm_context(&name, &case.values))
        .map_err(|e| e.helm_message())
}

#[test]
fn helm_template_engine_matches_conformance_table() {
    let cases = cases();
    assert!(cases.len() >= 200, "the table has {} cases", cases.len());
    let mut failures = BTreeMap::new();
    for case in &cases {
        let want = match (&case.output, &case.error) {
            (Some(out), None) => Ok(out.clone()),
            (None, Some(err)) => Err(err.clone()),
            _ => panic!("case {} needs exactly one of output, error", case.name),
        };
        let got = render(case);
        if got != want {
            failures.insert(
                case.name.clone(),
                format!(
                    "template: {:?}\n  want: {want:?}\n  got:  {got:?}",
                    case.template
                ),
            );
        }
    }
    for (name, msg) in &failures {
        eprintln!("FAIL {name}\n  {msg}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Helm: {:?}",
        failures.len(),
        cases.len(),
        failures.keys().collect::<Vec<_>>()
    );
}

#[test]
fn helm_template_conformance_table_is_what_helm_renders() {
    let Some(world) = World::get() else { return };
    let out = std::process::Command::new("python3")
        .arg(repo_root().join("tests/helm/gen_conformance.py"))
        .arg("--check")
        .env("DEVLOOP_WORLD_HELM", world.var("DEVLOOP_WORLD_HELM"))
        .env("DEVLOOP_WORLD_DIR", world.var("DEVLOOP_WORLD_DIR"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "Helm no longer renders the stored expectations:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Times parse + execute of the table's 300-line template (Helm's output is
/// its expectation). Prints the figure; asserts only correctness:
/// `cargo nextest run -p devloop -E 'test(helm_template_timing)' --no-capture`
#[test]
fn helm_template_timing_of_a_300_line_template() {
    const RUNS: u32 = 50;
    let case = cases()
        .into_iter()
        .find(|c| c.name == "bench-300-lines")
        .expect("the table has bench-300-lines");
    assert_eq!(case.template.lines().count(), 300);
    let name = format!("{CHART}/templates/{}.yaml", case.name);
    let funcs = Arc::new(helm_funcs());
    let (mut parse, mut exec) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    for _ in 0..RUNS {
        let start = std::time::Instant::now();
        let mut set = TemplateSet::new(funcs.clone());
        set.parse(&name, &case.template).expect("parses");
        let parsed = std::time::Instant::now();
        let out = set
            .render(&name, helm_context(&name, &case.values))
            .expect("renders");
        exec += parsed.elapsed();
        parse += parsed - start;
        assert_eq!(Some(&out), case.output.as_ref());
    }
    eprintln!(
        "300-line template ({} bytes in, {} bytes out), mean of {RUNS} runs: parse {:?}, execute {:?}, total {:?} ({} build)",
        case.template.len(),
        case.output.as_ref().map_or(0, String::len),
        parse / RUNS,
        exec / RUNS,
        (parse + exec) / RUNS,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    );
}
