//! The executor: walks a parsed template with Go's `text/template` semantics
//! (`text/template/exec.go`).
//!
//! Owns dot and variable scoping, `if`/`with`/`range`/`template`, pipelines,
//! field access on maps with Helm's `missingkey` handling, argument checks
//! against function signatures, `and`/`or` short-circuit, and the error
//! locations Go reports (it tracks the node being evaluated, as Go's
//! `state.at` does). Values that come out of a map or list stay "boxed" in
//! Go's `interface{}` until a pipeline ends; that is why Go says
//! `can't evaluate field x in type interface {}` for some values and
//! `... in type float64` for others, and this executor tracks it too.

use std::sync::Arc;

use super::ast::{self, Arg, Branch, Command, Node, Pipe, Tree};
use super::error::{Error, ExecError, FuncError};
use super::funcs::{CallContext, Func, FuncBody, Param, Signature};
use super::value::Value;
use super::{MissingKey, TemplateSet};

/// Go's `maxExecDepth` is 100000; a Rust stack runs out long before that,
/// so devloop stops nested `template` calls at this depth (same message).
pub const MAX_EXEC_DEPTH: usize = 1000;

/// The node errors are reported at (Go's `state.node`).
#[derive(Clone, Copy)]
enum At<'a> {
    None,
    Arg(&'a Arg),
    Cmd(&'a Command),
    Pipe(&'a Pipe),
    Node(&'a Node),
}

impl At<'_> {
    fn pos(&self) -> usize {
        match self {
            At::None => 0,
            At::Arg(a) => a.pos(),
            At::Cmd(c) => c.pos,
            At::Pipe(p) => p.pos,
            At::Node(n) => match n {
                Node::Template { pos, .. } | Node::Break(pos) | Node::Continue(pos) => *pos,
                Node::If(b) | Node::With(b) | Node::Range(b) => b.pos,
                Node::Action(p) => p.pos,
                Node::Text(_) => 0,
            },
        }
    }

    fn context(&self) -> String {
        match self {
            At::None => String::new(),
            At::Arg(a) => a.to_string(),
            At::Cmd(c) => c.to_string(),
            At::Pipe(p) => p.to_string(),
            At::Node(n) => n.to_string(),
        }
    }
}

/// A value with Go's "still inside an interface{}" bit (see the module doc).
#[derive(Clone, Debug, Default)]
pub(crate) struct Dot {
    pub value: Value,
    pub boxed: bool,
}

impl Dot {
    fn plain(value: Value) -> Dot {
        Dot {
            value,
            boxed: false,
        }
    }
}

struct Var<'a> {
    name: &'a str,
    dot: Dot,
}

/// Why a walk stopped early.
enum Ctrl {
    Break,
    Continue,
    Err(ExecError),
}

impl From<ExecError> for Ctrl {
    fn from(e: ExecError) -> Self {
        Ctrl::Err(e)
    }
}

type R<T> = Result<T, ExecError>;

pub(crate) struct State<'a> {
    set: &'a TemplateSet,
    tree: &'a Tree,
    at: At<'a>,
    vars: Vec<Var<'a>>,
    pub depth: usize,
    out: String,
}

/// Executes the template `tree` of `set` with `data` as dot.
pub(crate) fn execute(set: &TemplateSet, tree: &Tree, data: Value, depth: usize) -> R<String> {
    let mut state = State {
        set,
        tree,
        at: At::None,
        vars: vec![Var {
            name: "$",
            dot: Dot::plain(data.clone()),
        }],
        depth,
        out: String::new(),
    };
    match state.walk(&Dot::plain(data), &tree.root) {
        Err(Ctrl::Err(e)) => Err(e),
        Ok(()) | Err(Ctrl::Break | Ctrl::Continue) => Ok(state.out),
    }
}

