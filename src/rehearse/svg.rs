//! A picture of one scenario (`rehearse --svg DIR`): a timeline, hand-written SVG, that an
//! operator reads faster than the table. From top to bottom: acknowledged writes per 100 ms
//! (the longest stretch without one shaded), refused or failed writes per 100 ms by kind, and
//! one lane per Redis pod saying what it was (master, master paused for a hand-over,
//! replica, syncing, down). Vertical marks: the fault, the new master, writes back.
//!
//! Every bar carries its bucket in `data-bucket` and its count in `data-count`, and every
//! mark its time in `data-at-ms` (both counted from the client's first write), so a test can
//! read the picture back and compare it with the table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::report::{Report, Row, secs};
use super::watch::{State, Watch};

/// Width of one bucket of the bar charts.
pub const BUCKET: Duration = Duration::from_millis(100);
const WIDTH: f64 = 1000.0;
const LEFT: f64 = 150.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 60.0;
const BARS_HEIGHT: f64 = 90.0;
const GAP: f64 = 30.0;
const LANE_HEIGHT: f64 = 18.0;

/// Colours of the refusal kinds, in legend order; any other kind is drawn in the last one.
const KINDS: &[(&str, &str)] = &[
    ("NOREPLICAS", "#d62728"),
    ("READONLY", "#ff7f0e"),
    (super::client::NO_ANSWER, "#7f7f7f"),
    (super::client::NO_MASTER, "#9467bd"),
    ("other", "#8c564b"),
];

