//! Rendering row values as SQL literals: dts-types' exact renderer against mysql_common's
//! `Value::as_sql` (the renderer the mysql crate uses for client-side statements).
//!
//! Both render the same rows (a sysbench-like mix: integers, a DECIMAL, a DATETIME and text,
//! plus a DOUBLE) to one growing buffer, interleaved run by run. The baseline has no charset
//! introducers and escapes with backslashes, so it is not exact on every session; the figure is
//! what exactness costs, or saves.
//!
//! cargo run --release -p dts-benches --bin render_values [-- ROWS RUNS]

use dts_benches::{median, time_runs};
use dts_types::{Date, DateTime, Decimal, Text, Value};

fn rows(n: usize) -> Vec<Vec<Value>> {
    (0..n)
        .map(|i| {
            vec![
                Value::Int(i as i64),
                Value::UInt((i as u64).wrapping_mul(2_654_435_761) % 1_000_000),
                Value::Decimal(Decimal::parse(&format!("{}.{:02}", i * 7, i % 100)).unwrap()),
                Value::DateTime(
                    DateTime::new(
                        Date::new(2024, 1 + (i % 12) as u8, 1 + (i % 28) as u8).unwrap(),
                        12,
                        30,
                        15,
                        (i % 1_000_000) as u32,
                    )
                    .unwrap(),
                ),
                Value::Double(i as f64 * 0.1),
                Value::String(Text::utf8mb4(
                    &format!("{:0>60}-{i}", "x").replace('x', "68487932199-96439406143-93774651418-41631865787"),
                )),
            ]
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(200_000, |a| a.parse().expect("ROWS"));
    let runs: usize = args.next().map_or(7, |a| a.parse().expect("RUNS"));
    let data = rows(n);
    let baseline: Vec<Vec<mysql::Value>> =
        data.iter().map(|r| r.iter().map(|v| v.to_param().unwrap()).collect()).collect();

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut out = String::with_capacity(64 << 20);
    let (mut bytes_ours, mut bytes_theirs) = (0, 0);
    for _ in 0..runs {
        ours.extend(time_runs(1, || {
            out.clear();
            for r in &data {
                out.push('(');
                for (i, v) in r.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_sql_literal(&mut out).unwrap();
                }
                out.push_str("),");
            }
            bytes_ours = out.len();
        }));
        theirs.extend(time_runs(1, || {
            out.clear();
            for r in &baseline {
                out.push('(');
                for (i, v) in r.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&v.as_sql(false));
                }
                out.push_str("),");
            }
            bytes_theirs = out.len();
        }));
    }
    let (m_ours, m_theirs) = (median(ours), median(theirs));
    let rate = |d: std::time::Duration| n as f64 / d.as_secs_f64();
    println!("rows={n} runs={runs}");
    println!("dts-types write_sql_literal: median {m_ours:?}  {:>12.0} rows/s  {bytes_ours} bytes", rate(m_ours));
    println!("mysql_common Value::as_sql:  median {m_theirs:?}  {:>12.0} rows/s  {bytes_theirs} bytes", rate(m_theirs));
    println!("ratio (ours/baseline throughput): {:.2}", rate(m_ours) / rate(m_theirs));
}