impl<'a> State<'a> {
    pub(crate) fn lookup(&self, name: &str) -> Option<&'a Arc<Tree>> {
        self.set.trees.get(name)
    }

    pub(crate) fn template_name(&self) -> &str {
        &self.tree.name
    }

    /// `include`: runs a named template into its own buffer.
    pub(crate) fn execute_nested(&mut self, name: &str, data: Value) -> R<String> {
        let Some(tree) = self.lookup(name) else {
            return Err(ExecError::plain(format!(
                "template: no template {} associated with template {}",
                quote(name),
                quote(&self.set.name)
            )));
        };
        if self.depth >= MAX_EXEC_DEPTH {
            return Err(self.errorf(format!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )));
        }
        execute(self.set, tree, data, self.depth + 1)
    }

    /// `tpl`: parses `text` next to the set's templates and runs it.
    pub(crate) fn execute_text(
        &mut self,
        name: &str,
        text: &str,
        data: Value,
    ) -> Result<String, Error> {
        let mut set = TemplateSet {
            name: self.set.name.clone(),
            trees: self.set.trees.clone(),
            funcs: self.set.funcs.clone(),
            missing_key: self.set.missing_key,
        };
        set.parse(name, text)?;
        let tree = set.trees.get(name).cloned().ok_or_else(|| {
            ExecError::plain(format!(
                "template: no template {} associated with template {}",
                quote(name),
                quote(&set.name)
            ))
        })?;
        Ok(execute(&set, &tree, data, self.depth + 1)?)
    }

    fn errorf(&self, msg: impl Into<String>) -> ExecError {
        ExecError::plain(self.error_text(&msg.into()))
    }

    fn error_text(&self, msg: &str) -> String {
        match self.at {
            At::None => format!("template: {}: {msg}", self.tree.name),
            at => format!(
                "template: {}: executing {} at <{}>: {msg}",
                self.tree.location(at.pos()),
                quote(&self.tree.name),
                at.context()
            ),
        }
    }

    fn mark(&self) -> usize {
        self.vars.len()
    }

    fn pop(&mut self, mark: usize) {
        self.vars.truncate(mark);
    }

    fn set_var(&mut self, name: &str, dot: Dot) -> R<()> {
        for v in self.vars.iter_mut().rev() {
            if v.name == name {
                v.dot = dot;
                return Ok(());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn set_top_var(&mut self, n: usize, dot: Dot) {
        let len = self.vars.len();
        self.vars[len - n].dot = dot;
    }

    fn var_value(&self, name: &str) -> R<Dot> {
        for v in self.vars.iter().rev() {
            if v.name == name {
                return Ok(v.dot.clone());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn walk(&mut self, dot: &Dot, nodes: &'a [Node]) -> Result<(), Ctrl> {
        for node in nodes {
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(pipe) => {
                    let v = self.eval_pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        if v.is_nil() {
                            self.out.push_str("<no value>");
                        } else {
                            let s = super::fmt::display(&v);
                            self.out.push_str(&s);
                        }
                    }
                }
                Node::If(b) => self.walk_if_or_with(false, dot, b)?,
                Node::With(b) => self.walk_if_or_with(true, dot, b)?,
                Node::Range(b) => self.walk_range(dot, node, b)?,
                Node::Template { name, pipe, .. } => {
                    self.at = At::Node(node);
                    let Some(tree) = self.lookup(name) else {
                        return Err(self
                            .errorf(format!("template {} not defined", quote(name)))
                            .into());
                    };
                    if self.depth >= MAX_EXEC_DEPTH {
                        return Err(self
                            .errorf(format!(
                                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
                            ))
                            .into());
                    }
                    let new_dot = match pipe {
                        Some(p) => Dot::plain(self.eval_pipeline(dot, p)?),
                        None => Dot::default(),
                    };
                    let saved_tree = std::mem::replace(&mut self.tree, tree);
                    let saved_vars = std::mem::replace(
                        &mut self.vars,
                        vec![Var {
                            name: "$",
                            dot: new_dot.clone(),
                        }],
                    );
                    self.depth += 1;
                    let r = self.walk(&new_dot, &tree.root);
                    self.depth -= 1;
                    self.tree = saved_tree;
                    self.vars = saved_vars;
                    r?;
                }
                Node::Break(_) => return Err(Ctrl::Break),
                Node::Continue(_) => return Err(Ctrl::Continue),
            }
        }
        Ok(())
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &Dot, b: &'a Branch) -> Result<(), Ctrl> {
        let mark = self.mark();
        let r = (|| {
            let val = self.eval_pipeline(dot, &b.pipe)?;
            if val.is_true() {
                if with {
                    self.walk(&Dot::plain(val), &b.list)
                } else {
                    self.walk(dot, &b.list)
                }
            } else if let Some(else_list) = &b.else_list {
                self.walk(dot, else_list)
            } else {
                Ok(())
            }
        })();
        self.pop(mark);
        r
    }

    fn walk_range(&mut self, dot: &Dot, node: &'a Node, b: &'a Branch) -> Result<(), Ctrl> {
        self.at = At::Node(node);
        let mark = self.mark();
        let r = self.walk_range_inner(dot, b);
        self.pop(mark);
        match r {
            Err(Ctrl::Break) => Ok(()),
            r => r,
        }
    }

    fn walk_range_inner(&mut self, dot: &Dot, b: &'a Branch) -> Result<(), Ctrl> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mut items: Vec<(Dot, Dot)> = Vec::new();
        match &val {
            Value::List(l) => {
                for (i, v) in l.borrow().iter().enumerate() {
                    let i = i64::try_from(i).unwrap_or(i64::MAX);
                    items.push((
                        Dot::plain(Value::Int(i)),
                        Dot {
                            value: v.clone(),
                            boxed: true,
                        },
                    ));
                }
            }
            Value::Map(m) => {
                for (k, v) in m.borrow().iter() {
                    items.push((
                        Dot::plain(Value::string(k.as_str())),
                        Dot {
                            value: v.clone(),
                            boxed: true,
                        },
                    ));
                }
            }
            Value::Int(_) | Value::Int64(_) | Value::Byte(_) => {
                if b.pipe.decl.len() > 1 {
                    return Err(self
                        .errorf(format!(
                            "can't use {} to iterate over more than one variable",
                            super::fmt::display(&val)
                        ))
                        .into());
                }
                let n = val.as_int().unwrap_or(0);
                for i in 0..n {
                    let v = match val {
                        Value::Int64(_) => Value::Int64(i),
                        Value::Byte(_) => Value::Byte(u8::try_from(i).unwrap_or(0)),
                        _ => Value::Int(i),
                    };
                    items.push((Dot::default(), Dot::plain(v)));
                }
            }
            Value::Nil => {}
            _ => {
                return Err(self
                    .errorf(format!(
                        "range can't iterate over {}",
                        super::fmt::display(&val)
                    ))
                    .into());
            }
        }
        if items.is_empty() {
            if let Some(else_list) = &b.else_list {
                return self.walk(dot, else_list);
            }
            return Ok(());
        }
        let decl = &b.pipe.decl;
        for (index, elem) in items {
            if !decl.is_empty() {
                if b.pipe.is_assign {
                    if decl.len() > 1 {
                        self.set_var(&decl[0], index.clone())?;
                    } else {
                        self.set_var(&decl[0], elem.clone())?;
                    }
                } else {
                    self.set_top_var(1, elem.clone());
                }
            }
            if decl.len() > 1 {
                if b.pipe.is_assign {
                    self.set_var(&decl[1], elem.clone())?;
                } else {
                    self.set_top_var(2, index);
                }
            }
            let mark = self.mark();
            let r = self.walk(&elem, &b.list);
            self.pop(mark);
            match r {
                Ok(()) | Err(Ctrl::Continue) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn eval_pipeline(&mut self, dot: &Dot, pipe: &'a Pipe) -> R<Value> {
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

    fn not_a_function(&self, args: &[Arg], fin: Option<&Value>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return Err(self.errorf(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Dot, cmd: &'a Command, fin: Option<Value>) -> R<Dot> {
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

    fn ideal_constant(&self, n: &ast::Number) -> R<Value> {
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

    fn eval_chain(
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

    fn eval_variable(
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
    fn eval_field_chain(
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

    fn eval_field(
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

    fn eval_function(
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
    fn eval_call(
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
    fn eval_callee(
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
        for (i, arg) in args.iter().enumerate() {
            values.push(self.eval_arg(dot, sig.param(i), arg)?);
        }
        if let Some(f) = fin {
            let param = sig.param(num_in - 1);
            values.push(self.validate(f, param)?);
        }
        let result = {
            let mut ctx = CallContext { state: self };
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

    fn eval_arg(&mut self, dot: &Dot, param: Param, arg: &'a Arg) -> R<Value> {
        self.at = At::Arg(arg);
        let v = match arg {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) => {
                if param == Param::Any {
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
        self.validate(v.value, param)
    }

    fn literal_mismatch(&self, param: Param, arg: &Arg) -> ExecError {
        let what = match param {
            Param::String => "string",
            Param::Int | Param::Int64 => "integer",
            Param::Float64 => "float",
            Param::Bool => "bool",
            Param::Any => "value",
        };
        self.errorf(format!("expected {what}; found {arg}"))
    }

    /// Go's `validateType` for a computed value.
    fn validate(&self, v: Value, param: Param) -> R<Value> {
        let ok = match (&v, param) {
            (_, Param::Any)
            | (Value::String(_), Param::String)
            | (Value::Int(_), Param::Int)
            | (Value::Int64(_), Param::Int64)
            | (Value::Float(_), Param::Float64)
            | (Value::Bool(_), Param::Bool) => true,
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

fn quote(s: &str) -> String {
    super::fmt::quote(s, false)
}
