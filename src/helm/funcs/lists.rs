//! List functions: `list`, `first`/`last`/`rest`/`initial`,
//! `append`/`push`/`prepend`, `concat`, `has`, `uniq`, `without`,
//! `compact`, `reverse`, `until`/`untilStep`, `slice`, `chunk`, and their
//! `must*` variants (Go reports a panic of the plain variant as the same
//! error the `must` variant returns).

use super::{arg_int, deep_equal, is_empty, kind_name, list_items};
use crate::helm::template::{FuncError, Funcs, Param, Signature, Value};

type ListFn = fn(&[Value]) -> Result<Value, FuncError>;

#[allow(clippy::too_many_lines)] // one registration table
pub(super) fn register(f: &mut Funcs) {
    f.register("list", Signature::variadic(&[], Param::Any), |_, args| {
        Ok(Value::list(args.to_vec()))
    });
    let fixed1: &[(&str, ListFn)] = &[
        ("first", |a| {
            Ok(list_items(&a[0], "find first")?
                .first()
                .cloned()
                .unwrap_or_default())
        }),
        ("last", |a| {
            Ok(list_items(&a[0], "find last")?
                .last()
                .cloned()
                .unwrap_or_default())
        }),
        ("rest", |a| {
            let l = list_items(&a[0], "find rest")?;
            Ok(Value::list(l.get(1..).unwrap_or_default().to_vec()))
        }),
        ("initial", |a| {
            let l = list_items(&a[0], "find initial")?;
            Ok(Value::list(
                l.get(..l.len().saturating_sub(1))
                    .unwrap_or_default()
                    .to_vec(),
            ))
        }),
        ("reverse", |a| {
            let mut l = list_items(&a[0], "find reverse")?;
            l.reverse();
            Ok(Value::list(l))
        }),
        ("compact", |a| {
            let l = list_items(&a[0], "compact")?;
            Ok(Value::list(
                l.into_iter().filter(|v| !is_empty(v)).collect(),
            ))
        }),
        ("uniq", |a| {
            let l = list_items(&a[0], "find uniq")?;
            let mut out: Vec<Value> = Vec::new();
            for v in l {
                if !out.iter().any(|o| deep_equal(o, &v)) {
                    out.push(v);
                }
            }
            Ok(Value::list(out))
        }),
    ];
    for (name, op) in fixed1 {
        let op = *op;
        f.register(name, Signature::fixed(&[Param::Any]), move |_, args| {
            op(args)
        });
        let must = format!("must{}{}", name[..1].to_uppercase(), &name[1..]);
        f.register(&must, Signature::fixed(&[Param::Any]), move |_, args| {
            op(args)
        });
    }
    let push: ListFn = |a| {
        let mut l = list_items(&a[0], "push")?;
        l.push(a[1].clone());
        Ok(Value::list(l))
    };
    for name in ["append", "push", "mustAppend", "mustPush"] {
        f.register(
            name,
            Signature::fixed(&[Param::Any, Param::Any]),
            move |_, a| push(a),
        );
    }
    let prepend: ListFn = |a| {
        let mut l = list_items(&a[0], "prepend")?;
        l.insert(0, a[1].clone());
        Ok(Value::list(l))
    };
    for name in ["prepend", "mustPrepend"] {
        f.register(
            name,
            Signature::fixed(&[Param::Any, Param::Any]),
            move |_, a| prepend(a),
        );
    }
    let without: ListFn = |a| {
        let l = list_items(&a[0], "find without")?;
        Ok(Value::list(
            l.into_iter()
                .filter(|v| !a[1..].iter().any(|o| deep_equal(o, v)))
                .collect(),
        ))
    };
    for name in ["without", "mustWithout"] {
        f.register(
            name,
            Signature::variadic(&[Param::Any], Param::Any),
            move |_, a| without(a),
        );
    }
    let has: ListFn = |a| match &a[1] {
        Value::Nil => Ok(Value::Bool(false)),
        Value::List(l) => Ok(Value::Bool(l.borrow().iter().any(|v| deep_equal(v, &a[0])))),
        v => Err(FuncError::new(format!(
            "Cannot find has on type {}",
            kind_name(v)
        ))),
    };
    for name in ["has", "mustHas"] {
        f.register(
            name,
            Signature::fixed(&[Param::Any, Param::Any]),
            move |_, a| has(a),
        );
    }
    f.register("concat", Signature::variadic(&[], Param::Any), |_, args| {
        let mut out = Vec::new();
        for a in args {
            match a {
                Value::List(l) => out.extend(l.borrow().iter().cloned()),
                v => {
                    return Err(FuncError::new(format!(
                        "Cannot concat type {} as list",
                        kind_name(v)
                    )));
                }
            }
        }
        Ok(Value::list(out))
    });
    f.register("until", Signature::fixed(&[Param::Int]), |_, args| {
        let n = arg_int(args, 0);
        Ok(until_step(0, n, if n < 0 { -1 } else { 1 }))
    });
    f.register(
        "untilStep",
        Signature::fixed(&[Param::Int, Param::Int, Param::Int]),
        |_, args| {
            Ok(until_step(
                arg_int(args, 0),
                arg_int(args, 1),
                arg_int(args, 2),
            ))
        },
    );
    let slice: ListFn = |a| sprig_slice(&a[0], &a[1..]);
    for name in ["slice", "mustSlice"] {
        f.register(
            name,
            Signature::variadic(&[Param::Any], Param::Any),
            move |_, a| slice(a),
        );
    }
    let chunk: ListFn = |a| {
        let size = usize::try_from(arg_int(a, 0)).unwrap_or(0).max(1);
        let l = list_items(&a[1], "chunk")?;
        Ok(Value::list(
            l.chunks(size).map(|c| Value::list(c.to_vec())).collect(),
        ))
    };
    for name in ["chunk", "mustChunk"] {
        f.register(
            name,
            Signature::fixed(&[Param::Int, Param::Any]),
            move |_, a| chunk(a),
        );
    }
}

/// Sprig's `untilStep`: ints from `start` towards `stop` by `step`.
fn until_step(start: i64, end: i64, by: i64) -> Value {
    let mut v = Vec::new();
    let mut i = start;
    if end < start {
        if by >= 0 {
            return Value::list(v);
        }
        while i > end {
            v.push(Value::Int(i));
            i += by;
        }
    } else if by > 0 {
        while i < end {
            v.push(Value::Int(i));
            i += by;
        }
    }
    Value::list(v)
}

/// Sprig's `slice` (`mustSlice`, whose panics Go reports as errors).
fn sprig_slice(list: &Value, indices: &[Value]) -> Result<Value, FuncError> {
    let Value::List(items) = list else {
        return Err(FuncError::new(match list {
            Value::Nil => {
                "runtime error: invalid memory address or nil pointer dereference".to_owned()
            }
            v => format!("list should be type of slice or array but {}", kind_name(v)),
        }));
    };
    let items = items.borrow();
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let start = indices.first().map_or(0, super::to_int64);
    let end = indices.get(1).map_or(len, super::to_int64);
    if start < 0 || start > end || end > len {
        return Err(FuncError::new(
            "reflect.Value.Slice: slice index out of bounds",
        ));
    }
    let (start, end) = (
        usize::try_from(start).unwrap_or(0),
        usize::try_from(end).unwrap_or(0),
    );
    Ok(Value::list(items[start..end].to_vec()))
}
