//! `torch.optim.Adam` and `AdamW` (decoupled weight decay), dense and with lazily updated
//! embedding rows (each row catches up on the steps it missed when next touched).

use recur_autograd::Grads;
use recur_tensor::{AdamHyper, Backend, Tensor};

use super::optimizer::{
    dense_of, entries_of, ids_of, no_leftovers, refuse_live_tape, state_err, take_counters,
    take_tensor, Optimizer, StateValue,
};
use crate::{ParamStore, Result, RowClock};

/// `torch.optim.Adam` hyper-parameters (defaults: lr 1e-3, betas 0.9/0.999, eps 1e-8, no decay).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Added to `sqrt(v̂)`.
    pub eps: f64,
    /// Weight decay: an L2 penalty added to the gradient (Adam), or with `decoupled` a
    /// shrinking `p ← p·(1 − lr·wd)` before the update (AdamW).
    pub weight_decay: f64,
    /// `torch.optim.AdamW`'s decoupled weight decay. Every row of an embedding decays every
    /// step, so with a weight decay its row-sparse gradient is applied densely.
    pub decoupled: bool,
    /// Row-sparse gradients (embeddings) use PyTorch's `SparseAdam` (lazy: untouched rows
    /// and their moments do not move, eps is added to `√v`). This changes the maths; the
    /// default (false) is exact dense Adam.
    pub sparse_rows: bool,
    /// Exact dense Adam on row-sparse gradients, computed lazily ("catch-up"): only the
    /// touched rows move at a step; every other row replays its missed zero-gradient steps
    /// when next touched, at [`Optimizer::prepare_rows`] or at [`Optimizer::sync`], which
    /// makes each step cost the batch's rows, not the vocabulary's. The store records which
    /// rows are behind, and reading or saving them is refused, so call `prepare_rows` with a
    /// batch's ids before its forward pass (the trainer does). Off by default: every row is
    /// updated every step.
    pub lazy_rows: bool,
}

impl Default for AdamConfig {
    /// PyTorch's defaults: learning rate 0.001, betas (0.9, 0.999), eps 1e-8, no weight
    /// decay, dense rows.
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            sparse_rows: false,
            lazy_rows: false,
        }
    }
}

impl AdamConfig {
    /// `torch.optim.AdamW`'s defaults: lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.01.
    pub fn adamw() -> Self {
        AdamConfig {
            weight_decay: 0.01,
            decoupled: true,
            ..AdamConfig::default()
        }
    }

    /// The L2 penalty the fused kernels add to the gradient (none for AdamW).
    fn l2(&self) -> f64 {
        if self.decoupled {
            0.0
        } else {
            self.weight_decay
        }
    }
}

struct AdamState<B: Backend> {
    step: u64,
    m: Tensor<B>,
    v: Tensor<B>,
}

/// Rows caught up per backend call when a sync may be stopped between calls.
const CATCH_UP_ROWS: usize = 2048;

/// Brings the rows of `p` left behind by lazy Adam up to step `upto` (inclusive) — only
/// those among `only` when given — replaying their zero-gradient steps; once every row is
/// current the clock is dropped. With `stop`, the rows go in pieces of [`CATCH_UP_ROWS`]
/// and `Ok(false)` says it stopped between two (the rows done are current, the others
/// keep their clock).
fn catch_up<B: Backend>(
    p: &mut Tensor<B>,
    clock: &mut Option<RowClock>,
    st: &mut AdamState<B>,
    config: &AdamConfig,
    upto: u64,
    only: Option<&[usize]>,
    stop: Option<&dyn Fn() -> bool>,
) -> Result<bool> {
    let Some(c) = clock.as_mut() else {
        return Ok(true);
    };
    let stale: Vec<usize> = match only {
        Some(rows) => {
            let mut s: Vec<usize> = rows
                .iter()
                .copied()
                .filter(|&r| c.last.get(r).is_some_and(|&l| l < upto))
                .collect();
            s.sort_unstable();
            s.dedup();
            s
        }
        None => (0..c.last.len()).filter(|&r| c.last[r] < upto).collect(),
    };
    if !stale.is_empty() && upto > 0 {
        let cols = p.shape()[1];
        let piece = if stop.is_some() {
            CATCH_UP_ROWS
        } else {
            stale.len()
        };
        let zeros = Tensor::zeros(p.backend(), &[piece.min(stale.len()), cols], p.dtype())?;
        for rows in stale.chunks(piece) {
            if stop.is_some_and(|s| s()) {
                return Ok(false);
            }
            let zeros = if rows.len() == piece.min(stale.len()) {
                zeros.clone()
            } else {
                Tensor::zeros(p.backend(), &[rows.len(), cols], p.dtype())?
            };
            p.adam_rows_catch_up(
                &zeros,
                &mut st.m,
                &mut st.v,
                rows,
                &mut c.last,
                &config.hyper(upto),
            )?;
        }
    }
    if only.is_none() && c.last.iter().all(|&l| l >= c.now) {
        *clock = None;
    }
    Ok(true)
}

