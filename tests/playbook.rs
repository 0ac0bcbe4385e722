//! Loading playbooks: a realistic project loads with the structure a run needs, and every
//! kind of mistake in a user's files is reported with its exact position, message and hint.

mod common;

use std::path::{Path, PathBuf};

use deploy::error::hint_of;
use deploy::playbook::{all_tasks, load_playbook, Batch, LoadOptions, LoopKind, Step, Templated};

fn site() -> PathBuf {
    Path::new("tests/fixtures/projects/site/site.yml").to_path_buf()
}

fn tag_names(tags: &[deploy::playbook::Located<String>]) -> Vec<&str> {
    tags.iter().map(|t| t.value.as_str()).collect()
}

#[test]
fn site_project_loads_with_roles_in_order() {
    let playbook = load_playbook(&site(), &LoadOptions::default()).unwrap();
    assert_eq!(playbook.plays.len(), 2);
    let web = &playbook.plays[1];
    assert_eq!(web.hosts.value, "web:app");
    let order: Vec<(&str, Option<&str>)> = web
        .roles_in_order()
        .iter()
        .map(|r| (r.name.as_str(), r.dependency_of.as_deref()))
        .collect();
    assert_eq!(order, [("common", Some("nginx")), ("nginx", None), ("app", None)]);
    assert_eq!(
        web.serial.iter().map(|b| b.value.clone()).collect::<Vec<_>>(),
        [Batch::Count(1), Batch::Percent(50.0)]
    );
    let app = &web.roles[1];
    assert_eq!(app.params["app_user"].as_str(), Some("app"));
    assert_eq!(app.keywords.when[0].value, "deploy_app | default(true)");
    assert_eq!(app.defaults["app_root"].as_str(), Some("/srv/app"));
}

#[test]
fn site_project_tasks_keep_positions_and_inherited_tags() {
    let playbook = load_playbook(&site(), &LoadOptions::default()).unwrap();
    let web = &playbook.plays[1];
    let roles = web.roles_in_order();
    let nginx = roles[1];
    let tasks = all_tasks(&nginx.tasks);
    let names: Vec<&str> = tasks
        .iter()
        .map(|t| t.name.as_ref().unwrap().value.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "install nginx",
            "nginx config",
            "enable site",
            "report",
            "nginx running"
        ]
    );
    let config = tasks[1];
    assert_eq!(
        config.pos.to_string(),
        "tests/fixtures/projects/site/roles/nginx/tasks/main.yml:7:3"
    );
    assert_eq!(config.module.name, "template");
    assert_eq!(config.role.as_ref().unwrap().name, "nginx");
    assert_eq!(config.params["mode"].value, serde_json::json!(0o644));
    assert_eq!(config.params["src"].pos.line, 9);
    assert_eq!(
        config.source.as_deref(),
        Some(Path::new(
            "tests/fixtures/projects/site/roles/nginx/templates/nginx.conf.j2"
        ))
    );
    assert_eq!(tag_names(&config.keywords.tags), ["nginx", "web"]);
    assert_eq!(config.notify[0].value, "reload nginx");
    // The dependency inherits the tags of the role that needs it.
    assert_eq!(tag_names(&roles[0].keywords.tags), ["nginx", "web"]);
    let running = tasks[4];
    assert_eq!(running.params["enabled"].value, serde_json::Value::Bool(true));
    let Step::Block(block) = &nginx.tasks[2] else {
        panic!("a block")
    };
    assert_eq!(block.keywords.when[0].value, "nginx_port | int > 0");
    assert_eq!(
        (block.block.len(), block.rescue.len(), block.always.len()),
        (1, 1, 1)
    );
}

