//! `recur train --embeddings`: the coverage line, the vectors copied into the embedding
//! (frozen: unchanged after training, and no optimizer state kept for it), OOV rows, and
//! the dimension check.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmp(tag: &str) -> PathBuf {
    recur_testkit::fresh_dir("emb", tag)
}

fn recur(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(args)
        .output()
        .unwrap()
}

const WORDS: [&[&str]; 2] = [&["Goal", "match", "coach"], &["stocks", "bank", "profit"]];

fn write_data(dir: &Path) -> PathBuf {
    let mut s = String::from("label\ttext\n");
    for r in 0..80 {
        let c = r % 2;
        s.push_str(&format!(
            "{}\t{} {} zzz{}\n",
            ["sport", "money"][c],
            WORDS[c][r % 3],
            WORDS[c][(r + 1) % 3],
            r % 4
        ));
    }
    let p = dir.join("train.tsv");
    std::fs::write(&p, s).unwrap();
    p
}

fn embedding_of(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let t = st.tensor("embedding.weight").unwrap();
    let v = t
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (t.shape().to_vec(), v)
}

#[test]
fn pretrained_vectors_frozen_and_fine_tuned() {
    let dir = tmp("train");
    let data = write_data(&dir);
    // vectors for "goal" (as "Goal": lower-cased match), "bank" and "stocks"; 4 dims
    let vec_file = dir.join("vectors.vec");
    std::fs::write(
        &vec_file,
        "4 4\ngoal 1 0 0 0\nbank 0 1 0 0\nstocks 0 0 1 0\nunused 9 9 9 9\n",
    )
    .unwrap();
    let run = dir.join("frozen");
    let out = recur(&[
        "train",
        "--train",
        data.to_str().unwrap(),
        "--embed",
        "4",
        "--hidden",
        "3",
        "--embeddings",
        vec_file.to_str().unwrap(),
        "--oov-init",
        "zeros",
        "--freeze-embeddings",
        "--epochs",
        "2",
        "--lr",
        "0.05",
        "--out",
        run.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let vocab = std::fs::read_to_string(run.join("vocab.txt")).unwrap();
    let n = vocab.lines().count();
    assert!(
        stderr.contains(&format!("found 3 of {n} vocabulary words")),
        "{stderr}"
    );
    let (shape, table) = embedding_of(&run.join("model.safetensors"));
    assert_eq!(shape, [n, 4]);
    let id = |w: &str| vocab.lines().position(|l| l == w).unwrap();
    assert_eq!(
        &table[id("goal") * 4..id("goal") * 4 + 4],
        [1.0, 0.0, 0.0, 0.0]
    );
    assert_eq!(
        &table[id("bank") * 4..id("bank") * 4 + 4],
        [0.0, 1.0, 0.0, 0.0]
    );
    assert_eq!(
        &table[id("match") * 4..id("match") * 4 + 4],
        [0.0; 4],
        "OOV zeros, frozen"
    );
    // no optimizer state for the frozen table
    let opt = std::fs::read(run.join("checkpoint/optimizer.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&opt).unwrap();
    assert!(
        st.names().iter().all(|n| !n.starts_with("embedding.")),
        "{:?}",
        st.names()
    );
    // fine-tuned: the rows move
    let tuned = dir.join("tuned");
    let out = recur(&[
        "train",
        "--train",
        data.to_str().unwrap(),
        "--embed",
        "4",
        "--hidden",
        "3",
        "--embeddings",
        vec_file.to_str().unwrap(),
        "--epochs",
        "2",
        "--lr",
        "0.05",
        "--out",
        tuned.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, table) = embedding_of(&tuned.join("model.safetensors"));
    assert_ne!(
        &table[id("goal") * 4..id("goal") * 4 + 4],
        [1.0, 0.0, 0.0, 0.0]
    );
    // a dimension that is not --embed names both
    let out = recur(&[
        "train",
        "--train",
        data.to_str().unwrap(),
        "--embed",
        "8",
        "--embeddings",
        vec_file.to_str().unwrap(),
        "--out",
        dir.join("bad").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("4 dimensions but --embed is 8"),
        "{stderr}"
    );
}
