//! The summary of `cargo xtask bench`'s scan-cell rows (`--only scan`, listed in
//! `bench_workloads.rs`): recur's BiMinGRU samples/s over its own BiGRU's, per shape.

use serde_json::Value;

/// For every shape with both scan rows: recur's BiMinGRU samples/s over its own BiGRU's.
pub(crate) fn print_ratios(rows: &[Value]) {
    let median_of = |name: &str| {
        rows.iter()
            .find(|r| r["workload"] == name)
            .and_then(|r| r["recur_median"].as_f64())
    };
    for r in rows {
        let Some(shape) = r["workload"]
            .as_str()
            .and_then(|n| n.strip_prefix("scan: bimingru-packed "))
        else {
            continue;
        };
        if let (Some(min), Some(gru)) = (
            median_of(&format!("scan: bimingru-packed {shape}")),
            median_of(&format!("scan: bigru-packed {shape}")),
        ) {
            println!("recur's BiMinGRU / its BiGRU at {shape}: {:.2}x", min / gru);
        }
    }
}
