//! The applier against a real destination, fed a recorded input: how it treats an input that
//! ends inside a transaction, and one that breaks the transaction structure.

use std::sync::{Arc, OnceLock};

use dts_testkit::Sandbox;
use dts_types::{BinlogPosition, Ident, RowChange, SourcePosition, TableId, Value};
use mysql::prelude::Queryable;

use crate::{Applier, ApplyError, ApplyOptions, Input, InputError, InputSource, RowTarget};

fn dest() -> &'static Sandbox {
    static DEST: OnceLock<Sandbox> = OnceLock::new();
    DEST.get_or_init(|| Sandbox::builder("destination").start().expect("a destination server"))
}

/// A recorded history; a restart replays what follows the checkpoint's commit.
struct Recorded(Vec<Input>, usize);

impl InputSource for Recorded {
    fn start(&mut self, from: Option<&SourcePosition>) -> Result<(), InputError> {
        self.1 = self
            .0
            .iter()
            .position(|i| matches!((i, from), (Input::Commit(c), Some(f)) if c.binlog == f.binlog))
            .map_or(0, |at| at + 1);
        Ok(())
    }

    fn next_input(&mut self) -> Option<Result<Input, InputError>> {
        let input = self.0.get(self.1)?.clone();
        self.1 += 1;
        Some(Ok(input))
    }
}

fn at(offset: u64) -> SourcePosition {
    SourcePosition { binlog: BinlogPosition::new("binlog.000001", offset), gtid: None }
}

/// A fresh database with `kv (id INT PRIMARY KEY, v INT)`, and the target of its rows.
fn kv() -> (Ident, Arc<RowTarget>) {
    let db = dest().fresh_database("applier_unit").unwrap();
    dest().conn().unwrap().query_drop(format!("CREATE TABLE {}.kv (id INT PRIMARY KEY, v INT)", db.quoted())).unwrap();
    let table = TableId::new(db.clone(), Ident::new("kv").unwrap());
    (db, Arc::new(RowTarget::identity(table, &[Ident::new("id").unwrap(), Ident::new("v").unwrap()])))
}

fn insert(target: &Arc<RowTarget>, id: i64) -> Input {
    Input::Row { target: target.clone(), change: RowChange::Insert { after: vec![Value::Int(id), Value::Int(id)] } }
}

fn ids(db: &Ident) -> Vec<i64> {
    dest().conn().unwrap().query(format!("SELECT id FROM {}.kv ORDER BY id", db.quoted())).unwrap()
}

fn options(db: &Ident, workers: usize) -> ApplyOptions {
    let mut o = ApplyOptions::new(db.as_str());
    o.workers = workers;
    o
}

#[test]
fn an_input_ending_inside_a_transaction_commits_nothing_of_it() {
    for workers in [1, 2] {
        let (db, t) = kv();
        let mut history = vec![Input::Begin, insert(&t, 1), Input::Commit(at(100)), Input::Begin, insert(&t, 2)];
        let mut a = Applier::new(dest().opts(), options(&db, workers)).unwrap();
        a.run(&mut Recorded(history.clone(), 0)).unwrap();
        let first = (ids(&db), a.checkpoint().unwrap());
        if workers == 1 {
            // The whole transaction grouped with it did not commit either (their rows are
            // netted together): the checkpoint stays before both.
            assert_eq!(first, (vec![], None));
        } else {
            // The group of whole transactions is dispatched alone.
            assert_eq!(first, (vec![1], Some(at(100))));
        }
        // The input goes on from the checkpoint, the transaction now whole.
        history.push(Input::Commit(at(200)));
        a.run(&mut Recorded(history, 0)).unwrap();
        assert_eq!((ids(&db), a.checkpoint().unwrap()), (vec![1, 2], Some(at(200))), "{workers} worker(s)");
    }
}

#[test]
fn rows_outside_a_transaction_break_the_structure() {
    for workers in [1, 2] {
        let (db, t) = kv();
        let mut a = Applier::new(dest().opts(), options(&db, workers)).unwrap();
        let err = a.run(&mut Recorded(vec![insert(&t, 1), Input::Commit(at(100))], 0)).unwrap_err();
        assert!(matches!(&err, ApplyError::Protocol(m) if m.contains("Row outside a transaction")), "{err}");
        assert_eq!((ids(&db), a.checkpoint().unwrap()), (vec![], None));
    }
}

/// The task's totals of committed work (`dts_types::totals`), by name.
fn totals(db: &Ident) -> std::collections::BTreeMap<String, u64> {
    let o = options(db, 1);
    dest().conn().unwrap().query(dts_types::totals::read_sql(&o.meta_db, db.as_str())).unwrap().into_iter().collect()
}

