//! The tape: nodes, variables, leaves and the backward walk.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use recur_tensor::{Backend, Error, Result, Tensor};

use crate::grads::{Grads, RowGrad};
use crate::var::Var;

/// Ids of tapes, so that a [`Var`] can tell which tape made it.
static NEXT_TAPE: AtomicU32 = AtomicU32::new(1);

/// Computes the parents' gradients from the outputs' gradients (`None` = zero).
pub(crate) type BackwardFn<B> =
    Box<dyn FnOnce(&[Option<Tensor<B>>]) -> Result<Vec<Option<Tensor<B>>>>>;

/// A lookup of `ids` into a parameter table whose gradient is kept row-sparse.
struct SparseLookup {
    param: usize,
    ids: Vec<usize>,
    skip: Option<usize>,
    total_rows: usize,
}

struct Node<B: Backend> {
    outputs: Vec<Tensor<B>>,
    parents: Vec<Var>,
    requires_grad: bool,
    backward: Option<BackwardFn<B>>,
    param: Option<usize>,
    sparse: Option<SparseLookup>,
}

/// One forward pass's record of ops.
pub struct Tape<B: Backend> {
    id: u32,
    backend: B,
    grad_enabled: bool,
    backward_done: Cell<bool>,
    nodes: RefCell<Vec<Node<B>>>,
    params: RefCell<HashMap<usize, Var>>,
    held: RefCell<Vec<Arc<()>>>,
}

impl<B: Backend> Tape<B> {
    /// A tape that records gradients.
    pub fn new(backend: &B) -> Self {
        Self::with_grad(backend, true)
    }

    /// A tape for evaluation: ops run, nothing is saved for backward.
    pub fn no_grad(backend: &B) -> Self {
        Self::with_grad(backend, false)
    }

    fn with_grad(backend: &B, grad_enabled: bool) -> Self {
        Tape {
            id: NEXT_TAPE.fetch_add(1, Ordering::Relaxed),
            backend: backend.clone(),
            grad_enabled,
            backward_done: Cell::new(false),
            nodes: RefCell::new(Vec::new()),
            params: RefCell::new(HashMap::new()),
            held: RefCell::new(Vec::new()),
        }
    }

    /// The backend ops run on.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Whether ops record backward closures.
    pub fn grad_enabled(&self) -> bool {
        self.grad_enabled
    }

    /// Checks that `v` was made by this tape; `what` names the op for the error.
    fn check(&self, what: &'static str, v: Var) -> Result<()> {
        if v.tape != self.id {
            return Err(Error::invalid(
                what,
                format!(
                    "the variable belongs to another tape (tape #{}, this is tape #{}): \
                     variables cannot move between forward passes",
                    v.tape, self.id
                ),
            ));
        }
        Ok(())
    }

    /// The value of a variable (shares storage); an error for a variable of another tape.
    pub fn value(&self, v: Var) -> Result<Tensor<B>> {
        self.check("value", v)?;
        Ok(self.nodes.borrow()[v.node as usize].outputs[v.out as usize].clone())
    }

    /// The shape of a variable; an error for a variable of another tape.
    pub fn shape(&self, v: Var) -> Result<Vec<usize>> {
        self.check("shape", v)?;
        Ok(self.nodes.borrow()[v.node as usize].outputs[v.out as usize]
            .shape()
            .to_vec())
    }

    /// Whether gradients flow to `v`; an error for a variable of another tape.
    pub fn requires_grad(&self, v: Var) -> Result<bool> {
        self.check("requires_grad", v)?;
        Ok(self.nodes.borrow()[v.node as usize].requires_grad)
    }

    fn push_node(&self, node: Node<B>) -> Vec<Var> {
        let mut nodes = self.nodes.borrow_mut();
        let id = nodes.len() as u32;
        let n = node.outputs.len() as u32;
        nodes.push(node);
        let tape = self.id;
        (0..n)
            .map(|out| Var {
                tape,
                node: id,
                out,
            })
            .collect()
    }

