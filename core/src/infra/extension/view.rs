//! Views an extension declares for the dashboard: data, never code. A view
//! names one of the extension's own query operations, where the rows are in
//! its output and which fields to show; the dashboard draws it (a table or
//! an SVG chart) and escapes every value it shows.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{OpError, OpResult};

/// Most views one extension declares.
pub const MAX_VIEWS: usize = 16;
/// Most columns or filters in one view.
const MAX_FIELDS: usize = 32;
/// Most choices in one filter or editable column.
const MAX_OPTIONS: usize = 100;
/// Largest fixed `input`, as JSON.
const MAX_INPUT_BYTES: usize = 4096;

/// How a view is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ViewKind {
    /// Rows and columns, with optional filters, one editable column and a
    /// download.
    Table,
    /// Bars per `x`, stacked by `series` when `stacked`.
    BarChart,
    /// One line per `series` over `x`.
    LineChart,
}

/// How a column's values are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// As text.
    #[default]
    Text,
    /// A number; the table sums it in its footer.
    Number,
    /// An amount with two decimals; summed in the footer.
    Money,
    /// A date or time, as given.
    Date,
}

/// A form field whose value goes into the operation's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilterKind {
    /// Free text.
    #[default]
    Text,
    /// A `YYYY-MM-DD` date.
    Date,
    /// A whole number.
    Integer,
    /// One of `options`.
    Select,
}

/// One view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct View {
    /// Unique within the extension: lowercase letters, digits, `_`, `-`.
    pub id: String,
    /// Shown as the view's heading and tab.
    pub title: String,
    /// How it is drawn.
    pub kind: ViewKind,
    /// A `query:` operation this extension provides, called for the data.
    pub operation: String,
    /// Fixed input, merged under the filters' values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// Where the rows are in the output: field names joined by `.`; empty
    /// when the output is the array itself.
    #[serde(default)]
    pub rows: String,
    /// Table columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<Column>,
    /// Chart: the row field along the horizontal axis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Chart: the numeric row field plotted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Chart: the row field splitting values into series (colours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// Bar chart: stack the series instead of drawing them side by side.
    #[serde(default)]
    pub stacked: bool,
    /// Chart: where the unit of `y` is in the output (a path like `rows`),
    /// e.g. the currency every row is in; shown on the axis. Rows in
    /// different units must never share one chart: the operation picks one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Form fields above the view, each an input field of the operation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    /// Table: one column a person may change in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<Edit>,
    /// Table: a download of the same rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<Export>,
}

/// A table column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// Row field.
    pub field: String,
    /// Heading.
    pub label: String,
    /// How values are shown.
    #[serde(default)]
    pub format: Format,
}

/// A form field above a view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Input field of the operation it sets; left out of the input when empty.
    pub field: String,
    /// Label.
    pub label: String,
    /// Kind of field.
    #[serde(default)]
    pub kind: FilterKind,
    /// Choices, for `select`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// For `select`: where the choices are in the operation's output (a
    /// path like `rows`), for choices only the data knows, such as the
    /// currencies used. The first is the one the operation chose when the
    /// field is left empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options_from: Option<String>,
}

/// An editable table column: changing a cell calls `operation` with
/// `{<key>: row[key], <column>: new value}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    /// The column's field.
    pub column: String,
    /// An `action:` operation this extension provides.
    pub operation: String,
    /// Row field identifying the row, sent under the same name.
    pub key: String,
    /// Choices offered; free text when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// A download of a table's rows, produced by an operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Export {
    /// A `query:` operation this extension provides, given the same input.
    pub operation: String,
    /// Output field holding the file's text.
    pub field: String,
    /// Name offered for the file, e.g. `expenses.csv`.
    pub filename: String,
}

fn err(field: &str, problem: impl std::fmt::Display) -> OpError {
    OpError::invalid(format!("manifest field `{field}` {problem}"))
}