#[test]
fn committed_work_is_counted_once_with_its_checkpoint_even_when_replayed() {
    for workers in [1, 2] {
        let (db, t) = kv();
        let mut history = vec![Input::Begin, insert(&t, 1), Input::Commit(at(100)), Input::Begin, insert(&t, 2)];
        let mut a = Applier::new(dest().opts(), options(&db, workers)).unwrap();
        a.run(&mut Recorded(history.clone(), 0)).unwrap();
        history.extend([Input::Commit(at(200)), Input::Begin, insert(&t, 3), insert(&t, 4), Input::Commit(at(300))]);
        a.run(&mut Recorded(history.clone(), 0)).unwrap();
        // Replayed from the start: what is applied already is skipped, and not counted again.
        let mut b = Applier::new(dest().opts(), options(&db, workers)).unwrap();
        b.run(&mut Recorded(history, 0)).unwrap();
        assert_eq!(ids(&db), [1, 2, 3, 4]);
        let got = totals(&db);
        assert_eq!(got.get("rows_applied"), Some(&4), "{workers} worker(s): {got:?}");
        assert_eq!(got.get("transactions_applied"), Some(&3), "{workers} worker(s): {got:?}");
    }
}

#[test]
fn statements_sent_together_return_the_error_of_any_of_them() {
    let (db, _) = kv();
    let mut c = dest().conn().unwrap();
    let q = db.quoted();
    let ok = [format!("INSERT INTO {q}.kv VALUES (1, 1)"), format!("INSERT INTO {q}.kv VALUES (2, 2)")];
    crate::txn::together(&mut c, &ok).unwrap();
    let second_fails = [format!("INSERT INTO {q}.kv VALUES (3, 3)"), format!("INSERT INTO {q}.kv VALUES (1, 1)")];
    let e = crate::txn::together(&mut c, &second_fails).unwrap_err();
    assert!(e.to_string().contains("Duplicate entry"), "{e}");
}

/// A keyless destination table in another character set than the source's values, with rows
/// equal only under its collation: each update and delete lands on its exact row.
#[test]
fn keyless_changes_find_their_exact_row_in_another_character_set() {
    use dts_types::value::{Charset, Text};
    let utf8 = |s: &str| Value::String(Text::new(Charset::UTF8MB4, s.as_bytes().to_vec()));
    for charset in ["latin1", "ucs2"] {
        let db = dest().fresh_database("applier_exact").unwrap();
        let mut c = dest().conn().unwrap();
        c.query_drop(format!(
            "CREATE TABLE {q}.w (s VARCHAR(10) CHARACTER SET {charset} COLLATE {charset}_general_ci, n INT, KEY (s)); \
             INSERT INTO {q}.w VALUES ('a', 0), ('A', 0), ('x', 0), ('x ', 0), ('é', 0), ('e', 0)",
            q = db.quoted()
        ))
        .unwrap();
        let table = TableId::new(db.clone(), Ident::new("w").unwrap());
        let t = Arc::new(RowTarget::identity(table, &[Ident::new("s").unwrap(), Ident::new("n").unwrap()]));
        let update = |s: &str, n: i64| Input::Row {
            target: t.clone(),
            change: RowChange::Update { before: vec![utf8(s), Value::Int(0)], after: vec![utf8(s), Value::Int(n)] },
        };
        let delete = |s: &str| Input::Row {
            target: t.clone(),
            change: RowChange::Delete { before: vec![utf8(s), Value::Int(0)] },
        };
        let history =
            vec![Input::Begin, update("A", 1), update("x ", 2), delete("e"), update("é", 3), Input::Commit(at(100))];
        let mut a = Applier::new(dest().opts(), options(&db, 1)).unwrap();
        a.run(&mut Recorded(history, 0)).unwrap();
        let rows: Vec<(String, i64)> = c
            .query(format!(
                "SELECT CONCAT('[', s, ']'), n FROM {}.w ORDER BY BINARY CONVERT(s USING utf8mb4)",
                db.quoted()
            ))
            .unwrap();
        let rows: Vec<(&str, i64)> = rows.iter().map(|(s, n)| (s.as_str(), *n)).collect();
        assert_eq!(rows, [("[A]", 1), ("[a]", 0), ("[x]", 0), ("[x ]", 2), ("[é]", 3)], "{charset}");
    }
}

