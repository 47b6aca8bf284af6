//! Calling functions and methods (Go's `evalFunction`, `evalCall`,
//! `evalArg`, `validateType`): arity and argument type checks with Go's
//! messages, `and`/`or` short-circuit, and wrapping a function's error as
//! `error calling NAME: ...` with its unwrap chain kept.

use super::super::ast::{Arg, Command};
use super::super::error::{ExecError, FuncError};
use super::super::funcs::{CallContext, Func, FuncBody, Param, Signature};
use super::super::value::Value;
use super::{At, Dot, R, State, quote};

impl<'a> State<'a> {
    pub(super) fn eval_function(
        &mut self,
        dot: &Dot,
        name: &str,
        cmd: &'a Command,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let Some(func) = self.set.funcs.map.get(name) else {
            return Err(self.errorf(format!("{} is not a defined function", quote(name))));
        };
        self.eval_call(dot, func, At::Cmd(cmd), name, &args[1..], fin)
    }

    /// Calls `func` with `args` (the nodes after the function's name) and the
    /// pipeline's previous value `fin`; `node` is where call errors are reported.
    pub(super) fn eval_call(
        &mut self,
        dot: &Dot,
        func: &Func,
        node: At<'a>,
        name: &str,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let imp = func.imp.clone();
        self.eval_callee(dot, &func.sig, func.special, node, name, args, fin, &*imp)
    }

    /// Go's `evalCall` for a function or a method with signature `sig`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn eval_callee(
        &mut self,
        dot: &Dot,
        sig: &Signature,
        special: Option<&str>,
        node: At<'a>,
        name: &str,
        args: &'a [Arg],
        fin: Option<Value>,
        imp: &FuncBody<'_>,
    ) -> R<Value> {
        let num_in = args.len() + usize::from(fin.is_some());
        let num_fixed = sig.params.len();
        if sig.variadic.is_some() {
            if num_in < num_fixed {
                return Err(self.errorf(format!(
                    "wrong number of args for {name}: want at least {num_fixed} got {}",
                    args.len()
                )));
            }
        } else if num_in != num_fixed {
            return Err(self.errorf(format!(
                "wrong number of args for {name}: want {num_fixed} got {num_in}"
            )));
        }
        if matches!(special, Some("and" | "or")) {
            let want = special == Some("or");
            let mut v = Value::Nil;
            for arg in args {
                v = self.eval_arg(dot, Param::Any, arg)?;
                if v.is_true() == want {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }
        let mut values = Vec::with_capacity(num_in + 1);
        if special == Some("call") {
            values.push(Value::string(
                args.first().map(ToString::to_string).unwrap_or_default(),
            ));
        }
        let mut untyped_nil = vec![false; values.len()];
        for (i, arg) in args.iter().enumerate() {
            values.push(self.eval_arg(dot, sig.param(i), arg)?);
            untyped_nil.push(self.untyped_nil);
        }
        if let Some(f) = fin {
            let param = sig.param(num_in - 1);
            untyped_nil.push(f.is_nil());
            values.push(self.validate(f, param)?);
        }
        let result = {
            let mut ctx = CallContext {
                state: self,
                untyped_nil,
            };
            imp(&mut ctx, &values)
        };
        match result {
            Ok(v) => Ok(v),
            Err(FuncError::Exec(msg)) => Err(self.errorf(msg)),
            Err(FuncError::Call { chain }) => {
                self.at = node;
                let text = self.error_text(&format!("error calling {name}: {}", chain[0]));
                let mut full = vec![text];
                full.extend(chain);
                full.dedup();
                Err(ExecError { chain: full })
            }
        }
    }

    pub(super) fn eval_arg(&mut self, dot: &Dot, param: Param, arg: &'a Arg) -> R<Value> {
        self.at = At::Arg(arg);
        self.untyped_nil = false;
        let v = match arg {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) => {
                if param.can_be_nil() {
                    self.untyped_nil = true;
                    return Ok(Value::Nil);
                }
                return Err(self.errorf(format!("cannot assign nil to {}", param.go_name())));
            }
            Arg::Field { idents, .. } => {
                self.eval_field_chain(dot, dot.clone(), idents, std::slice::from_ref(arg), None)?
            }
            Arg::Variable { .. } => self.eval_variable(dot, arg, &[], None)?,
            Arg::Pipe(p) => Dot::plain(self.eval_pipeline(dot, p)?),
            Arg::Identifier { name, .. } => {
                let Some(func) = self.set.funcs.map.get(name.as_str()) else {
                    return Err(self.errorf(format!("{} is not a defined function", quote(name))));
                };
                Dot::plain(self.eval_call(dot, func, At::Arg(arg), name, &[], None)?)
            }
            Arg::Chain { .. } => self.eval_chain(dot, arg, &[], None)?,
            Arg::Bool(_, b) => match param {
                Param::Any | Param::Bool => return Ok(Value::Bool(*b)),
                _ => return Err(self.literal_mismatch(param, arg)),
            },
            Arg::String { text, .. } => match param {
                Param::Any | Param::String => return Ok(Value::string(text.as_str())),
                _ => return Err(self.literal_mismatch(param, arg)),
            },
            Arg::Number(_, n) => match param {
                Param::Any => return self.ideal_constant(n),
                Param::Int | Param::Int64 => match n.int {
                    Some(i) if param == Param::Int64 => return Ok(Value::Int64(i)),
                    Some(i) => return Ok(Value::Int(i)),
                    None => return Err(self.literal_mismatch(param, arg)),
                },
                Param::Float64 => match n.float {
                    Some(f) => return Ok(Value::Float(f)),
                    None => return Err(self.literal_mismatch(param, arg)),
                },
                _ => return Err(self.literal_mismatch(param, arg)),
            },
        };
        if v.boxed && v.value.is_nil() && param != Param::Any {
            return Err(self.errorf(format!(
                "wrong type for value; expected {}; got interface {{}}",
                param.go_name()
            )));
        }
        self.untyped_nil = v.value.is_nil() && !v.boxed;
        self.validate(v.value, param)
    }

    pub(super) fn literal_mismatch(&self, param: Param, arg: &Arg) -> ExecError {
        let what = match param {
            Param::String => "string",
            Param::Int | Param::Int64 => "integer",
            Param::Float64 => "float",
            Param::Bool => "bool",
            Param::Any | Param::List | Param::Map => {
                return self.errorf(format!(
                    "can't handle {arg} for arg of type {}",
                    param.go_name()
                ));
            }
        };
        self.errorf(format!("expected {what}; found {arg}"))
    }

    /// Go's `validateType` for a computed value.
    pub(super) fn validate(&self, v: Value, param: Param) -> R<Value> {
        let ok = match (&v, param) {
            (_, Param::Any)
            | (Value::String(_), Param::String)
            | (Value::Int(_), Param::Int)
            | (Value::Int64(_), Param::Int64)
            | (Value::Float(_), Param::Float64)
            | (Value::Bool(_), Param::Bool)
            | (Value::List(_), Param::List)
            | (Value::Map(_), Param::Map)
            | (Value::Nil, Param::List | Param::Map) => true,
            (Value::Nil, _) => {
                return Err(self.errorf(format!("invalid value; expected {}", param.go_name())));
            }
            _ => false,
        };
        if ok {
            Ok(v)
        } else {
            Err(self.errorf(format!(
                "wrong type for value; expected {}; got {}",
                param.go_name(),
                v.type_name()
            )))
        }
    }
}
