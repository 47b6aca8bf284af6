//! Math: `add`/`add1`/`sub`/`mul`/`div`/`mod`/`max`/`min` (int64 via
//! `cast.ToInt64`), `floor`/`ceil`/`round`, the float variants
//! (`addf`, ...), and conversions (`int`, `int64`, `float64`, `atoi`).

use super::{arg_int, arg_str, to_float64, to_int64};
use crate::helm::template::{FuncError, Funcs, Param, Signature, Value};

type IntOp = fn(i64, i64) -> Option<i64>;
type FloatOp = fn(f64, f64) -> f64;

#[allow(clippy::too_many_lines)] // one registration table
pub(super) fn register(f: &mut Funcs) {
    f.register("add", Signature::variadic(&[], Param::Any), |_, args| {
        Ok(Value::Int64(
            args.iter().fold(0i64, |a, b| a.wrapping_add(to_int64(b))),
        ))
    });
    f.register("add1", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::Int64(to_int64(&args[0]).wrapping_add(1)))
    });
    f.register(
        "mul",
        Signature::variadic(&[Param::Any], Param::Any),
        |_, args| {
            Ok(Value::Int64(
                args[1..]
                    .iter()
                    .fold(to_int64(&args[0]), |a, b| a.wrapping_mul(to_int64(b))),
            ))
        },
    );
    let binary: &[(&str, IntOp)] = &[
        ("sub", |a, b| Some(a.wrapping_sub(b))),
        ("div", |a, b| (b != 0).then(|| a.wrapping_div(b))),
        ("mod", |a, b| (b != 0).then(|| a.wrapping_rem(b))),
    ];
    for (name, op) in binary {
        let op = *op;
        f.register(
            name,
            Signature::fixed(&[Param::Any, Param::Any]),
            move |_, args| {
                op(to_int64(&args[0]), to_int64(&args[1]))
                    .map(Value::Int64)
                    .ok_or_else(|| FuncError::new("runtime error: integer divide by zero"))
            },
        );
    }
    for (name, pick_max) in [("max", true), ("biggest", true), ("min", false)] {
        f.register(
            name,
            Signature::variadic(&[Param::Any], Param::Any),
            move |_, args| {
                let it = args.iter().map(to_int64);
                Ok(Value::Int64(if pick_max {
                    it.max().unwrap_or(0)
                } else {
                    it.min().unwrap_or(0)
                }))
            },
        );
    }
    for (name, pick_max) in [("maxf", true), ("minf", false)] {
        f.register(
            name,
            Signature::variadic(&[Param::Any], Param::Any),
            move |_, args| {
                let it = args.iter().map(to_float64);
                Ok(Value::Float(if pick_max {
                    it.fold(f64::NEG_INFINITY, f64::max)
                } else {
                    it.fold(f64::INFINITY, f64::min)
                }))
            },
        );
    }
    let float_ops: &[(&str, FloatOp)] = &[
        ("addf", |a, b| a + b),
        ("subf", |a, b| a - b),
        ("mulf", |a, b| a * b),
    ];
    for (name, op) in float_ops {
        let op = *op;
        f.register(
            name,
            Signature::variadic(&[Param::Any], Param::Any),
            move |_, args| {
                let first = to_float64(&args[0]);
                Ok(Value::Float(decimal(
                    args[1..].iter().fold(first, |a, b| op(a, to_float64(b))),
                )))
            },
        );
    }
    f.register(
        "divf",
        Signature::variadic(&[Param::Any], Param::Any),
        |_, args| {
            let first = to_float64(&args[0]);
            let q = args[1..].iter().fold(first, |a, b| a / to_float64(b));
            // decimal's DivisionPrecision: 16 digits after the point.
            Ok(Value::Float(if q.is_finite() {
                format!("{q:.16}").parse().unwrap_or(q)
            } else {
                q
            }))
        },
    );
    f.register("add1f", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::Float(decimal(to_float64(&args[0]) + 1.0)))
    });
    f.register("floor", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::Float(to_float64(&args[0]).floor()))
    });
    f.register("ceil", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::Float(to_float64(&args[0]).ceil()))
    });
    f.register(
        "round",
        Signature::variadic(&[Param::Any, Param::Int], Param::Float64),
        |_, args| {
            let round_on = match args.get(2) {
                Some(Value::Float(f)) => *f,
                _ => 0.5,
            };
            #[allow(clippy::cast_precision_loss)]
            let pow = 10f64.powf(arg_int(args, 1) as f64);
            let digit = pow * to_float64(&args[0]);
            let rounded = if digit.fract() >= round_on {
                digit.ceil()
            } else {
                digit.floor()
            };
            Ok(Value::Float(rounded / pow))
        },
    );
    f.register("int", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::Int(to_int64(&args[0])))
    });
    f.register("int64", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::Int64(to_int64(&args[0])))
    });
    f.register("float64", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::Float(to_float64(&args[0])))
    });
    f.register("atoi", Signature::fixed(&[Param::String]), |_, args| {
        let s = arg_str(args, 0);
        let s = s.strip_prefix('+').unwrap_or(s);
        Ok(Value::Int(s.parse::<i64>().unwrap_or(0)))
    });
}

/// Sprig's float arithmetic goes through `shopspring/decimal`; rounding the
/// binary result to 15 significant digits gives what decimal would
/// (`0.1 + 0.2` is `0.3`).
fn decimal(f: f64) -> f64 {
    if !f.is_finite() {
        return f;
    }
    format!("{f:.14e}").parse().unwrap_or(f)
}