/// The exact match's form for a collation that pads with spaces (MySQL's `_bin`s) also tells
/// trailing spaces and case apart: checked by running its WHERE clause on a real server.
#[test]
fn the_pad_space_form_of_the_exact_match_tells_trailing_spaces_apart() {
    use crate::target::TablePlan;
    use dts_types::exact_match::ExactCollation;
    use dts_types::value::{Charset, Text};
    let db = dest().fresh_database("applier_pad").unwrap();
    let mut c = dest().conn().unwrap();
    c.query_drop(format!(
        "CREATE TABLE {q}.w (s VARCHAR(10) CHARACTER SET latin1); INSERT INTO {q}.w VALUES ('x'), ('x '), ('X')",
        q = db.quoted()
    ))
    .unwrap();
    let plan = TablePlan {
        target: TableId::new(db.clone(), Ident::new("w").unwrap()),
        write: vec![(0, "`s`".to_string())],
        key: vec![],
        column_list: "`s`".to_string(),
        exact: vec![Some(ExactCollation {
            collation: "latin1_bin".to_string(),
            compare_lengths: true,
            indexed: false,
            max_chars: None,
        })],
        row_identity: vec![],
        uniques: vec![],
        cascade: None,
    };
    for s in ["x", "x ", "X"] {
        let row = [Value::String(Text::new(Charset::UTF8MB4, s.as_bytes().to_vec()))];
        let mut cond = String::new();
        crate::sql::all_match(&plan, &row, &mut cond).unwrap();
        let found: Vec<String> =
            c.query(format!("SELECT CONCAT('[', s, ']') FROM {}.w WHERE {cond}", db.quoted())).unwrap();
        assert_eq!(found, [format!("[{s}]")], "{cond}");
    }
}

/// The serial path sends each group's commit from a thread of its own while it builds the
/// next group: a commit that fails there (here the fence: another runner holds the task)
/// still stops the run with its error, and nothing of it is committed.
#[test]
fn a_pipelined_commit_that_fails_returns_its_error_and_commits_nothing() {
    let (db, t) = kv();
    let mut o = options(&db, 1);
    let fence = dts_types::fence::Fence { db: o.meta_db.clone(), task: o.task.clone(), epoch: 7 };
    let mut c = dest().conn().unwrap();
    c.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", o.meta_db.quoted())).unwrap();
    c.query_drop(format!("CREATE TABLE IF NOT EXISTS {} (task VARCHAR(200) PRIMARY KEY, epoch BIGINT)", fence.table()))
        .unwrap();
    c.query_drop(format!("REPLACE INTO {} VALUES ('{}', 8)", fence.table(), o.task)).unwrap();
    o.fence = Some(fence);
    o.group_transactions = 1;
    let history =
        vec![Input::Begin, insert(&t, 1), Input::Commit(at(100)), Input::Begin, insert(&t, 2), Input::Commit(at(200))];
    let mut a = Applier::new(dest().opts(), o).unwrap();
    let err = a.run(&mut Recorded(history, 0)).unwrap_err();
    assert!(err.to_string().contains("another runner took over"), "{err}");
    assert_eq!((ids(&db), a.checkpoint().unwrap()), (vec![], None));
}

/// A keyless destination table whose columns store less than the source's values: a CHAR
/// (read back without trailing spaces) and a VARCHAR shorter than the value (it keeps only
/// as many trailing spaces as fit). Each change still finds its row, so no fallback INSERT
/// duplicates one, and case twins stay apart.
#[test]
fn keyless_changes_find_rows_a_shorter_or_char_column_stores_cut() {
    use dts_types::value::{Charset, Text};
    let utf8 = |s: &str| Value::String(Text::new(Charset::UTF8MB4, s.as_bytes().to_vec()));
    let db = dest().fresh_database("applier_cut").unwrap();
    let mut c = dest().conn().unwrap();
    c.query_drop(format!(
        "CREATE TABLE {q}.w (c CHAR(4), v VARCHAR(3), n INT); \
         INSERT INTO {q}.w VALUES ('X', 'ab   ', 0), ('x', 'ab   ', 0), ('y', 'Ab  ', 0)",
        q = db.quoted()
    ))
    .unwrap();
    let table = TableId::new(db.clone(), Ident::new("w").unwrap());
    let names = [Ident::new("c").unwrap(), Ident::new("v").unwrap(), Ident::new("n").unwrap()];
    let t = Arc::new(RowTarget::identity(table, &names));
    let row = |c: &str, v: &str, n: i64| vec![utf8(c), utf8(v), Value::Int(n)];
    let history = vec![
        Input::Begin,
        Input::Row {
            target: t.clone(),
            change: RowChange::Update { before: row("x  ", "ab   ", 0), after: row("x", "ab", 1) },
        },
        Input::Row { target: t.clone(), change: RowChange::Delete { before: row("y", "Ab  ", 0) } },
        Input::Commit(at(100)),
    ];
    let mut a = Applier::new(dest().opts(), options(&db, 1)).unwrap();
    let stats = a.run(&mut Recorded(history, 0)).unwrap();
    assert_eq!((stats.update_missing, stats.delete_missing), (0, 0), "every change found its row");
    let rows: Vec<(String, String, i64)> =
        c.query(format!("SELECT c, v, n FROM {}.w ORDER BY BINARY c", db.quoted())).unwrap();
    assert_eq!(rows, [("X".to_string(), "ab ".to_string(), 0), ("x".to_string(), "ab".to_string(), 1)]);
}