    /// A leaf; with `requires_grad` its gradient is reported by [`Grads::get`].
    pub fn leaf(&self, value: Tensor<B>, requires_grad: bool) -> Var {
        self.push_node(Node {
            outputs: vec![value],
            parents: Vec::new(),
            requires_grad: requires_grad && self.grad_enabled,
            backward: None,
            param: None,
            sparse: None,
        })[0]
    }

    /// A constant input (no gradient).
    pub fn constant(&self, value: Tensor<B>) -> Var {
        self.leaf(value, false)
    }

    /// Keeps a clone of `lease` until the tape is dropped, so that its owner (a parameter
    /// store) can tell that a tape reading it is alive ([`Arc::strong_count`] above one).
    pub fn hold(&self, lease: &Arc<()>) {
        let mut held = self.held.borrow_mut();
        if !held.iter().any(|h| Arc::ptr_eq(h, lease)) {
            held.push(lease.clone());
        }
    }

    /// The leaf for parameter `id`; the same `id` always gives the same variable on one tape.
    pub fn param(&self, id: usize, value: &Tensor<B>) -> Var {
        if let Some(&v) = self.params.borrow().get(&id) {
            return v;
        }
        let v = self.push_node(Node {
            outputs: vec![value.clone()],
            parents: Vec::new(),
            requires_grad: self.grad_enabled,
            backward: None,
            param: Some(id),
            sparse: None,
        })[0];
        self.params.borrow_mut().insert(id, v);
        v
    }

    /// Records an op with several outputs. `backward` maps the outputs' gradients to the
    /// parents' gradients (same order as `parents`); it is dropped when no parent needs one.
    pub(crate) fn record(
        &self,
        outputs: Vec<Tensor<B>>,
        parents: &[Var],
        backward: impl FnOnce(&[Option<Tensor<B>>]) -> Result<Vec<Option<Tensor<B>>>> + 'static,
    ) -> Result<Vec<Var>> {
        for &p in parents {
            self.check("record", p)?;
        }
        let requires_grad = {
            let nodes = self.nodes.borrow();
            self.grad_enabled && parents.iter().any(|p| nodes[p.node as usize].requires_grad)
        };
        Ok(self.push_node(Node {
            outputs,
            parents: parents.to_vec(),
            requires_grad,
            backward: requires_grad.then(|| Box::new(backward) as BackwardFn<B>),
            param: None,
            sparse: None,
        }))
    }

    /// Rows `ids` of the table `table` → `[len(ids), C]`. When `table` is a parameter leaf
    /// its gradient is returned row-sparse ([`Grads::rows`]): only the looked-up rows, with
    /// repeated ids summed in order (bitwise what a dense scatter-add gives), and none for
    /// `skip` (an embedding's `padding_idx`). Otherwise this is [`Tape::gather_rows_skip`].
    pub fn embedding(&self, table: Var, ids: &[usize], skip: Option<usize>) -> Result<Var> {
        self.check("embedding", table)?;
        let param = self.nodes.borrow()[table.node as usize].param;
        let Some(param) = param.filter(|_| self.grad_enabled) else {
            return self.gather_rows_skip(table, ids, skip);
        };
        let value = self.value(table)?;
        let total_rows = value.shape().first().copied().unwrap_or(0);
        let out = value.gather_rows(ids)?;
        Ok(self.push_node(Node {
            outputs: vec![out],
            parents: Vec::new(),
            requires_grad: true,
            backward: None,
            param: None,
            sparse: Some(SparseLookup {
                param,
                ids: ids.to_vec(),
                skip,
                total_rows,
            }),
        })[0])
    }

    /// Records a single-output op whose backward needs the output gradient (never zero:
    /// nodes without an incoming gradient are skipped).
    pub(crate) fn record1(
        &self,
        output: Tensor<B>,
        parents: &[Var],
        backward: impl FnOnce(&Tensor<B>) -> Result<Vec<Option<Tensor<B>>>> + 'static,
    ) -> Result<Var> {
        let vars = self.record(vec![output], parents, move |g| match &g[0] {
            Some(g) => backward(g),
            None => Err(Error::invalid(
                "backward",
                "single-output node without gradient",
            )),
        })?;
        Ok(vars[0])
    }

