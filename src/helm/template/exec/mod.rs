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

mod call;
mod eval;

use super::TemplateSet;
use super::ast::{Arg, Branch, Command, Node, Pipe, Tree};
use super::error::{Error, ExecError};
use super::value::Value;

/// Go's `maxExecDepth` is 100000; a Rust stack runs out long before that,
/// so devloop stops nested `template` calls at this depth (same message).
pub const MAX_EXEC_DEPTH: usize = 1000;

/// Stack a render may use before nested templates are refused (with Go's
/// depth message). Threads that Rust and tokio's `spawn_blocking` start get
/// 2 MiB. A debug build used about 11.5 KiB per level of
/// `template`+`if`+`with`+`range` (the recursion test stopped at depth 90
/// with this budget), a release build far less; real charts nest a handful
/// of levels. Half the thread's stack is left to the caller.
const STACK_BUDGET: usize = 1 << 20;

/// An address in the current stack frame (compared, never dereferenced).
fn stack_addr() -> usize {
    let marker = 0u8;
    std::hint::black_box(std::ptr::addr_of!(marker)) as usize
}

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
    /// [`stack_addr`] where the outermost render started.
    stack_base: usize,
    /// Whether the last argument evaluated was Go's invalid value (an
    /// untyped nil) rather than a nil inside an `interface{}`.
    untyped_nil: bool,
}

/// Executes the template `tree` of `set` with `data` as dot.
pub(crate) fn execute(
    set: &TemplateSet,
    tree: &Tree,
    data: Value,
    depth: usize,
    stack_base: Option<usize>,
) -> R<String> {
    let mut state = State {
        stack_base: stack_base.unwrap_or_else(stack_addr),
        set,
        tree,
        at: At::None,
        vars: vec![Var {
            name: "$",
            dot: Dot::plain(data.clone()),
        }],
        depth,
        out: String::new(),
        untyped_nil: false,
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

    /// Go's `maxExecDepth` check, plus devloop's stack budget.
    fn too_deep(&self) -> bool {
        self.depth >= MAX_EXEC_DEPTH || self.stack_base.abs_diff(stack_addr()) > STACK_BUDGET
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
        if self.too_deep() {
            return Err(self.errorf(format!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )));
        }
        execute(self.set, tree, data, self.depth + 1, Some(self.stack_base))
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
        Ok(execute(
            &set,
            &tree,
            data,
            self.depth + 1,
            Some(self.stack_base),
        )?)
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
                    if self.too_deep() {
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

    #[allow(clippy::too_many_lines)] // one arm per Go kind
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
            Value::Object(o) if o.range_items().is_some() => {
                for (k, v) in o.range_items().unwrap_or_default() {
                    items.push((
                        Dot::plain(k),
                        Dot {
                            value: v,
                            boxed: true,
                        },
                    ));
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
}

fn quote(s: &str) -> String {
    super::fmt::quote(s, false)
}
