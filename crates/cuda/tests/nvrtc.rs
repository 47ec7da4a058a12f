//! The kernel source compiles with NVRTC as the backend compiles it at run time (no GPU
//! needed, only `libnvrtc`). Skipped with a message when NVRTC cannot be loaded; with
//! `REQUIRE_GPU=1` that is a failure.

#[test]
fn kernels_compile_with_nvrtc() {
    match recur_cuda::compile_kernels() {
        Ok(ptx) => {
            let src = ptx.to_src();
            for name in [
                "lstm_persist_fwd_32_f32",
                "gru_persist_bwd_64_f64",
                "adam_step_f32",
                "tanh_backward_f64",
                "mul_f32",
            ] {
                assert!(src.contains(name), "PTX lacks {name}");
            }
        }
        Err(e) if e.to_string().contains("loading NVRTC") => {
            assert!(
                std::env::var("REQUIRE_GPU").map_or(true, |v| v != "1"),
                "REQUIRE_GPU=1 but NVRTC is missing: {e}"
            );
            println!("SKIPPED (no NVRTC): {e}");
        }
        Err(e) => panic!("{e}"),
    }
}

/// Every elementwise op of recur-tensor has its kernel line in `recur.cu` (checked without
/// NVRTC, so a new op without a kernel fails everywhere, not only on a GPU).
#[test]
fn every_elementwise_op_has_its_kernel_line() {
    use recur_tensor::{BinaryOp, UnaryOp};
    for op in UnaryOp::ALL {
        let line = format!("\nUNARY({}, ", op.name());
        assert!(
            recur_cuda::KERNELS.contains(&line),
            "recur.cu lacks UNARY({}, ...)",
            op.name()
        );
    }
    for op in BinaryOp::ALL {
        let line = format!("\nBINARY({}, ", op.name());
        assert!(
            recur_cuda::KERNELS.contains(&line),
            "recur.cu lacks BINARY({}, ...)",
            op.name()
        );
    }
}

/// Every kernel the Rust side launches by name is defined in `recur.cu` for both element
/// types: the literals of `launch!(cuda, T, "name", ..)` and `kernel::<T>("name")`, the
/// scatters, and the persistent `<cell>_persist_{fwd,bwd}_{32,64}`. A renamed kernel fails
/// here, not first on a GPU.
#[test]
fn every_launched_kernel_is_defined() {
    let src_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut names = Vec::new();
    let mut dirs = vec![src_dir];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // the third argument of `launch!(cuda, T, "name", ..)`, when a literal
            for (at, _) in text.match_indices("launch!(") {
                let args: Vec<&str> = text[at + 8..].splitn(4, ',').map(str::trim).collect();
                if let Some(lit) = args.get(2).and_then(|a| a.strip_prefix('"')) {
                    names.push(lit[..lit.find('"').unwrap()].to_string());
                }
            }
            for (at, _) in text.match_indices("kernel::<T>(\"") {
                let rest = &text[at + 13..];
                names.push(rest[..rest.find('"').unwrap()].to_string());
            }
        }
    }
    assert!(names.len() >= 20, "found only {names:?}");
    // kernels launched under their op's name (`basic::scatter`)
    names.extend(["scatter_add_rows", "scatter_rows"].map(String::from));
    for cell in ["lstm", "gru", "rnn"] {
        for dir in ["fwd", "bwd"] {
            for k in [32, 64] {
                names.push(format!("{cell}_persist_{dir}_{k}"));
            }
        }
    }
    for name in names {
        let def = format!(" {name}_##S(");
        assert!(
            recur_cuda::KERNELS.contains(&def),
            "recur.cu defines no kernel {name}"
        );
    }
}
