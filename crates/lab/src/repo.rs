//! The lab's local apt repository, for the project's own test packages.
//!
//! A flat repository (`deb [trusted=yes] file:/srv/lab-repo ./`) bind-mounted read-only into
//! every host: adding a package here makes it installable on running hosts after their next
//! `apt-get update`, with no signing and no network.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::process::{command, run};
use super::Lab;

/// Where hosts see the repository.
pub const MOUNT_POINT: &str = "/srv/lab-repo";

/// The line hosts put in `/etc/apt/sources.list.d`.
pub fn apt_source() -> String {
    format!("deb [trusted=yes] file:{MOUNT_POINT} ./\n")
}

/// Creates the repository with an empty index if it does not exist; returns its directory.
pub fn ensure(lab: &Lab) -> Result<PathBuf> {
    let dir = lab.repo_dir();
    fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    if !dir.join("Packages").exists() {
        write_index(&dir)?;
    }
    Ok(dir)
}

/// Copies packages in and regenerates the index; returns the file names added.
pub fn add(lab: &Lab, files: &[PathBuf]) -> Result<Vec<String>> {
    // Every file is checked before any is copied, so a typo leaves the repository unchanged.
    let mut named = Vec::new();
    for file in files {
        named.push((file, package_file_name(file)?));
    }
    let dir = ensure(lab)?;
    for (file, name) in &named {
        let target = dir.join(name);
        let partial = dir.join(format!(".{name}.partial"));
        fs::copy(file, &partial)
            .with_context(|| format!("could not copy {} into {}", file.display(), dir.display()))?;
        fs::rename(&partial, &target).with_context(|| format!("could not write {}", target.display()))?;
    }
    write_index(&dir)?;
    Ok(named.into_iter().map(|(_, name)| name).collect())
}

/// `name_version_arch.deb`, read from the package itself, so re-adding a rebuilt package with
/// the same version replaces it and different versions sit side by side.
fn package_file_name(file: &Path) -> Result<String> {
    if !file.is_file() {
        bail!("{}: no such file", file.display());
    }
    let fields = run(command("dpkg-deb")?
        .arg("--show")
        .arg("--showformat=${Package}\t${Version}\t${Architecture}")
        .arg(file))
    .with_context(|| format!("{} is not a Debian package", file.display()))?;
    let parts: Vec<&str> = fields.trim().split('\t').collect();
    let [package, version, arch] = parts.as_slice() else {
        bail!(
            "{}: unexpected package fields `{}`",
            file.display(),
            fields.trim()
        );
    };
    // An epoch's colon is not welcome in file names; apt does not need it there.
    let version = version.split_once(':').map_or(*version, |(_, rest)| rest);
    Ok(format!("{package}_{version}_{arch}.deb"))
}

/// Regenerates `Packages`; replaced by rename so a host never reads half an index.
fn write_index(dir: &Path) -> Result<()> {
    let index = run(command("dpkg-scanpackages")?
        .args(["--multiversion", ".", "/dev/null"])
        .current_dir(dir))?;
    let partial = dir.join(".Packages.partial");
    fs::write(&partial, index).with_context(|| format!("could not write {}", partial.display()))?;
    fs::rename(&partial, dir.join("Packages"))
        .with_context(|| format!("could not write {}/Packages", dir.display()))?;
    Ok(())
}
