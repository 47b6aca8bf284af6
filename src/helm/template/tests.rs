//! Unit tests of the template engine; the Helm conformance table lives in
//! `tests/data/gotemplate/` and is checked by `conformance.rs`.

use std::sync::Arc;

use super::*;

fn render(text: &str, data: &serde_json::Value) -> Result<String, Error> {
    let mut set = TemplateSet::new(Arc::new(Funcs::new()));
    set.parse("t", text)?;
    Ok(set.render("t", Value::from_json(data))?)
}

#[test]
fn basic_actions() {
    let data = serde_json::json!({"a": {"b": 1}, "l": [1, 2, 3], "s": "x"});
    assert_eq!(
        render("{{ .a.b }}-{{ .s }}", &data).expect("renders"),
        "1-x"
    );
    assert_eq!(
        render("{{ range .l }}{{ . }},{{ end }}", &data).expect("renders"),
        "1,2,3,"
    );
    assert_eq!(
        render("{{- if .s }} yes {{- end }}", &data).expect("renders"),
        " yes"
    );
    assert_eq!(render("{{ .missing }}", &data).expect("renders"), "");
}

#[test]
fn exec_error_wording() {
    let data = serde_json::json!({"Values": {}});
    let err = render("a\n{{ .Values.a.b }}", &data).expect_err("fails");
    assert_eq!(
        err.to_string(),
        "template: t:2:10: executing \"t\" at <.Values.a.b>: nil pointer evaluating interface {}.b"
    );
    assert_eq!(
        err.helm_message(),
        "t:2:10\n  executing \"t\" at <.Values.a.b>:\n    nil pointer evaluating interface {}.b"
    );
}

/// A stand-in for Helm's `.Files`: one method, one field.
#[derive(Debug)]
struct Files;

impl Object for Files {
    fn type_name(&self) -> &'static str {
        "chart.Files"
    }

    fn field(&self, name: &str) -> Option<Value> {
        (name == "Count").then_some(Value::Int(1))
    }

    fn method(&self, name: &str) -> Option<Signature> {
        (name == "Get").then(|| Signature::fixed(&[Param::String]))
    }

    fn call_method(
        &self,
        _name: &str,
        _ctx: &mut CallContext<'_, '_>,
        args: &[Value],
    ) -> Result<Value, FuncError> {
        match args[0].as_str() {
            Some("a.txt") => Ok(Value::from("content of a")),
            _ => Err(FuncError::new("no such file")),
        }
    }

    fn display(&self) -> String {
        "{a.txt}".to_owned()
    }
}

fn render_with_files(text: &str) -> Result<String, Error> {
    let mut set = TemplateSet::new(Arc::new(Funcs::new()));
    set.parse("t", text)?;
    let data = Value::from_json(&serde_json::json!({}));
    if let Value::Map(m) = &data {
        m.borrow_mut()
            .insert("Files".to_owned(), Value::Object(std::rc::Rc::new(Files)));
    }
    Ok(set.render("t", data)?)
}

