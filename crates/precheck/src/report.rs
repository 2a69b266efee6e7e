//! Precheck items, the report that holds them, acknowledgement of warnings, and the two
//! renderings (a table for people, JSON for programs).

use serde::Serialize;

/// How an item came out. Ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to do.
    Pass,
    /// Stops the task unless acknowledged.
    Warning,
    /// Stops the task until fixed.
    Failure,
}

impl Status {
    /// `pass`, `warning` or `failure`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warning => "warning",
            Status::Failure => "failure",
        }
    }
}

/// One checked thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Stable id (`source.binlog_format`), the name to acknowledge a warning by.
    pub id: String,
    /// What is checked, in a few words.
    pub title: String,
    /// How it came out.
    pub status: Status,
    /// What was found.
    pub found: String,
    /// How to fix it (empty for a pass).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
    /// A warning the user acknowledged: it no longer stops the task.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub acknowledged: bool,
}

impl Item {
    /// A passed item.
    pub fn pass(id: &str, title: &str, found: impl Into<String>) -> Item {
        Item::new(id, title, Status::Pass, found.into(), String::new())
    }

    /// A warning, with its fix; the fix ends naming how to acknowledge it (`--ignore ID`, or
    /// `[precheck] acknowledge` in the task file).
    pub fn warning(id: &str, title: &str, found: impl Into<String>, fix: impl Into<String>) -> Item {
        let fix: String = fix.into();
        let how =
            format!("acknowledge it with `--ignore {id}` (or `[precheck] acknowledge = [\"{id}\"]` in the task file)");
        let fix = match fix.strip_suffix("or acknowledge") {
            Some(head) => format!("{head}or {how}"),
            None if fix.is_empty() => how.replacen('a', "A", 1),
            None => format!("{}; or {how}", fix.trim_end_matches(['.', ' '])),
        };
        Item::new(id, title, Status::Warning, found.into(), fix)
    }

    /// A failure, with its fix.
    pub fn failure(id: &str, title: &str, found: impl Into<String>, fix: impl Into<String>) -> Item {
        Item::new(id, title, Status::Failure, found.into(), fix.into())
    }

    fn new(id: &str, title: &str, status: Status, found: String, fix: String) -> Item {
        Item { id: id.into(), title: title.into(), status, found, fix, acknowledged: false }
    }

    /// Whether this item stops the task from starting.
    pub fn blocks(&self) -> bool {
        match self.status {
            Status::Pass => false,
            Status::Warning => !self.acknowledged,
            Status::Failure => true,
        }
    }
}

/// Why an acknowledgement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// No item has the id.
    #[error("no precheck item has the id {id:?}; the ids of this task are: {known}")]
    Unknown {
        /// The id asked for.
        id: String,
        /// The ids of the report, comma-separated.
        known: String,
    },
    /// The item is a failure: only its fix helps.
    #[error("{id} is a failure, which cannot be acknowledged: {fix}")]
    Failure {
        /// The item's id.
        id: String,
        /// Its fix.
        fix: String,
    },
}

/// Every item of one precheck run, in a fixed order (connectivity, versions, privileges,
/// binlog, objects, destination).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The items, in check order.
    pub items: Vec<Item>,
}

impl Report {
    /// The item with this id.
    pub fn get(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }

    /// Acknowledges warnings by id so they no longer stop the task. An id that names a pass
    /// is accepted (nothing to do); an unknown id or a failure is refused.
    pub fn acknowledge<S: AsRef<str>>(&mut self, ids: &[S]) -> Result<(), AckError> {
        for id in ids {
            let id = id.as_ref();
            let known = self.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>().join(", ");
            let Some(item) = self.items.iter_mut().find(|i| i.id == id) else {
                return Err(AckError::Unknown { id: id.into(), known });
            };
            match item.status {
                Status::Failure => return Err(AckError::Failure { id: id.into(), fix: item.fix.clone() }),
                Status::Warning => item.acknowledged = true,
                Status::Pass => {}
            }
        }
        Ok(())
    }

    /// The items that stop the task: failures and unacknowledged warnings.
    pub fn blocking(&self) -> Vec<&Item> {
        self.items.iter().filter(|i| i.blocks()).collect()
    }

    /// Whether the task may start.
    pub fn passed(&self) -> bool {
        self.blocking().is_empty()
    }

