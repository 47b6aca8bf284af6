//! Evaluating pipelines, commands, variables and field chains (Go's
//! `evalPipeline`, `evalCommand`, `evalFieldChain`, `evalField`), including
//! Helm's `missingkey` handling and the boxed-`interface{}` distinction.

use super::super::MissingKey;
use super::super::ast::{self, Arg, Command, Pipe};
use super::super::funcs::{CallContext, Param};
use super::super::value::Value;
use super::{At, Dot, R, State, Var, quote};

impl<'a> State<'a> {
    pub(super) fn eval_pipeline(&mut self, dot: &Dot, pipe: &'a Pipe) -> R<Value> {
        self.at = At::Pipe(pipe);
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?.value);
        }
        let value = value.unwrap_or_default();
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, Dot::plain(value.clone()))?;
            } else {
                self.vars.push(Var {
                    name,
                    dot: Dot::plain(value.clone()),
                });
            }
        }
        Ok(value)
    }

    pub(super) fn not_a_function(&self, args: &[Arg], fin: Option<&Value>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return Err(self.errorf(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    pub(super) fn eval_command(
        &mut self,
        dot: &Dot,
        cmd: &'a Command,
        fin: Option<Value>,
    ) -> R<Dot> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { idents, .. } => {
                self.at = At::Arg(first);
                return self.eval_field_chain(dot, dot.clone(), idents, &cmd.args, fin.as_ref());
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, &cmd.args, fin.as_ref()),
            Arg::Identifier { name, .. } => {
                self.at = At::Arg(first);
                return self
                    .eval_function(dot, name, cmd, &cmd.args, fin)
                    .map(Dot::plain);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, fin.as_ref())?;
                return self.eval_pipeline(dot, p).map(Dot::plain);
            }
            Arg::Variable { .. } => return self.eval_variable(dot, first, &cmd.args, fin.as_ref()),
            _ => {}
        }
        self.at = At::Arg(first);
        self.not_a_function(&cmd.args, fin.as_ref())?;
        Ok(match first {
            Arg::Bool(_, b) => Dot::plain(Value::Bool(*b)),
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) => return Err(self.errorf("nil is not a command")),
            Arg::Number(_, n) => Dot::plain(self.ideal_constant(n)?),
            Arg::String { text, .. } => Dot::plain(Value::string(text.as_str())),
            _ => {
                return Err(self.errorf(format!(
                    "can't evaluate command {}",
                    quote(&first.to_string())
                )));
            }
        })
    }

    pub(super) fn ideal_constant(&self, n: &ast::Number) -> R<Value> {
        let t = &n.text;
        let is_hex = t.len() > 2 && t.starts_with('0') && matches!(t.as_bytes()[1], b'x' | b'X');
        let is_rune = t.starts_with('\'');
        if let Some(f) = n.float
            && !is_hex
            && !is_rune
            && t.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(f));
        }
        if let Some(i) = n.int {
            return Ok(Value::Int(i));
        }
        if n.uint_only {
            return Err(self.errorf(format!("{t} overflows int")));
        }
        Ok(Value::Nil)
    }

    pub(super) fn eval_chain(
        &mut self,
        dot: &Dot,
        chain: &'a Arg,
        args: &'a [Arg],
        fin: Option<&Value>,
    ) -> R<Dot> {
        self.at = At::Arg(chain);
        let Arg::Chain { node, fields, .. } = chain else {
            return Err(self.errorf("internal error: not a chain"));
        };
        if let Arg::Nil(_) = node.as_ref() {
            return Err(self.errorf(format!("indirection through explicit nil in {chain}")));
        }
        let pipe = self.eval_arg(dot, Param::Any, node)?;
        self.eval_field_chain(dot, Dot::plain(pipe), fields, args, fin)
    }

    pub(super) fn eval_variable(
        &mut self,
        dot: &Dot,
        var: &'a Arg,
        args: &'a [Arg],
        fin: Option<&Value>,
    ) -> R<Dot> {
        self.at = At::Arg(var);
        let Arg::Variable { idents, .. } = var else {
            return Err(self.errorf("internal error: not a variable"));
        };
        let value = self.var_value(&idents[0])?;
        if idents.len() == 1 {
            self.not_a_function(args, fin)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, &idents[1..], args, fin)
    }

    /// `.a.b.c` on `receiver`; the last name gets the command's arguments
    /// (`args[0]` is the field node itself) and the pipeline's value `fin`.
    pub(super) fn eval_field_chain(
        &mut self,
        dot: &Dot,
        mut receiver: Dot,
        idents: &[String],
        args: &'a [Arg],
        fin: Option<&Value>,
    ) -> R<Dot> {
        let node = self.at;
        let n = idents.len();
        for ident in &idents[..n - 1] {
            receiver = self.eval_field(dot, node, ident, &[], None, &receiver)?;
        }
        self.eval_field(dot, node, &idents[n - 1], args, fin, &receiver)
    }

    pub(super) fn eval_field(
        &mut self,
        dot: &Dot,
        node: At<'a>,
        name: &str,
        args: &'a [Arg],
        fin: Option<&Value>,
        receiver: &Dot,
    ) -> R<Dot> {
        let has_args = args.len() > 1 || fin.is_some();
        if let Value::Object(obj) = &receiver.value {
            if let Some(sig) = obj.method(name) {
                let obj = obj.clone();
                let call = |ctx: &mut CallContext<'_, '_>, values: &[Value]| {
                    obj.call_method(name, ctx, values)
                };
                let rest = args.get(1..).unwrap_or(&[]);
                return self
                    .eval_callee(dot, &sig, None, node, name, rest, fin.cloned(), &call)
                    .map(Dot::plain);
            }
            if let Some(v) = obj.field(name) {
                if has_args {
                    return Err(self.errorf(format!(
                        "{name} has arguments but cannot be invoked as function"
                    )));
                }
                return Ok(Dot::plain(v));
            }
            return Err(self.errorf(format!(
                "can't evaluate field {name} in type {}",
                obj.type_name()
            )));
        }
        match &receiver.value {
            Value::Nil if !receiver.boxed => {
                if self.set.missing_key == MissingKey::Error {
                    return Err(self.errorf(format!("nil data; no entry for key {}", quote(name))));
                }
                Ok(Dot::default())
            }
            Value::Nil => Err(self.errorf(format!("nil pointer evaluating interface {{}}.{name}"))),
            Value::Map(m) => {
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                match m.borrow().get(name) {
                    Some(v) => Ok(Dot {
                        value: v.clone(),
                        boxed: true,
                    }),
                    None => match self.set.missing_key {
                        MissingKey::Zero => Ok(Dot {
                            value: Value::Nil,
                            boxed: true,
                        }),
                        MissingKey::Invalid => Ok(Dot::default()),
                        MissingKey::Error => {
                            Err(self.errorf(format!("map has no entry for key {}", quote(name))))
                        }
                    },
                }
            }
            v => {
                let typ = if receiver.boxed {
                    "interface {}"
                } else {
                    v.type_name()
                };
                Err(self.errorf(format!("can't evaluate field {name} in type {typ}")))
            }
        }
    }
}