#[test]
fn site_project_app_role_forms() {
    let playbook = load_playbook(&site(), &LoadOptions::default()).unwrap();
    let app = playbook.plays[1].roles_in_order()[2];
    let tasks = all_tasks(&app.tasks);
    assert_eq!(tasks.len(), 9);
    let dirs = tasks[1];
    assert_eq!(dirs.loop_.as_ref().unwrap().kind, LoopKind::Items);
    let config = tasks[2];
    assert_eq!(config.params["dest"].value, "{{ app_root }}/conf/app.conf");
    assert_eq!(config.params["mode"].value, "0640");
    let migrate = tasks[4];
    assert_eq!(migrate.params["cmd"].value, "./bin/migrate --all");
    assert_eq!(migrate.params["creates"].value, "{{ app_root }}/.migrated");
    let sysctl = tasks[6];
    assert_eq!(sysctl.module.name, "sysctl");
    assert_eq!(sysctl.params["value"].value, "1024");
    let db_user = tasks[7];
    assert_eq!(db_user.module.name, "postgresql_user");
    assert_eq!(tag_names(&db_user.keywords.tags), ["db", "web"]);
    assert!(matches!(
        db_user.keywords.no_log.as_ref().unwrap().value,
        Templated::Literal(true)
    ));
    assert!(
        db_user.pos.to_string().ends_with("roles/app/tasks/db.yml:1:3"),
        "{}",
        db_user.pos
    );
    let Some(Step::IncludeTasks(include)) = app.tasks.last() else {
        panic!("an include")
    };
    assert_eq!(include.file.value, "{{ ansible_os_family | lower }}.yml");
    assert!(include.tasks.is_none());
    let handlers: Vec<&str> = playbook.plays[1]
        .all_handlers()
        .iter()
        .map(|h| h.name.as_ref().unwrap().value.as_str())
        .collect();
    assert_eq!(
        handlers,
        [
            "update ca certificates",
            "reload nginx",
            "restart app",
            "restart everything"
        ]
    );
    assert_eq!(playbook.plays[1].handlers.len(), 1);
}

#[test]
fn site_project_common_role() {
    let playbook = load_playbook(&site(), &LoadOptions::default()).unwrap();
    let base = &playbook.plays[0];
    let vars = base.vars_files[0].vars.as_ref().unwrap();
    assert_eq!(vars["site_name"].as_str(), Some("example"));
    let common = base.roles_in_order()[0];
    let Step::IncludeTasks(users) = &common.tasks[2] else {
        panic!("an include")
    };
    assert!(users
        .path
        .as_ref()
        .unwrap()
        .ends_with("roles/common/tasks/users.yml"));
    let user = all_tasks(users.tasks.as_ref().unwrap())[0];
    assert_eq!(user.params["groups"].value, serde_json::json!(["sudo"]));
    assert_eq!(
        user.loop_.as_ref().unwrap().label.as_ref().unwrap().as_str(),
        Some("{{ item }}")
    );
    let pre = all_tasks(&playbook.plays[1].pre_tasks)[0];
    assert_eq!(pre.params["update_cache"].value, serde_json::Value::Bool(true));
    assert_eq!(pre.params["cache_valid_time"].value, serde_json::json!(3600));
}

/// Writes a small project into a temporary directory, loads its `site.yml`, and returns the
/// error as `main` prints it (paths made relative to the project) and its hint.
fn load_error(files: &[(&str, &str)]) -> (String, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), files);
    let options = LoadOptions {
        project_root: Some(dir.path().to_path_buf()),
        roles_path: Vec::new(),
    };
    let err = load_playbook(&dir.path().join("site.yml"), &options).unwrap_err();
    let prefix = format!("{}/", dir.path().display());
    let relative = |text: String| {
        text.replace(&prefix, "")
            .replace(&dir.path().display().to_string(), ".")
    };
    (relative(format!("{err:#}")), hint_of(&err).map(relative))
}

/// Loads a project that must load, and returns the reason its first task that cannot run
/// gives to the host that reaches it (Ansible checks modules and parameters where a task runs).
fn deferred_error(files: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), files);
    let options = LoadOptions {
        project_root: Some(dir.path().to_path_buf()),
        roles_path: Vec::new(),
    };
    let playbook = load_playbook(&dir.path().join("site.yml"), &options).unwrap();
    let reason = playbook.plays[0]
        .tasks
        .iter()
        .flat_map(|step| step.tasks())
        .find_map(|task| task.unsupported.clone())
        .expect("a task that fails where it is reached");
    reason.replace(&format!("{}/", dir.path().display()), "")
}

