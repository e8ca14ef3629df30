//! One self-contained HTML page of a result set: how to read it, the
//! machine and every warning, the ranked table (sortable and filterable with
//! the page's own script, readable without it), each case's rounds in a
//! `<details>` of its row, and the charts inline. No request leaves the
//! page: styles, script and SVG charts are all in the file.

use crate::record::BenchResult;
use crate::record::MachineInfo;
use crate::report::codecs::CodecsReport;
use crate::report::compare::{by_codec, ranked, tail_range, CaseKey};
use crate::report::results::Loaded;
use crate::report::table::{Entry, Table};
use crate::util::format::format_ns;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

mod figures;
use figures::{with_ranges, words_of};

/// The columns a reader filters by, when the table has them.
const FILTERED: [&str; 6] = [
    "Transport",
    "Codec",
    "Complexity",
    "Payload",
    "Placement",
    "Traffic",
];

/// Text made safe inside HTML elements and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What a page shows.
pub struct Contents<'a> {
    /// The set (empty only when the page is of the codecs alone).
    pub results: &'a [Loaded],
    /// A transport whose figures the others are given a multiple of.
    pub reference: Option<&'a str>,
    /// With two sets: the table of `compare A B`, and what a reader must
    /// know to read its verdicts.
    pub comparison: Option<(&'a Table, &'a str)>,
    /// The codecs alone (a `codecs.json` beside the results): the report
    /// and its table.
    pub codecs: Option<(&'a CodecsReport, &'a Table)>,
    /// Every chart, a title and an SVG document each.
    pub charts: &'a [(String, String)],
    /// Where the chapter on reading a figure is, relative to the page,
    /// when the page sits in a checkout of ipc-bench.
    pub docs: Option<&'a str>,
}

/// What every page carries in its head, so that a file can be told to be
/// one of ours before it is replaced.
pub const GENERATOR_MARK: &str = r#"<meta name="generator" content="ipc-bench">"#;

/// The page of `contents`.
pub fn page(contents: &Contents) -> String {
    let Contents {
        results,
        reference,
        comparison,
        codecs,
        charts,
        docs,
    } = *contents;
    let mut html = String::new();
    html.push_str(HEAD);
    html.push_str("<h1>ipc-bench results</h1>\n");
    reading(&mut html, docs);
    environment_section(&mut html, &Facts::of(results, codecs.map(|(r, _)| r)));
    pace_section(&mut html, results);
    warnings_section(&mut html, results);
    if !results.is_empty() {
        ranked_section(&mut html, results, reference);
    }
    if let Some((table, note)) = comparison {
        html.push_str("<h2>Against the first set</h2>\n");
        for line in note.lines() {
            let _ = writeln!(html, "<p>{}</p>", escape(line));
        }
        plain_table(&mut html, table);
    }
    if let Some((_, table)) = codecs {
        html.push_str("<h2>The codecs alone</h2>\n");
        plain_table(&mut html, table);
    }
    // The pivot answers "what does a codec cost against JSON": only with
    // JSON and another codec in the set.
    let codecs_in_set: BTreeSet<&str> = results.iter().map(|l| l.result.codec.as_str()).collect();
    let pivot = by_codec(results);
    if codecs_in_set.contains("json") && codecs_in_set.len() > 1 && !pivot.rows.is_empty() {
        html.push_str("<h2>By codec, against JSON</h2>\n");
        plain_table(&mut html, &pivot);
    }
    if !charts.is_empty() {
        html.push_str("<h2>Charts</h2>\n");
        for (title, svg) in charts {
            let _ = writeln!(
                html,
                "<figure><figcaption>{}</figcaption>{}</figure>",
                escape(title),
                strip_xml_declaration(svg)
            );
        }
    }
    html.push_str(SCRIPT);
    html.push_str("</body>\n</html>\n");
    html
}

/// The question, how to read a figure, and where to read more.
fn reading(html: &mut String, docs: Option<&str>) {
    html.push_str(READING);
    match docs {
        Some(href) => {
            let _ = writeln!(
                html,
                " More: <a href=\"{}\">how sure a figure is</a>.</p>",
                escape(href)
            );
        }
        None => html.push_str(" More: <code>docs/how-sure.md</code> in ipc-bench's source.</p>\n"),
    }
}

