//! Charts as inline SVG strings, drawn here with no library: the report must
//! open offline (goose's own report loads its chart library from a CDN and
//! shows empty boxes without network). Two shapes cover every chart the
//! report needs: lines over a numeric x (time, users, run number) and bars
//! (histograms). No `xmlns` attribute: HTML5 does not need it for inline
//! SVG, and leaving it out keeps every `http` string out of the page.

use std::fmt::Write;

use super::{escape, fmt_num, Bucket, Point};

/// Plot size in SVG units; the page scales it to its width.
const W: f64 = 760.0;
const H: f64 = 280.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 40.0;
/// Beyond this many points a line is thinned (every n-th point plus the
/// extremes of each stride), keeping pages small for long runs.
const MAX_POINTS: usize = 600;

/// Colour-blind-safe palette (Okabe-Ito), cycled.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
];

/// One line: its label and points.
pub struct Line<'a> {
    pub label: String,
    pub points: &'a [Point],
}

/// A line chart. `x_label`/`y_label` name the axes (with units).
pub fn line_chart(lines: &[Line<'_>], x_label: &str, y_label: &str) -> String {
    let all = || {
        lines
            .iter()
            .flat_map(|l| l.points.iter())
            .filter(|p| p.x.is_finite() && p.value.is_finite())
    };
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, 0.0f64, f64::MIN);
    for p in all() {
        x0 = x0.min(p.x);
        x1 = x1.max(p.x);
        y0 = y0.min(p.value);
        y1 = y1.max(p.value);
    }
    if x0 > x1 {
        return empty("no data points");
    }
    if x1 == x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    let yt = ticks(y0, y1, 5);
    let y1 = *yt.last().unwrap_or(&y1);
    let y0 = *yt.first().unwrap_or(&y0);
    let xt = ticks(x0, x1, 8);
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let sy = |y: f64| H - BOTTOM - (y - y0) / (y1 - y0) * (H - TOP - BOTTOM);
    let mut s = open();
    axes(&mut s, &xt, &yt, &sx, &sy, x0, x1, x_label, y_label);
    for (i, l) in lines.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let pts = thin(l.points);
        let mut d = String::new();
        for p in pts
            .iter()
            .filter(|p| p.x.is_finite() && p.value.is_finite())
        {
            let _ = write!(d, "{:.1},{:.1} ", sx(p.x), sy(p.value));
        }
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.8" points="{}"><title>{}</title></polyline>"#,
            d.trim_end(),
            escape(&l.label)
        );
        if pts.len() <= 40 {
            for p in pts
                .iter()
                .filter(|p| p.x.is_finite() && p.value.is_finite())
            {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2.6" fill="{colour}"><title>{}: x={} y={}</title></circle>"#,
                    sx(p.x),
                    sy(p.value),
                    escape(&l.label),
                    fmt_num(p.x),
                    fmt_num(p.value)
                );
            }
        }
    }
    legend(&mut s, lines.iter().map(|l| l.label.as_str()));
    s.push_str("</svg>");
    s
}

/// A bar chart of a histogram; bars are labelled by their upper bound.
pub fn histogram(buckets: &[Bucket], unit: &str) -> String {
    if buckets.is_empty() {
        return empty("no buckets");
    }
    let max = buckets.iter().map(|b| b.count).max().unwrap_or(0).max(1) as f64;
    let yt = ticks(0.0, max, 5);
    let y1 = *yt.last().unwrap_or(&max);
    let n = buckets.len() as f64;
    let bw = (W - LEFT - RIGHT) / n;
    let sy = |y: f64| H - BOTTOM - y / y1 * (H - TOP - BOTTOM);
    let mut s = open();
    for t in &yt {
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="tick">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            sy(*t) + 4.0,
            fmt_num(*t),
            y = sy(*t)
        );
    }
    let label_every = (buckets.len() / 12).max(1);
    let mut lower = 0.0;
    for (i, b) in buckets.iter().enumerate() {
        let x = LEFT + i as f64 * bw;
        let y = sy(b.count as f64);
        let _ = writeln!(
            s,
            r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>({} .. {}] {unit}: {}</title></rect>"#,
            x + 1.0,
            (bw - 2.0).max(1.0),
            (H - BOTTOM - y).max(0.0),
            PALETTE[0],
            fmt_num(lower),
            fmt_num(b.upper),
            b.count,
            unit = escape(unit)
        );
        if i % label_every == 0 {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="tick">{}</text>"#,
                x + bw / 2.0,
                H - BOTTOM + 14.0,
                fmt_num(b.upper)
            );
        }
        lower = b.upper;
    }
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#333"/>"##,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="axis">upper bound ({})</text><text x="12" y="{:.1}" transform="rotate(-90 12 {:.1})" text-anchor="middle" class="axis">count</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 6.0,
        escape(unit),
        H / 2.0,
        H / 2.0
    );
    s.push_str("</svg>");
    s
}

fn open() -> String {
    format!(
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" preserveAspectRatio="xMidYMid meet">"#
    ) + "\n"
}

fn empty(why: &str) -> String {
    let mut s = open();
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle" class="axis">{}</text></svg>"#,
        W / 2.0,
        H / 2.0,
        escape(why)
    );
    s
}

