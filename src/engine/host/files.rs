//! The files a task's resource needs (`copy`'s `src`, `template`'s template), found and
//! rendered on the controller.

use super::*;
use crate::playbook::search;
use crate::template::FileOptions;

/// The files a task's resource may need, found and rendered on the controller.
pub(super) struct TaskFiles<'a> {
    pub(super) run: &'a RunShared,
    pub(super) task: &'a Task,
    pub(super) context: &'a Context,
    pub(super) stack: &'a VarStack,
    pub(super) origin: &'a Origin,
    pub(super) facts: &'a VarMap,
}

impl TaskFiles<'_> {
    /// The task's `src`: as the loader found it when it was literal, else searched now.
    fn find(&self, src: &str, subdir: &str) -> Result<std::path::PathBuf> {
        if let Some(found) = &self.task.source {
            if !crate::resource::is_template(src) && found.ends_with(src) {
                return Ok(found.clone());
            }
        }
        let role = self.context.role.as_ref().map(|r| r.path.as_path());
        let task_dir = self.task.pos.path.parent().unwrap_or(std::path::Path::new("."));
        let dirs = search::search_dirs(role, task_dir, &self.run.playbook_dir, subdir);
        search::find(src, &dirs).map_err(|looked| {
            let looked: Vec<String> = looked.iter().map(|d| d.display().to_string()).collect();
            if looked.is_empty() {
                anyhow!("`{src}` not found")
            } else {
                anyhow!("`{src}` not found in {}", looked.join(", "))
            }
        })
    }
}

impl BuildContext for TaskFiles<'_> {
    fn read_source(&self, src: &str) -> Result<Vec<u8>> {
        let path = self.find(src, "files")?;
        // A vault file is sent decrypted, as Ansible's `copy` does (`decrypt: true`).
        crate::vault::read_content(&path)
    }

    fn render_template(&self, src: &str, options: &FileOptions) -> Result<String> {
        let path = self.find(src, "templates")?;
        let mut stack = self.stack.clone();
        let dir = path.parent().map(|p| p.display().to_string()).unwrap_or_default();
        stack.set(Layer::Magic, "template_path", json!(path.display().to_string()));
        stack.set(
            Layer::Magic,
            "template_fullpath",
            json!(path.display().to_string()),
        );
        stack.set(Layer::Magic, "template_dir", json!(dir));
        // Ansible's default `ansible_managed`, which templates put in a header comment.
        stack.set(Layer::Magic, "ansible_managed", json!("Ansible managed"));
        self.run.templar.render_file(&path, &stack, self.origin, options)
    }

    fn fact(&self, name: &str) -> Option<Json> {
        self.facts.get(name).cloned()
    }
}