fn check_field_name(field: &str, value: &str) -> OpResult<()> {
    let ok = (1..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok { Ok(()) } else { Err(err(field, format!("`{value}` must be a field name: 1-64 letters, digits or `_`"))) }
}

fn check_text(field: &str, value: &str) -> OpResult<()> {
    if value.trim().is_empty() || value.len() > 128 || value.chars().any(char::is_control) {
        return Err(err(field, "must be 1-128 bytes of text without control characters"));
    }
    Ok(())
}

/// A path into an operation's output: field names joined by `.`.
fn check_path(field: &str, path: &str) -> OpResult<()> {
    if path.len() > 256 {
        return Err(err(field, "must be at most 256 bytes"));
    }
    path.split('.').try_for_each(|part| check_field_name(field, part))
}

fn check_options(field: &str, options: &[String]) -> OpResult<()> {
    if options.len() > MAX_OPTIONS {
        return Err(err(field, format!("has over {MAX_OPTIONS} choices")));
    }
    options.iter().enumerate().try_for_each(|(i, o)| check_text(&format!("{field}[{i}]"), o))
}

impl View {
    /// Checks the view against the manifest's `operations`: a view may only
    /// call what its own extension provides, and only reads through `query:`.
    pub fn validate(&self, at: &str, operations: &[&str]) -> OpResult<()> {
        let id_ok = (1..=64).contains(&self.id.len())
            && self.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !id_ok {
            return Err(err(&format!("{at}.id"), "must be 1-64 lowercase letters, digits, `_` or `-`"));
        }
        check_text(&format!("{at}.title"), &self.title)?;
        let own = |field: &str, method: &str, prefix: &str| -> OpResult<()> {
            if !method.starts_with(prefix) || !operations.contains(&method) {
                return Err(err(
                    field,
                    format!("`{method}` must be a `{prefix}` operation this extension declares in `operations`"),
                ));
            }
            Ok(())
        };
        own(&format!("{at}.operation"), &self.operation, "query:")?;
        if let Some(input) = &self.input
            && (!input.is_object() || input.to_string().len() > MAX_INPUT_BYTES)
        {
            return Err(err(
                &format!("{at}.input"),
                format!("must be a JSON object of at most {MAX_INPUT_BYTES} bytes"),
            ));
        }
        if !self.rows.is_empty() {
            check_path(&format!("{at}.rows"), &self.rows)?;
        }
        if let Some(unit) = &self.unit {
            check_path(&format!("{at}.unit"), unit)?;
        }
        if self.columns.len() > MAX_FIELDS || self.filters.len() > MAX_FIELDS {
            return Err(err(at, format!("has over {MAX_FIELDS} columns or filters")));
        }
        for (i, c) in self.columns.iter().enumerate() {
            check_field_name(&format!("{at}.columns[{i}].field"), &c.field)?;
            check_text(&format!("{at}.columns[{i}].label"), &c.label)?;
        }
        for (i, f) in self.filters.iter().enumerate() {
            let field = format!("{at}.filters[{i}]");
            check_field_name(&format!("{field}.field"), &f.field)?;
            check_text(&format!("{field}.label"), &f.label)?;
            check_options(&format!("{field}.options"), &f.options)?;
            if let Some(from) = &f.options_from {
                check_path(&format!("{field}.options_from"), from)?;
            }
            let has_options = !f.options.is_empty() || f.options_from.is_some();
            if (f.kind == FilterKind::Select) != has_options {
                return Err(err(
                    &format!("{field}.options"),
                    "(or `options_from`) are needed by `select` filters, and only by them",
                ));
            }
        }
        for (name, value) in [("x", &self.x), ("y", &self.y), ("series", &self.series)] {
            if let Some(v) = value {
                check_field_name(&format!("{at}.{name}"), v)?;
            }
        }
        match self.kind {
            ViewKind::Table => {
                if self.columns.is_empty() {
                    return Err(err(&format!("{at}.columns"), "must name at least one column of a table"));
                }
                if self.x.is_some() || self.y.is_some() || self.series.is_some() || self.stacked || self.unit.is_some()
                {
                    return Err(err(at, "is a table: `x`, `y`, `series`, `stacked` and `unit` are for charts"));
                }
            }
            ViewKind::BarChart | ViewKind::LineChart => {
                if self.x.is_none() || self.y.is_none() {
                    return Err(err(at, "is a chart: it needs `x` and `y`"));
                }
                if !self.columns.is_empty() || self.edit.is_some() || self.export.is_some() {
                    return Err(err(at, "is a chart: `columns`, `edit` and `export` are for tables"));
                }
                if self.stacked && self.kind == ViewKind::LineChart {
                    return Err(err(&format!("{at}.stacked"), "is for bar charts"));
                }
            }
        }
        if let Some(edit) = &self.edit {
            let field = format!("{at}.edit");
            own(&format!("{field}.operation"), &edit.operation, "action:")?;
            check_field_name(&format!("{field}.key"), &edit.key)?;
            check_options(&format!("{field}.options"), &edit.options)?;
            if !self.columns.iter().any(|c| c.field == edit.column) {
                return Err(err(&format!("{field}.column"), format!("`{}` is not one of the columns", edit.column)));
            }
        }
        if let Some(export) = &self.export {
            let field = format!("{at}.export");
            own(&format!("{field}.operation"), &export.operation, "query:")?;
            check_field_name(&format!("{field}.field"), &export.field)?;
            let name_ok = (1..=64).contains(&export.filename.len())
                && export.filename.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                && !export.filename.starts_with('.');
            if !name_ok {
                return Err(err(&format!("{field}.filename"), "must be a plain file name such as `expenses.csv`"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OPS: &[&str] = &["query:fin.rows.v1", "action:fin.set.input.v1"];

    fn view(patch: Value) -> OpResult<()> {
        let mut v = json!({
            "id": "rows", "title": "Rows", "kind": "table", "operation": "query:fin.rows.v1",
            "rows": "items", "columns": [{"field": "name", "label": "Name"}]
        });
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        let view: View = serde_json::from_value(v).map_err(|e| OpError::invalid(e.to_string()))?;
        view.validate("views[0]", OPS)
    }

    #[test]
    fn a_view_reaches_only_its_own_operations() {
        assert!(view(json!({})).is_ok());
        let e = view(json!({"operation": "query:vdfs.entry.v1"})).unwrap_err();
        assert!(e.message.contains("views[0].operation"), "{e}");
        let e = view(json!({"operation": "action:fin.set.input.v1"})).unwrap_err();
        assert!(e.message.contains("`query:`"), "{e}");
        let edit = json!({"column": "name", "operation": "query:fin.rows.v1", "key": "id"});
        assert!(view(json!({"edit": edit})).unwrap_err().message.contains("edit.operation"));
    }

    #[test]
    fn a_chart_names_its_unit_and_a_select_may_take_its_choices_from_the_data() {
        let filters = json!([{"field": "currency", "label": "Currency", "kind": "select", "options_from": "used"}]);
        let chart =
            json!({"kind": "line_chart", "columns": [], "x": "m", "y": "t", "unit": "currency", "filters": filters});
        assert!(view(chart).is_ok());
    }

    #[test]
    fn shapes_are_checked() {
        let cases = [
            (json!({"id": "Bad Id"}), "views[0].id"),
            (json!({"title": "<b>\n"}), "title"),
            (json!({"rows": "a.<b>"}), "rows"),
            (json!({"columns": []}), "at least one column"),
            (json!({"kind": "bar_chart", "columns": [], "x": "m"}), "needs `x` and `y`"),
            (json!({"kind": "line_chart", "columns": [], "x": "m", "y": "t", "stacked": true}), "stacked"),
            (json!({"filters": [{"field": "c", "label": "C", "kind": "select"}]}), "options"),
            (json!({"filters": [{"field": "c", "label": "C", "options_from": "used"}]}), "options"),
            (
                json!({"filters": [{"field": "c", "label": "C", "kind": "select", "options_from": "a..b"}]}),
                "options_from",
            ),
            (json!({"unit": "currency"}), "`unit` are for charts"),
            (json!({"kind": "bar_chart", "columns": [], "x": "m", "y": "t", "unit": "<b>"}), "unit"),
            (json!({"edit": {"column": "nope", "operation": "action:fin.set.input.v1", "key": "id"}}), "edit.column"),
            (json!({"export": {"operation": "query:fin.rows.v1", "field": "csv", "filename": "../x"}}), "filename"),
            (json!({"input": [1]}), "input"),
        ];
        for (patch, expected) in cases {
            let e = view(patch.clone()).unwrap_err();
            assert!(e.message.contains(expected), "{patch}: {e}");
        }
    }
}