/// The ranked table with its filters, then the fan-outs, fixed rates and
/// streams in tables of their own.
fn ranked_section(html: &mut String, results: &[Loaded], reference: Option<&str>) {
    // The closed loops with one child are the ranking; fan-outs, fixed rates
    // and streams answer other questions.
    let (ranked_set, others) = match by_kind(results) {
        (main, _) if main.is_empty() => (results.to_vec(), Vec::new()),
        split => split,
    };
    let (mut table, rows) = ranked(&ranked_set, reference);
    html.push_str("<h2 id=\"ranking\">Ranked</h2>\n");
    let shared = take_shared_columns(&mut table);
    if !shared.is_empty() {
        let shared: Vec<String> = shared
            .iter()
            .map(|(name, value)| format!("{} {}", escape(name), escape(value)))
            .collect();
        let _ = writeln!(html, "<p>Every case: {}.</p>", shared.join(" · "));
    }
    filters(html, &table);
    case_table(html, &table, &rows, Some("ranked"));
    for (title, set) in others {
        let _ = writeln!(html, "<h2>{title}</h2>");
        let (mut table, rows) = ranked(&set, None);
        take_shared_columns(&mut table);
        case_table(html, &table, &rows, None);
    }
}

/// Takes out of `table` each describing column (transport, codec, shape,
/// payload, placement, traffic, build) whose rows all say the same, and
/// returns them as (header, value): said once above the table, they leave
/// room for the figures, which matters on a phone.
fn take_shared_columns(table: &mut Table) -> Vec<(String, String)> {
    if table.rows.len() < 2 {
        return Vec::new();
    }
    let mut shared = Vec::new();
    let mut column = 0;
    while column < table.headers.len() {
        let name = table.headers[column].as_str();
        let describes = FILTERED.contains(&name) || name == "Build";
        let first = table.rows[0][column].text.clone();
        if describes && table.rows.iter().all(|r| r[column].text == first) {
            shared.push((table.headers.remove(column), first));
            for row in &mut table.rows {
                row.remove(column);
            }
        } else {
            column += 1;
        }
    }
    shared
}

/// The closed loops with one child, and the fan-outs, fixed rates and
/// streams each under its title (only the kinds the set has).
fn by_kind(results: &[Loaded]) -> (Vec<Loaded>, Vec<(&'static str, Vec<Loaded>)>) {
    let mut main = Vec::new();
    let (mut fan_outs, mut rates, mut streams) = (Vec::new(), Vec::new(), Vec::new());
    for l in results {
        let traffic = &l.result.traffic;
        let set = if traffic.is_stream() {
            &mut streams
        } else if traffic.offered_rate_per_sec.is_some() {
            &mut rates
        } else if traffic.children > 1 {
            &mut fan_outs
        } else {
            &mut main
        };
        set.push(l.clone());
    }
    let others = [
        ("Fan-outs", fan_outs),
        ("Fixed rates", rates),
        ("Streams", streams),
    ]
    .into_iter()
    .filter(|(_, set)| !set.is_empty())
    .collect();
    (main, others)
}

/// An SVG file's document without its XML declaration, to sit inside HTML.
fn strip_xml_declaration(svg: &str) -> &str {
    match svg.trim_start().strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(svg, |(_, body)| body),
        None => svg,
    }
}

/// What the environment section says: the machine and the run.
struct Facts<'a> {
    machine: Option<&'a MachineInfo>,
    tool_version: Option<&'a str>,
    seed: Option<u64>,
    rounds: Vec<usize>,
    steal_percent: Option<f64>,
    cases: usize,
}

