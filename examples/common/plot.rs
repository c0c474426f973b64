//! Pictures of a run as SVG files: the training curves (loss and a score per
//! epoch) and, for a classifier, the confusion matrix.
//!
//! Drawn with `plotters`' SVG backend into a string, then written in one go,
//! so a failure is an `io::Error` whose message names the file, never a
//! panic. Text is written as SVG `<text>` elements (the viewer picks the
//! font), so nothing here reads a font file.

use std::io;
use std::ops::Range;
use std::path::Path;

use nalgebra::SMatrix;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One epoch of a run, as `training_curves` draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochRow {
    /// The epoch, counted from 1.
    pub epoch: usize,
    /// The mean training loss over the epoch.
    pub loss: f64,
    /// The score on the training set after the epoch (accuracy, R², …), if
    /// measured.
    pub train: Option<f64>,
    /// The score on held-out data (a validation or test set) after the
    /// epoch, if measured.
    pub held_out: Option<f64>,
}

const FONT: &str = "sans-serif";
const LOSS: RGBColor = RGBColor(31, 119, 180);
const TRAIN: RGBColor = RGBColor(255, 127, 14);
const HELD_OUT: RGBColor = RGBColor(44, 160, 44);

/// Writes the training curves of `rows` to the SVG file `path`: the loss per
/// epoch in the upper panel (on a logarithmic axis when it spans a factor of
/// 20 or more), and below it the training and held-out scores per epoch
/// under the axis name `score_label` (e.g. `"accuracy (%)"`,
/// `"validation R²"`); the lower panel is left out when no row has a score.
/// Values that are not finite or beyond ±1e300 are skipped. The error names
/// `path`.
pub fn training_curves(
    path: impl AsRef<Path>,
    title: &str,
    score_label: &str,
    rows: &[EpochRow],
) -> io::Result<()> {
    let path = path.as_ref();
    let has_scores = rows
        .iter()
        .any(|r| r.train.is_some() || r.held_out.is_some());
    let height = if has_scores { 640 } else { 380 };
    let svg = draw(path, (800, height), |root| {
        let root = root.titled(title, (FONT, 24))?;
        let epochs = range(rows.iter().map(|r| r.epoch as f64), 0.0);
        let (upper, lower) = if has_scores {
            let (u, l) = root.split_vertically(height / 2 - 24);
            (u, Some(l))
        } else {
            (root, None)
        };
        let losses = [(
            "loss",
            LOSS,
            points(rows.iter().map(|r| (r.epoch as f64, r.loss))),
        )];
        let (lo, hi) = bounds(losses[0].2.iter().map(|p| p.1)).unwrap_or((0.0, 1.0));
        if lo > 0.0 && (20.0..1e30).contains(&(hi / lo)) && (hi * 1.25).is_finite() {
            let (lo, hi) = (lo / 1.25, hi * 1.25);
            let ticks = |mantissas: &[f64]| {
                let decades = lo.log10().floor() as i32..=hi.log10().ceil() as i32;
                decades
                    .flat_map(|e| mantissas.iter().map(move |m| m * 10f64.powi(e)))
                    .filter(|v| (lo..=hi).contains(v))
                    .collect::<Vec<_>>()
            };
            let y = (lo..hi)
                .log_scale()
                .with_key_points(ticks(&[1.0, 2.0, 5.0]))
                .with_light_points(ticks(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]));
            let label = "training loss (log scale)";
            panel(&upper, epochs.clone(), y, label, &losses, true, false)?;
        } else {
            let y = range(losses[0].2.iter().map(|p| p.1), 0.05);
            let label = "training loss";
            panel(&upper, epochs.clone(), y, label, &losses, false, false)?;
        }
        if let Some(lower) = lower {
            let train = points(rows.iter().filter_map(|r| Some((r.epoch as f64, r.train?))));
            let held_out = points(
                rows.iter()
                    .filter_map(|r| Some((r.epoch as f64, r.held_out?))),
            );
            let y = range(train.iter().chain(&held_out).map(|p| p.1), 0.05);
            let mut series = Vec::new();
            if !train.is_empty() {
                series.push(("training set", TRAIN, train));
            }
            if !held_out.is_empty() {
                series.push(("held-out set", HELD_OUT, held_out));
            }
            panel(&lower, epochs, y, score_label, &series, false, true)?;
        }
        Ok(())
    })?;
    write(path, &svg)
}