    /// How many items came out with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.items.iter().filter(|i| i.status == status).count()
    }

    /// The report as JSON for programs: `passed`, the counts per status, and the items.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Out<'a> {
            passed: bool,
            pass: usize,
            warning: usize,
            failure: usize,
            items: &'a [Item],
        }
        serde_json::to_string_pretty(&Out {
            passed: self.passed(),
            pass: self.count(Status::Pass),
            warning: self.count(Status::Warning),
            failure: self.count(Status::Failure),
            items: &self.items,
        })
        .expect("a report serializes")
    }

    /// A table for a terminal: status, id and what was found; the fix under each item that is
    /// not a pass; a summary line last.
    pub fn to_table(&self) -> String {
        let id_width = self.items.iter().map(|i| i.id.len()).max().unwrap_or(2).max(2);
        let mut out = format!("{:<8}  {:<id_width$}  FOUND\n", "STATUS", "ID");
        for i in &self.items {
            let status = match (i.status, i.acknowledged) {
                (Status::Warning, true) => "ack'd",
                (s, _) => s.as_str(),
            };
            let mut lines = i.found.lines();
            out.push_str(&format!("{status:<8}  {:<id_width$}  {}\n", i.id, lines.next().unwrap_or("")));
            for l in lines {
                out.push_str(&format!("{:<8}  {:<id_width$}  {l}\n", "", ""));
            }
            if i.status != Status::Pass {
                for l in i.fix.lines() {
                    out.push_str(&format!("{:<8}  {:<id_width$}  fix: {l}\n", "", ""));
                }
            }
        }
        let blocking = self.blocking().len();
        out.push_str(&format!(
            "{} passed, {} warnings ({} acknowledged), {} failed: {}\n",
            self.count(Status::Pass),
            self.count(Status::Warning),
            self.items.iter().filter(|i| i.acknowledged).count(),
            self.count(Status::Failure),
            if blocking == 0 { "the task may start".to_string() } else { format!("{blocking} item(s) stop the task") }
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            items: vec![
                Item::pass("source.log_bin", "binary log", "ON"),
                Item::warning("objects.primary_key", "keys", "t1 has no key", "add a primary key"),
                Item::failure("source.binlog_format", "format", "STATEMENT", "SET GLOBAL binlog_format = ROW"),
            ],
        }
    }

    #[test]
    fn warnings_can_be_acknowledged_failures_cannot() {
        let mut r = report();
        assert_eq!(r.blocking().len(), 2);
        r.acknowledge(&["objects.primary_key", "source.log_bin"]).unwrap();
        assert_eq!(r.blocking().len(), 1);
        assert!(!r.passed());
        assert!(matches!(r.acknowledge(&["source.binlog_format"]), Err(AckError::Failure { .. })));
        let e = r.acknowledge(&["objects.primary_kye"]).unwrap_err();
        assert!(e.to_string().contains("objects.primary_key"), "{e}");
        r.items.pop();
        assert!(r.passed());
    }

    #[test]
    fn table_and_json_show_every_item() {
        let mut r = report();
        r.acknowledge(&["objects.primary_key"]).unwrap();
        let t = r.to_table();
        assert!(t.contains("failure   source.binlog_format"), "{t}");
        assert!(t.contains("fix: SET GLOBAL binlog_format = ROW"), "{t}");
        assert!(t.contains("ack'd"), "{t}");
        assert!(t.ends_with("1 passed, 1 warnings (1 acknowledged), 1 failed: 1 item(s) stop the task\n"), "{t}");
        let j: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(j["passed"], false);
        assert_eq!(j["items"].as_array().unwrap().len(), 3);
        assert_eq!(j["items"][1]["acknowledged"], true);
        assert_eq!(j["items"][2]["status"], "failure");
        assert!(j["items"][0].get("fix").is_none());
    }

    #[test]
    fn a_warning_fix_names_the_flag_and_the_key() {
        let w = Item::warning("objects.primary_key", "keys", "t1", "add a key, or acknowledge");
        assert_eq!(
            w.fix,
            "add a key, or acknowledge it with `--ignore objects.primary_key` (or `[precheck] acknowledge = \
             [\"objects.primary_key\"]` in the task file)"
        );
        let w = Item::warning("a.b", "t", "f", "do this.");
        assert!(w.fix.starts_with("do this; or acknowledge it with `--ignore a.b`"), "{}", w.fix);
    }
}