/// Netting spans the whole group, not one packet: ten hot rows updated in each of 400
/// transactions are written once, and the statements are cut at the packet size.
#[test]
fn a_group_nets_its_hot_rows_once_across_packets() {
    let (db, t) = kv();
    let mut history = Vec::new();
    for id in 1..=10 {
        history.extend([Input::Begin, insert(&t, id), Input::Commit(at(id as u64))]);
    }
    for i in 0..400i64 {
        history.push(Input::Begin);
        for id in 1..=10 {
            let change = RowChange::Update {
                before: vec![Value::Int(id), Value::Int(i)],
                after: vec![Value::Int(id), Value::Int(i + 1)],
            };
            history.push(Input::Row { target: t.clone(), change });
        }
        history.extend([insert(&t, 1000 + i), Input::Commit(at(100 + i as u64))]);
    }
    let mut o = options(&db, 1);
    o.batch_bytes = 4096;
    let mut a = Applier::new(dest().opts(), o).unwrap();
    let stats = a.run(&mut Recorded(history, 0)).unwrap();
    let rows: Vec<(i64, i64)> =
        dest().conn().unwrap().query(format!("SELECT id, v FROM {}.kv ORDER BY id", db.quoted())).unwrap();
    let expected: Vec<(i64, i64)> =
        (1..=10).map(|id| (id, 400)).chain((0..400).map(|i| (1000 + i, 1000 + i))).collect();
    assert_eq!(rows, expected);
    // 410 images of about 12 bytes: two REPLACEs of new rows cut at 4 KiB, one of the hot
    // rows. Netting per 4 KiB packet wrote the hot rows once per packet: over 40 statements.
    assert!(stats.statements <= 4, "{} statements", stats.statements);
    assert_eq!(stats.row_changes, 4410);
}

/// A string primary key is netted by its bytes although its collation folds case, accents and
/// trailing spaces: keys of one row under the collation ('a', 'A', 'á', 'a ') end as the
/// source's row, because every key ending deleted is deleted before any last image is written.
#[test]
fn string_keys_equal_under_their_collation_net_to_the_source_row() {
    use dts_types::value::{Charset, Text};
    let utf8 = |s: &str| Value::String(Text::new(Charset::UTF8MB4, s.as_bytes().to_vec()));
    let db = dest().fresh_database("applier_string_net").unwrap();
    let mut c = dest().conn().unwrap();
    c.query_drop(format!(
        "CREATE TABLE {q}.s (k VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, v INT); \
         INSERT INTO {q}.s VALUES ('a', 1), ('b', 1), ('c', 1)",
        q = db.quoted()
    ))
    .unwrap();
    let table = TableId::new(db.clone(), Ident::new("s").unwrap());
    let t = Arc::new(RowTarget::identity(table, &[Ident::new("k").unwrap(), Ident::new("v").unwrap()]));
    let row = |k: &str, v: i64| vec![utf8(k), Value::Int(v)];
    let ins = |k: &str, v: i64| Input::Row { target: t.clone(), change: RowChange::Insert { after: row(k, v) } };
    let del = |k: &str, v: i64| Input::Row { target: t.clone(), change: RowChange::Delete { before: row(k, v) } };
    let upd = |k: &str, v: i64, k2: &str, v2: i64| Input::Row {
        target: t.clone(),
        change: RowChange::Update { before: row(k, v), after: row(k2, v2) },
    };
    let mut history = Vec::new();
    // One group: the row 'a' goes away as 'a', comes back as 'A', goes away as 'A' and comes
    // back as 'a' (its key ending with an image is netted before the one ending deleted);
    // 'b' becomes 'B' by an update of its key; 'c' is deleted and 'C ' inserted; 'd' is
    // inserted as 'd' and deleted as such.
    history.extend([Input::Begin, del("a", 1), ins("A", 2), Input::Commit(at(20))]);
    history.extend([Input::Begin, del("A", 2), ins("a", 3), Input::Commit(at(30))]);
    history.extend([Input::Begin, upd("b", 1, "B", 4), Input::Commit(at(40))]);
    history.extend([Input::Begin, del("c", 1), ins("C ", 5), ins("d", 6), del("d", 6), Input::Commit(at(50))]);
    let mut a = Applier::new(dest().opts(), options(&db, 1)).unwrap();
    a.run(&mut Recorded(history, 0)).unwrap();
    let rows: Vec<(String, i64)> =
        c.query(format!("SELECT CONCAT('[', k, ']'), v FROM {}.s ORDER BY BINARY k", db.quoted())).unwrap();
    let rows: Vec<(&str, i64)> = rows.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(rows, [("[B]", 4), ("[C ]", 5), ("[a]", 3)]);
}
