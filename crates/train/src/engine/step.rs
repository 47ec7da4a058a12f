//! One step of the loop: the task's loss and gradients, clipping and the optimizer step at the
//! schedule's rate on one batch, and the progress report when the epoch reaches its count.

use recur_layers::clip_grad_norm;
use recur_tensor::Backend;

use super::observer::Observer;
use super::records::{Record, Records, Report};
use super::task::{ReportUnit, Stepped, Task};
use super::Trainer;
use crate::{Result, TrainError};

impl<B: Backend, T: Task<B>> Trainer<B, T> {
    /// A progress report when the epoch has reached the next report's count.
    pub(super) fn maybe_report(&mut self, observer: &mut dyn Observer<T::Records>) {
        let st = &mut self.progress.stats;
        let count = match self.task.report_unit() {
            ReportUnit::Samples => st.samples,
            ReportUnit::Batches => st.batches,
        };
        if count < st.next_report {
            return;
        }
        while st.next_report <= count {
            st.next_report += self.config.report_every;
        }
        let interval = st.interval_batches.max(1) as f64;
        let report = Report {
            epoch: self.progress.epoch + 1,
            batch: st.batches,
            batches: self.task.batches_per_epoch(),
            samples: st.samples,
            step: self.progress.step,
            lr: self.opt.lr(),
            train_loss: st.mean_loss(),
            interval_loss: st.interval_loss_sum / interval,
            ms_per_batch: st.interval_seconds * 1e3 / interval,
            task: T::Records::report(st),
        };
        st.interval_loss_sum = 0.0;
        st.interval_batches = 0;
        st.interval_seconds = 0.0;
        observer.report(&report);
        self.records.push(Record::Report(report));
    }

    /// The task's loss and gradients, clipping and one optimizer step on `batch`.
    pub(super) fn train_batch(&mut self, batch: &T::Batch, epoch: usize) -> Result<()> {
        let step = self.progress.step;
        let lr = self
            .progress
            .schedule
            .as_ref()
            .map_or(self.opt.lr(), |s| s.lr(step));
        self.opt.set_lr(&mut self.store, lr)?;
        let where_ = || {
            format!(
                "epoch {}, step {} (batch {} of the epoch)",
                epoch + 1,
                step + 1,
                self.progress.batch + 1
            )
        };
        // rows an optimizer updates lazily are brought up to date before they are read
        self.opt
            .prepare_rows(&mut self.store, self.task.rows(batch))?;
        let Stepped {
            loss: loss_value,
            mut grads,
            tally,
        } = self.task.step(&self.store, batch, &mut self.rng)?;
        if !loss_value.is_finite() {
            return Err(TrainError::NonFinite(format!(
                "the training loss is {loss_value} at {}: stopping; the last checkpoint is left as \
                    it was (a lower learning rate or gradient clipping may help)",
                where_()
            )));
        }
        if epoch < self.config.freeze_epochs {
            for &id in &self.config.frozen {
                grads.take_param(id);
                grads.take_rows(id);
            }
        }
        if let Some(max) = self.config.clip_grad_norm {
            let total = clip_grad_norm(&mut grads, max)?;
            if !total.is_finite() {
                return Err(TrainError::NonFinite(format!(
                    "the gradient norm is {total} at {}: stopping; the last checkpoint is left as \
                        it was",
                    where_()
                )));
            }
        }
        self.opt.step(&mut self.store, &mut grads)?;
        let samples = self.task.samples(batch);
        let st = &mut self.progress.stats;
        st.loss_sum += loss_value;
        st.interval_loss_sum += loss_value;
        T::Records::add(&mut st.tally, &tally);
        st.samples += samples;
        st.batches += 1;
        st.interval_batches += 1;
        self.progress.step += 1;
        self.progress.batch += 1;
        self.progress.samples += samples;
        Ok(())
    }
}
