//! `recur quantize --run DIR --out DIR2`: a copy of a run whose matrices are int8 rows with
//! f32 scales (`recur_train::RunDir::quantize_to`), committed as one unit like any run.

use anyhow::{bail, Result};
use recur_cpu::Cpu;
use recur_train::RunDir;

use crate::args::QuantizeArgs;

/// Runs `recur quantize`.
pub fn quantize(a: &QuantizeArgs) -> Result<()> {
    if a.out == a.run {
        bail!("--out must be another folder than --run (the f32 run is kept)");
    }
    let (before, after) = RunDir::new(&a.run).quantize_to(&Cpu, &a.out)?;
    println!(
        "wrote {}: model {:.1} MB -> {:.1} MB ({:.1}x smaller)",
        a.out.display(),
        before as f64 / 1e6,
        after as f64 / 1e6,
        before as f64 / after.max(1) as f64
    );
    Ok(())
}
