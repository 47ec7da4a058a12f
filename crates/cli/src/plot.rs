//! `recur plot RUN`: the learning curves of a run folder's `metrics.jsonl` — loss and
//! accuracy per epoch (train, validation, test) with the progress reports in between — as
//! `curves.png` and `curves.svg` (plotters), written into the run folder or `--out`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::Value;

/// Arguments of `recur plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// The run folder.
    pub run: PathBuf,
    /// Folder for curves.png and curves.svg (default: the run folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One line of a chart: `(x = epoch, y)` points.
struct Series {
    name: &'static str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
    dashed: bool,
}

/// The curves of `metrics.jsonl`: (loss series, accuracy series).
fn curves(records: &[Value]) -> (Vec<Series>, Vec<Series>) {
    let epoch_samples: Vec<(u64, f64)> = records
        .iter()
        .filter(|r| r["kind"] == "epoch")
        .filter_map(|r| Some((r["epoch"].as_u64()?, r["samples"].as_f64()?)))
        .collect();
    let size = |e: u64| {
        epoch_samples
            .iter()
            .find(|(n, _)| *n == e)
            .map(|(_, s)| *s)
            .or(epoch_samples.last().map(|(_, s)| *s))
    };
    let series = |name, color, kind: &str, key: &str, dashed| Series {
        name,
        color,
        dashed,
        points: records
            .iter()
            .filter(|r| r["kind"] == kind)
            .filter_map(|r| {
                let e = r["epoch"].as_u64()?;
                let y = r[key].as_f64()?;
                let x = if kind == "report" {
                    e as f64 - 1.0 + r["samples"].as_f64()? / size(e)?
                } else {
                    e as f64
                };
                Some((x, y))
            })
            .collect(),
    };
    let loss = vec![
        series(
            "train (reports)",
            RGBColor(150, 170, 220),
            "report",
            "mean_loss",
            true,
        ),
        series("train", BLUE, "epoch", "mean_loss", false),
        series(
            "validation",
            RGBColor(220, 110, 0),
            "epoch",
            "valid_loss",
            false,
        ),
    ];
    let acc = vec![
        series(
            "train (reports)",
            RGBColor(150, 170, 220),
            "report",
            "train_accuracy",
            true,
        ),
        series("train", BLUE, "epoch", "train_accuracy", false),
        series(
            "validation",
            RGBColor(220, 110, 0),
            "epoch",
            "valid_accuracy",
            false,
        ),
        series(
            "test",
            RGBColor(0, 150, 70),
            "epoch",
            "test_accuracy",
            false,
        ),
    ];
    (loss, acc)
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
    records: &[Value],
    name: &str,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)
        .map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
    let (loss, acc) = curves(records);
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    chart(&left, &format!("{name}: loss"), "cross-entropy", &loss)?;
    chart(&right, &format!("{name}: accuracy"), "accuracy", &acc)?;
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
    let metrics = a.run.join("metrics.jsonl");
    let text = std::fs::read_to_string(&metrics)
        .with_context(|| format!("reading {}", metrics.display()))?;
    let records: Vec<Value> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{}:{}: not a JSON record", metrics.display(), i + 1))
        })
        .collect::<Result<_>>()?;
    if !records
        .iter()
        .any(|r| r["kind"] == "epoch" || r["kind"] == "report")
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
        &records,
        &name,
    )
    .with_context(|| format!("writing {}", png.display()))?;
    draw(
        SVGBackend::new(&svg, (1200, 480)).into_drawing_area(),
        &records,
        &name,
    )
    .with_context(|| format!("writing {}", svg.display()))?;
    println!("wrote {} and {}", png.display(), svg.display());
    Ok([png, svg])
}