#[track_caller]
fn assert_deferred(files: &[(&str, &str)], message: &str, hint: Option<&str>) {
    let expected = match hint {
        Some(hint) => format!("{message} (hint: {hint})"),
        None => message.to_string(),
    };
    assert_eq!(deferred_error(files), expected);
}

/// Writes a project's files under `dir`.
fn write_files(dir: &std::path::Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Applies `dir`'s `site.yml` on its local host with `deploy` and with `ansible-playbook`,
/// each writing to the path in its `out` variable; returns those two paths.
fn apply_with_both_tools(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let deployed = dir.join("deployed");
    let apply = common::deploy()
        .current_dir(dir)
        .args(["apply", "-i", "hosts", "site.yml", "-e"])
        .arg(format!("out={}", deployed.display()))
        .output()
        .unwrap();
    assert_eq!(apply.status.code(), Some(0), "{}", common::stderr(&apply));
    let by_ansible = dir.join("by-ansible");
    let python = common::oracle_venv().join("bin/python3");
    let ansible = std::process::Command::new(common::oracle("ansible-playbook"))
        .current_dir(dir)
        .env("ANSIBLE_HOME", dir.join(".ansible"))
        .args(["-i", "hosts", "site.yml", "-e"])
        .arg(format!(
            "out={} ansible_python_interpreter={}",
            by_ansible.display(),
            python.display()
        ))
        .output()
        .unwrap();
    assert!(ansible.status.success(), "{}", common::stdout(&ansible));
    (deployed, by_ansible)
}

fn play_with_tasks(tasks: &str) -> String {
    format!("- hosts: all\n  tasks:\n{tasks}")
}

#[track_caller]
fn assert_error(files: &[(&str, &str)], message: &str, hint: Option<&str>) {
    let (actual, actual_hint) = load_error(files);
    assert_eq!(actual, message);
    assert_eq!(actual_hint.as_deref(), hint);
}

#[test]
fn yaml_syntax_error() {
    let (message, _) = load_error(&[("site.yml", "- hosts: all\n  tasks: [\n")]);
    assert!(message.starts_with("site.yml:3:1: invalid YAML: "), "{message}");
}

#[test]
fn tab_indentation() {
    let (message, hint) = load_error(&[("site.yml", "- hosts: all\n  tasks:\n\t- debug: msg=hi\n")]);
    assert_eq!(
        message,
        "site.yml:3:2: invalid YAML: tabs disallowed within this context (block indentation)"
    );
    assert_eq!(
        hint.as_deref(),
        Some("YAML indentation must use spaces; replace the tab characters with spaces")
    );
}

#[test]
fn duplicate_key() {
    assert_error(
        &[("site.yml", "- hosts: all\n  become: yes\n  hosts: web\n")],
        "site.yml:3:3: duplicate key `hosts` (first defined at line 1)",
        Some("remove one of the two entries; YAML mappings take each key once"),
    );
}

#[test]
fn playbook_not_a_list() {
    assert_error(
        &[("site.yml", "hosts: all\ntasks: []\n")],
        "site.yml:1:1: a playbook must be a list of plays, found a mapping",
        Some("start each play with `- hosts: ...`"),
    );
}

#[test]
fn play_without_hosts() {
    assert_error(
        &[("site.yml", "- name: web\n  tasks: []\n")],
        "site.yml:1:3: play has no `hosts`; every play needs the hosts it runs on",
        Some("add `hosts: all` or a group name"),
    );
}

#[test]
fn unknown_play_keyword() {
    assert_error(
        &[("site.yml", "- hosts: all\n  pre_task: []\n")],
        "site.yml:2:3: unknown play keyword `pre_task`",
        Some("did you mean `pre_tasks`?"),
    );
}

#[test]
fn unknown_module() {
    let site =
        play_with_tasks("    - name: motd\n      coppy:\n        content: hi\n        dest: /etc/motd\n");
    assert_error(
        &[("site.yml", &site)],
        "site.yml:4:7: unknown module `coppy`",
        Some("did you mean `copy`?"),
    );
}

#[test]
fn unsupported_module() {
    let site = play_with_tasks("    - ansible.posix.synchronize:\n        src: a\n        dest: b\n");
    let message = deferred_error(&[("site.yml", &site)]);
    assert_eq!(
        message,
        format!(
            "site.yml:3:7: module `ansible.posix.synchronize` is not supported; supported modules are: {}",
            deploy::resource::supported_list()
        )
    );
    assert!(message
        .contains("apt, apt_key, apt_repository, assert, authorized_key, blockinfile, command, copy, cron"));
}

#[test]
fn modules_for_other_systems_load_and_fail_where_reached() {
    let site = play_with_tasks(
        "    - yum: name=httpd state=present\n      when: ansible_os_family == 'RedHat'\n    - package:\n        name: git\n        enablerepo: epel\n      when: false\n",
    );
    let message = deferred_error(&[("site.yml", &site)]);
    assert_eq!(
        message,
        "site.yml:3:7: module `yum` manages Red Hat family hosts, and this host reached it (hint: deploy manages Debian-family hosts: run the task under `when: ansible_os_family == ...`, or use `package`/`apt`)"
    );
    // A typo of a module is still refused at load time, as Ansible refuses it.
    assert_error(
        &[(
            "site.yml",
            &play_with_tasks("    - ansible.builtin.cpy: dest=/x\n"),
        )],
        "site.yml:3:7: unknown module `ansible.builtin.cpy`",
        Some(&format!(
            "supported modules are: {}",
            deploy::resource::supported_list()
        )),
    );
}

#[test]
fn unknown_task_keyword() {
    let site =
        play_with_tasks("    - copy:\n        content: hi\n        dest: /etc/motd\n      whne: yes\n");
    assert_error(
        &[("site.yml", &site)],
        "site.yml:6:7: unknown task keyword `whne`",
        Some("did you mean `when`?"),
    );
}

#[test]
fn unsupported_task_keyword() {
    let site = play_with_tasks("    - debug: msg=hi\n      async: 10\n");
    assert_error(
        &[("site.yml", &site)],
        "site.yml:4:7: task keyword `async` is not supported: tasks run to completion within the run",
        None,
    );
}

#[test]
fn wrong_parameter_type() {
    let site =
        play_with_tasks("    - copy:\n        content: hi\n        dest: /etc/motd\n        force: maybe\n");
    assert_deferred(
        &[("site.yml", &site)],
        "site.yml:6:16: parameter `force` of `copy` must be a boolean, found `maybe`",
        Some("write yes/no or true/false"),
    );
}

#[test]
fn missing_required_parameter() {
    let site = play_with_tasks("    - name: motd\n      copy:\n        content: hi\n");
    assert_deferred(
        &[("site.yml", &site)],
        "site.yml:4:7: `copy` needs the parameter `dest`, which is missing",
        Some("add `dest: ...` under `copy`"),
    );
}

#[test]
fn two_modules_in_one_task() {
    let site = play_with_tasks("    - copy: content=hi dest=/etc/motd\n      template: src=a dest=b\n");
    assert_error(
        &[("site.yml", &site)],
        "site.yml:4:7: task has two modules, `copy` and `template`; a task runs exactly one module",
        Some("split it into two tasks"),
    );
}

#[test]
fn task_without_module() {
    let site = play_with_tasks("    - name: nothing\n      when: x\n");
    let (message, hint) = load_error(&[("site.yml", &site)]);
    assert_eq!(
        message,
        "site.yml:3:7: task has no module; expected one module name (like `copy` or `ansible.builtin.copy`) among its keys"
    );
    assert!(hint.unwrap().starts_with("supported modules are: apt, "));
}

#[test]
fn mutually_exclusive_parameters() {
    let site =
        play_with_tasks("    - copy:\n        content: hi\n        src: motd\n        dest: /etc/motd\n");
    assert_deferred(
        &[("site.yml", &site), ("files/motd", "hi\n")],
        "site.yml:5:14: parameters `content` and `src` of `copy` are mutually exclusive",
        Some("keep only one of them"),
    );
}

#[test]
fn bad_choice() {
    let site = play_with_tasks("    - apt:\n        name: nginx\n        state: installed\n");
    assert_deferred(
        &[("site.yml", &site)],
        "site.yml:5:16: parameter `state` of `apt` must be one of absent, build-dep, latest, present, fixed, found `installed`",
        None,
    );
}

#[test]
fn free_text_for_a_key_value_module() {
    let site = play_with_tasks("    - copy: /etc/motd\n");
    assert_deferred(
        &[("site.yml", &site)],
        "site.yml:3:13: module `copy` takes `key=value` parameters, found `/etc/motd`",
        Some("write the parameters as a mapping under `copy:`"),
    );
}

#[test]
fn unknown_role() {
    assert_error(
        &[
            ("site.yml", "- hosts: all\n  roles:\n    - ngnix\n"),
            ("roles/nginx/tasks/main.yml", "- debug: msg=hi\n"),
        ],
        "site.yml:3:7: role `ngnix` not found",
        Some("did you mean `nginx`? (looked in roles, .)"),
    );
}

#[test]
fn unknown_role_lists_every_searched_path() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("playbooks")).unwrap();
    std::fs::write(
        project.join("playbooks/site.yml"),
        "- hosts: all\n  roles: [db]\n",
    )
    .unwrap();
    let options = LoadOptions {
        project_root: Some(project.clone()),
        roles_path: vec![dir.path().join("shared")],
    };
    let err = load_playbook(&project.join("playbooks/site.yml"), &options).unwrap_err();
    let root = dir.path().display().to_string();
    assert_eq!(
        format!("{err:#}").replace(&root, "<tmp>"),
        "<tmp>/project/playbooks/site.yml:2:11: role `db` not found"
    );
    assert_eq!(
        hint_of(&err).unwrap().replace(&root, "<tmp>"),
        "looked in <tmp>/project/playbooks/roles, <tmp>/shared, <tmp>/project/roles, <tmp>/project/playbooks"
    );
}

