//! Where `recur predict` writes ([`Output`]): stdout, or a file through a temporary name
//! renamed when complete; in one of the [`OutputFormat`]s, one record per text in input
//! order.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};

use crate::args::OutputFormat;

/// One classified text to write.
pub struct Record<'a> {
    /// Its 1-based line in the input (`None` for texts given as arguments).
    pub line: Option<u64>,
    /// Its id column.
    pub id: Option<&'a str>,
    /// The text itself, written by the JSON and text formats when the input is not a file.
    pub text: Option<&'a str>,
    /// Class probabilities, index = class (`None`: the text has no token).
    pub probabilities: Option<&'a [f64]>,
}

/// Where predictions go, and how they are written.
pub struct Output {
    format: OutputFormat,
    names: Vec<String>,
    top_k: Option<usize>,
    with_id: bool,
    out: BufWriter<Box<dyn Write + Send>>,
    /// The temporary file and the path it becomes.
    file: Option<(PathBuf, PathBuf)>,
    header_done: bool,
}

impl Output {
    /// Writes to `path` (through a temporary file beside it) or stdout; `format` by default
    /// text on stdout, else by the file's extension (`.csv`, `.tsv`), else jsonl.
    pub fn open(
        path: Option<&Path>,
        format: Option<OutputFormat>,
        names: &[String],
        top_k: Option<usize>,
        with_id: bool,
    ) -> Result<Output> {
        if top_k == Some(0) {
            bail!("--top-k must be at least 1");
        }
        let (out, file, default): (Box<dyn Write + Send>, _, _) = match path {
            None => (Box::new(std::io::stdout()), None, OutputFormat::Text),
            Some(p) => {
                if p.is_dir() {
                    bail!(
                        "{} is a folder: give the path of a file to write",
                        p.display()
                    );
                }
                let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
                let default = match ext.to_ascii_lowercase().as_str() {
                    "csv" => OutputFormat::Csv,
                    "tsv" | "tab" => OutputFormat::Tsv,
                    _ => OutputFormat::Jsonl,
                };
                let mut tmp = p.as_os_str().to_os_string();
                tmp.push(format!(".tmp-{}", std::process::id()));
                let tmp = PathBuf::from(tmp);
                let f = std::fs::File::create(&tmp)
                    .with_context(|| format!("writing {}", p.display()))?;
                (Box::new(f), Some((tmp, p.to_path_buf())), default)
            }
        };
        Ok(Output {
            format: format.unwrap_or(default),
            names: names.to_vec(),
            top_k: top_k.map(|k| k.min(names.len())),
            with_id,
            out: BufWriter::with_capacity(1 << 16, out),
            file,
            header_done: false,
        })
    }

