//! `pam_limits` (`community.general.pam_limits`): one limit in `/etc/security/limits.conf` (or
//! a file of `limits.d`).
//!
//! The edit is the module's, computed locally over the probed file ([`LimitEdit`]): the line
//! with the same domain, type and item gets the new value (with `use_max`/`use_min`, the larger
//! or smaller of the two), written as `domain<TAB>type<TAB>item<TAB>value`, or the line is
//! appended; the module's handling of comments is kept, quirks included (a comment seen on an
//! earlier line is carried onto the written one when `comment` is not given).
//!
//! Differences from Ansible: a missing directory is created rather than refused.

use anyhow::{bail, Result};

use super::lifecycle::{Args, BuildContext, Step};
use super::text_edit::{EditedFile, TextEdit};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Sets a PAM limit.
///
/// ```yaml
/// - pam_limits:
///     domain: elasticsearch
///     limit_type: '-'
///     limit_item: nofile
///     value: "65535"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "pam_limits",
    fqcn: "community.general.pam_limits",
    params: &[
        P::new("domain", Str).required(),
        P::new("limit_type", Str).required().choices(&["soft", "hard", "-"]),
        P::new("limit_item", Str).required().choices(&[
            "core", "data", "fsize", "memlock", "nofile", "rss", "stack", "cpu", "nproc", "as",
            "maxlogins", "maxsyslogins", "priority", "locks", "sigpending", "msgqueue", "nice",
            "rtprio", "chroot",
        ]),
        P::new("value", Str).required(),
        P::new("use_max", Bool).default(D::Bool(false)),
        P::new("use_min", Bool).default(D::Bool(false)),
        P::new("backup", Bool).default(D::Bool(false)),
        P::new("dest", Str).default(D::Str("/etc/security/limits.conf")),
        P::new("comment", Str).default(D::Str("")),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let edit = LimitEdit::from_args(args)?;
    Ok(Box::new(EditedFile {
        path: args.required_str("dest")?,
        edit,
        mode: None,
        owner: None,
        group: None,
        backup: args.flag("backup")?,
        validate: None,
    }))
}

/// The module's edit of a limits file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitEdit {
    pub domain: String,
    pub limit_type: String,
    pub item: String,
    pub value: String,
    pub use_max: bool,
    pub use_min: bool,
    pub comment: String,
}

fn check_value(item: &str, value: &str, prefix: &str) -> Result<()> {
    if item == "nice" || item == "priority" {
        if !value.trim().parse::<i64>().is_ok_and(|v| (-20..=19).contains(&v)) {
            bail!("{prefix} Value of '{value}' for item '{item}' is invalid. Value must be a number in the range -20 to 19 inclusive. Refer to the limits.conf(5) manual pages for more details.");
        }
    } else if !(is_unlimited(value) || (!value.is_empty() && value.chars().all(|c| c.is_ascii_digit()))) {
        bail!("{prefix} Value of '{value}' for item '{item}' is invalid. Value must either be 'unlimited', 'infinity' or -1, all of which indicate no limit, or a limit of 0 or larger. Refer to the limits.conf(5) manual pages for more details.");
    }
    Ok(())
}

fn is_unlimited(value: &str) -> bool {
    matches!(value, "unlimited" | "infinity" | "-1")
}

impl LimitEdit {
    pub fn from_args(args: &Args) -> Result<LimitEdit> {
        let edit = LimitEdit {
            domain: args.required_str("domain")?,
            limit_type: args.required_str("limit_type")?,
            item: args.required_str("limit_item")?,
            value: args.required_str("value")?,
            use_max: args.flag("use_max")?,
            use_min: args.flag("use_min")?,
            comment: args.str("comment")?.unwrap_or_default(),
        };
        if edit.use_max && edit.use_min {
            bail!("Cannot use use_min and use_max at the same time.");
        }
        check_value(&edit.item, &edit.value, "")?;
        for field in [&edit.domain, &edit.value, &edit.comment] {
            if field.contains(['\n', '\r']) {
                bail!("a limits.conf field is one line: {field:?}");
            }
        }
        Ok(edit)
    }