/// The timeline of `row` as an SVG document; `None` when the scenario recorded none.
pub fn timeline(row: &Row) -> Option<String> {
    let m = &row.measured;
    let t = m.timeline.as_ref()?;
    let span = t.end.saturating_duration_since(t.start).max(BUCKET);
    let buckets = span.as_millis().div_ceil(BUCKET.as_millis()) as usize;
    let plot = WIDTH - LEFT - RIGHT;
    let x_of = |at: Instant| {
        LEFT + plot * at.saturating_duration_since(t.start).as_secs_f64() / span.as_secs_f64()
    };
    let bucket_of = |at: Instant| {
        (at.saturating_duration_since(t.start).as_millis() / BUCKET.as_millis()) as usize
    };
    let bar_width = plot / buckets as f64;
    let lanes: Vec<&String> = t.watch.pods.keys().collect();
    let acks_top = TOP;
    let refused_top = acks_top + BARS_HEIGHT + GAP;
    let lanes_top = refused_top + BARS_HEIGHT + GAP;
    let height = lanes_top + LANE_HEIGHT * lanes.len() as f64 + 70.0;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>"#
    );
    let verdict = if row.missed.is_empty() {
        "ok".to_string()
    } else {
        format!("FAILED: {}", row.missed.join("; "))
    };
    let _ = writeln!(
        svg,
        r#"<text x="10" y="20" font-size="15" font-weight="bold">{}</text>
<text x="10" y="40">longest gap {} · {} acknowledged · {} lost · {}</text>"#,
        esc(m.kind.title()),
        secs(m.longest_gap),
        m.acked,
        m.lost,
        esc(&verdict)
    );

    // Acknowledged writes per bucket, the longest gap shaded behind them.
    let mut acks = vec![0usize; buckets];
    for at in &t.acks {
        if let Some(n) = acks.get_mut(bucket_of(*at)) {
            *n += 1;
        }
    }
    panel(&mut svg, acks_top, "acknowledged", "writes / 100 ms");
    if let Some(back) = m.writes_back_after {
        let to = t.fault + back;
        let from = to.checked_sub(m.longest_gap).unwrap_or(t.start);
        let _ = writeln!(
            svg,
            r##"<rect class="gap" data-gap-ms="{}" x="{:.1}" y="{acks_top}" width="{:.1}" height="{BARS_HEIGHT}" fill="#fde0dd"/>"##,
            m.longest_gap.as_millis(),
            x_of(from),
            (x_of(to) - x_of(from)).max(1.0)
        );
    }
    let peak = acks.iter().copied().max().unwrap_or(0).max(1);
    for (i, n) in acks.iter().enumerate().filter(|(_, n)| **n > 0) {
        let h = BARS_HEIGHT * *n as f64 / peak as f64;
        let _ = writeln!(
            svg,
            r##"<rect class="ack" data-bucket="{i}" data-count="{n}" x="{:.1}" y="{:.1}" width="{:.2}" height="{h:.1}" fill="#2ca02c"/>"##,
            LEFT + bar_width * i as f64,
            acks_top + BARS_HEIGHT - h,
            bar_width.max(0.5)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="end">{peak}</text>"#,
        LEFT - 6.0,
        acks_top + 10.0
    );

    // Refused or failed writes per bucket, stacked by kind.
    let mut refused: Vec<BTreeMap<usize, usize>> = vec![BTreeMap::new(); buckets];
    for r in &t.refusals {
        let kind = KINDS
            .iter()
            .position(|(k, _)| *k == r.kind)
            .unwrap_or(KINDS.len() - 1);
        if let Some(b) = refused.get_mut(bucket_of(r.at)) {
            *b.entry(kind).or_default() += 1;
        }
    }
    panel(
        &mut svg,
        refused_top,
        "refused or failed",
        "writes / 100 ms",
    );
    let peak = refused
        .iter()
        .map(|b| b.values().sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1);
    for (i, bucket) in refused.iter().enumerate() {
        let mut y = refused_top + BARS_HEIGHT;
        for (kind, n) in bucket {
            let h = BARS_HEIGHT * *n as f64 / peak as f64;
            y -= h;
            let _ = writeln!(
                svg,
                r#"<rect class="refused" data-kind="{}" data-bucket="{i}" data-count="{n}" x="{:.1}" y="{y:.1}" width="{:.2}" height="{h:.1}" fill="{}"/>"#,
                esc(KINDS[*kind].0),
                LEFT + bar_width * i as f64,
                bar_width.max(0.5),
                KINDS[*kind].1
            );
        }
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="end">{peak}</text>"#,
        LEFT - 6.0,
        refused_top + 10.0
    );
    for (i, (kind, colour)) in KINDS.iter().enumerate() {
        let x = LEFT + 130.0 * i as f64;
        let _ = writeln!(
            svg,
            r#"<rect x="{x}" y="{}" width="10" height="10" fill="{colour}"/><text x="{}" y="{}">{}</text>"#,
            refused_top + BARS_HEIGHT + 6.0,
            x + 14.0,
            refused_top + BARS_HEIGHT + 15.0,
            esc(kind)
        );
    }

    // One lane per Redis pod.
    let _ = writeln!(
        svg,
        r#"<text x="10" y="{}" font-weight="bold">Redis pods</text>"#,
        lanes_top - 8.0
    );
    for (lane, pod) in lanes.iter().enumerate() {
        let y = lanes_top + LANE_HEIGHT * lane as f64;
        let _ = writeln!(
            svg,
            r#"<text x="10" y="{:.1}">{}</text>"#,
            y + 13.0,
            esc(pod)
        );
        for (from, to, state) in stretches(&t.watch, pod, t.end) {
            let (fill, name) = match state {
                State::Master => ("#1f77b4", "master"),
                State::Paused => ("#aec7e8", "master, writes paused"),
                State::Replica => ("#e0e0e0", "replica"),
                State::Syncing => ("#ffdd71", "syncing"),
                State::Down => ("#ffffff", "down"),
            };
            let _ = writeln!(
                svg,
                r##"<rect class="lane" data-pod="{}" data-state="{name}" x="{:.1}" y="{:.1}" width="{:.1}" height="{}" fill="{fill}" stroke="#bbbbbb" stroke-width="0.3"/>"##,
                esc(pod),
                x_of(from),
                y + 2.0,
                (x_of(to) - x_of(from)).max(0.5),
                LANE_HEIGHT - 4.0
            );
        }
    }
    let legend_y = lanes_top + LANE_HEIGHT * lanes.len() as f64 + 8.0;
    for (i, (fill, name)) in [
        ("#1f77b4", "master"),
        ("#aec7e8", "master, writes paused"),
        ("#e0e0e0", "replica"),
        ("#ffdd71", "syncing"),
        ("#ffffff", "down"),
    ]
    .iter()
    .enumerate()
    {
        let x = LEFT + 150.0 * i as f64;
        let _ = writeln!(
            svg,
            r##"<rect x="{x}" y="{legend_y}" width="10" height="10" fill="{fill}" stroke="#888888"/><text x="{}" y="{}">{name}</text>"##,
            x + 14.0,
            legend_y + 9.0
        );
    }

    // Marks across every panel, and the time axis.
    let bottom = lanes_top + LANE_HEIGHT * lanes.len() as f64;
    let mut marks = vec![(t.fault, "fault", "#d62728")];
    if let Some(d) = m.new_master_after {
        marks.push((t.fault + d, "new master", "#1f77b4"));
    }
    if let Some(d) = m.writes_back_after {
        marks.push((t.fault + d, "writes back", "#2ca02c"));
    }
    for (i, (at, label, colour)) in marks.iter().enumerate() {
        let x = x_of(*at);
        let _ = writeln!(
            svg,
            r#"<line class="mark" data-mark="{label}" data-at-ms="{}" x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{bottom}" stroke="{colour}" stroke-dasharray="4 3"/><text x="{:.1}" y="{}" fill="{colour}">{label}</text>"#,
            at.saturating_duration_since(t.start).as_millis(),
            acks_top - 4.0,
            x + 3.0,
            acks_top - 6.0 - 11.0 * (i % 2) as f64
        );
    }
    let axis_y = legend_y + 30.0;
    let first = -(t
        .fault
        .saturating_duration_since(t.start)
        .as_secs_f64()
        .floor());
    let last = t.end.saturating_duration_since(t.fault).as_secs_f64();
    let step = if last - first > 40.0 { 5.0 } else { 1.0 };
    let mut s = (first / step).ceil() * step;
    while s <= last {
        let at = if s < 0.0 {
            t.fault.checked_sub(Duration::from_secs_f64(-s))
        } else {
            Some(t.fault + Duration::from_secs_f64(s))
        };
        if let Some(at) = at {
            let x = x_of(at);
            let _ = writeln!(
                svg,
                r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="#888888"/><text x="{x:.1}" y="{}" text-anchor="middle">{} s</text>"##,
                axis_y - 4.0,
                axis_y,
                axis_y + 12.0,
                if s == 0.0 {
                    "0".to_string()
                } else {
                    format!("{s:+.0}")
                }
            );
        }
        s += step;
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{LEFT}" y1="{}" x2="{}" y2="{}" stroke="#888888"/>"##,
        axis_y - 4.0,
        WIDTH - RIGHT,
        axis_y - 4.0
    );
    svg.push_str("</svg>\n");
    Some(svg)
}

