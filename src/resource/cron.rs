//! `cron`: a crontab entry, written under `#Ansible: NAME` as Ansible writes it.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Manages a cron job (or a crontab variable with `env: yes`).
///
/// ```yaml
/// - cron:
///     name: backup
///     minute: "0"
///     hour: "3"
///     job: /usr/local/bin/backup
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "cron",
    fqcn: "ansible.builtin.cron",
    params: &[
        P::new("name", Str),
        P::new("user", Str),
        P::new("job", Str).aliases(&["value"]),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
        P::new("cron_file", Path),
        P::new("backup", Bool).default(D::Bool(false)),
        P::new("minute", Str).default(D::Str("*")),
        P::new("hour", Str).default(D::Str("*")),
        P::new("day", Str).default(D::Str("*")).aliases(&["dom"]),
        P::new("month", Str).default(D::Str("*")),
        P::new("weekday", Str).default(D::Str("*")).aliases(&["dow"]),
        P::new("special_time", Str).choices(&[
            "annually", "daily", "hourly", "monthly", "reboot", "weekly", "yearly",
        ]),
        P::new("disabled", Bool).default(D::Bool(false)),
        P::new("env", Bool).default(D::Bool(false)),
        P::new("insertafter", Str),
        P::new("insertbefore", Str),
    ],
    mutually_exclusive: &[&["insertafter", "insertbefore"]],
    required_if: &[("state", "present", &["job"])],
    ..ModuleSpec::DEFAULT
};