impl AdamConfig {
    fn hyper(&self, step: u64) -> AdamHyper {
        AdamHyper {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.l2(),
            step,
        }
    }
}

/// Adam, PyTorch semantics: per parameter `t += 1`; `m = β1 m + (1−β1) g`;
/// `v = β2 v + (1−β2) g²`; `p −= lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + eps)`. Parameters without
/// a gradient are skipped (their step count does not advance), as in PyTorch. With
/// `decoupled`, AdamW: `p ← p·(1 − lr·wd)` first.
pub struct Adam<B: Backend> {
    /// Hyper-parameters.
    pub config: AdamConfig,
    state: Vec<Option<AdamState<B>>>,
}

impl<B: Backend> Adam<B> {
    /// A fresh optimizer.
    pub fn new(config: AdamConfig) -> Self {
        Adam {
            config,
            state: Vec::new(),
        }
    }

    /// `torch.optim.Adam(params, lr=lr)`: PyTorch's defaults otherwise.
    pub fn with_lr(lr: f64) -> Self {
        Adam::new(AdamConfig {
            lr,
            ..AdamConfig::default()
        })
    }
}

impl<B: Backend> Optimizer<B> for Adam<B> {
    fn step(&mut self, store: &mut ParamStore<B>, grads: &mut Grads<B>) -> Result<()> {
        refuse_live_tape(store)?;
        if self.state.len() < store.len() {
            self.state.resize_with(store.len(), || None);
        }
        let config = self.config;
        for id in ids_of(store) {
            let i = id.index();
            let dense = grads.take_param(i);
            let rows = grads.take_rows(i);
            if dense.is_none() && rows.is_none() {
                continue;
            }
            let (p, clock) = store.get_with_clock_mut(id)?;
            if config.decoupled && config.weight_decay != 0.0 {
                *p = p.scale(1.0 - config.lr * config.weight_decay)?;
            }
            let st = match &mut self.state[i] {
                Some(st) => st,
                slot => slot.insert(AdamState {
                    step: 0,
                    m: p.zeros_like()?,
                    v: p.zeros_like()?,
                }),
            };
            st.step += 1;
            match (dense, rows) {
                (None, Some(rg)) if p.rank() == 2 && config.sparse_rows => {
                    p.sparse_adam_rows(
                        &rg.values,
                        &mut st.m,
                        &mut st.v,
                        &rg.rows,
                        &config.hyper(st.step),
                    )?;
                }
                (None, Some(rg))
                    if p.rank() == 2 && config.lazy_rows && config.l2() == config.weight_decay =>
                {
                    // only the touched rows move now; every row was current at step - 1
                    // unless the clock says otherwise
                    let c = clock.get_or_insert_with(|| RowClock {
                        last: vec![st.step - 1; p.shape()[0]],
                        now: st.step - 1,
                    });
                    p.adam_rows_catch_up(
                        &rg.values,
                        &mut st.m,
                        &mut st.v,
                        &rg.rows,
                        &mut c.last,
                        &config.hyper(st.step),
                    )?;
                    c.now = st.step;
                }
                (dense, rows) => {
                    let g = dense_of(dense, rows)?;
                    catch_up(p, clock, st, &config, st.step - 1, None, None)?;
                    p.adam_step(&g, &mut st.m, &mut st.v, &config.hyper(st.step))?;
                }
            }
        }
        Ok(())
    }

