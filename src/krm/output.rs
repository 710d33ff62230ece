//! The output ResourceList: the items in their new order, carried ones as their own text, the
//! functionConfig as it came, and the results.

use super::results::result;
use super::results::summary;
use super::{Out, Run, resource_list};
use crate::diagnostic::Severity;
use crate::render::serialize;
use crate::yaml_tree::Yaml;

impl Run<'_, '_> {
    /// The output list: the items in their new order (carried ones as their own text), the
    /// functionConfig as it came, and the results.
    pub(super) fn output_list(&self) -> anyhow::Result<String> {
        let mut results: Vec<Yaml> = self
            .findings
            .iter()
            .map(|f| {
                result(
                    match f.severity {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                    },
                    &summary(f),
                    self.config_ref.clone(),
                    f.field.as_deref(),
                    Some(&f.file),
                )
            })
            .collect();
        results.extend(self.notes.iter().cloned());
        let list = self.list;
        let dash = list.dash_column;
        let mut text = String::with_capacity(
            list.items
                .iter()
                .map(|item| item.unit.len() + 1)
                .sum::<usize>()
                + 4096,
        );
        text.push_str(list.prefix);
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        let api_version = list
            .api_version
            .clone()
            .unwrap_or_else(|| "config.kubernetes.io/v1".into());
        text.push_str(&format!(
            "apiVersion: {}\nkind: ResourceList\n",
            Yaml::Str(api_version).to_block(0).trim_end()
        ));
        text.push_str(if self.out.is_empty() {
            "items: []\n"
        } else {
            "items:\n"
        });
        for out in &self.out {
            match out {
                Out::Carried(index) => {
                    let item = &list.items[*index];
                    if item.block_unit {
                        text.push_str(item.unit);
                        if !text.ends_with('\n') {
                            text.push('\n');
                        }
                    } else {
                        resource_list::place(item.node, item.column, false, "- ", &mut text);
                    }
                }
                Out::Generated(document) => push_item(&mut text, document, dash),
                Out::Switched(workload) => push_item(&mut text, &workload.to_block(0), dash),
            }
        }
        if let Some(config) = &list.function_config {
            resource_list::place(
                config.node,
                config.column,
                config.block_node,
                "functionConfig: ",
                &mut text,
            );
        }
        if !results.is_empty() {
            text.push_str("results:\n");
            text.push_str(&serialize::document(&Yaml::Seq(results))?);
            if !text.ends_with('\n') {
                text.push('\n');
            }
        }
        Ok(text)
    }
}

/// A document (block YAML at column 0) as an entry of the items list, its `-` at `dash`.
pub(super) fn push_item(text: &mut String, document: &str, dash: usize) {
    for (index, line) in document.lines().enumerate() {
        if index == 0 {
            text.push_str(&" ".repeat(dash));
            text.push_str("- ");
        } else if !line.is_empty() {
            text.push_str(&" ".repeat(dash + 2));
        }
        text.push_str(line);
        text.push('\n');
    }
}
