//! Dict functions: `dict`, `get`, `set`, `unset`, `hasKey`, `keys`,
//! `values`, `pluck`, `pick`, `omit`, `merge`/`mergeOverwrite` (mergo's
//! rules, mutating and returning their first argument), `deepCopy`, `dig`.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{arg_str, deep_copy, is_empty, strval};
use crate::helm::template::{FuncError, Funcs, MapRef, Param, Signature, Value};

#[allow(clippy::too_many_lines)] // one registration table
pub(super) fn register(f: &mut Funcs) {
    f.register("dict", Signature::variadic(&[], Param::Any), |_, args| {
        let mut m = BTreeMap::new();
        for pair in args.chunks(2) {
            let v = pair.get(1).cloned().unwrap_or_else(|| Value::from(""));
            m.insert(strval(&pair[0]), v);
        }
        Ok(Value::map(m))
    });
    f.register(
        "get",
        Signature::fixed(&[Param::Map, Param::String]),
        |_, args| {
            Ok(map_of(&args[0])
                .and_then(|m| m.borrow().get(arg_str(args, 1)).cloned())
                .unwrap_or_else(|| Value::from("")))
        },
    );
    f.register(
        "set",
        Signature::fixed(&[Param::Map, Param::String, Param::Any]),
        |_, args| {
            let m = map_of(&args[0]).ok_or_else(nil_map)?;
            m.borrow_mut()
                .insert(arg_str(args, 1).to_owned(), args[2].clone());
            Ok(args[0].clone())
        },
    );
    f.register(
        "unset",
        Signature::fixed(&[Param::Map, Param::String]),
        |_, args| {
            if let Some(m) = map_of(&args[0]) {
                m.borrow_mut().remove(arg_str(args, 1));
            }
            Ok(args[0].clone())
        },
    );
    f.register(
        "hasKey",
        Signature::fixed(&[Param::Map, Param::String]),
        |_, args| {
            Ok(Value::Bool(map_of(&args[0]).is_some_and(|m| {
                m.borrow().contains_key(arg_str(args, 1))
            })))
        },
    );
    f.register("keys", Signature::variadic(&[], Param::Map), |_, args| {
        let mut keys = Vec::new();
        for m in args.iter().filter_map(map_of) {
            keys.extend(m.borrow().keys().map(|k| Value::from(k.as_str())));
        }
        Ok(Value::list(keys))
    });
    f.register("values", Signature::fixed(&[Param::Map]), |_, args| {
        Ok(Value::list(
            map_of(&args[0])
                .map(|m| m.borrow().values().cloned().collect())
                .unwrap_or_default(),
        ))
    });
    f.register(
        "pluck",
        Signature::variadic(&[Param::String], Param::Map),
        |_, args| {
            let key = arg_str(args, 0);
            Ok(Value::list(
                args[1..]
                    .iter()
                    .filter_map(map_of)
                    .filter_map(|m| m.borrow().get(key).cloned())
                    .collect(),
            ))
        },
    );
    f.register(
        "pick",
        Signature::variadic(&[Param::Map], Param::String),
        |_, args| {
            let m = map_of(&args[0])
                .map(|m| m.borrow().clone())
                .unwrap_or_default();
            let wanted: Vec<&str> = args[1..].iter().filter_map(Value::as_str).collect();
            Ok(Value::map(
                m.into_iter()
                    .filter(|(k, _)| wanted.contains(&k.as_str()))
                    .collect(),
            ))
        },
    );
    f.register(
        "omit",
        Signature::variadic(&[Param::Map], Param::String),
        |_, args| {
            let m = map_of(&args[0])
                .map(|m| m.borrow().clone())
                .unwrap_or_default();
            let unwanted: Vec<&str> = args[1..].iter().filter_map(Value::as_str).collect();
            Ok(Value::map(
                m.into_iter()
                    .filter(|(k, _)| !unwanted.contains(&k.as_str()))
                    .collect(),
            ))
        },
    );
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        f.register(
            name,
            Signature::variadic(&[Param::Map], Param::Map),
            move |_, args| {
                let Some(dst) = map_of(&args[0]) else {
                    return Ok(args[0].clone());
                };
                for src in args[1..].iter().filter_map(map_of) {
                    if !Rc::ptr_eq(&dst, &src) {
                        let src = src.borrow().clone();
                        merge_into(&dst, &src, overwrite);
                    }
                }
                Ok(args[0].clone())
            },
        );
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        f.register(name, Signature::fixed(&[Param::Any]), |_, args| {
            // copystructure panics on a nil interface; Go reports the panic.
            if args[0].is_nil() {
                return Err(FuncError::new(
                    "reflect: call of reflect.Value.Type on zero Value",
                ));
            }
            Ok(deep_copy(&args[0]))
        });
    }
    f.register("dig", Signature::variadic(&[], Param::Any), |_, args| {
        if args.len() < 3 {
            return Err(FuncError::new("dig needs at least three arguments"));
        }
        let (keys, rest) = args.split_at(args.len() - 2);
        let default = rest[0].clone();
        let mut cur = rest[1].clone();
        for (i, k) in keys.iter().enumerate() {
            let Value::String(k) = k else {
                return Err(FuncError::new(format!(
                    "interface conversion: interface {{}} is {}, not string",
                    k.type_name()
                )));
            };
            let Some(m) = map_of(&cur) else {
                return Err(FuncError::new(format!(
                    "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                    cur.type_name()
                )));
            };
            let step = m.borrow().get(&**k).cloned();
            match step {
                None => return Ok(default),
                Some(v) if i + 1 == keys.len() => return Ok(v),
                Some(v) => cur = v,
            }
        }
        Ok(default)
    });
}

fn map_of(v: &Value) -> Option<MapRef> {
    match v {
        Value::Map(m) => Some(m.clone()),
        _ => None,
    }
}

fn nil_map() -> FuncError {
    FuncError::new("assignment to entry in nil map")
}

/// mergo's `Merge` (with `WithOverride` when `overwrite`) of one source map
/// into `dst`: missing keys are added, maps merge recursively, an empty
/// destination value (false, 0, "", nil, empty list or map) is replaced.
fn merge_into(dst: &MapRef, src: &BTreeMap<String, Value>, overwrite: bool) {
    for (k, sv) in src {
        let dv = dst.borrow().get(k).cloned();
        let set = match sv {
            Value::Nil => overwrite,
            Value::Map(sm) => {
                if let Some(Value::Map(dm)) = &dv {
                    if !Rc::ptr_eq(dm, sm) {
                        let sm = sm.borrow().clone();
                        merge_into(dm, &sm, overwrite);
                    }
                    dm.borrow().is_empty()
                } else {
                    overwrite || dv.as_ref().is_none_or(is_empty)
                }
            }
            _ => overwrite || dv.as_ref().is_none_or(is_empty),
        };
        if set {
            dst.borrow_mut().insert(k.clone(), sv.clone());
        }
    }
}
