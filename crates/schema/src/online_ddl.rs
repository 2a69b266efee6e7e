//! Online schema change tools (gh-ost, pt-online-schema-change): recognising their shadow
//! tables and triggers by name.

use serde::{Deserialize, Serialize};

use crate::selection::wildcard_match;

/// What to do with an online schema change on the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnlineDdlMode {
    /// Copy the shadow tables like any table: the destination goes through the same steps.
    Copy,
    /// Skip the shadow tables (their DDL and rows) and apply the tool's ALTER to the real table
    /// when the tool swaps the tables (gh-ost and pt-online-schema-change alike).
    #[default]
    ApplyAtCutOver,
}

/// The role of a shadow object in a tool's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShadowRole {
    /// The new table being built (gh-ost `_t_gho`, pt-osc `_t_new`).
    Ghost,
    /// gh-ost's changelog table `_t_ghc`.
    Changelog,
    /// The old table after the swap (gh-ost `_t_del`, pt-osc `_t_old`).
    Old,
}

/// Name templates of a tool's shadow tables; `{table}` stands for the real table's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowNames {
    /// The new table being built (gh-ost `_{table}_gho`, pt-osc `_{table}_new`).
    pub ghost: Vec<String>,
    /// gh-ost's changelog table.
    pub changelog: Vec<String>,
    /// The old table after the swap.
    pub old: Vec<String>,
    /// Trigger name patterns (wildcards) of the tool.
    pub triggers: Vec<String>,
}

impl Default for ShadowNames {
    /// gh-ost's and pt-online-schema-change's default names.
    fn default() -> Self {
        ShadowNames {
            ghost: vec!["_{table}_gho".into(), "_{table}_new".into()],
            changelog: vec!["_{table}_ghc".into()],
            old: vec!["_{table}_del".into(), "_{table}_old".into()],
            triggers: vec!["pt_osc_*".into()],
        }
    }
}

impl ShadowNames {
    /// If `name` is a shadow table, its role and the real table's name.
    pub fn classify(&self, name: &str) -> Option<(ShadowRole, String)> {
        self.matching(name).map(|(role, base, _)| (role, base.to_string()))
    }

    /// The shadow table `name` renamed for a real table called `base` (the template that
    /// matches `name` filled with `base`): `_orders_new` for `goods` is `_goods_new`.
    pub fn with_base(&self, name: &str, base: &str) -> Option<String> {
        self.matching(name).map(|(_, _, template)| template.replace("{table}", base))
    }

    /// The first template matching `name`: its role, the real table's name and the template.
    fn matching<'a>(&'a self, name: &'a str) -> Option<(ShadowRole, &'a str, &'a str)> {
        for (role, templates) in
            [(ShadowRole::Ghost, &self.ghost), (ShadowRole::Changelog, &self.changelog), (ShadowRole::Old, &self.old)]
        {
            for t in templates {
                let Some((pre, post)) = t.split_once("{table}") else { continue };
                if let Some(base) = name.strip_prefix(pre).and_then(|r| r.strip_suffix(post))
                    && !base.is_empty()
                {
                    return Some((role, base, t));
                }
            }
        }
        None
    }

    /// Whether a trigger is one the tool created.
    pub fn is_tool_trigger(&self, name: &str) -> bool {
        self.triggers.iter().any(|p| wildcard_match(p, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadow_names_of_both_tools() {
        let s = ShadowNames::default();
        assert_eq!(s.classify("_orders_gho"), Some((ShadowRole::Ghost, "orders".into())));
        assert_eq!(s.classify("_orders_ghc"), Some((ShadowRole::Changelog, "orders".into())));
        assert_eq!(s.classify("_orders_del"), Some((ShadowRole::Old, "orders".into())));
        assert_eq!(s.classify("_my_t_new"), Some((ShadowRole::Ghost, "my_t".into())));
        assert_eq!(s.classify("orders"), None);
        assert_eq!(s.classify("__gho"), None);
        assert!(s.is_tool_trigger("pt_osc_shop_orders_ins"));
        assert_eq!(s.with_base("_orders_new", "goods").as_deref(), Some("_goods_new"));
        assert_eq!(s.with_base("_orders_ghc", "goods").as_deref(), Some("_goods_ghc"));
        assert_eq!(s.with_base("orders", "goods"), None);
    }
}