    fn new_value(&self, actual: &str) -> String {
        // The module compares limit types, not items, with `nice`/`priority` here: for those
        // items the "unlimited" words are ordinary values.
        let (actual_unlimited, value_unlimited) = if self.limit_type == "nice" || self.limit_type == "priority" {
            (false, false)
        } else {
            (is_unlimited(actual), is_unlimited(&self.value))
        };
        let number = |v: &str| v.trim().parse::<i64>().unwrap_or(0);
        if self.use_max {
            if actual_unlimited {
                actual.to_string()
            } else if value_unlimited {
                self.value.clone()
            } else {
                number(&self.value).max(number(actual)).to_string()
            }
        } else if self.use_min {
            if actual_unlimited && value_unlimited {
                actual.to_string()
            } else if actual_unlimited {
                self.value.clone()
            } else if value_unlimited {
                actual.to_string()
            } else {
                number(&self.value).min(number(actual)).to_string()
            }
        } else {
            self.value.clone()
        }
    }
}

impl TextEdit for LimitEdit {
    fn edit(&self, current: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        let text = match current {
            Some(bytes) => std::str::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("the limits file is not UTF-8"))?
                .to_string(),
            None => String::new(),
        };
        let mut changed = current.is_none();
        let mut out = String::with_capacity(text.len() + 64);
        let mut found = false;
        let mut new_comment = self.comment.clone();
        let mut new_value = self.value.clone();
        for line in text.split_inclusive('\n') {
            if line.starts_with('#') {
                out.push_str(line);
                continue;
            }
            let squeezed = line.split_whitespace().collect::<Vec<_>>().join(" ");
            if squeezed.is_empty() {
                out.push_str(line);
                continue;
            }
            let without_comment = squeezed.split('#').next().unwrap_or("").trim_end().to_string();
            let old_comment = line.split_once('#').map_or("", |(_, c)| c);
            if new_comment.is_empty() {
                new_comment = old_comment.to_string();
            }
            let fields: Vec<&str> = without_comment.split(' ').collect();
            if fields.len() != 4 {
                out.push_str(line);
                continue;
            }
            let limits = "Invalid configuration found in the limits file.";
            check_value(fields[2], fields[3], limits)?;
            if fields[0] != self.domain || fields[1] != self.limit_type || fields[2] != self.item {
                out.push_str(line);
                continue;
            }
            found = true;
            let actual = fields[3];
            if self.value == actual {
                out.push_str(line);
                continue;
            }
            new_value = self.new_value(actual);
            if new_value != actual {
                changed = true;
                if !new_comment.is_empty() {
                    new_comment = format!("\t#{new_comment}");
                }
                out.push_str(&format!(
                    "{}\t{}\t{}\t{new_value}{new_comment}\n",
                    self.domain, self.limit_type, self.item
                ));
            } else {
                out.push_str(line);
            }
        }
        if !found {
            changed = true;
            if !new_comment.is_empty() {
                new_comment = format!("\t#{new_comment}");
            }
            out.push_str(&format!(
                "{}\t{}\t{}\t{new_value}{new_comment}\n",
                self.domain, self.limit_type, self.item
            ));
        }
        Ok(changed.then(|| out.into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::text_edit::testing::values;
    use serde_json::json;

    fn edit(params: serde_json::Value, content: Option<&str>) -> Result<Option<String>> {
        let map = values(params);
        LimitEdit::from_args(&Args::new(&SPEC, &map))?
            .edit(content.map(str::as_bytes))
            .map(|b| b.map(|b| String::from_utf8(b).unwrap()))
    }

    #[test]
    fn edits_limits_as_the_module_does() {
        let nofile = json!({"domain": "app", "limit_type": "-", "limit_item": "nofile", "value": "65535"});
        assert_eq!(edit(nofile.clone(), None).unwrap(), Some("app\t-\tnofile\t65535\n".into()));
        assert_eq!(edit(nofile.clone(), Some("# x\napp - nofile 65535\n")).unwrap(), None);
        assert_eq!(
            edit(nofile.clone(), Some("app  -  nofile  1024\n")).unwrap(),
            Some("app\t-\tnofile\t65535\n".into())
        );
        let max = json!({"domain": "app", "limit_type": "soft", "limit_item": "nproc", "value": "100", "use_max": true});
        assert_eq!(edit(max, Some("app soft nproc 200\n")).unwrap(), None);
        assert!(edit(json!({"domain": "a", "limit_type": "-", "limit_item": "nice", "value": "30"}), None).is_err());
        assert!(edit(nofile, Some("x - nofile lots\n")).is_err());
    }
}