/// A panel's frame and its two-line title in the left margin.
fn panel(svg: &mut String, top: f64, title: &str, unit: &str) {
    let _ = writeln!(
        svg,
        r##"<text x="10" y="{}" font-weight="bold">{title}</text><text x="10" y="{}">{unit}</text>
<rect x="{LEFT}" y="{top}" width="{}" height="{BARS_HEIGHT}" fill="none" stroke="#cccccc"/>"##,
        top + BARS_HEIGHT / 2.0,
        top + BARS_HEIGHT / 2.0 + 14.0,
        WIDTH - LEFT - RIGHT
    );
}

/// The stretches of time `pod` spent in one state, from its observations.
fn stretches(watch: &Watch, pod: &str, end: Instant) -> Vec<(Instant, Instant, State)> {
    let seen = watch.pods.get(pod).map(Vec::as_slice).unwrap_or_default();
    let mut out: Vec<(Instant, Instant, State)> = Vec::new();
    for (i, s) in seen.iter().enumerate() {
        let to = seen.get(i + 1).map_or(end, |n| n.at);
        match out.last_mut() {
            Some(last) if last.2 == s.state => last.1 = to,
            _ => out.push((s.at, to, s.state)),
        }
    }
    out
}

/// `text` safe inside SVG text and attributes.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The scenario's file name: `03-master-killed.svg`.
pub fn file_name(index: usize, row: &Row) -> String {
    format!("{:02}-{}.svg", index + 1, row.measured.kind.slug())
}

/// Write the timeline of every scenario of `report` into `dir` (created if needed); the
/// files written.
pub fn write_all(report: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for (i, row) in report.rows.iter().enumerate() {
        if let Some(svg) = timeline(row) {
            let path = dir.join(file_name(i, row));
            std::fs::write(&path, svg)
                .with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path);
        }
    }
    Ok(written)
}
