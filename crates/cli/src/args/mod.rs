//! The command line's flags: one struct per command ([`TrainArgs`] with a group per task),
//! in modules that import nothing of the program (so no import runs back through them).

mod data;
mod train;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use recur_data::{Column, TextLayout};

pub use data::DataArgs;
pub use train::{ClassifyArgs, CommonArgs, LmArgs, Preset, Task, TrainArgs};

/// Command-line interface.
#[derive(Debug, Parser)]
#[command(
    name = "recur",
    version,
    about = "Recurrent text classifiers and language models (RNN, LSTM, GRU) with PyTorch parity"
)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a classifier or a language model and save a run folder.
    Train(Box<TrainArgs>),
    /// Evaluate a run on a file: a classifier's loss, accuracy, macro-F1, per-class
    /// precision/recall/F1 and confusion; a language model's perplexity.
    Eval(EvalArgs),
    /// Classify texts given as arguments, or one per line on stdin.
    Predict(PredictArgs),
    /// Draw a run's learning curves (curves.png and curves.svg).
    Plot(PlotArgs),
    /// Serve a classifier run over HTTP: POST /predict, GET /health, /info, /metrics.
    Serve(ServeArgs),
    /// Sample text from a language-model run (`recur train --task lm`).
    Generate(GenerateArgs),
    /// Export a run as a standard ONNX model (and what a runtime needs to read text as
    /// recur does, beside it as FILE.json).
    Export(ExportArgs),
    /// Write a copy of a run with its matrices as int8 rows (about 4x smaller; eval,
    /// predict, serve and generate load it as any run).
    Quantize(QuantizeArgs),
}

/// Arguments of `recur quantize`.
#[derive(Debug, Args)]
pub struct QuantizeArgs {
    /// The run folder to quantize.
    #[arg(long)]
    pub run: PathBuf,
    /// The new run folder (created; an existing run folder is replaced whole).
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `recur export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run folder.
    #[arg(long)]
    pub run: PathBuf,
    /// Write the ONNX model here (and its sidecar as FILE.json).
    #[arg(long)]
    pub onnx: PathBuf,
    /// Export a run whose training did not finish (its best model so far).
    #[arg(long)]
    pub unfinished: bool,
}

/// Arguments of `recur eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The run folder.
    #[arg(long)]
    pub run: PathBuf,
    /// Labelled file to evaluate on, read as the run's training data was unless flags say
    /// otherwise (default: test.csv of --data / $RECUR_DATA_DIR).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Data folder holding test.csv.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// How the file is read (overrides what the run remembers).
    #[command(flatten)]
    pub data_args: DataArgs,
    /// Batch size (padded models see padding, so this matters for them; the lesson used 16).
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Print the scores as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// cpu | cuda.
    #[arg(long, default_value = "cpu", value_parser = ["cpu", "cuda"])]
    pub device: String,
}

/// Arguments of `recur predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The run folder.
    #[arg(long)]
    pub run: PathBuf,
    /// Texts to classify; none reads --input, or one text per line from stdin.
    pub texts: Vec<String>,
    /// A file of texts to classify, read as the run's training files were (its format and
    /// columns) unless flags say otherwise; a label column in it is ignored.
    #[arg(long, conflicts_with = "texts")]
    pub input: Option<PathBuf>,
    /// auto | csv | tsv | jsonl | fasttext | lines (auto: the run's format, else by
    /// extension, `.txt` being lines; stdin: lines).
    #[arg(long, value_parser = parse_layout)]
    pub format: Option<LayoutArg>,
    /// The label column, when the input has one (ignored; excluded from the text).
    #[arg(long)]
    pub label_col: Option<Column>,
    /// The text columns, joined with one space in this order (default: the run's).
    #[arg(long, value_parser = data::parse_columns)]
    pub text_cols: Option<data::ColumnList>,
    /// The first CSV/TSV row is a header (implied when a column is given by name).
    #[arg(long)]
    pub header: bool,
    /// A column (or JSONL field) copied to each output row as its `id`.
    #[arg(long)]
    pub id_col: Option<Column>,
    /// Skip bad rows (missing column, invalid UTF-8, no token), counted at the end, instead
    /// of stopping at the first.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Write the predictions here (through a temporary file, renamed when complete)
    /// instead of to stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// text | jsonl | csv | tsv (default: text on stdout; for --output, by its extension,
    /// else jsonl).
    #[arg(long)]
    pub output_format: Option<OutputFormat>,
    /// Print one JSON object per text (--output-format jsonl).
    #[arg(long, conflicts_with = "output_format")]
    pub json: bool,
    /// Give the K most likely classes with their probabilities instead of every class.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Texts run together (sorted by length within windows of 16 batches, so little
    /// padding is run; the results do not depend on it). Small batches keep each one's
    /// activations in cache.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
}