/// Writes the confusion matrix `counts` (entry `(t, p)`: samples of class `t`
/// predicted as `p`, as `staticnet::metrics::confusion_matrix` gives it) to
/// the SVG file `path` as a heat map: true classes down, predicted classes
/// across, each cell shaded by its share of its true class and labelled with
/// its count; a last line gives the number of samples and the accuracy. The
/// error names `path`.
pub fn confusion_matrix<S: AsRef<str>, const K: usize>(
    path: impl AsRef<Path>,
    title: &str,
    counts: &SMatrix<usize, K, K>,
    class_names: &[S; K],
) -> io::Result<()> {
    let path = path.as_ref();
    let cell = (440 / K.max(1)).clamp(18, 64) as i32;
    let longest = class_names
        .iter()
        .map(|n| n.as_ref().chars().count())
        .max()
        .unwrap_or(0);
    let name_size = (cell / 2).clamp(11, 16);
    let name_width = (longest as i32 * name_size * 6 / 10).max(name_size);
    let grid = cell * K as i32;
    // The labels and the grid, centred under a wider title.
    let content = 40 + name_width + 8 + grid + 40;
    let width = content.max(title.chars().count() as i32 * 13 + 40).max(360);
    let margin = (width - content) / 2;
    let (left, top) = (margin + 40 + name_width + 8, 60 + 24 + name_size + 8);
    let height = top + grid + 56;
    let svg = draw(path, (width as u32, height as u32), |root| {
        let text = |s: &str, (x, y): (i32, i32), size: i32, color: RGBColor, anchor: HPos| {
            let style = TextStyle::from((FONT, size).into_font())
                .color(&color)
                .pos(Pos::new(anchor, VPos::Center));
            root.draw(&Text::new(s.to_string(), (x, y), style))
        };
        text(title, (width / 2, 24), 24, BLACK, HPos::Center)?;
        text(
            "predicted class",
            (left + grid / 2, 60),
            16,
            BLACK,
            HPos::Center,
        )?;
        let style = TextStyle::from((FONT, 16).into_font().transform(FontTransform::Rotate270))
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Center));
        root.draw(&Text::new(
            "true class",
            (margin + 18, top + grid / 2),
            style,
        ))?;
        for (k, name) in class_names.iter().enumerate() {
            let centre = k as i32 * cell + cell / 2;
            text(
                name.as_ref(),
                (left + centre, top - name_size / 2 - 6),
                name_size,
                BLACK,
                HPos::Center,
            )?;
            text(
                name.as_ref(),
                (left - 8, top + centre),
                name_size,
                BLACK,
                HPos::Right,
            )?;
        }
        let count_size = (cell * 2 / 5).clamp(8, 18);
        for t in 0..K {
            let row: usize = counts.row(t).iter().sum();
            for p in 0..K {
                let n = counts[(t, p)];
                let share = if row == 0 { 0.0 } else { n as f64 / row as f64 };
                let (x, y) = (left + p as i32 * cell, top + t as i32 * cell);
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    shade(share).filled(),
                ))?;
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    WHITE.stroke_width(1),
                ))?;
                let ink = match (n, share > 0.5) {
                    (0, _) => RGBColor(170, 170, 170),
                    (_, true) => WHITE,
                    (_, false) => BLACK,
                };
                text(
                    &n.to_string(),
                    (x + cell / 2, y + cell / 2),
                    count_size,
                    ink,
                    HPos::Center,
                )?;
            }
        }
        let total: usize = counts.iter().sum();
        let right: usize = (0..K).map(|k| counts[(k, k)]).sum();
        let summary = if total == 0 {
            "no samples".to_string()
        } else {
            format!(
                "{total} samples, accuracy {:.2}%; shade: share of the true class",
                100.0 * right as f64 / total as f64
            )
        };
        text(
            &summary,
            (width / 2, top + grid + 32),
            14,
            RGBColor(80, 80, 80),
            HPos::Center,
        )?;
        Ok(())
    })?;
    write(path, &svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult<T> = Result<T, DrawingAreaErrorKind<io::Error>>;
type Series<'s> = (&'s str, RGBColor, Vec<(f64, f64)>);

