//! Tag inheritance: the tags of a play, block, static import or role entry reach every task
//! under it.
//!
//! Tags are copied down once, at load time, so that a `--tags` filter looks at one task's own
//! list only. Dynamic includes keep theirs to themselves, as in Ansible.

use super::{Located, Play, RoleInstance, Step};

/// Tag inheritance into task lists (blocks and static imports pass tags down; dynamic
/// includes keep theirs, as in Ansible).
pub(super) fn inherit_tags(steps: &mut [Step], tags: &[Located<String>]) {
    if tags.is_empty() {
        return;
    }
    for step in steps {
        match step {
            Step::Task(task) => add_tags(&mut task.keywords.tags, tags),
            Step::Block(block) => {
                add_tags(&mut block.keywords.tags, tags);
                let all = block.keywords.tags.clone();
                inherit_tags(&mut block.block, &all);
                inherit_tags(&mut block.rescue, &all);
                inherit_tags(&mut block.always, &all);
            }
            Step::IncludeTasks(include) => add_tags(&mut include.keywords.tags, tags),
            Step::Role(role) => {
                add_tags(&mut role.keywords.tags, tags);
                if role.is_static {
                    if let Some(instance) = &mut role.role {
                        inherit_role_tags(instance, tags);
                    }
                }
            }
        }
    }
}

pub(super) fn inherit_role_tags(role: &mut RoleInstance, tags: &[Located<String>]) {
    add_tags(&mut role.keywords.tags, tags);
    let all = role.keywords.tags.clone();
    inherit_tags(&mut role.tasks, &all);
    for dependency in &mut role.dependencies {
        inherit_role_tags(dependency, &all);
    }
}

pub(super) fn inherit_play_tags(play: &mut Play) {
    let tags = play.keywords.tags.clone();
    for role in &mut play.roles {
        inherit_role_tags(role, &tags);
    }
    for list in [
        &mut play.pre_tasks,
        &mut play.tasks,
        &mut play.post_tasks,
        &mut play.handlers,
    ] {
        inherit_tags(list, &tags);
    }
}

pub(super) fn add_tags(into: &mut Vec<Located<String>>, tags: &[Located<String>]) {
    for tag in tags {
        if !into.iter().any(|t| t.value == tag.value) {
            into.push(tag.clone());
        }
    }
}