/// `--format` of `recur predict`: auto (`None`) or one layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutArg(pub Option<TextLayout>);

fn parse_layout(s: &str) -> Result<LayoutArg, String> {
    if s == "auto" {
        Ok(LayoutArg(None))
    } else {
        s.parse().map(|l| LayoutArg(Some(l)))
    }
}

/// How predictions are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// `class<TAB>name=p …` per text (for people).
    Text,
    /// One JSON object per text.
    Jsonl,
    /// A header, then one row per text.
    Csv,
    /// As csv, tab-separated.
    Tsv,
}

/// Arguments of `recur plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// The run folder.
    pub run: PathBuf,
    /// Folder for curves.png and curves.svg (default: the run folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Arguments of `recur serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A run folder to serve, as DIR (named by its folder) or NAME=DIR; repeat it to serve
    /// several (the first also answers /predict and /info).
    #[arg(long, required_unless_present = "runs")]
    pub run: Vec<String>,
    /// A folder of run folders: each one holding a config.json is served, named by its
    /// folder (after the --run ones).
    #[arg(long)]
    pub runs: Option<PathBuf>,
    /// Reload a model when its run folder is committed again (a training run saving an
    /// epoch, a copy swapped in); a reload that fails keeps the old model serving.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between checks of the run folders with --watch.
    #[arg(long, default_value_t = 1.0)]
    pub watch_interval_s: f64,
    /// Address to bind (loopback by default; 0.0.0.0 to accept other machines).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0: any free one, printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Most texts the model runs as one batch.
    #[arg(long, default_value_t = 64)]
    pub max_batch: usize,
    /// Longest wait, after a request arrives, for others to batch with it.
    #[arg(long, default_value_t = 2.0)]
    pub max_delay_ms: f64,
    /// Largest request body in bytes (413 above).
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Most texts in one request (413 above).
    #[arg(long, default_value_t = 256)]
    pub max_inputs: usize,
    /// Longest text in bytes (413 above).
    #[arg(long, default_value_t = 64 << 10)]
    pub max_text_bytes: usize,
    /// Threads running the model.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Seconds a client has to send a request's head, and an idle connection waits for its
    /// next request before it is closed.
    #[arg(long, default_value_t = 30.0)]
    pub read_timeout_s: f64,
    /// Seconds a client has to send a request's body (408 after).
    #[arg(long, default_value_t = 30.0)]
    pub body_timeout_s: f64,
    /// Seconds the requests in flight have to finish after SIGTERM or Ctrl-C; then the
    /// connections left are closed (a second signal closes them at once).
    #[arg(long, default_value_t = 10.0)]
    pub shutdown_timeout_s: f64,
}

/// Arguments of `recur generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// A language-model run folder (`recur train --task lm`).
    #[arg(long)]
    pub run: PathBuf,
    /// Text to continue (default: the start of a new document).
    #[arg(long)]
    pub prompt: Option<String>,
    /// Words to generate (word-level runs).
    #[arg(long, conflicts_with = "chars")]
    pub words: Option<usize>,
    /// Characters to generate (character-level runs, --tokenizer char).
    #[arg(long)]
    pub chars: Option<usize>,
    /// Divides the logits: below 1 is more conservative (near 0: greedy), above 1 more varied.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub temperature: f64,
    /// Draw from the K most likely tokens only.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Seed of the draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}
