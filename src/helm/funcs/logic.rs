//! Defaults, logic and types: `default`, `empty`, `coalesce`, `ternary`,
//! `all`, `any`, `kindOf`/`kindIs`, `typeOf`/`typeIs`/`typeIsLike`,
//! `deepEqual`.

use super::{deep_equal, is_empty, kind_name};
use crate::helm::template::{Funcs, Param, Signature, Value};

pub(super) fn register(f: &mut Funcs) {
    f.register(
        "default",
        Signature::variadic(&[Param::Any], Param::Any),
        |_, args| {
            Ok(match args.get(1) {
                Some(given) if !is_empty(given) => given.clone(),
                _ => args[0].clone(),
            })
        },
    );
    f.register("empty", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::Bool(is_empty(&args[0])))
    });
    f.register(
        "coalesce",
        Signature::variadic(&[], Param::Any),
        |_, args| {
            Ok(args
                .iter()
                .find(|v| !is_empty(v))
                .cloned()
                .unwrap_or_default())
        },
    );
    f.register("all", Signature::variadic(&[], Param::Any), |_, args| {
        Ok(Value::Bool(args.iter().all(|v| !is_empty(v))))
    });
    f.register("any", Signature::variadic(&[], Param::Any), |_, args| {
        Ok(Value::Bool(args.iter().any(|v| !is_empty(v))))
    });
    f.register(
        "ternary",
        Signature::fixed(&[Param::Any, Param::Any, Param::Bool]),
        |_, args| {
            Ok(if matches!(args[2], Value::Bool(true)) {
                args[0].clone()
            } else {
                args[1].clone()
            })
        },
    );
    f.register("kindOf", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::from(kind_name(&args[0])))
    });
    f.register(
        "kindIs",
        Signature::fixed(&[Param::String, Param::Any]),
        |_, args| Ok(Value::Bool(args[0].as_str() == Some(kind_name(&args[1])))),
    );
    f.register("typeOf", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::from(args[0].type_name()))
    });
    f.register(
        "typeIs",
        Signature::fixed(&[Param::String, Param::Any]),
        |_, args| Ok(Value::Bool(args[0].as_str() == Some(args[1].type_name()))),
    );
    f.register(
        "typeIsLike",
        Signature::fixed(&[Param::String, Param::Any]),
        |_, args| {
            let t = args[1].type_name();
            let want = args[0].as_str().unwrap_or_default();
            Ok(Value::Bool(want == t || want == format!("*{t}")))
        },
    );
    f.register(
        "deepEqual",
        Signature::fixed(&[Param::Any, Param::Any]),
        |_, args| Ok(Value::Bool(deep_equal(&args[0], &args[1]))),
    );
}
