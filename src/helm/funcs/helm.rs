//! Helm's own functions: `include`, `tpl`, `required`, `fail`, `lookup`
//! (the client-only stand-in, which the chart model may replace), and the
//! serialisers `toYaml`/`fromYaml`/`fromYamlArray`, `toJson`/`fromJson`/
//! `fromJsonArray` (and Sprig's `toPrettyJson`/`toRawJson`/`mustFromJson`).

use std::collections::BTreeMap;

use super::{arg_str, json, yaml};
use crate::helm::template::{Error, FuncError, Funcs, Param, Signature, Value, fmt};

#[allow(clippy::too_many_lines)] // one registration table
pub(super) fn register(f: &mut Funcs) {
    let name_and_data = Signature::fixed(&[Param::String, Param::Any]);
    f.register("include", name_and_data.clone(), |ctx, args| {
        ctx.execute_template(arg_str(args, 0), args[1].clone())
            .map(Value::from)
    });
    f.register("tpl", name_and_data, |ctx, args| {
        let text = arg_str(args, 0);
        let quoted = fmt::quote(text, false);
        match ctx.execute_text("gotpl", text, args[1].clone()) {
            Ok(out) => Ok(Value::from(out.replace("<no value>", ""))),
            // pkg/errors' Wrapf: "msg: cause", unwrapping to the cause.
            Err(Error::Parse(e)) => Err(FuncError::Call {
                chain: vec![
                    format!("cannot parse template {quoted}: {e}"),
                    e.to_string(),
                ],
            }),
            Err(Error::Exec(e)) => {
                let mut chain = vec![format!(
                    "error during tpl function execution for {quoted}: {e}"
                )];
                chain.extend(e.chain);
                Err(FuncError::Call { chain })
            }
        }
    });
    f.register(
        "required",
        Signature::fixed(&[Param::String, Param::Any]),
        |_, args| match &args[1] {
            Value::Nil => Err(FuncError::helm_warning(arg_str(args, 0))),
            Value::String(s) if s.is_empty() => Err(FuncError::helm_warning(arg_str(args, 0))),
            v => Ok(v.clone()),
        },
    );
    f.register("fail", Signature::fixed(&[Param::String]), |_, args| {
        Err(FuncError::helm_warning(arg_str(args, 0)))
    });
    f.register(
        "lookup",
        Signature::fixed(&[Param::String, Param::String, Param::String, Param::String]),
        |_, _| Ok(Value::map(BTreeMap::new())),
    );
    f.register("toYaml", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::from(yaml::to_yaml(&args[0]).unwrap_or_default()))
    });
    f.register("mustToYaml", Signature::fixed(&[Param::Any]), |_, args| {
        yaml::to_yaml(&args[0])
            .map(Value::from)
            .ok_or_else(|| FuncError::new("json: unsupported value: NaN"))
    });
    f.register("fromYaml", Signature::fixed(&[Param::String]), |_, args| {
        Ok(match yaml::from_yaml(arg_str(args, 0)) {
            Ok(Value::Map(m)) => Value::Map(m),
            Ok(Value::Nil) => Value::map(BTreeMap::new()),
            Ok(v) => error_map(&format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&v)
            )),
            Err(e) => error_map(&e),
        })
    });
    f.register("fromYamlArray", Signature::fixed(&[Param::String]), |_, args| {
        Ok(match yaml::from_yaml(arg_str(args, 0)) {
            Ok(Value::List(l)) => Value::List(l),
            Ok(Value::Nil) => Value::list(Vec::new()),
            Ok(v) => Value::list(vec![Value::from(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
                json_kind(&v)
            ))]),
            Err(e) => Value::list(vec![Value::from(e)]),
        })
    });
    for (name, must) in [("toJson", false), ("mustToJson", true)] {
        f.register(name, Signature::fixed(&[Param::Any]), move |_, args| {
            json_result(json::marshal(&args[0], true), must)
        });
    }
    for (name, must) in [("toRawJson", false), ("mustToRawJson", true)] {
        f.register(name, Signature::fixed(&[Param::Any]), move |_, args| {
            json_result(json::marshal(&args[0], false), must)
        });
    }
    for (name, must) in [("toPrettyJson", false), ("mustToPrettyJson", true)] {
        f.register(name, Signature::fixed(&[Param::Any]), move |_, args| {
            json_result(json::marshal_indent(&args[0], "  "), must)
        });
    }
    f.register("fromJson", Signature::fixed(&[Param::String]), |_, args| {
        Ok(match json::parse(arg_str(args, 0)) {
            Ok(Value::Map(m)) => Value::Map(m),
            Ok(Value::Nil) => Value::map(BTreeMap::new()),
            Ok(v) => error_map(&format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&v)
            )),
            Err(e) => error_map(&e),
        })
    });
    // Sprig's: any JSON value, or the error.
    f.register(
        "mustFromJson",
        Signature::fixed(&[Param::String]),
        |_, args| json::parse(arg_str(args, 0)).map_err(FuncError::new),
    );
    f.register(
        "fromJsonArray",
        Signature::fixed(&[Param::String]),
        |_, args| {
            Ok(match json::parse(arg_str(args, 0)) {
                Ok(Value::List(l)) => Value::List(l),
                Ok(Value::Nil) => Value::list(Vec::new()),
                Ok(v) => Value::list(vec![Value::from(format!(
                    "json: cannot unmarshal {} into Go value of type []interface {{}}",
                    json_kind(&v)
                ))]),
                Err(e) => Value::list(vec![Value::from(e)]),
            })
        },
    );
}

fn json_result(out: Option<String>, must: bool) -> Result<Value, FuncError> {
    match out {
        Some(s) => Ok(Value::from(s)),
        None if must => Err(FuncError::new("json: unsupported value: NaN")),
        None => Ok(Value::from("")),
    }
}

fn error_map(msg: &str) -> Value {
    Value::map(BTreeMap::from([("Error".to_owned(), Value::from(msg))]))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::String(_) => "string",
        Value::List(_) => "array",
        Value::Map(_) => "object",
        _ => "number",
    }
}