impl<'a> Facts<'a> {
    /// From the first result (a set is one machine's; `compare` warns when
    /// it is not), or from the codecs report when there is no result.
    fn of(results: &'a [Loaded], codecs: Option<&'a CodecsReport>) -> Self {
        match (results.first(), codecs) {
            (Some(first), _) => {
                let first = &first.result;
                Facts {
                    machine: Some(&first.machine),
                    tool_version: Some(&first.tool_version),
                    seed: first.seed,
                    rounds: results.iter().map(|l| l.result.rounds).collect(),
                    steal_percent: first.environment.as_ref().and_then(|e| e.steal_percent),
                    cases: results.len(),
                }
            }
            (None, Some(report)) => Facts {
                machine: Some(&report.machine),
                tool_version: Some(&report.tool_version),
                seed: Some(report.seed),
                rounds: vec![report.rounds],
                steal_percent: None,
                cases: report.cases.len(),
            },
            (None, None) => Facts {
                machine: None,
                tool_version: None,
                seed: None,
                rounds: Vec::new(),
                steal_percent: None,
                cases: 0,
            },
        }
    }

    fn lines(&self) -> Vec<(&'static str, String)> {
        let mut facts = Vec::new();
        if let Some(m) = self.machine {
            let virtualised = m
                .virtualized
                .map_or("unknown", |v| if v { "yes" } else { "no" });
            facts.extend([
                (
                    "CPU",
                    format!("{} ({} logical cores)", m.cpu_model, m.logical_cores),
                ),
                ("System", format!("{} on {}", m.kernel, m.arch)),
                ("Virtualised", virtualised.to_string()),
                ("Build", format!("{}, {}", m.build_profile, m.rustc_version)),
                ("Features", m.enabled_features.join(", ")),
            ]);
        }
        if let Some(version) = self.tool_version {
            facts.push(("Tool", format!("ipc-bench {version}")));
        }
        if let Some(seed) = self.seed {
            facts.push(("Seed", seed.to_string()));
        }
        if let (Some(least), Some(most)) = (self.rounds.iter().min(), self.rounds.iter().max()) {
            let rounds = if least == most {
                least.to_string()
            } else {
                format!("{least} to {most}")
            };
            facts.push(("Rounds per case", rounds));
        }
        if let Some(steal) = self.steal_percent {
            facts.push(("Steal (first case)", format!("{steal:.1} %")));
        }
        facts.push(("Cases", self.cases.to_string()));
        facts
    }
}

fn environment_section(html: &mut String, facts: &Facts) {
    html.push_str("<h2>Machine and run</h2>\n<dl class=\"facts\">\n");
    for (name, value) in facts.lines() {
        let _ = writeln!(html, "<dt>{}</dt><dd>{}</dd>", name, escape(&value));
    }
    html.push_str("</dl>\n");
}

/// The machine's pace: the classes, the spells and the rounds set aside,
/// when there is anything to say (the chart is among the charts).
fn pace_section(html: &mut String, results: &[Loaded]) {
    let rows: Vec<&crate::record::BenchResult> = results.iter().map(|l| &l.result).collect();
    let lines = crate::report::spells::describe(&rows);
    if lines.is_empty() {
        return;
    }
    html.push_str("<h2>The machine's pace</h2>\n");
    for line in lines {
        let _ = writeln!(html, "<p>{}</p>", escape(&line));
    }
}

/// Every warning of the set, with how many cases carry it. Warnings
/// that differ only in their figures ("throughput changed 1.6× inside
/// round 2") are one line giving each figure's range, the lines in full
/// inside it.
fn warnings_section(html: &mut String, results: &[Loaded]) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for l in results {
        for w in &l.result.warnings {
            *counts.entry(w.as_str()).or_default() += 1;
        }
    }
    if counts.is_empty() {
        if !results.is_empty() {
            html.push_str("<p>No case carries a warning.</p>\n");
        }
        return;
    }
    let mut kinds: BTreeMap<Vec<&str>, Vec<(&str, usize)>> = BTreeMap::new();
    for (warning, n) in counts {
        kinds
            .entry(words_of(warning))
            .or_default()
            .push((warning, n));
    }
    html.push_str("<h2>Warnings</h2>\n<ul class=\"warnings\">\n");
    for same_kind in kinds.values() {
        let cases: usize = same_kind.iter().map(|(_, n)| n).sum();
        let cases = format!("<small>({cases} {})</small>", plural(cases, "case"));
        if let [(warning, _)] = same_kind.as_slice() {
            let _ = writeln!(html, "<li>{} {cases}</li>", escape(warning));
            continue;
        }
        let texts: Vec<&str> = same_kind.iter().map(|(w, _)| *w).collect();
        let _ = write!(
            html,
            "<li><details><summary>{} {cases}</summary><ul>",
            escape(&with_ranges(&texts))
        );
        for (warning, n) in same_kind {
            let _ = write!(html, "<li>{} <small>({n})</small></li>", escape(warning));
        }
        html.push_str("</ul></details></li>\n");
    }
    html.push_str("</ul>\n");
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