#[test]
fn role_dependency_cycle() {
    assert_error(
        &[
            ("site.yml", "- hosts: all\n  roles:\n    - app\n"),
            ("roles/app/meta/main.yml", "dependencies:\n  - web\n"),
            ("roles/web/meta/main.yml", "dependencies:\n  - role: base\n"),
            ("roles/base/meta/main.yml", "dependencies: [app]\n"),
        ],
        "roles/base/meta/main.yml:1:16: role dependency cycle: app -> web -> base -> app",
        Some("remove one of these dependencies from its role's meta/main.yml"),
    );
}

#[test]
fn missing_template() {
    assert_error(
        &[
            ("site.yml", "- hosts: all\n  roles: [web]\n"),
            (
                "roles/web/tasks/main.yml",
                "- name: config\n  template:\n    src: web.conf.j2\n    dest: /etc/web.conf\n",
            ),
        ],
        "roles/web/tasks/main.yml:3:10: template source `web.conf.j2` not found",
        Some("looked in roles/web/templates, roles/web, roles/web/tasks/templates, roles/web/tasks, templates, ."),
    );
}

#[test]
fn missing_copy_source() {
    let site = play_with_tasks("    - copy: src=motd dest=/etc/motd\n");
    assert_error(
        &[("site.yml", &site)],
        "site.yml:3:13: copy source `motd` not found",
        Some("looked in files, ."),
    );
}

