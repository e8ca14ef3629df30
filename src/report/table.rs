//! Tables of results, rendered for a terminal, as Markdown, CSV or JSON.
//!
//! Every cell carries both its display text and a typed JSON value, so the
//! machine-readable formats get numbers, not formatted strings.

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table as Comfy};
use serde_json::Value;

/// How a table is written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    #[value(alias = "md")]
    Markdown,
    Csv,
    Json,
}

/// One cell: what people read, and what programs get.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub text: String,
    pub value: Value,
    /// Numbers are right-aligned in text formats.
    pub numeric: bool,
}

impl Entry {
    pub fn text(text: impl Into<String>) -> Self {
        let text = text.into();
        Entry {
            value: Value::String(text.clone()),
            text,
            numeric: false,
        }
    }

    pub fn number(text: impl Into<String>, value: f64) -> Self {
        Entry {
            text: text.into(),
            value: serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number),
            numeric: true,
        }
    }

    /// A missing figure: `—` for people, null for programs.
    pub fn missing() -> Self {
        Entry {
            text: "—".into(),
            value: Value::Null,
            numeric: true,
        }
    }
}

/// A titled grid of entries.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Entry>>,
}

impl Table {
    pub fn new(headers: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Entry>) {
        debug_assert_eq!(row.len(), self.headers.len());
        self.rows.push(row);
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => self.comfy(presets::UTF8_FULL_CONDENSED, true),
            Format::Markdown => self.comfy(presets::ASCII_MARKDOWN, false),
            Format::Csv => self.csv(),
            Format::Json => self.json(),
        }
    }

    fn comfy(&self, preset: &str, dynamic: bool) -> String {
        let mut table = Comfy::new();
        table.load_preset(preset);
        table.set_content_arrangement(if dynamic {
            ContentArrangement::Dynamic
        } else {
            ContentArrangement::Disabled
        });
        table.set_header(self.headers.iter().map(Cell::new));
        for row in &self.rows {
            table.add_row(row.iter().map(|e| {
                let cell = Cell::new(&e.text);
                if e.numeric {
                    cell.set_alignment(CellAlignment::Right)
                } else {
                    cell
                }
            }));
        }
        for (i, column) in table.column_iter_mut().enumerate() {
            if self.rows.iter().any(|r| r[i].numeric) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        format!("{table}\n")
    }

    fn csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let _ = writer.write_record(&self.headers);
        for row in &self.rows {
            let fields: Vec<String> = row
                .iter()
                .map(|e| match &e.value {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            let _ = writer.write_record(&fields);
        }
        String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    fn json(&self) -> String {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                Value::Object(
                    self.headers
                        .iter()
                        .zip(row)
                        .map(|(h, e)| (h.clone(), e.value.clone()))
                        .collect(),
                )
            })
            .collect();
        serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(["Transport", "RT/s"]);
        t.push(vec![Entry::text("ipcc"), Entry::number("20,130", 20130.0)]);
        t.push(vec![Entry::text("a,b \"q\""), Entry::missing()]);
        t
    }

    #[test]
    fn every_format_carries_every_row() {
        let t = sample();
        let md = t.render(Format::Markdown);
        assert!(md.contains("| Transport") && md.contains("20,130"), "{md}");
        let csv = t.render(Format::Csv);
        assert_eq!(csv.lines().next(), Some("Transport,RT/s"));
        assert!(csv.contains("ipcc,20130"), "{csv}");
        assert!(csv.contains("\"a,b \"\"q\"\"\","), "quoted: {csv}");
        let json: Value = serde_json::from_str(&t.render(Format::Json)).unwrap();
        assert_eq!(json[0]["RT/s"], serde_json::json!(20130.0));
        assert_eq!(json[1]["RT/s"], Value::Null);
        assert!(t.render(Format::Table).contains("ipcc"));
    }
}
