//! `recur plot RUN`: the learning curves of a run folder's `metrics.jsonl`, read through the
//! task's typed records — loss per epoch (train, validation) with the progress reports in
//! between, and a classifier's accuracy (train, validation, test) or a language model's
//! perplexity — as `curves.png` and `curves.svg` (plotters), written into the run folder
//! or `--out`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use recur_train::{
    records_from_jsonl, ClassifyRecords, EpochRecord, LmRecords, Record, Records, Report,
    RunConfig, RunDir,
};

use crate::args::PlotArgs;

/// One line of a chart: `(x = epoch, y)` points.
struct Series {
    name: &'static str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
    dashed: bool,
}

/// Where a report sits on the epoch axis: its epoch, plus the part of it done (by samples
/// against the epoch's record, else by batches).
fn report_x<R>(r: &Report<R>, epoch_samples: &[(usize, usize)]) -> Option<f64> {
    let size = epoch_samples
        .iter()
        .find(|(e, _)| *e == r.epoch)
        .or(epoch_samples.last())
        .map(|(_, s)| *s)
        .filter(|&s| s > 0 && r.samples > 0);
    let part = match size {
        Some(s) => r.samples as f64 / s as f64,
        None if r.batches > 0 => r.batch as f64 / r.batches as f64,
        None => return None,
    };
    Some(r.epoch as f64 - 1.0 + part)
}

/// The reports and epoch records of `records`, with each epoch's samples.
struct Curves<'a, K: Records> {
    reports: Vec<&'a Report<K::Report>>,
    epochs: Vec<&'a EpochRecord<K::Epoch>>,
    epoch_samples: Vec<(usize, usize)>,
}

impl<'a, K: Records> Curves<'a, K> {
    fn new(records: &'a [Record<K>]) -> Self {
        let reports = records
            .iter()
            .filter_map(|r| match r {
                Record::Report(r) => Some(r),
                _ => None,
            })
            .collect();
        let epochs: Vec<&EpochRecord<K::Epoch>> = records
            .iter()
            .filter_map(|r| match r {
                Record::Epoch(e) => Some(e),
                _ => None,
            })
            .collect();
        let epoch_samples = epochs.iter().map(|e| (e.epoch, e.samples)).collect();
        Curves {
            reports,
            epochs,
            epoch_samples,
        }
    }

    /// A dashed series of the reports' `y`.
    fn of_reports(&self, name: &'static str, y: impl Fn(&Report<K::Report>) -> f64) -> Series {
        Series {
            name,
            color: RGBColor(150, 170, 220),
            dashed: true,
            points: self
                .reports
                .iter()
                .filter_map(|r| Some((report_x(r, &self.epoch_samples)?, y(r))))
                .filter(|p| p.1.is_finite())
                .collect(),
        }
    }

    /// A series of the epoch records' `y` (where it has a value).
    fn of_epochs(
        &self,
        name: &'static str,
        color: RGBColor,
        y: impl Fn(&EpochRecord<K::Epoch>) -> Option<f64>,
    ) -> Series {
        Series {
            name,
            color,
            dashed: false,
            points: self
                .epochs
                .iter()
                .filter_map(|e| Some((e.epoch as f64, y(e)?)))
                .filter(|p| p.1.is_finite())
                .collect(),
        }
    }

    /// The loss chart: training (reports and epochs) and validation.
    fn loss(&self) -> Vec<Series> {
        vec![
            self.of_reports("train (reports)", |r| r.train_loss),
            self.of_epochs("train", BLUE, |e| Some(e.train_loss)),
            self.of_epochs("validation", ORANGE, |e| e.valid_loss),
        ]
    }
}

const ORANGE: RGBColor = RGBColor(220, 110, 0);
const GREEN: RGBColor = RGBColor(0, 150, 70);