#[test]
fn missing_vars_file() {
    assert_error(
        &[("site.yml", "- hosts: all\n  vars_files:\n    - vars/main.yml\n")],
        "site.yml:3:7: vars file `vars/main.yml` not found",
        Some("looked for vars/main.yml"),
    );
}

#[test]
fn missing_include_tasks_file() {
    assert_error(
        &[
            ("site.yml", "- hosts: all\n  roles: [web]\n"),
            ("roles/web/tasks/main.yml", "- include_tasks: install.yml\n"),
        ],
        "roles/web/tasks/main.yml:1:18: task file `install.yml` not found",
        Some("looked for roles/web/tasks/install.yml"),
    );
}

#[test]
fn bad_serial() {
    assert_error(
        &[("site.yml", "- hosts: all\n  serial: [1, lots]\n")],
        "site.yml:2:15: `serial` must be a positive number, a percentage like `30%`, or a list of them, found `lots`",
        Some("for example `serial: 1`, `serial: \"25%\"` or `serial: [1, 5, \"50%\"]`"),
    );
}

#[test]
fn loop_and_with_items_together() {
    let site = play_with_tasks("    - debug: var=item\n      loop: [1, 2]\n      with_items: [3]\n");
    assert_error(
        &[("site.yml", &site)],
        "site.yml:5:7: `loop` and `with_items` cannot be used together; a task has one loop",
        Some("keep only `loop:`"),
    );
}

