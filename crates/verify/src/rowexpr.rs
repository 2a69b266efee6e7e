//! The SQL expression that serializes a row the same way on both servers, byte-exactly and
//! without ambiguity, so equal rows hash equal and any difference shows.
//!
//! Each column becomes text: strings, binary values, JSON, ENUM, SET, BIT and GEOMETRY as
//! `<byte length>:<bytes>` (so a separator inside a value cannot shift the next one), numbers,
//! DECIMAL and temporal values as the server prints them (no comma in any of them; TIMESTAMP in
//! the session's `+00:00`), FLOAT widened to DOUBLE first (FLOAT prints only 6 digits, DOUBLE
//! prints the shortest exact form), and NULL as `N`, which no other form can be. Columns are
//! joined with commas.

use dts_types::ColumnType;

/// The text of a value (`expr`: a quoted column or an SQL expression of the column's type),
/// NULL-safe.
pub fn value(expr: &str, ty: &ColumnType) -> String {
    format!("IFNULL({}, 'N')", value_not_null(expr, ty))
}

/// The text of a value that cannot be NULL on either side (no NULL marker needed).
pub fn value_not_null(expr: &str, ty: &ColumnType) -> String {
    let q = expr.to_string();
    match ty {
        ColumnType::Float => format!("({q} + 0e0)"),
        ColumnType::TinyInt { .. }
        | ColumnType::SmallInt { .. }
        | ColumnType::MediumInt { .. }
        | ColumnType::Int { .. }
        | ColumnType::BigInt { .. }
        | ColumnType::Double
        | ColumnType::Decimal { .. }
        | ColumnType::Year
        | ColumnType::Date
        | ColumnType::Time { .. }
        | ColumnType::DateTime { .. }
        | ColumnType::Timestamp { .. } => q,
        _ => format!("CONCAT(LENGTH({q}), ':', {q})"),
    }
}

/// The whole row: values as (a quoted column or expression on this server, type, whether NOT
/// NULL on both sides).
pub fn row<'a>(columns: impl IntoIterator<Item = (String, &'a ColumnType, bool)>) -> String {
    let parts: Vec<String> = columns
        .into_iter()
        .map(|(e, t, not_null)| if not_null { value_not_null(&e, t) } else { value(&e, t) })
        .collect();
    format!("CONCAT_WS(',', {})", parts.join(", "))
}

/// The chunk checksum: row count and the sum of each row's CRC32 (a sum, not XOR, so
/// duplicate rows do not cancel out).
pub fn checksum_select(row: &str) -> String {
    format!("COUNT(*), COALESCE(SUM(CRC32({row})), 0)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions() {
        let ty = ColumnType::Int { unsigned: false };
        assert_eq!(value(&dts_types::quote_ident("a`b"), &ty), "IFNULL(`a``b`, 'N')");
        assert_eq!(value("`f`", &ColumnType::Float), "IFNULL((`f` + 0e0), 'N')");
        let s = dts_schema::parse_column_type("varchar(10)", Some("utf8mb4")).unwrap();
        assert_eq!(value("`s`", &s), "IFNULL(CONCAT(LENGTH(`s`), ':', `s`), 'N')");
        assert_eq!(
            row([("`a`".to_string(), &ty, true), ("`s`".to_string(), &s, false)]),
            format!("CONCAT_WS(',', `a`, {})", value("`s`", &s))
        );
    }
}
