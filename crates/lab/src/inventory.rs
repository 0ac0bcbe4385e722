//! The inventory file that points `deploy` (and `ansible-playbook`, unchanged) at the lab.
//!
//! Group `lab` holds the running hosts; each carries its own connection variables so the file
//! works on its own, with strict host key checking against the lab's known_hosts.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{host, host_name, net, Lab, DEPLOYPW_PASSWORD};

/// The users every lab host has, all logging in with the lab's key.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabUser {
    /// root.
    Root,
    /// Passwordless sudo.
    Deploy,
    /// sudo asks for the password in `deploypw.password`.
    Deploypw,
}

impl LabUser {
    pub fn name(self) -> &'static str {
        match self {
            LabUser::Root => "root",
            LabUser::Deploy => "deploy",
            LabUser::Deploypw => "deploypw",
        }
    }
}

/// Writes the inventory of the running hosts (to `output`, or the state directory) and
/// returns its path.
pub fn write(lab: &Lab, user: LabUser, output: Option<&Path>) -> Result<PathBuf> {
    let hosts: Vec<u32> = lab
        .recorded_hosts()
        .into_iter()
        .filter(|&index| host::is_running(lab, index))
        .collect();
    if hosts.is_empty() {
        bail!("no lab hosts are running; start some with `deploy lab up N`");
    }
    let path = output.map_or_else(|| default_path(lab, user), Path::to_path_buf);
    fs::write(&path, render(lab, user, &hosts))
        .with_context(|| format!("could not write {}", path.display()))?;
    Ok(path)
}

fn default_path(lab: &Lab, user: LabUser) -> PathBuf {
    match user {
        LabUser::Root => lab.dir().join("inventory.yml"),
        other => lab.dir().join(format!("inventory-{}.yml", other.name())),
    }
}

fn render(lab: &Lab, user: LabUser, hosts: &[u32]) -> String {
    let common_args = format!(
        "-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o KexAlgorithms={}",
        lab.known_hosts().display(),
        net::FAST_KEX
    );
    let mut text = String::from(
        "# The running lab hosts, written by `deploy lab inventory`; usable by ansible-playbook as is.\n\
         all:\n  children:\n    lab:\n      vars:\n        ansible_python_interpreter: /usr/bin/python3\n      hosts:\n",
    );
    for &index in hosts {
        text.push_str(&format!("        {}:\n", host_name(index)));
        let mut vars = vec![
            ("ansible_host", lab.host_address(index).to_string()),
            ("ansible_user", user.name().to_string()),
            (
                "ansible_ssh_private_key_file",
                lab.ssh_key().display().to_string(),
            ),
            ("ansible_ssh_common_args", common_args.clone()),
        ];
        if user == LabUser::Deploypw {
            vars.push(("ansible_become_password", DEPLOYPW_PASSWORD.to_string()));
        }
        for (name, value) in vars {
            text.push_str(&format!("          {name}: {}\n", quote(&value)));
        }
    }
    text
}

/// A YAML double-quoted scalar (JSON strings are valid YAML ones).
fn quote(value: &str) -> String {
    serde_json::Value::String(value.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_lists_hosts_with_connection_vars() {
        let lab = Lab::new(Path::new("/var/tmp/lab"));
        let text = render(&lab, LabUser::Deploypw, &[1, 2]);
        // A plain YAML parser, not the tool's own: the lab shares no code with what it tests.
        let parsed = yaml_rust2::YamlLoader::load_from_str(&text).unwrap().remove(0);
        let h2 = &parsed["all"]["children"]["lab"]["hosts"]["h2"];
        assert_eq!(h2["ansible_host"].as_str(), Some("10.213.0.12"));
        assert_eq!(h2["ansible_user"].as_str(), Some("deploypw"));
        assert_eq!(h2["ansible_become_password"].as_str(), Some(DEPLOYPW_PASSWORD));
        assert_eq!(
            h2["ansible_ssh_private_key_file"].as_str(),
            Some("/var/tmp/lab/ssh/id_ed25519")
        );
        assert_eq!(
            h2["ansible_ssh_common_args"].as_str(),
            Some(
                "-o UserKnownHostsFile=/var/tmp/lab/ssh/known_hosts -o StrictHostKeyChecking=yes -o KexAlgorithms=curve25519-sha256"
            )
        );
        let root = render(&lab, LabUser::Root, &[1]);
        assert!(!root.contains("ansible_become_password"));
        let five = Lab::open(5, None).unwrap();
        let text = render(&five, LabUser::Root, &[1]);
        assert!(text.contains("ansible_host: \"10.213.5.11\""), "{text}");
        assert!(text.contains("/var/tmp/deploy-lab-5/ssh/known_hosts"), "{text}");
    }
}