#[test]
fn unsupported_meta_action() {
    let site = play_with_tasks("    - meta: end_play\n");
    assert_deferred(
        &[("site.yml", &site)],
        "site.yml:3:13: meta action `end_play` is not supported; supported actions are flush_handlers, noop",
        None,
    );
}

#[test]
fn unsupported_strategy() {
    assert_error(
        &[("site.yml", "- hosts: all\n  strategy: free\n")],
        "site.yml:2:13: strategy `free` is not supported; plays run with the `linear` strategy",
        None,
    );
}

#[test]
fn import_tasks_needs_a_literal_file() {
    let site = play_with_tasks("    - import_tasks: \"{{ os }}.yml\"\n");
    assert_error(
        &[("site.yml", &site)],
        "site.yml:3:21: `import_tasks` is expanded when the playbook is loaded and needs a literal `file`, found `{{ os }}.yml`",
        Some("use `include_tasks` for a name known only at run time"),
    );
}

#[test]
fn classic_action_form_and_args_merge() {
    let dir = tempfile::tempdir().unwrap();
    let site = play_with_tasks(
        "    - action: shell echo hi > /tmp/x\n      args:\n        creates: /tmp/x\n        chdir: /tmp\n    - import_playbook_is_not_here: 1\n",
    );
    std::fs::write(dir.path().join("tasks.yml"), "").unwrap();
    std::fs::write(
        dir.path().join("site.yml"),
        site.replace("    - import_playbook_is_not_here: 1\n", ""),
    )
    .unwrap();
    let playbook = load_playbook(&dir.path().join("site.yml"), &LoadOptions::default()).unwrap();
    let task = all_tasks(&playbook.plays[0].tasks)[0];
    assert_eq!(task.module.name, "shell");
    assert_eq!(task.params["cmd"].value, "echo hi > /tmp/x");
    assert_eq!(task.params["creates"].value, "/tmp/x");
    assert_eq!(task.params["chdir"].value, "/tmp");
}

#[test]
fn import_playbook_expands_plays_with_its_tags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("site.yml"),
        "- import_playbook: web.yml\n  tags: web\n- hosts: db\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("web.yml"),
        "- hosts: web\n  tasks:\n    - debug: msg=hi\n",
    )
    .unwrap();
    let playbook = load_playbook(&dir.path().join("site.yml"), &LoadOptions::default()).unwrap();
    let hosts: Vec<&str> = playbook.plays.iter().map(|p| p.hosts.value.as_str()).collect();
    assert_eq!(hosts, ["web", "db"]);
    let task = all_tasks(&playbook.plays[0].tasks)[0];
    assert_eq!(tag_names(&task.keywords.tags), ["web"]);
}

#[test]
fn empty_task_and_handler_files_have_no_tasks_as_in_ansible() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("roles/r/tasks/main.yml", ""),
        ("roles/r/handlers/main.yml", "---\n"),
        ("empty.yml", "# nothing here yet\n"),
        (
            "site.yml",
            "- hosts: all\n  gather_facts: false\n  roles: [r]\n  tasks:\n    - import_tasks: empty.yml\n    - include_tasks: empty.yml\n",
        ),
        ("hosts", "local1 ansible_connection=local\n"),
    ];
    write_files(dir.path(), &files);
    let playbook = load_playbook(&dir.path().join("site.yml"), &LoadOptions::default()).unwrap();
    let roles = playbook.plays[0].roles_in_order();
    assert!(roles[0].tasks.is_empty() && roles[0].handlers.is_empty());

    // deploy plans it (the included file, loaded when reached, is empty too), and so does
    // ansible-playbook.
    let plan = common::deploy()
        .current_dir(dir.path())
        .args(["plan", "-i", "hosts", "site.yml"])
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(0), "{}", common::stderr(&plan));
    let ansible = std::process::Command::new(common::oracle("ansible-playbook"))
        .current_dir(dir.path())
        .env("ANSIBLE_HOME", dir.path().join(".ansible"))
        .args(["-i", "hosts", "site.yml", "--check"])
        .output()
        .unwrap();
    assert!(ansible.status.success(), "{}", common::stdout(&ansible));
}