    fn sync(&mut self, store: &mut ParamStore<B>) -> Result<()> {
        let config = self.config;
        for id in ids_of(store) {
            if let Some(st) = self.state.get_mut(id.index()).and_then(Option::as_mut) {
                let (p, clock) = store.get_with_clock_mut(id)?;
                let step = st.step;
                catch_up(p, clock, st, &config, step, None, None)?;
            }
        }
        Ok(())
    }

    fn sync_until(&mut self, store: &mut ParamStore<B>, stop: &dyn Fn() -> bool) -> Result<bool> {
        let config = self.config;
        for id in ids_of(store) {
            if let Some(st) = self.state.get_mut(id.index()).and_then(Option::as_mut) {
                let (p, clock) = store.get_with_clock_mut(id)?;
                let step = st.step;
                if !catch_up(p, clock, st, &config, step, None, Some(stop))? {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    fn prepare_rows(&mut self, store: &mut ParamStore<B>, rows: &[usize]) -> Result<()> {
        let config = self.config;
        for id in ids_of(store) {
            let Some(st) = self.state.get_mut(id.index()).and_then(Option::as_mut) else {
                continue;
            };
            let (p, clock) = store.get_with_clock_mut(id)?;
            if clock.is_some() {
                let step = st.step;
                catch_up(p, clock, st, &config, step, Some(rows), None)?;
            }
        }
        Ok(())
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, store: &mut ParamStore<B>, lr: f64) -> Result<()> {
        if lr != self.config.lr {
            // catch-up replays use the rate of the step they replay
            self.sync(store)?;
            self.config.lr = lr;
        }
        Ok(())
    }

    fn export_state(&self, store: &ParamStore<B>) -> Vec<(String, StateValue<B>)> {
        let mut out = Vec::new();
        for (id, name, _) in store.iter() {
            let Some(Some(st)) = self.state.get(id.index()) else {
                continue;
            };
            out.push((format!("{name}.step"), StateValue::Counters(vec![st.step])));
            out.push((format!("{name}.exp_avg"), StateValue::Tensor(st.m.clone())));
            out.push((
                format!("{name}.exp_avg_sq"),
                StateValue::Tensor(st.v.clone()),
            ));
            if let Ok(Some(clock)) = store.clock(id) {
                out.push((
                    format!("{name}.row_step"),
                    StateValue::Counters(clock.last.clone()),
                ));
            }
        }
        out
    }

    fn import_state(
        &mut self,
        store: &mut ParamStore<B>,
        mut state: Vec<(String, StateValue<B>)>,
    ) -> Result<()> {
        let mut fresh = Vec::with_capacity(store.len());
        let mut clocks = Vec::new();
        for (id, name, value) in store.iter() {
            let mut mine = entries_of(&mut state, name);
            if mine.is_empty() {
                fresh.push(None);
                continue;
            }
            let step = match take_counters(&mut mine, name, "step")?.as_deref() {
                Some([s]) => *s,
                _ => {
                    return Err(state_err(format!(
                        "{name}.step is missing or not one count"
                    )))
                }
            };
            let m = take_tensor(&mut mine, name, "exp_avg", value)?;
            let v = take_tensor(&mut mine, name, "exp_avg_sq", value)?;
            let last = take_counters(&mut mine, name, "row_step")?;
            if let Some(l) = &last {
                if value.rank() != 2 || l.len() != value.shape()[0] || l.iter().any(|&s| s > step) {
                    return Err(state_err(format!(
                        "{name}.row_step does not fit {:?} at step {step}",
                        value.shape()
                    )));
                }
            }
            no_leftovers(&mine)?;
            if let Some(last) = last {
                clocks.push((id, RowClock { last, now: step }));
            }
            fresh.push(Some(AdamState { step, m, v }));
        }
        no_leftovers(&state)?;
        for (id, clock) in clocks {
            *store.get_with_clock_mut(id)?.1 = Some(clock);
        }
        self.state = fresh;
        Ok(())
    }
}