/// Runs `body` on a white SVG canvas of `size` pixels and returns the
/// document.
fn draw(
    path: &Path,
    size: (u32, u32),
    body: impl FnOnce(&Area<'_>) -> DrawResult<()>,
) -> io::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|()| body(&root))
            .and_then(|()| root.present())
            .map_err(|e| io::Error::other(format!("{}: drawing failed: {e}", path.display())))?;
    }
    Ok(svg)
}

fn write(path: &Path, svg: &str) -> io::Result<()> {
    std::fs::write(path, svg)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// One panel of line series over the epochs, with a legend if `legend`.
fn panel<Y>(
    area: &Area<'_>,
    epochs: Range<f64>,
    y: Y,
    y_label: &str,
    series: &[Series<'_>],
    log: bool,
    legend: bool,
) -> DrawResult<()>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(epochs, y)?;
    let mut mesh = chart.configure_mesh();
    if log {
        mesh.y_label_formatter(&log_label);
    }
    mesh.x_desc("epoch")
        .y_desc(y_label)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .axis_desc_style((FONT, 16))
        .label_style((FONT, 13))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(210, 210, 210))
        .draw()?;
    for (name, color, points) in series {
        let color = *color;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        if points.len() <= 60 {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
    }
    if legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font((FONT, 14))
            .draw()?;
    }
    Ok(())
}

/// Whether a value can be drawn: finite, and small enough that the span of
/// any two such values is finite too (an axis from −f64::MAX to f64::MAX has
/// no ticks).
fn drawable(v: f64) -> bool {
    v.abs() <= 1e300
}

/// The drawable points, in order.
fn points(it: impl Iterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    it.filter(|&(x, y)| drawable(x) && drawable(y)).collect()
}

/// The smallest and largest drawable value, if any.
fn bounds(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.filter(|&v| drawable(v)).fold(None, |b, v| match b {
        None => Some((v, v)),
        Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
    })
}

/// An axis range over the drawable `values`, widened by `pad` of its span
/// on each side; around a single value, from half of it (at least 0.5)
/// below to as much above; 0..1 when there are none.
fn range(values: impl Iterator<Item = f64>, pad: f64) -> Range<f64> {
    let Some((lo, hi)) = bounds(values) else {
        return 0.0..1.0;
    };
    let span = hi - lo;
    if span <= 1e-12 * hi.abs().max(1.0) {
        lo - 0.5 * lo.abs().max(1.0)..hi + 0.5 * hi.abs().max(1.0)
    } else {
        lo - pad * span..hi + pad * span
    }
}

/// A tick label on a logarithmic axis: `m × 10ᵏ` with as many decimals as
/// it needs (0.02, 0.5, 20).
fn log_label(v: &f64) -> String {
    let e = v.log10().floor();
    format!("{:.*}", (-e).max(0.0) as usize, v)
}

/// White at share 0 to a dark blue at share 1.
fn shade(share: f64) -> RGBColor {
    let s = share.clamp(0.0, 1.0);
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * s).round() as u8;
    RGBColor(mix(247, 8), mix(251, 48), mix(255, 107))
}
