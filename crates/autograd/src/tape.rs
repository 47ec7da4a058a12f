//! The tape: nodes, variables, leaves and the backward walk.

use std::cell::RefCell;
use std::collections::HashMap;

use recur_tensor::{Backend, Error, Result, Tensor};

/// A handle to one output of one recorded node (cheap to copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var {
    node: u32,
    out: u32,
}

/// Computes the parents' gradients from the outputs' gradients (`None` = zero).
pub(crate) type BackwardFn<B> =
    Box<dyn FnOnce(&[Option<Tensor<B>>]) -> Result<Vec<Option<Tensor<B>>>>>;

struct Node<B: Backend> {
    outputs: Vec<Tensor<B>>,
    parents: Vec<Var>,
    requires_grad: bool,
    backward: Option<BackwardFn<B>>,
    param: Option<usize>,
}

/// One forward pass's record of ops.
pub struct Tape<B: Backend> {
    backend: B,
    grad_enabled: bool,
    nodes: RefCell<Vec<Node<B>>>,
    params: RefCell<HashMap<usize, Var>>,
}

/// Gradients of the leaves after [`Tape::backward`].
pub struct Grads<B: Backend> {
    leaves: HashMap<Var, Tensor<B>>,
    params: HashMap<usize, Tensor<B>>,
}

impl<B: Backend> Grads<B> {
    /// Gradient of a leaf made with [`Tape::leaf`] or [`Tape::param`] (`None`: it did not
    /// influence the loss).
    pub fn get(&self, v: Var) -> Option<&Tensor<B>> {
        self.leaves.get(&v)
    }

    /// Gradient of parameter `id` (as given to [`Tape::param`]).
    pub fn param(&self, id: usize) -> Option<&Tensor<B>> {
        self.params.get(&id)
    }

    /// Moves out the gradient of parameter `id`.
    pub fn take_param(&mut self, id: usize) -> Option<Tensor<B>> {
        self.params.remove(&id)
    }
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
            backend: backend.clone(),
            grad_enabled,
            nodes: RefCell::new(Vec::new()),
            params: RefCell::new(HashMap::new()),
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

    /// The value of a variable (shares storage).
    pub fn value(&self, v: Var) -> Tensor<B> {
        self.nodes.borrow()[v.node as usize].outputs[v.out as usize].clone()
    }

    /// The shape of a variable.
    pub fn shape(&self, v: Var) -> Vec<usize> {
        self.nodes.borrow()[v.node as usize].outputs[v.out as usize]
            .shape()
            .to_vec()
    }

    /// Whether gradients flow to `v`.
    pub fn requires_grad(&self, v: Var) -> bool {
        self.nodes.borrow()[v.node as usize].requires_grad
    }

    fn push_node(&self, node: Node<B>) -> Vec<Var> {
        let mut nodes = self.nodes.borrow_mut();
        let id = nodes.len() as u32;
        let n = node.outputs.len() as u32;
        nodes.push(node);
        (0..n).map(|out| Var { node: id, out }).collect()
    }

    /// A leaf; with `requires_grad` its gradient is reported by [`Grads::get`].
    pub fn leaf(&self, value: Tensor<B>, requires_grad: bool) -> Var {
        self.push_node(Node {
            outputs: vec![value],
            parents: Vec::new(),
            requires_grad: requires_grad && self.grad_enabled,
            backward: None,
            param: None,
        })[0]
    }

    /// A constant input (no gradient).
    pub fn constant(&self, value: Tensor<B>) -> Var {
        self.leaf(value, false)
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
    ) -> Vec<Var> {
        let requires_grad = self.grad_enabled && parents.iter().any(|&p| self.requires_grad(p));
        self.push_node(Node {
            outputs,
            parents: parents.to_vec(),
            requires_grad,
            backward: requires_grad.then(|| Box::new(backward) as BackwardFn<B>),
            param: None,
        })
    }

    /// Records a single-output op whose backward needs the output gradient (never zero:
    /// nodes without an incoming gradient are skipped).
    pub(crate) fn record1(
        &self,
        output: Tensor<B>,
        parents: &[Var],
        backward: impl FnOnce(&Tensor<B>) -> Result<Vec<Option<Tensor<B>>>> + 'static,
    ) -> Var {
        self.record(vec![output], parents, move |g| match &g[0] {
            Some(g) => backward(g),
            None => Err(Error::invalid(
                "backward",
                "single-output node without gradient",
            )),
        })[0]
    }

    /// Back-propagates from the scalar `loss` (any one-element tensor) and returns the leaf
    /// gradients. The tape's saved state is released as the walk proceeds.
    pub fn backward(&self, loss: Var) -> Result<Grads<B>> {
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
        let mut out = Grads {
            leaves: HashMap::new(),
            params: HashMap::new(),
        };
        for id in (0..=loss.node as usize).rev() {
            let node = &mut nodes[id];
            if !node.requires_grad || grads[id].iter().all(Option::is_none) {
                continue;
            }
            let node_grads = std::mem::take(&mut grads[id]);
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
                            node: id as u32,
                            out: 0,
                        };
                        if let Some(pid) = node.param {
                            out.params.insert(pid, g.clone());
                        }
                        out.leaves.insert(v, g);
                    }
                }
            }
        }
        Ok(out)
    }
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