    /// Back-propagates from the scalar `loss` (any one-element tensor) and returns the leaf
    /// gradients. The tape's saved state is released as the walk proceeds, so a second call
    /// is an error (record a new forward pass on a new tape instead).
    pub fn backward(&self, loss: Var) -> Result<Grads<B>> {
        self.check("backward", loss)?;
        if !self.grad_enabled {
            return Err(Error::invalid(
                "backward",
                "this tape was made with Tape::no_grad and recorded no gradients",
            ));
        }
        if self.backward_done.replace(true) {
            return Err(Error::invalid(
                "backward",
                "backward was already called on this tape and released its saved state; \
                 run the forward pass again on a new tape",
            ));
        }
        let mut nodes = self.nodes.borrow_mut();
        let seed = {
            let l = &nodes[loss.node as usize].outputs[loss.out as usize];
            if l.numel() != 1 {
                return Err(Error::shape(
                    "backward",
                    format!("loss must have one element, found shape {:?}", l.shape()),
                ));
            }
            Tensor::full(l.backend(), l.shape(), l.dtype(), 1.0)?
        };
        let mut grads: Vec<Vec<Option<Tensor<B>>>> =
            nodes.iter().map(|n| vec![None; n.outputs.len()]).collect();
        grads[loss.node as usize][loss.out as usize] = Some(seed);
        let mut out = Grads::empty();
        for id in (0..=loss.node as usize).rev() {
            let node = &mut nodes[id];
            if !node.requires_grad || grads[id].iter().all(Option::is_none) {
                continue;
            }
            let node_grads = std::mem::take(&mut grads[id]);
            if let Some(lookup) = node.sparse.take() {
                if let Some(g) = node_grads.into_iter().next().flatten() {
                    out.add_rows(lookup.param, coalesce(&lookup, &g)?)?;
                }
                continue;
            }
            match node.backward.take() {
                Some(backward) => {
                    let parent_grads = backward(&node_grads)?;
                    for (&p, g) in node.parents.iter().zip(parent_grads) {
                        if let Some(g) = g {
                            accumulate(&mut grads[p.node as usize][p.out as usize], g)?;
                        }
                    }
                }
                None => {
                    let g = node_grads.into_iter().next().flatten();
                    if let Some(g) = g {
                        let v = Var {
                            tape: self.id,
                            node: id as u32,
                            out: 0,
                        };
                        out.set_leaf(v, node.param, g);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Sums the output-gradient rows of a lookup per distinct id (in order of occurrence, as a
/// dense scatter-add would) → a [`RowGrad`].
fn coalesce<B: Backend>(lookup: &SparseLookup, g: &Tensor<B>) -> Result<RowGrad<B>> {
    let mut slot_of: HashMap<usize, usize> = HashMap::new();
    let mut rows = Vec::new();
    let mut src_pos = Vec::new();
    let mut dst_slot = Vec::new();
    for (pos, &id) in lookup.ids.iter().enumerate() {
        if Some(id) == lookup.skip {
            continue;
        }
        let slot = *slot_of.entry(id).or_insert_with(|| {
            rows.push(id);
            rows.len() - 1
        });
        src_pos.push(pos);
        dst_slot.push(slot);
    }
    let kept = g.gather_rows(&src_pos)?;
    let values = kept.scatter_rows(rows.len(), &dst_slot, 0.0, true)?;
    Ok(RowGrad {
        rows,
        values,
        total_rows: lookup.total_rows,
    })
}

fn accumulate<B: Backend>(slot: &mut Option<Tensor<B>>, g: Tensor<B>) -> Result<()> {
    match slot {
        Some(acc) => acc.axpy(1.0, &g),
        None => {
            *slot = Some(g);
            Ok(())
        }
    }
}