/// A select per filtered column, listing the values the table has.
fn filters(html: &mut String, table: &Table) {
    html.push_str("<form class=\"filters\" id=\"filters\">\n");
    for name in FILTERED {
        let Some(column) = table.headers.iter().position(|h| h == name) else {
            continue;
        };
        // An option's value is the cells' sort value (a payload's bytes),
        // its label the text they show ("1 KiB"), in the order they sort.
        let mut values: Vec<(String, &str)> = table
            .rows
            .iter()
            .map(|r| (sort_value(&r[column]), r[column].text.as_str()))
            .collect();
        values.sort_by(|a, b| match (a.0.parse::<f64>(), b.0.parse::<f64>()) {
            (Ok(x), Ok(y)) => x.total_cmp(&y),
            _ => a.cmp(b),
        });
        values.dedup();
        let _ = write!(
            html,
            "<label>{name} <select data-column=\"{column}\" data-name=\"{name}\"><option value=\"\">all</option>"
        );
        for (value, label) in values {
            let _ = write!(
                html,
                "<option value=\"{}\">{}</option>",
                escape(&value),
                escape(label)
            );
        }
        html.push_str("</select></label>\n");
    }
    html.push_str("</form>\n");
}

/// A table of cases, each cell with its value for sorting, and each row's
/// first cell holding the case's details; `id` names the ranked one, which
/// the filters and the address's view act on.
fn case_table(html: &mut String, table: &Table, rows: &[&BenchResult], id: Option<&str>) {
    let id = id.map_or(String::new(), |id| format!(" id=\"{id}\""));
    let _ = writeln!(
        html,
        "<div class=\"wide\"><table{id} class=\"sortable cases\">"
    );
    header_row(html, table);
    for (row, result) in table.rows.iter().zip(rows) {
        html.push_str("<tr class=\"case\">");
        for (i, entry) in row.iter().enumerate() {
            cell(html, entry, (i == 0).then_some(*result));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table></div>\n");
}

/// A table of other rows than cases (comparison, pivot, codecs), sortable
/// by its headers.
fn plain_table(html: &mut String, table: &Table) {
    html.push_str("<div class=\"wide\"><table class=\"sortable\">\n");
    header_row(html, table);
    for row in &table.rows {
        html.push_str("<tr>");
        for entry in row {
            cell(html, entry, None);
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table></div>\n");
}

/// The headers (each a sort control) and the opening of the body.
fn header_row(html: &mut String, table: &Table) {
    html.push_str("<thead><tr>");
    for header in &table.headers {
        let _ = write!(html, "<th tabindex=\"0\">{}</th>", escape(header));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
}

/// What a cell sorts and filters by: its number, or its text.
fn sort_value(entry: &Entry) -> String {
    match &entry.value {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        _ => entry.text.clone(),
    }
}

fn cell(html: &mut String, entry: &Entry, details_of: Option<&BenchResult>) {
    let sort = escape(&sort_value(entry));
    let class = if entry.numeric { " class=\"n\"" } else { "" };
    let _ = write!(html, "<td{class} data-sort=\"{sort}\">");
    match details_of {
        Some(result) => {
            let _ = write!(
                html,
                "<details><summary>{}</summary>{}</details>",
                escape(&entry.text),
                details(result)
            );
        }
        None => html.push_str(&escape(&entry.text)),
    }
    html.push_str("</td>");
}

/// A case's own figures: its rounds, latency percentiles, CPU, message
/// path and warnings.
fn details(r: &BenchResult) -> String {
    let mut html = String::new();
    let key = CaseKey::of(r);
    let _ = write!(
        html,
        "<div class=\"case\"><b>{}</b>",
        escape(&key.transport_label())
    );
    if let Some(l) = &r.latency_ns {
        let _ = write!(
            html,
            "<p>Latency: min {}, p50 {}, p90 {}, p99 {}, p99.9 {}, max {}</p>",
            format_ns(l.min as f64),
            format_ns(l.p50 as f64),
            format_ns(l.p90 as f64),
            format_ns(l.p99 as f64),
            format_ns(l.p999 as f64),
            format_ns(l.max as f64)
        );
    }
    if let Some(l) = &r.latency_from_intended_ns {
        let with = |figure: u64, interval: Option<String>| match interval {
            Some(i) => format!("{} ({i})", format_ns(figure as f64)),
            None => format_ns(figure as f64),
        };
        let p50 = r
            .latency_from_intended_p50_ci95
            .map(|i| format!("{}–{}", format_ns(i.lo), format_ns(i.hi)));
        let tail = r.latency_from_intended_tail_ci95;
        let _ = write!(
            html,
            "<p>From the due time, with 95 % intervals: p50 {}, p99 {}, p99.9 {}</p>",
            with(l.p50, p50),
            with(l.p99, tail.map(|t| tail_range(&t.p99))),
            with(l.p999, tail.map(|t| tail_range(&t.p999)))
        );
    }
    if let Some(cpu) = r.cpu.ns_per_round_trip {
        let _ = write!(html, "<p>CPU per round trip: {}</p>", format_ns(cpu));
    }
    if let Some(path) = &r.message_path {
        let _ = write!(html, "<p>Message path: {}</p>", escape(path.describe()));
    }
    html.push_str(
        "<table class=\"rounds\"><tr><th>Round</th><th>Round trips/s</th><th>p50</th><th>p99</th><th>CPU/round trip</th><th>Pace</th><th>Set aside</th></tr>",
    );
    for s in &r.samples {
        let ns = |v: Option<u64>| v.map_or("—".to_string(), |v| format_ns(v as f64));
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=\"n\">{:.0}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            s.round,
            s.round_trips_per_sec,
            ns(s.latency_p50_ns),
            ns(s.latency_p99_ns),
            s.cpu_ns_per_round_trip.map_or("—".to_string(), format_ns),
            s.pace.map_or("—".to_string(), |p| format!("{p:.2}")),
            s.set_aside.map_or("", |a| a.name())
        );
    }
    html.push_str("</table>");
    for w in &r.warnings {
        let _ = write!(html, "<p class=\"warning\">{}</p>", escape(w));
    }
    html.push_str("</div>");
    html
}

const HEAD: &str = concat!(
    r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="ipc-bench">
<title>ipc-bench results</title>
<style>
"#,
    include_str!("page.css"),
    "</style>\n</head>\n<body>\n"
);

/// Two sentences: the question, and how to read a figure (the page adds
/// where to read more and closes the paragraph).
const READING: &str = "<p class=\"reading\"><b>Which inter-process transport and which serialization format, and what does each cost on this machine?</b> Each case is a parent and a child ping-ponging messages, every one verified; its figure is the median of its rounds with the wider side of its 95 % interval (open a case's rank for its rounds), and cases their intervals cannot order share a rank (<code>=3</code>).";

const SCRIPT: &str = concat!("<script>\n", include_str!("page.js"), "</script>\n");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_elements_and_attributes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn columns_every_row_shares_are_said_once() {
        let mut table = Table::new(["Rank", "Transport", "Payload", "Round trips/s"]);
        for (rank, transport) in [("1", "spin"), ("2", "pipe")] {
            table.rows.push(vec![
                Entry::text(rank),
                Entry::text(transport),
                Entry::text("32 B"),
                Entry::text("1 k"),
            ]);
        }
        let shared = take_shared_columns(&mut table);
        assert_eq!(shared, [("Payload".to_string(), "32 B".to_string())]);
        assert_eq!(table.headers, ["Rank", "Transport", "Round trips/s"]);
        assert!(table.rows.iter().all(|r| r.len() == 3));
    }

    #[test]
    fn an_svg_loses_its_xml_declaration_only() {
        let svg = "<?xml version=\"1.0\"?>\n<svg></svg>";
        assert_eq!(strip_xml_declaration(svg).trim(), "<svg></svg>");
        assert_eq!(strip_xml_declaration("<svg/>"), "<svg/>");
    }
}