#[test]
fn role_and_template_magic_variables_are_ansibles() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "roles/web/templates/header.j2",
            "# {{ ansible_managed }}\nrole={{ ansible_role_name }} {{ role_name }} {{ role_path | basename }}\n",
        ),
        (
            "roles/web/tasks/main.yml",
            "- template:\n    src: header.j2\n    dest: \"{{ out }}\"\n",
        ),
        ("site.yml", "- hosts: all\n  gather_facts: false\n  roles: [web]\n"),
        ("hosts", "local1 ansible_connection=local\n"),
    ];
    write_files(dir.path(), &files);
    let (deployed, by_ansible) = apply_with_both_tools(dir.path());
    let expected = std::fs::read_to_string(&by_ansible).unwrap();
    assert_eq!(expected, "# Ansible managed\nrole=web web web\n");
    assert_eq!(std::fs::read_to_string(&deployed).unwrap(), expected);
}

/// Loops (`with_subelements`, `with_items`, `with_community.general.flattened`,
/// `with_sequence`), templated `set_fact` names, backslashes in YAML
/// strings of each quoting style, and a template file with a `#jinja2:` header: the file
/// written by `deploy apply` is the one `ansible-playbook` writes.
#[test]
fn loops_fact_names_and_escapes_render_as_ansible() {
    let dir = tempfile::tempdir().unwrap();
    let site = r#"- hosts: all
  gather_facts: false
  vars:
    name: web
    users:
      - name: ann
        ssh_keys: [k1, k2]
      - name: bob
        ssh_keys: [k3]
      - name: cid
    nested: [[1, 2], [3, [4, 5]]]
  tasks:
    - set_fact:
        "{{ name }}_port": 80
        "static_{{ name }}": "{{ name | upper }}"
    - set_fact:
        subs: "{{ subs | default([]) + [item.0.name ~ ':' ~ item.1 ~ ':' ~ (item.0.ssh_keys is defined)] }}"
      with_subelements:
        - "{{ users }}"
        - ssh_keys
        - skip_missing: true
    - set_fact:
        pairs: "{{ users | subelements('ssh_keys', skip_missing=true) | map('last') | list }}"
    - set_fact:
        flat: "{{ flat | default([]) + [item] }}"
      with_items: "{{ nested }}"
    - set_fact:
        listed: "{{ listed | default([]) + [item] }}"
      with_items:
        - [a, b]
        - c
    - set_fact:
        deep: "{{ deep | default([]) + [item] }}"
      with_community.general.flattened:
        - "{{ nested }}"
        - [[x]]
    - set_fact:
        numbered: "{{ numbered | default([]) + [item] }}"
      with_sequence: start=1 end=7 stride=3 format=web%02d
    - set_fact:
        double_quoted: "{{ 'abc' | regex_replace('(a)', '\\1x') }} {{ 'a\\tb' }}"
        single_quoted: '{{ ''abc'' | regex_replace(''(a)'', ''\1x'') }}'
        plain: x {{ 'abc' | regex_replace('(b)', '<\1>') }}
        block: |-
          {{ 'abc' | regex_replace('(a)', '\\1x') }} {% set s = 'x\ty' %}{{ s }}
        seeded: "{{ 60 | random(seed='web') }} {{ ['a', 'b', 'c'] | shuffle(seed=7) }}"
    - template:
        src: out.j2
        dest: "{{ out }}"
    - template:
        src: options.j2
        dest: "{{ out }}.options"
        newline_sequence: "\r\n"
        trim_blocks: false
        lstrip_blocks: true
        variable_start_string: "[["
        variable_end_string: "]]"
"#;
    let template = "#jinja2: lstrip_blocks: True\nport={{ web_port }} static={{ static_web }}\n\
                    subs={{ subs }}\npairs={{ pairs }}\nflat={{ flat }} listed={{ listed }}\n\
                    deep={{ deep }} numbered={{ numbered }}\n\
                    {{ double_quoted }}|{{ single_quoted }}|{{ plain }}|{{ block }}|{{ seeded }}\n\
                    {{ 'abc' | regex_replace('(a)', '\\\\1x') }}\n  {% if true %}\nindented\n  {% endif %}\n";
    let options_template = "[[ name ]] {{ name }}\n  {% if true %}\nkept\n  {% endif %}\nend\n";
    let files = [
        ("templates/options.j2", options_template),
        ("templates/out.j2", template),
        ("site.yml", site),
        ("hosts", "local1 ansible_connection=local\n"),
    ];
    write_files(dir.path(), &files);
    let (deployed, by_ansible) = apply_with_both_tools(dir.path());
    let expected = std::fs::read_to_string(&by_ansible).unwrap();
    assert_eq!(std::fs::read_to_string(&deployed).unwrap(), expected);
    let options = |path: &std::path::Path| std::fs::read_to_string(path.with_extension("options")).unwrap();
    // The options took effect on Ansible's side (so the comparison means something).
    assert!(
        options(&by_ansible).starts_with("web {{ name }}\r\n"),
        "{:?}",
        options(&by_ansible)
    );
    assert_eq!(options(&deployed), options(&by_ansible));
}