    /// The classes to write for `p`: every class in order, or the `top_k` most likely.
    fn classes(&self, p: &[f64]) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..p.len()).collect();
        if let Some(k) = self.top_k {
            idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
            idx.truncate(k);
        }
        idx
    }

    /// Writes one record.
    pub fn write(&mut self, r: &Record<'_>) -> Result<()> {
        match self.format {
            OutputFormat::Text => self.text(r),
            OutputFormat::Jsonl => self.jsonl(r),
            OutputFormat::Csv => self.delimited(r, b','),
            OutputFormat::Tsv => self.delimited(r, b'\t'),
        }
        .map_err(|e| self.write_error(e))
    }

    fn write_error(&self, e: std::io::Error) -> anyhow::Error {
        match &self.file {
            Some((_, path)) => anyhow::Error::new(e).context(format!("writing {}", path.display())),
            None => anyhow::Error::new(e).context("writing the predictions"),
        }
    }

    fn text(&mut self, r: &Record<'_>) -> std::io::Result<()> {
        let Some(p) = r.probabilities else {
            return writeln!(self.out, "-\t(no token in text)");
        };
        let classes = self.classes(p);
        let best = argmax(p);
        let mut line = String::new();
        if let Some(id) = r.id {
            line.push_str(id);
            line.push('\t');
        }
        line.push_str(&self.names[best]);
        line.push('\t');
        let parts: Vec<String> = classes
            .iter()
            .map(|&c| format!("{}={:.4}", self.names[c], p[c]))
            .collect();
        line.push_str(&parts.join(" "));
        writeln!(self.out, "{line}")
    }

    fn jsonl(&mut self, r: &Record<'_>) -> std::io::Result<()> {
        let mut o = Map::new();
        if let Some(l) = r.line {
            o.insert("line".into(), json!(l));
        }
        if let Some(id) = r.id {
            o.insert("id".into(), json!(id));
        }
        if let Some(t) = r.text {
            o.insert("text".into(), json!(t));
        }
        match r.probabilities {
            None => {
                o.insert("error".into(), json!("no token in text"));
            }
            Some(p) => {
                o.insert("class".into(), json!(self.names[argmax(p)]));
                let classes = self.classes(p);
                if self.top_k.is_some() {
                    let top: Vec<Value> = classes
                        .iter()
                        .map(|&c| json!({"class": self.names[c], "probability": p[c]}))
                        .collect();
                    o.insert("top".into(), Value::Array(top));
                } else {
                    let probs: Map<String, Value> = classes
                        .iter()
                        .map(|&c| (self.names[c].clone(), json!(p[c])))
                        .collect();
                    o.insert("probabilities".into(), Value::Object(probs));
                }
            }
        }
        serde_json::to_writer(&mut self.out, &Value::Object(o))?;
        self.out.write_all(b"\n")
    }

    fn delimited(&mut self, r: &Record<'_>, d: u8) -> std::io::Result<()> {
        let mut fields: Vec<String> = Vec::new();
        if !self.header_done {
            self.header_done = true;
            fields.push("line".into());
            if self.with_id {
                fields.push("id".into());
            }
            fields.push("class".into());
            match self.top_k {
                Some(k) => {
                    for i in 1..=k {
                        fields.push(format!("class_{i}"));
                        fields.push(format!("probability_{i}"));
                    }
                }
                None => fields.extend(self.names.iter().cloned()),
            }
            self.row(&fields, d)?;
            fields.clear();
        }
        fields.push(r.line.map_or(String::new(), |l| l.to_string()));
        if self.with_id {
            fields.push(r.id.unwrap_or("").to_string());
        }
        match r.probabilities {
            None => fields.push(String::new()),
            Some(p) => {
                fields.push(self.names[argmax(p)].clone());
                for c in self.classes(p) {
                    if self.top_k.is_some() {
                        fields.push(self.names[c].clone());
                    }
                    fields.push(p[c].to_string());
                }
            }
        }
        self.row(&fields, d)
    }

    /// One CSV/TSV row, fields quoted when they hold the delimiter, a quote or a line end.
    fn row(&mut self, fields: &[String], d: u8) -> std::io::Result<()> {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.out.write_all(&[d])?;
            }
            if f.bytes()
                .any(|b| b == d || b == b'"' || b == b'\n' || b == b'\r')
            {
                write!(self.out, "\"{}\"", f.replace('"', "\"\""))?;
            } else {
                self.out.write_all(f.as_bytes())?;
            }
        }
        self.out.write_all(b"\n")
    }

    /// Flushes what was written (stdout: so a reader sees it now).
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| self.write_error(e))
    }

    /// Ends the output: a file is synced and renamed into place.
    pub fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(|e| self.write_error(e))?;
        if let Some((tmp, path)) = self.file.take() {
            let f = std::fs::File::open(&tmp).and_then(|f| f.sync_all());
            let renamed = f.and_then(|()| std::fs::rename(&tmp, &path));
            if let Err(e) = renamed {
                let _ = std::fs::remove_file(&tmp);
                return Err(e).with_context(|| format!("writing {}", path.display()));
            }
        }
        Ok(())
    }
}

impl Drop for Output {
    /// An output not finished (an error, a stop) leaves nothing at its path.
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.file.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// The first most likely class.
fn argmax(p: &[f64]) -> usize {
    p.iter()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |b, (i, &x)| if x > b.1 { (i, x) } else { b },
        )
        .0
}
