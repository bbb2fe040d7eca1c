//! A small line chart drawn as SVG on the server (readable without JavaScript), with the same
//! figures as a table beside it for screen readers and for anyone who wants the numbers.

use leptos::prelude::*;

/// One line of a chart: its name and its value at each of the chart's points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 160.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 10.0;

/// The colours lines take in turn (readable on the console's light background).
const COLOURS: [&str; 6] = ["#1f5fbf", "#b3261e", "#1b7f3b", "#8a4baf", "#a15c00", "#36454f"];

/// A value as the axis and the table show it.
fn figure(v: f64, unit: &str) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}{unit}")
    } else {
        format!("{v:.1}{unit}")
    }
}

/// A line chart of `series` over `points` (the x-axis labels), titled `title`, values in `unit`
/// ("" or "%"). The SVG is an image named by its title; the table that follows holds every value.
#[component]
pub fn LineChart(
    /// What the chart shows; the SVG's accessible name and the table's caption.
    #[prop(into)]
    title: String,
    /// The x-axis labels, one per point.
    points: Vec<String>,
    series: Vec<Series>,
    #[prop(default = "")] unit: &'static str,
) -> impl IntoView {
    let max = series.iter().flat_map(|s| s.values.iter().copied()).fold(0.0_f64, f64::max);
    let top = if max <= 0.0 { 1.0 } else { max };
    let n = points.len().max(1);
    let x = move |i: usize| LEFT + if n == 1 { 0.0 } else { (WIDTH - LEFT - 8.0) * i as f64 / (n - 1) as f64 };
    let y = move |v: f64| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - v / top);
    let lines = series
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let path: Vec<String> = s.values.iter().enumerate().map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v))).collect();
            let colour = COLOURS[k % COLOURS.len()];
            view! {
                <polyline points=path.join(" ") fill="none" stroke=colour stroke-width="2" />
                {s.values.iter().enumerate().map(|(i, v)| view! { <circle cx=format!("{:.1}", x(i)) cy=format!("{:.1}", y(*v)) r="2.5" fill=colour /> }).collect_view()}
            }
        })
        .collect_view();
    let ticks = [0.0, top / 2.0, top]
        .into_iter()
        .map(|v| view! { <text x=format!("{:.1}", LEFT - 6.0) y=format!("{:.1}", y(v) + 4.0) text-anchor="end" class="chart-axis">{figure(v, unit)}</text> })
        .collect_view();
    let labels = points
        .iter()
        .enumerate()
        .filter(|(i, _)| n <= 8 || i % (n / 7).max(1) == 0 || *i == n - 1)
        .map(|(i, p)| view! { <text x=format!("{:.1}", x(i)) y=format!("{:.1}", HEIGHT - 6.0) text-anchor="middle" class="chart-axis">{p.clone()}</text> })
        .collect_view();
    let legend = series
        .iter()
        .enumerate()
        .map(|(k, s)| {
            view! {
                <li>
                    <svg class="chart-key" viewBox="0 0 12 12" aria-hidden="true"><rect width="12" height="12" rx="2" fill=COLOURS[k % COLOURS.len()] /></svg>
                    {s.name.clone()}
                </li>
            }
        })
        .collect_view();
    let rows = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let cells = series.iter().map(|s| view! { <td>{figure(s.values.get(i).copied().unwrap_or(0.0), unit)}</td> }).collect_view();
            view! { <tr><th scope="row">{p.clone()}</th>{cells}</tr> }
        })
        .collect_view();
    let heads = series.iter().map(|s| view! { <th scope="col">{s.name.clone()}</th> }).collect_view();
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=title.clone() class="chart-svg">
                <line x1=LEFT y1=HEIGHT - BOTTOM x2=WIDTH y2=HEIGHT - BOTTOM class="chart-grid" />
                <line x1=LEFT y1=TOP x2=LEFT y2=HEIGHT - BOTTOM class="chart-grid" />
                {ticks}
                {labels}
                {lines}
            </svg>
            <ul class="chart-legend">{legend}</ul>
            <table class="table chart-table">
                <caption>{title}</caption>
                <thead><tr><th scope="col">"Day"</th>{heads}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </figure>
    }
}