/// What a loop registers: each item's result with its `item` (and index variable), and the
/// loop's `results`, `changed`, `failed` and `msg`, whether its items were known when planned
/// (`stat`), ran at apply (`command`), or failed under `ignore_errors`.
#[test]
fn a_loop_registers_its_items_as_ansible_does() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "site.yml",
            r#"- hosts: all
  gather_facts: false
  tasks:
    - shell: find -L {{ item }} -maxdepth 0 -type d
      with_community.general.flattened:
        - ["/", "/nonexistent-dir"]
        - []
      register: found
      ignore_errors: true
      changed_when: false
    - stat: { path: "{{ item }}" }
      loop: [/, /nope]
      loop_control: { index_var: i }
      register: st
    - command: echo {{ item }}
      loop: [a, b]
      register: echoed
    - copy:
        dest: "{{ out }}"
        content: |
          {{ found.results | length }} {{ found.msg }} {{ found.failed }} {{ found.results | map(attribute='item') | list }}
          {{ found.results[0].stdout }} {{ found.results[1].rc }} {{ found.results[0].ansible_loop_var }}
          {{ st.results | map(attribute='stat.exists') | list }} {{ st.results[1].i }} {{ st.msg }} {{ st.changed }}
          {{ echoed.results | map(attribute='stdout') | list }} {{ echoed.changed }} {{ echoed.msg }}
"#,
        ),
        ("hosts", "local1 ansible_connection=local\n"),
    ];
    write_files(dir.path(), &files);
    let (deployed, by_ansible) = apply_with_both_tools(dir.path());
    let expected = std::fs::read_to_string(&by_ansible).unwrap();
    assert!(expected.contains("One or more items failed"), "{expected}");
    assert_eq!(std::fs::read_to_string(&deployed).unwrap(), expected);
}

/// A module error the task judges itself (`failed_when: false` on a path that may be missing,
/// as hardening roles write it) is the task's result, as Ansible's module returns it: the run
/// carries on, and the message is registered.
#[test]
fn failed_when_judges_a_module_error() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "site.yml",
            r#"- hosts: all
  gather_facts: false
  tasks:
    - file: { path: "{{ item }}", mode: a-s, state: file, follow: true }
      failed_when: false
      loop: [/, /nonexistent-dir/rcp]
      register: r
    - copy:
        dest: "{{ out }}"
        content: "{{ r.results | map(attribute='failed') | list }} {{ r.results[1].msg }}\n"
"#,
        ),
        ("hosts", "local1 ansible_connection=local\n"),
    ];
    write_files(dir.path(), &files);
    let (deployed, by_ansible) = apply_with_both_tools(dir.path());
    let expected = std::fs::read_to_string(&by_ansible).unwrap();
    assert!(expected.contains("is absent, cannot continue"), "{expected}");
    assert_eq!(std::fs::read_to_string(&deployed).unwrap(), expected);
}
