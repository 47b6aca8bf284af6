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