#[allow(clippy::too_many_arguments)]
fn axes(
    s: &mut String,
    xt: &[f64],
    yt: &[f64],
    sx: &dyn Fn(f64) -> f64,
    sy: &dyn Fn(f64) -> f64,
    x0: f64,
    x1: f64,
    x_label: &str,
    y_label: &str,
) {
    for t in yt {
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="tick">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            sy(*t) + 4.0,
            fmt_num(*t),
            y = sy(*t)
        );
    }
    for t in xt.iter().filter(|t| **t >= x0 - 1e-9 && **t <= x1 + 1e-9) {
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}" stroke="#333"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" class="tick">{}</text>"##,
            H - BOTTOM,
            H - BOTTOM + 4.0,
            H - BOTTOM + 16.0,
            fmt_num(*t),
            x = sx(*t)
        );
    }
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" x2="{:.1}" y1="{b:.1}" y2="{b:.1}" stroke="#333"/><line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{b:.1}" stroke="#333"/>"##,
        W - RIGHT,
        b = H - BOTTOM
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="axis">{}</text><text x="12" y="{:.1}" transform="rotate(-90 12 {:.1})" text-anchor="middle" class="axis">{}</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 6.0,
        escape(x_label),
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0,
        escape(y_label)
    );
}

fn legend<'a>(s: &mut String, labels: impl Iterator<Item = &'a str>) {
    let mut x = LEFT + 8.0;
    let y = 6.0;
    let labels: Vec<&str> = labels.collect();
    for (i, l) in labels.iter().enumerate() {
        let w = 18.0 + 6.5 * l.chars().count() as f64;
        if x + w > W - RIGHT - 60.0 && i + 1 < labels.len() {
            // Out of room: say how many more; each line's tooltip names it.
            let _ = writeln!(
                s,
                r#"<text x="{x:.1}" y="{:.1}" class="legend">+{} more</text>"#,
                y + 9.0,
                labels.len() - i
            );
            break;
        }
        let _ = writeln!(
            s,
            r#"<rect x="{x:.1}" y="{y:.1}" width="10" height="10" fill="{}"/><text x="{:.1}" y="{:.1}" class="legend">{}</text>"#,
            PALETTE[i % PALETTE.len()],
            x + 13.0,
            y + 9.0,
            escape(l)
        );
        x += w + 8.0;
    }
}

/// Round tick values covering [lo, hi] with about `n` steps of 1, 2 or 5
/// times a power of ten.
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let range = (hi - lo).abs().max(f64::MIN_POSITIVE);
    let raw = range / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    // Round to the step's decimals so labels read 0.3, not 0.30000000000000004.
    let decimals = (-step.log10().floor()).max(0.0) as i32 + 1;
    let scale = 10f64.powi(decimals);
    let snap = |v: f64| (v * scale).round() / scale;
    let first = (lo / step).floor();
    let mut out = Vec::new();
    let mut i = 0.0;
    while out.len() < 50 {
        let v = snap((first + i) * step);
        out.push(v);
        if v >= hi {
            break;
        }
        i += 1.0;
    }
    out
}

/// Keep at most about MAX_POINTS points: the first and last, and for each
/// stride its minimum and maximum, so spikes survive thinning.
fn thin(points: &[Point]) -> Vec<Point> {
    if points.len() <= MAX_POINTS {
        return points.to_vec();
    }
    let stride = points.len().div_ceil(MAX_POINTS / 2);
    let mut out = Vec::with_capacity(MAX_POINTS + 2);
    for chunk in points.chunks(stride) {
        let min = chunk.iter().min_by(|a, b| a.value.total_cmp(&b.value));
        let max = chunk.iter().max_by(|a, b| a.value.total_cmp(&b.value));
        if let (Some(a), Some(b)) = (min, max) {
            if a.x <= b.x {
                out.extend([*a, *b]);
            } else {
                out.extend([*b, *a]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_cover_the_range_with_round_steps() {
        let t = ticks(0.0, 97.0, 5);
        assert_eq!(t.first(), Some(&0.0));
        assert!(*t.last().unwrap() >= 97.0, "{t:?}");
        assert_eq!(t[1] - t[0], 20.0, "{t:?}");
        let t = ticks(0.1, 0.37, 5);
        assert!(t.iter().all(|v| format!("{v}").len() <= 4), "{t:?}");
    }

    #[test]
    fn thinning_keeps_the_spike() {
        let mut pts: Vec<Point> = (0..10_000)
            .map(|i| Point {
                x: i as f64,
                value: 1.0,
            })
            .collect();
        pts[5_432].value = 999.0;
        let t = thin(&pts);
        assert!(t.len() <= MAX_POINTS + 2, "{}", t.len());
        assert!(t.iter().any(|p| p.value == 999.0));
        assert!(t.windows(2).all(|w| w[0].x <= w[1].x), "x stays ordered");
    }

    #[test]
    fn chart_draws_one_polyline_per_line() {
        let a = [Point { x: 0.0, value: 1.0 }, Point { x: 1.0, value: 3.0 }];
        let b = [
            Point { x: 0.0, value: 2.0 },
            Point {
                x: 1.0,
                value: f64::NAN,
            },
        ];
        let s = line_chart(
            &[
                Line {
                    label: "p50".into(),
                    points: &a,
                },
                Line {
                    label: "p<95>".into(),
                    points: &b,
                },
            ],
            "s",
            "ms",
        );
        assert_eq!(s.matches("<polyline").count(), 2);
        assert!(s.contains("p&lt;95&gt;"), "labels are escaped");
        assert!(!s.contains("NaN"), "non-finite points are skipped");
    }
}