/// A classifier's charts: loss, and accuracy (training, validation, test).
fn classifier_charts(records: &[Record<ClassifyRecords>]) -> [(&'static str, Vec<Series>); 2] {
    let c = Curves::new(records);
    let acc = vec![
        c.of_reports("train (reports)", |r| r.task.train_accuracy),
        c.of_epochs("train", BLUE, |e| Some(e.task.train_accuracy)),
        c.of_epochs("validation", ORANGE, |e| e.task.valid_accuracy),
        c.of_epochs("test", GREEN, |e| e.task.test_accuracy),
    ];
    [("cross-entropy", c.loss()), ("accuracy", acc)]
}

/// A language model's charts: loss, and perplexity (training, validation).
fn lm_charts(records: &[Record<LmRecords>]) -> [(&'static str, Vec<Series>); 2] {
    let c = Curves::new(records);
    let ppl = vec![
        c.of_reports("train (reports)", |r| r.train_loss.exp()),
        c.of_epochs("train", BLUE, |e| Some(e.train_loss.exp())),
        c.of_epochs("validation", ORANGE, |e| e.valid_loss.map(f64::exp)),
    ];
    [("cross-entropy per token", c.loss()), ("perplexity", ppl)]
}

/// Draws one chart of `series` (those with points) into `area`.
fn chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let pts = series.iter().flat_map(|s| s.points.iter());
    let (mut x1, mut y0, mut y1) = (1.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in pts {
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !y0.is_finite() {
        (y0, y1) = (0.0, 1.0);
    }
    let pad = ((y1 - y0) * 0.08).max(1e-3);
    let mut c = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..x1 * 1.02, (y0 - pad)..(y1 + pad))
        .map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
    c.configure_mesh()
        .x_desc("epoch")
        .y_desc(y_label)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
    for s in series.iter().filter(|s| !s.points.is_empty()) {
        let style = ShapeStyle::from(&s.color).stroke_width(if s.dashed { 1 } else { 2 });
        let drawn = c
            .draw_series(LineSeries::new(s.points.iter().copied(), style))
            .map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
        let color = s.color;
        drawn
            .label(s.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
        if !s.dashed {
            c.draw_series(
                s.points
                    .iter()
                    .map(|&p| Circle::new(p, 3, ShapeStyle::from(&s.color).filled())),
            )
            .map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
        }
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
    Ok(())
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    charts: &[(&'static str, Vec<Series>); 2],
    name: &str,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)
        .map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    for ((y_label, series), area) in charts.iter().zip([left, right]) {
        let what = if *y_label == "perplexity" || *y_label == "accuracy" {
            *y_label
        } else {
            "loss"
        };
        chart(&area, &format!("{name}: {what}"), y_label, series)?;
    }
    root.present()
        .map_err(|e| anyhow::anyhow!("writing: {e}"))?;
    Ok(())
}

/// TrueType fonts looked for, in order (Debian's fonts-dejavu-core, fonts-liberation,
/// fonts-freefont).
const FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Registers the first font found as plotters' "sans-serif".
fn register_font() -> Result<()> {
    let path = FONTS
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "no TrueType font to draw text with (looked for {}); install fonts-dejavu-core",
                FONTS.join(", ")
            )
        })?;
    let bytes: &'static [u8] = Box::leak(
        std::fs::read(path)
            .with_context(|| format!("reading {}", path.display()))?
            .into_boxed_slice(),
    );
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| anyhow::anyhow!("{} is not a usable TrueType font", path.display()))
}

/// Runs `recur plot`; returns the two files written.
pub fn plot(a: &PlotArgs) -> Result<[PathBuf; 2]> {
    let run = RunDir::new(&a.run);
    let config = run.config()?;
    let metrics = run.metrics_path();
    let text = std::fs::read_to_string(&metrics)
        .with_context(|| format!("reading {}", metrics.display()))?;
    let charts = match config {
        RunConfig::Classify(_) => classifier_charts(&records_from_jsonl(&text, &metrics)?),
        RunConfig::Lm(_) => lm_charts(&records_from_jsonl(&text, &metrics)?),
    };
    if charts
        .iter()
        .all(|(_, series)| series.iter().all(|s| s.points.is_empty()))
    {
        bail!("{}: no epoch or progress record to plot", metrics.display());
    }
    register_font()?;
    let out = a.out.clone().unwrap_or_else(|| a.run.clone());
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let name = a
        .run
        .file_name()
        .map_or("run".into(), |n| n.to_string_lossy().into_owned());
    let (png, svg) = (out.join("curves.png"), out.join("curves.svg"));
    draw(
        BitMapBackend::new(&png, (1200, 480)).into_drawing_area(),
        &charts,
        &name,
    )
    .with_context(|| format!("writing {}", png.display()))?;
    draw(
        SVGBackend::new(&svg, (1200, 480)).into_drawing_area(),
        &charts,
        &name,
    )
    .with_context(|| format!("writing {}", svg.display()))?;
    println!("wrote {} and {}", png.display(), svg.display());
    Ok([png, svg])
}