#[test]
fn objects_have_fields_and_methods() {
    let ok = |t: &str| render_with_files(t).expect("renders");
    assert_eq!(ok(r#"{{ .Files.Get "a.txt" }}"#), "content of a");
    assert_eq!(
        ok(r#"{{ "a.txt" | .Files.Get | printf "%q" }}"#),
        "\"content of a\""
    );
    assert_eq!(
        ok("{{ .Files.Count }} {{ .Files }} {{ printf \"%T\" .Files }}"),
        "1 {a.txt} chart.Files"
    );
    let err = |t: &str| render_with_files(t).expect_err("fails").to_string();
    assert_eq!(
        err(r#"{{ .Files.Get "b" }}"#),
        "template: t:1:9: executing \"t\" at <.Files.Get>: error calling Get: no such file"
    );
    assert_eq!(
        err("{{ .Files.Get }}"),
        "template: t:1:9: executing \"t\" at <.Files.Get>: wrong number of args for Get: want 1 got 0"
    );
    assert_eq!(
        err("{{ .Files.Get 1 }}"),
        "template: t:1:14: executing \"t\" at <1>: expected string; found 1"
    );
    assert_eq!(
        err("{{ .Files.Nope }}"),
        "template: t:1:9: executing \"t\" at <.Files.Nope>: can't evaluate field Nope in type chart.Files"
    );
}

#[test]
fn functions_registered_later_see_the_template_set() {
    let mut funcs = Funcs::new();
    funcs.register(
        "include",
        Signature::fixed(&[Param::String, Param::Any]),
        |ctx, a| {
            let name = a[0].as_str().expect("checked by the signature");
            ctx.execute_template(name, a[1].clone()).map(Value::from)
        },
    );
    let mut set = TemplateSet::new(Arc::new(funcs));
    set.parse(
        "t",
        r#"{{ define "x" }}<{{ . }}>{{ end }}{{ include "x" 1 | printf "%s!" }}"#,
    )
    .expect("parses");
    assert_eq!(set.render("t", Value::Nil).expect("renders"), "<1>!");
}

#[test]
fn maps_are_shared_between_readers() {
    let mut funcs = Funcs::new();
    funcs.register(
        "set",
        Signature::fixed(&[Param::Any, Param::String, Param::Any]),
        |_, a| {
            if let Value::Map(m) = &a[0] {
                let key = a[1].as_str().expect("checked by the signature").to_owned();
                m.borrow_mut().insert(key, a[2].clone());
            }
            Ok(a[0].clone())
        },
    );
    let mut set = TemplateSet::new(Arc::new(funcs));
    set.parse(
        "t",
        r#"{{ $_ := set .Values "added" "yes" }}{{ .Values.added }}"#,
    )
    .expect("parses");
    let data = Value::from_json(&serde_json::json!({"Values": {}}));
    assert_eq!(set.render("t", data).expect("renders"), "yes");
}

#[test]
fn template_sets_are_built_once_and_rendered_on_other_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<TemplateSet>();
    send_sync::<Funcs>();
    send_sync::<Error>();
    let mut set = TemplateSet::new(Arc::new(Funcs::new()));
    set.parse("t", "{{ .a }}").expect("parses");
    let set = Arc::new(set);
    let out = std::thread::spawn(move || {
        set.render("t", Value::from_json(&serde_json::json!({"a": 1_000_000})))
    })
    .join()
    .expect("the render thread finishes");
    assert_eq!(out.expect("renders"), "1e+06");
}

#[test]
fn endless_template_recursion_is_an_error_not_a_stack_overflow() {
    let mut set = TemplateSet::new(Arc::new(Funcs::new()));
    set.parse(
        "t",
        r#"{{ define "r" }}{{ if true }}{{ with . }}{{ range $i := 1 }}{{ template "r" $ }}{{ end }}{{ end }}{{ end }}{{ end }}{{ template "r" 1 }}"#,
    )
    .expect("parses");
    let err = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || set.render("t", Value::Nil))
        .expect("spawns")
        .join()
        .expect("no stack overflow")
        .expect_err("fails");
    assert!(
        err.to_string()
            .ends_with("exceeded maximum template depth (1000)"),
        "{err}"
    );
}

#[test]
fn missing_key_modes() {
    let run = |mode: MissingKey, text: &str| {
        let mut set = TemplateSet::new(Arc::new(Funcs::new())).with_missing_key(mode);
        set.parse("t", text).expect("parses");
        set.execute("t", Value::from_json(&serde_json::json!({"a": {}})))
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        run(MissingKey::Zero, "{{ .a.x }}"),
        Ok("<no value>".to_owned())
    );
    assert_eq!(
        run(MissingKey::Invalid, "{{ .a.x.y }}"),
        Ok("<no value>".to_owned())
    );
    assert_eq!(
        run(MissingKey::Error, "{{ .a.x }}"),
        Err(
            "template: t:1:5: executing \"t\" at <.a.x>: map has no entry for key \"x\"".to_owned()
        )
    );
}

#[test]
fn go_builtin_slice() {
    let data = serde_json::json!({"l": [1, 2, 3]});
    assert_eq!(
        render(
            r#"{{ slice "hello" 1 3 }} {{ slice .l 1 }} {{ slice .l 0 1 2 }} {{ slice .l }}"#,
            &data
        )
        .expect("renders"),
        "el [2 3] [1] [1 2 3]"
    );
    let err = render("{{ slice .l 2 1 }}", &data).expect_err("fails");
    assert!(
        err.to_string()
            .ends_with("error calling slice: invalid slice index: 2 > 1"),
        "{err}"
    );
}
