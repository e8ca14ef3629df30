//! One self-contained HTML page of a result set: how to read it, the
//! machine and every warning, the ranked table (sortable and filterable with
//! the page's own script, readable without it), each case's rounds in a
//! `<details>` of its row, and the charts inline. No request leaves the
//! page: styles, script and SVG charts are all in the file.

use crate::record::BenchResult;
use crate::report::compare::{by_codec, ranked, CaseKey};
use crate::report::results::Loaded;
use crate::report::table::{Entry, Table};
use crate::util::format::format_ns;
use std::collections::BTreeMap;
use std::fmt::Write;

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
    /// The set (at least one result).
    pub results: &'a [Loaded],
    /// A transport whose figures the others are given a multiple of.
    pub reference: Option<&'a str>,
    /// With two sets: the table of `compare A B`, and what a reader must
    /// know to read its verdicts.
    pub comparison: Option<(&'a Table, &'a str)>,
    /// The codecs alone (a `codecs.json` beside the results), as a table.
    pub codecs: Option<&'a Table>,
    /// Every chart, a title and an SVG document each.
    pub charts: &'a [(String, String)],
}

/// The page of `contents`.
pub fn page(contents: &Contents) -> String {
    let Contents {
        results,
        reference,
        comparison,
        codecs,
        charts,
    } = *contents;
    // The closed loops with one child are the ranking; fan-outs, fixed rates
    // and streams answer other questions and get tables of their own.
    let (ranked_set, others) = match by_kind(results) {
        (main, _) if main.is_empty() => (results.to_vec(), Vec::new()),
        split => split,
    };
    let (table, rows) = ranked(&ranked_set, reference);
    let mut html = String::new();
    html.push_str(HEAD);
    html.push_str("<h1>ipc-bench results</h1>\n");
    html.push_str(READING);
    environment_section(&mut html, results);
    warnings_section(&mut html, results);
    html.push_str("<h2>Ranked</h2>\n");
    filters(&mut html, &table);
    ranked_table(&mut html, &table, &rows);
    for (title, set) in others {
        let _ = writeln!(html, "<h2>{title}</h2>");
        plain_table(&mut html, &ranked(&set, None).0);
    }
    if let Some((table, note)) = comparison {
        html.push_str("<h2>Against the first set</h2>\n");
        for line in note.lines() {
            let _ = writeln!(html, "<p>{}</p>", escape(line));
        }
        plain_table(&mut html, table);
    }
    if let Some(table) = codecs {
        html.push_str("<h2>The codecs alone</h2>\n");
        plain_table(&mut html, table);
    }
    let pivot = by_codec(results);
    if pivot.headers.len() > 2 && !pivot.rows.is_empty() {
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

/// The machine and the run, from the first result (a set is one machine's;
/// `compare` warns when it is not).
fn environment_section(html: &mut String, results: &[Loaded]) {
    let first = &results[0].result;
    let m = &first.machine;
    let mut facts: Vec<(&str, String)> = vec![
        (
            "CPU",
            format!("{} ({} logical cores)", m.cpu_model, m.logical_cores),
        ),
        ("System", format!("{} on {}", m.kernel, m.arch)),
        (
            "Virtualised",
            m.virtualized
                .map_or("unknown".into(), |v| if v { "yes" } else { "no" }.into()),
        ),
        ("Build", format!("{}, {}", m.build_profile, m.rustc_version)),
        ("Features", m.enabled_features.join(", ")),
        ("Tool", format!("ipc-bench {}", first.tool_version)),
    ];
    if let Some(seed) = first.seed {
        facts.push(("Seed", seed.to_string()));
    }
    let rounds: Vec<usize> = results.iter().map(|l| l.result.rounds).collect();
    let (least, most) = (rounds.iter().min(), rounds.iter().max());
    if let (Some(least), Some(most)) = (least, most) {
        facts.push(("Rounds per case", format!("{least} to {most}")));
    }
    if let Some(steal) = first.environment.as_ref().and_then(|e| e.steal_percent) {
        facts.push(("Steal (first case)", format!("{steal:.1} %")));
    }
    facts.push(("Cases", results.len().to_string()));
    html.push_str("<h2>Machine and run</h2>\n<dl class=\"facts\">\n");
    for (name, value) in facts {
        let _ = writeln!(html, "<dt>{}</dt><dd>{}</dd>", name, escape(&value));
    }
    html.push_str("</dl>\n");
}

/// Every warning of the set, once, with how many cases carry it.
fn warnings_section(html: &mut String, results: &[Loaded]) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for l in results {
        for w in &l.result.warnings {
            *counts.entry(w.as_str()).or_default() += 1;
        }
    }
    if counts.is_empty() {
        html.push_str("<p>No case carries a warning.</p>\n");
        return;
    }
    html.push_str("<h2>Warnings</h2>\n<ul class=\"warnings\">\n");
    for (warning, n) in counts {
        let cases = if n == 1 { "case" } else { "cases" };
        let _ = writeln!(
            html,
            "<li>{} <small>({n} {cases})</small></li>",
            escape(warning)
        );
    }
    html.push_str("</ul>\n");
}

/// A select per filtered column, listing the values the table has.
fn filters(html: &mut String, table: &Table) {
    html.push_str("<form class=\"filters\" id=\"filters\">\n");
    for name in FILTERED {
        let Some(column) = table.headers.iter().position(|h| h == name) else {
            continue;
        };
        let mut values: Vec<&str> = table.rows.iter().map(|r| r[column].text.as_str()).collect();
        values.sort();
        values.dedup();
        let _ = write!(
            html,
            "<label>{name} <select data-column=\"{column}\" data-name=\"{name}\"><option value=\"\">all</option>"
        );
        for v in values {
            let v = escape(v);
            let _ = write!(html, "<option value=\"{v}\">{v}</option>");
        }
        html.push_str("</select></label>\n");
    }
    html.push_str("</form>\n");
}

/// The table, each cell with its value for sorting, and each row's first
/// cell holding the case's details.
fn ranked_table(html: &mut String, table: &Table, rows: &[&BenchResult]) {
    html.push_str("<table id=\"ranked\">\n<thead><tr>");
    for (i, header) in table.headers.iter().enumerate() {
        let _ = write!(
            html,
            "<th data-column=\"{i}\" tabindex=\"0\">{}</th>",
            escape(header)
        );
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for (row, result) in table.rows.iter().zip(rows) {
        html.push_str("<tr class=\"case\">");
        for (i, entry) in row.iter().enumerate() {
            cell(html, entry, (i == 0).then_some(*result));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
}

/// A table without sorting or details (the by-codec pivot).
fn plain_table(html: &mut String, table: &Table) {
    html.push_str("<div class=\"wide\"><table>\n<thead><tr>");
    for header in &table.headers {
        let _ = write!(html, "<th>{}</th>", escape(header));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        html.push_str("<tr>");
        for entry in row {
            let class = if entry.numeric { " class=\"n\"" } else { "" };
            let _ = write!(html, "<td{class}>{}</td>", escape(&entry.text));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table></div>\n");
}

fn cell(html: &mut String, entry: &Entry, details_of: Option<&BenchResult>) {
    let sort = match &entry.value {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => escape(s),
        _ => String::new(),
    };
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
    if let Some(cpu) = r.cpu.ns_per_round_trip {
        let _ = write!(html, "<p>CPU per round trip: {}</p>", format_ns(cpu));
    }
    if let Some(path) = &r.message_path {
        let _ = write!(html, "<p>Message path: {}</p>", escape(path.describe()));
    }
    html.push_str(
        "<table class=\"rounds\"><tr><th>Round</th><th>Round trips/s</th><th>p50</th><th>p99</th><th>CPU/round trip</th></tr>",
    );
    for s in &r.samples {
        let ns = |v: Option<u64>| v.map_or("—".to_string(), |v| format_ns(v as f64));
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=\"n\">{:.0}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            s.round,
            s.round_trips_per_sec,
            ns(s.latency_p50_ns),
            ns(s.latency_p99_ns),
            s.cpu_ns_per_round_trip.map_or("—".to_string(), format_ns)
        );
    }
    html.push_str("</table>");
    for w in &r.warnings {
        let _ = write!(html, "<p class=\"warning\">{}</p>", escape(w));
    }
    html.push_str("</div>");
    html
}

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>ipc-bench results</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 1rem auto; max-width: 110rem; padding: 0 1rem; color: #1b1b1b; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
#ranked { display: block; overflow-x: auto; }
.wide { overflow-x: auto; }
th, td { padding: .2rem .5rem; border-bottom: 1px solid #ddd; text-align: left; white-space: nowrap; }
th { cursor: pointer; position: sticky; top: 0; background: #f4f4f4; }
td.n { text-align: right; }
.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .1rem 1rem; }
.facts dt { font-weight: 600; }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.warnings li { overflow-wrap: anywhere; }
@media (max-width: 40rem) { .facts { grid-template-columns: minmax(0, 1fr); } .facts dd { margin-bottom: .4rem; } }
.filters label { margin-right: 1rem; display: inline-block; }
.case { white-space: normal; min-width: 20rem; }
.warning { color: #8a4b00; }
figure { margin: 1rem 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
"#;

const READING: &str = r#"<p>Which inter-process transport, and which serialization format, and what does each cost on this machine? Each row is one case: a parent and a child ping-ponging verified messages. A figure is the median of its rounds with the larger side of its 95 % interval; cases the rounds cannot tell apart share a rank (<code>=3</code>). Open a row's rank for its rounds. How sure a figure is: <code>docs/how-sure.md</code> in ipc-bench.</p>
"#;

const SCRIPT: &str = r#"<script>
(function () {
  // Sorting and filtering, kept in the address's #fragment (sort=Column,
  // or sort=-Column for descending; Column=value per filter) so that a
  // view can be linked, and opened as linked.
  var table = document.getElementById('ranked');
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var selects = Array.prototype.slice.call(document.querySelectorAll('#filters select'));
  var state = { sort: null, descending: false };
  function key(row, column) {
    var text = row.cells[column].getAttribute('data-sort');
    var number = parseFloat(text);
    return isNaN(number) ? text : number;
  }
  function sort(column, descending) {
    state.sort = column; state.descending = descending;
    rows.sort(function (a, b) {
      var x = key(a, column), y = key(b, column);
      var order = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  function filter() {
    rows.forEach(function (row) {
      row.hidden = !selects.every(function (select) {
        var column = +select.getAttribute('data-column');
        return !select.value || row.cells[column].textContent.trim() === select.value;
      });
    });
  }
  function remember() {
    var params = new URLSearchParams();
    if (state.sort !== null) {
      params.set('sort', (state.descending ? '-' : '') + headers[state.sort].textContent);
    }
    selects.forEach(function (select) {
      if (select.value) params.set(select.getAttribute('data-name'), select.value);
    });
    history.replaceState(null, '', '#' + params.toString());
  }
  headers.forEach(function (th, column) {
    function click() {
      sort(column, state.sort === column ? !state.descending : true);
      remember();
    }
    th.addEventListener('click', click);
    th.addEventListener('keydown', function (e) { if (e.key === 'Enter') click(); });
  });
  selects.forEach(function (select) {
    select.addEventListener('change', function () { filter(); remember(); });
  });
  var params = new URLSearchParams(location.hash.slice(1));
  var wanted = params.get('sort');
  if (wanted) {
    var descending = wanted.charAt(0) === '-';
    var name = descending ? wanted.slice(1) : wanted;
    headers.forEach(function (th, column) { if (th.textContent === name) sort(column, descending); });
  }
  selects.forEach(function (select) {
    var value = params.get(select.getAttribute('data-name'));
    if (value !== null) select.value = value;
  });
  filter();
  document.body.setAttribute('data-ready', 'yes');
})();
</script>
"#;

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
    fn an_svg_loses_its_xml_declaration_only() {
        let svg = "<?xml version=\"1.0\"?>\n<svg></svg>";
        assert_eq!(strip_xml_declaration(svg).trim(), "<svg></svg>");
        assert_eq!(strip_xml_declaration("<svg/>"), "<svg/>");
    }
}
